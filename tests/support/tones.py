"""Audio made in the tests: a voiced tone with harmonics stands in for a speaker."""

from __future__ import annotations

import io

import numpy as np
import soundfile


def voiced_tone(seconds: float = 2.0, rate: int = 24000, f0: float = 140.0):
    """A sawtooth-like glottal source (decaying harmonics) with a slow vibrato and an
    amplitude envelope, so it has the pitch and spectrum of a sustained vowel."""
    t = np.arange(int(seconds * rate)) / rate
    pitch = f0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(pitch) / rate
    signal = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.minimum(1.0, np.minimum(t, t[-1] - t) / 0.05)
    return (0.25 * signal * envelope).astype(np.float32), rate


def voiced_tone_wav(
    seconds: float = 2.0, rate: int = 24000, channels: int = 1
) -> bytes:
    samples, rate = voiced_tone(seconds, rate)
    if channels > 1:
        samples = np.stack([samples] * channels, axis=1)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()
