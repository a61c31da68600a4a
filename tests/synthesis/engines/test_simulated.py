"""espeak-sim exists only for benchmarks: registered when TTS_SIM_RTF is set."""

import pytest
from django.test import override_settings

from synthesis.engines import UnknownEngine, engine_names, get_engine
from synthesis.engines.base import VoiceInput


def test_not_registered_without_a_real_time_factor():
    assert "espeak-sim" not in engine_names()
    with pytest.raises(UnknownEngine):
        get_engine("espeak-sim")


@override_settings(TTS_SIM_RTF=0.05)
def test_registered_with_a_real_time_factor_and_speaks_like_espeak():
    assert "espeak-sim" in engine_names()
    sim = get_engine("espeak-sim")
    assert sim.queue == "gpu"
    assert sim.params() == {"sim_rtf": 0.05}
    assert sim.identity() != get_engine("espeak").identity()
    voice = VoiceInput(kind="builtin", name="en-us")
    simulated = sim.synthesize(text="Same words.", voice=voice, seed=42)
    real = get_engine("espeak").synthesize(text="Same words.", voice=voice, seed=42)
    assert (simulated.samples == real.samples).all()
