import numpy as np
import pytest

from synthesis.engines import EngineError, get_engine
from synthesis.engines.base import VoiceInput


@pytest.fixture(scope="module")
def engine():
    return get_engine("espeak")


@pytest.mark.parametrize("name", [v.name for v in get_engine("espeak").voices()])
def test_every_listed_voice_speaks(engine, name):
    text = "你好，世界。" if name.startswith("cmn") else "Every voice speaks."
    audio = engine.synthesize(text=text, voice=VoiceInput("builtin", name), seed=42)
    assert audio.sample_rate == 22050
    assert 0.3 < audio.duration_s < 5
    assert np.sqrt(np.mean(audio.samples**2)) > 0.01


def test_output_is_deterministic_and_seed_dependent(engine):
    voice = VoiceInput("builtin", "en-us")
    one = engine.synthesize(text="Same words.", voice=voice, seed=42).samples
    two = engine.synthesize(text="Same words.", voice=voice, seed=42).samples
    other = engine.synthesize(text="Same words.", voice=voice, seed=43).samples
    assert one.tobytes() == two.tobytes()
    assert one.tobytes() != other.tobytes()


def test_unknown_voice_is_a_permanent_error(engine):
    with pytest.raises(EngineError) as raised:
        engine.synthesize(text="Hi", voice=VoiceInput("builtin", "klingon"), seed=1)
    assert raised.value.permanent


def test_identity_is_stable_and_names_the_engine(engine):
    assert engine.identity() == get_engine("espeak").compute_identity()
    assert len(engine.identity()) == 64
