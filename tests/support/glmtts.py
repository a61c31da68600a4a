"""GLM-TTS test support: storing a prompt clip as the engine receives it, and what the
real model needs on this host."""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys

import numpy as np
import soundfile

from synthesis import storage
from synthesis.engines.base import VoiceInput
from synthesis.engines.glmtts.engine import GlmTtsEngine

PROMPT_TEXT = "The colour of this prompt is plain."


def store_voice(data: bytes, prompt_text: str = PROMPT_TEXT) -> VoiceInput:
    sha = hashlib.sha256(data).hexdigest()
    name = storage.voice_clip_name(sha)
    storage.write_atomic(name, data)
    return VoiceInput(
        kind="prompt",
        audio_path=storage.local_path(name),
        audio_sha256=sha,
        prompt_text=prompt_text,
    )


def real_model_missing() -> list[str]:
    missing = []
    if importlib.util.find_spec("torch") is None:
        missing.append("torch (pip install -r requirements-gpu.txt)")
    else:
        import torch

        if not torch.cuda.is_available():
            missing.append("a CUDA device")
    missing += GlmTtsEngine().missing()
    return missing


def upstream(name: str):
    """A module of the loaded stand-in tree (the adapter imported it)."""
    return sys.modules[name]


def clip_bytes(pitch: float, seconds: float = 2.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.2 + 0.3 * np.abs(np.sin(2 * np.pi * 1.5 * t))
    samples = (envelope * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
