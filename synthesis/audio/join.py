"""Joining segment audio into one: the "run" of a many-segment synthesis.

Each segment is faded in and out over a few milliseconds so that no seam steps from
one waveform to another (a click); paragraphs are separated by silence, the pieces of
one paragraph follow each other directly. Deterministic: the same segment audio and
join settings give the same samples, so the joined audio's fingerprint (segment
fingerprints + settings, synthesis/segments.py) names exactly one result.
"""

from __future__ import annotations

import numpy as np


def fade_edges(samples: np.ndarray, length: int) -> np.ndarray:
    """A raised-cosine fade of `length` samples in and out."""
    length = min(length, samples.size // 2)
    if length <= 0:
        return samples
    ramp = 0.5 - 0.5 * np.cos(np.linspace(0.0, np.pi, length, dtype=np.float64))
    faded = samples.astype(np.float32, copy=True)
    faded[:length] *= ramp.astype(np.float32)
    faded[-length:] *= ramp[::-1].astype(np.float32)
    return faded


def join_segments(
    parts: list[np.ndarray], sample_rate: int, *, fade_ms: int, gaps_ms: list[int]
) -> np.ndarray:
    """`parts` in order; `gaps_ms[i]` is the silence after part i (len(parts) - 1)."""
    if len(gaps_ms) != len(parts) - 1:
        raise ValueError("one gap per seam")
    pieces = [
        piece
        for index, part in enumerate(parts)
        for piece in joined_piece(part, sample_rate, fade_ms, gaps_ms, index)
    ]
    return np.concatenate(pieces).astype(np.float32, copy=False)


def joined_piece(
    part: np.ndarray, sample_rate: int, fade_ms: int, gaps_ms: list[int], index: int
) -> list[np.ndarray]:
    """Part `index` as it stands in the joined audio: faded, then the silence after it.
    A stream sends these one part at a time; concatenated they are the joined audio."""
    pieces = [fade_edges(part, int(sample_rate * fade_ms / 1000))]
    if index < len(gaps_ms) and gaps_ms[index] > 0:
        pieces.append(np.zeros(int(sample_rate * gaps_ms[index] / 1000), np.float32))
    return pieces
