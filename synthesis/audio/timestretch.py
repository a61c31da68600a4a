"""Deterministic time-stretching for `speed` (OpenAI's 0.25-4.0), applied in the worker
to engines that have no speed control of their own.

WSOLA (waveform-similarity overlap-add): output frames are taken from the input at the
scaled position, each shifted within a small tolerance to the offset whose waveform best
continues the previous frame, then overlap-added under a Hann window. The pitch stays;
only the tempo changes. Pure numpy, no randomness: the same samples and speed always give
the same output.
"""

from __future__ import annotations

import numpy as np

FRAME_S = 0.030
TOLERANCE_S = 0.010


def stretch(samples: np.ndarray, speed: float, sample_rate: int) -> np.ndarray:
    """`speed` > 1 is faster (shorter), < 1 slower; the result has len/speed samples."""
    x = np.asarray(samples, dtype=np.float32)
    if speed == 1.0 or x.size == 0:
        return x
    frame = max(16, int(FRAME_S * sample_rate)) & ~1
    hop = frame // 2
    tolerance = max(1, int(TOLERANCE_S * sample_rate))
    window = np.hanning(frame).astype(np.float32)
    n_out = int(round(x.size / speed))
    pad = frame + 2 * tolerance
    padded = np.concatenate(
        [np.zeros(tolerance, np.float32), x, np.zeros(pad + hop * 4, np.float32)]
    )
    out = np.zeros(n_out + frame, dtype=np.float32)
    norm = np.zeros(n_out + frame, dtype=np.float32)
    previous = None  # where the last frame started in `padded`
    for out_pos in range(0, n_out, hop):
        nominal = int(round(out_pos * speed)) + tolerance
        nominal = min(nominal, padded.size - frame - tolerance)
        if previous is None:
            start = nominal
        else:
            # The natural continuation of the previous frame, one hop later.
            target = padded[previous + hop : previous + hop + frame]
            region = padded[nominal - tolerance : nominal + tolerance + frame]
            scores = np.correlate(region, target, mode="valid")
            start = nominal - tolerance + int(np.argmax(scores))
        out[out_pos : out_pos + frame] += padded[start : start + frame] * window
        norm[out_pos : out_pos + frame] += window
        previous = start
    result = np.where(norm > 1e-3, out / np.maximum(norm, 1e-3), 0.0)
    return result[:n_out].astype(np.float32)
