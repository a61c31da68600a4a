"""Joining segment audio (synthesis/audio/join.py): pauses where the settings say, and
no click at any seam."""

from __future__ import annotations

import numpy as np
import pytest

from synthesis.audio.join import join_segments

RATE = 24000


def tone(seconds: float, level: float = 0.5) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    # A constant offset makes the edges jump to `level`: a click unless faded.
    return (level + 0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_gaps_are_silence_of_the_given_length_and_nothing_else_is_added():
    parts = [tone(0.5), tone(0.25), tone(0.1)]
    joined = join_segments(parts, RATE, fade_ms=5, gaps_ms=[400, 0])
    assert joined.size == int(0.85 * RATE) + int(0.4 * RATE)
    gap = joined[int(0.5 * RATE) : int(0.9 * RATE)]
    assert not gap.any()


def test_no_seam_steps_from_one_waveform_to_another():
    parts = [tone(0.2, 0.5), tone(0.2, -0.5), tone(0.2, 0.5)]
    joined = join_segments(parts, RATE, fade_ms=5, gaps_ms=[0, 0])
    # The largest step between neighbouring samples stays that of the tone itself.
    assert np.abs(np.diff(joined)).max() < 0.05
    unfaded = np.concatenate(parts)
    assert np.abs(np.diff(unfaded)).max() > 0.9


def test_the_same_parts_join_to_the_same_samples():
    parts = [tone(0.3), tone(0.2)]
    a = join_segments(parts, RATE, fade_ms=5, gaps_ms=[400])
    b = join_segments([p.copy() for p in parts], RATE, fade_ms=5, gaps_ms=[400])
    assert np.array_equal(a, b)


def test_one_gap_per_seam():
    with pytest.raises(ValueError, match="one gap per seam"):
        join_segments([tone(0.1), tone(0.1)], RATE, fade_ms=5, gaps_ms=[])
