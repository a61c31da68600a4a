"""The request fingerprint: what makes two syntheses the same audio.

Pure functions, no Django import. The hash covers exactly what the engine receives
(docs/architecture.md "The fingerprint"). Changing anything here changes every fingerprint and so
empties the cache: the golden vectors in tests/synthesis/test_fingerprint.py guard it.
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from collections.abc import Mapping
from typing import Any

FINGERPRINT_VERSION = 1


def normalize_text(text: str) -> str:
    """The exact text an engine is given: NFC, outer whitespace trimmed."""
    return unicodedata.normalize("NFC", text).strip()


def builtin_voice(name: str) -> dict[str, str]:
    return {"kind": "builtin", "name": name}


def prompt_voice(*, audio_sha256: str, prompt_text: str) -> dict[str, str]:
    return {
        "kind": "prompt",
        "audio_sha256": audio_sha256,
        "prompt_text": normalize_text(prompt_text),
    }


def canonical_inputs(
    *,
    engine: str,
    model: str,
    text: str,
    voice: Mapping[str, str],
    seed: int,
    sample_rate: int,
    params: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Everything that shapes the audio, in the form that is hashed and stored as provenance."""
    return {
        "v": FINGERPRINT_VERSION,
        "engine": engine,
        "model": model,
        "text": normalize_text(text),
        "voice": dict(voice),
        "seed": int(seed),
        "sample_rate": int(sample_rate),
        "params": dict(params or {}),
    }


def canonical_json(inputs: Mapping[str, Any]) -> bytes:
    return json.dumps(
        inputs, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    ).encode("utf-8")


def fingerprint_of(inputs: Mapping[str, Any]) -> str:
    return hashlib.sha256(canonical_json(inputs)).hexdigest()


def fingerprint(**kwargs: Any) -> str:
    """SHA-256 hex of the canonical inputs; keyword arguments as for canonical_inputs."""
    return fingerprint_of(canonical_inputs(**kwargs))
