"""The deterministic WSOLA time-stretch behind `speed`."""

import numpy as np
import pytest

from synthesis.audio.timestretch import stretch

RATE = 24000


def tone(seconds=2.0, hz=220.0):
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32)


def dominant_hz(samples):
    spectrum = np.abs(np.fft.rfft(samples * np.hanning(samples.size)))
    return np.argmax(spectrum) * RATE / samples.size


@pytest.mark.parametrize("speed", [0.25, 0.5, 0.8, 1.25, 2.0, 4.0])
def test_length_scales_and_pitch_stays(speed):
    x = tone()
    y = stretch(x, speed, RATE)
    assert y.size == round(x.size / speed)
    assert y.dtype == np.float32
    middle = y[y.size // 4 : 3 * y.size // 4]
    assert abs(dominant_hz(middle) - 220.0) < 4
    assert np.max(np.abs(y)) <= 0.51


def test_same_input_same_output_and_identity_at_one():
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(RATE) * 0.1).astype(np.float32)
    assert np.array_equal(stretch(x, 1.5, RATE), stretch(x, 1.5, RATE))
    assert np.array_equal(stretch(x, 1.0, RATE), x)
