"""espeak-sim: a simulation of GLM-TTS's cost for benchmarks, not a real engine.

It speaks with espeak (so the audio is real and deterministic) and then holds the
worker for `TTS_SIM_RTF` x the audio's duration, the time GLM-TTS would have spent on
a GPU (docs/glmtts.md §4: RTF 0.75 on an A100 in fp16). Registered only when
TTS_SIM_RTF is set, so no production fingerprint can name it.
"""

from __future__ import annotations

import time

from django.conf import settings

from .base import Audio, VoiceInput
from .espeak import EspeakEngine


class EspeakSimEngine(EspeakEngine):
    name = "espeak-sim"
    label = "eSpeak NG with GLM-TTS-like cost (simulation for benchmarks)"
    queue = "gpu"

    def params(self) -> dict:
        # The delay changes the cost, not the audio; recorded so that runs at another
        # simulated speed never share artifacts with this one.
        return {"sim_rtf": settings.TTS_SIM_RTF}

    def synthesize(self, *, text: str, voice: VoiceInput, seed: int) -> Audio:
        started = time.perf_counter()
        result = super().synthesize(text=text, voice=voice, seed=seed)
        remaining = settings.TTS_SIM_RTF * result.duration_s - (
            time.perf_counter() - started
        )
        if remaining > 0:
            time.sleep(remaining)
        return result
