"""Audio helpers: rate conversion, the WAV master encoding, and the checks an output
must pass before it is stored and served to anyone else."""

from __future__ import annotations

import io

import numpy as np
import soundfile

# Loose bounds on how long speech for a text can be: a rejection here means the engine
# produced something that is not speech for this text.
MIN_SECONDS = 0.05
MAX_SECONDS_PER_CHAR = 0.5
MAX_SECONDS_FLOOR = 10.0
SILENCE_RMS = 1e-4


class AudioRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples.astype(np.float32), from_rate, to_rate, quality="HQ")


def check_output(samples: np.ndarray, sample_rate: int, *, characters: int) -> None:
    """Raises AudioRejected unless the samples look like speech for `characters`."""
    if samples.size == 0:
        raise AudioRejected("empty_audio", "The engine returned no audio.")
    if not np.all(np.isfinite(samples)):
        raise AudioRejected(
            "non_finite_audio", "The engine returned NaN or Inf samples."
        )
    duration = samples.size / sample_rate
    if duration < MIN_SECONDS:
        raise AudioRejected(
            "audio_too_short", f"The engine returned only {duration:.3f} s of audio."
        )
    ceiling = max(MAX_SECONDS_FLOOR, characters * MAX_SECONDS_PER_CHAR)
    if duration > ceiling:
        raise AudioRejected(
            "audio_too_long",
            f"{duration:.1f} s of audio for {characters} characters is implausible.",
        )
    if float(np.sqrt(np.mean(np.square(samples, dtype=np.float64)))) < SILENCE_RMS:
        raise AudioRejected("silent_audio", "The engine returned silence.")


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """The master: mono 16-bit PCM WAV. Deterministic bytes for the same samples."""
    buffer = io.BytesIO()
    clipped = np.clip(samples, -1.0, 1.0)
    soundfile.write(buffer, clipped, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
