"""GLM-TTS test support: storing a prompt clip as the engine receives it, and what the
real model needs on this host."""

from __future__ import annotations

import hashlib
import importlib.util

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
