"""Engine registry: names to dotted paths, imported only when first asked for."""

from __future__ import annotations

from functools import cache
from importlib import import_module

from .base import Engine, EngineError, EngineUnavailable

ENGINES: dict[str, str] = {
    "espeak": "synthesis.engines.espeak.EspeakEngine",
    "kokoro": "synthesis.engines.kokoro.KokoroEngine",
    "glmtts": "synthesis.engines.glmtts.GlmTtsEngine",
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


def engine_names() -> list[str]:
    return list(ENGINES)


@cache
def get_engine(name: str) -> Engine:
    try:
        dotted = ENGINES[name]
    except KeyError:
        raise UnknownEngine(name) from None
    module_name, class_name = dotted.rsplit(".", 1)
    return getattr(import_module(module_name), class_name)()
