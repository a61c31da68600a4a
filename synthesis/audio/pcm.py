"""PCM helpers: rate conversion and the master encoding (mono 16-bit WAV)."""

from __future__ import annotations

import io

import numpy as np
import soundfile


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    if from_rate == to_rate:
        return samples.astype(np.float32, copy=False)
    import soxr

    return soxr.resample(samples.astype(np.float32), from_rate, to_rate, quality="HQ")


def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """The master: mono 16-bit PCM WAV. Deterministic bytes for the same samples."""
    buffer = io.BytesIO()
    clipped = np.clip(samples, -1.0, 1.0)
    soundfile.write(buffer, clipped, sample_rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
