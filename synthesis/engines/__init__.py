"""Engine registry: names to dotted paths, imported only when first asked for."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from django.conf import settings

from .base import Engine, EngineError, EngineUnavailable

ENGINES: dict[str, str] = {
    "espeak": "synthesis.engines.espeak.EspeakEngine",
    "kokoro": "synthesis.engines.kokoro.KokoroEngine",
    "piper": "synthesis.engines.piper.PiperEngine",
    "glmtts": "synthesis.engines.glmtts.engine.GlmTtsEngine",
}

__all__ = [
    "ENGINES",
    "Engine",
    "EngineError",
    "EngineUnavailable",
    "engine_names",
    "get_engine",
]


class UnknownEngine(LookupError):
    pass


# Registered only for benchmarks (TTS_SIM_RTF > 0): espeak with GLM-TTS's cost.
SIMULATED = {"espeak-sim": "synthesis.engines.simulated.EspeakSimEngine"}


def _registry() -> dict[str, str]:
    if getattr(settings, "TTS_SIM_RTF", 0):
        return {**ENGINES, **SIMULATED}
    return ENGINES


def engine_names() -> list[str]:
    return list(_registry())


@cache
def get_engine(name: str) -> Engine:
    try:
        dotted = _registry()[name]
    except KeyError:
        raise UnknownEngine(name) from None
    module_name, class_name = dotted.rsplit(".", 1)
    return getattr(import_module(module_name), class_name)()
