"""The content gate (synthesis/audio/gate.py): every class of bad audio is
rejected with its own code, and real speech from the espeak engine passes, directly and
through the worker."""

import numpy as np
import pytest

from synthesis.audio import gate, pcm
from synthesis.engines import get_engine
from synthesis.engines.base import VoiceInput
from synthesis.models import Artifact
from tests.support.api import synthesize

RATE = 24000


def speech(text: str) -> np.ndarray:
    """Real speech for `text`: espeak's output at the master rate."""
    engine = get_engine("espeak")
    result = engine.synthesize(
        text=text, voice=VoiceInput(kind="builtin", name="en-us"), seed=42
    )
    return pcm.resample(result.samples, result.sample_rate, RATE)


def rejected(samples, text: str) -> str:
    with pytest.raises(gate.AudioRejected) as caught:
        gate.check_output(np.asarray(samples, dtype=np.float32), RATE, text=text)
    assert str(caught.value)  # the user sees why
    return caught.value.code


def seconds(n: float) -> int:
    return int(n * RATE)


@pytest.mark.parametrize(
    "text",
    [
        "Hi",
        "a",
        "Hello, this is a cache test.",
        "!!!!!!!!!!!!!!!!!!a",
        "1234567890 1234567890",
        "I.B.M. NASA UNESCO WHO",
        "The quick brown fox jumps over the lazy dog. " * 6,
        "你好世界",
    ],
)
def test_real_speech_passes(text):
    gate.check_output(speech(text), RATE, text=text)


def test_empty_audio_is_rejected():
    assert rejected(np.zeros(0), "Hello there.") == "empty_audio"


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_samples_are_rejected(bad):
    samples = speech("Hello there.")
    samples[len(samples) // 2] = bad
    assert rejected(samples, "Hello there.") == "non_finite_audio"


def test_a_few_milliseconds_are_rejected():
    noise = np.random.default_rng(1).uniform(-0.3, 0.3, seconds(0.01))
    assert rejected(noise, "Hi") == "audio_too_short"


def test_digital_silence_and_near_silence_are_rejected():
    assert rejected(np.zeros(seconds(2)), "Hello there.") == "silent_audio"
    hiss = np.random.default_rng(2).normal(0, 1e-5, seconds(2))
    assert rejected(hiss, "Hello there.") == "silent_audio"


def test_a_constant_signal_is_rejected():
    assert rejected(np.full(seconds(2), 0.3), "Hello there.") == "dc_only_audio"


def test_speech_riding_on_a_large_offset_is_rejected():
    samples = speech("Hello there.") * 0.5 + 0.4
    assert rejected(samples, "Hello there.") == "dc_offset_audio"


def test_full_scale_square_wave_is_rejected():
    t = np.arange(seconds(1.5)) / RATE
    square = np.sign(np.sin(2 * np.pi * 220 * t))
    assert rejected(square, "Hello there.") == "clipped_audio"


def test_speech_that_is_clipped_everywhere_is_rejected():
    samples = np.clip(speech("Hello there, how are you?") * 40, -1, 1)
    assert rejected(samples, "Hello there, how are you?") == "clipped_audio"


def test_audio_far_longer_than_the_text_is_rejected():
    long_speech = np.tile(speech("Hi"), 60)  # ~22 s for two characters
    assert rejected(long_speech, "Hi") == "audio_too_long"


def test_audio_far_shorter_than_the_text_is_rejected():
    text = "This sentence has a good many words in it and takes seconds to say."
    blip = speech("Hi")  # ~0.4 s for 55 letters
    assert rejected(blip, text) == "audio_too_short_for_text"


def test_a_blip_padded_with_silence_is_too_short_for_the_text():
    text = "The quick brown fox jumps over the lazy dog. " * 6
    padded = np.concatenate([speech("Hi"), np.zeros(seconds(10))])
    assert rejected(padded, text) == "audio_too_short_for_text"


def test_short_texts_are_exempt_from_the_speed_floor():
    gate.check_output(speech("ok")[: seconds(0.1)], RATE, text="NASA")


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_speech_passes_the_gate_through_the_worker(api):
    text = "The gate lets real speech through to the cache."
    body = synthesize(api, text=text).json()
    assert body["status"] == "succeeded", body
    assert body["error"] is None
    artifact = Artifact.objects.get(fingerprint=body["fingerprint"])
    assert artifact.error_code == ""
    assert artifact.duration_s > len(text) * gate.MIN_SECONDS_PER_SPEAKABLE_CHAR
