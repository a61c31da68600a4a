import hashlib
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synthesis.engines import EngineError, get_engine
from synthesis.engines.base import Audio, VoiceInput
from synthesis.engines.piper import seed_take

ROOT = Path(__file__).resolve().parents[3]
JOE = VoiceInput("builtin", "joe")
HELLO = "Hello, this is a cache test."


@pytest.fixture(scope="module")
def engine():
    return get_engine("piper")


@pytest.fixture(scope="module")
def hello(engine) -> Audio:
    return engine.synthesize(text=HELLO, voice=JOE, seed=42)


def test_english_sentence_is_speech_of_plausible_length(hello):
    assert hello.sample_rate == 22050
    assert hello.samples.dtype == np.float32
    assert np.abs(hello.samples).max() <= 1.0
    assert np.sqrt(np.mean(hello.samples**2)) > 0.01
    assert 1.0 < hello.duration_s < 5.0


def test_output_is_deterministic_and_seed_dependent(engine, hello):
    again = engine.synthesize(text=HELLO, voice=JOE, seed=42)
    other = engine.synthesize(text=HELLO, voice=JOE, seed=43)
    assert again.samples.tobytes() == hello.samples.tobytes()
    assert other.samples.tobytes() != hello.samples.tobytes()


def test_deterministic_across_processes(hello):
    code = (
        "import hashlib\n"
        "from synthesis.engines import get_engine\n"
        "from synthesis.engines.base import VoiceInput\n"
        f"a = get_engine('piper').synthesize(text={HELLO!r}, "
        "voice=VoiceInput('builtin', 'joe'), seed=42)\n"
        "print(hashlib.sha256(a.samples.tobytes()).hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
        env={"DJANGO_SETTINGS_MODULE": "tts_platform.settings_test", "PATH": ""},
    ).stdout.split()[-1]
    assert out == hashlib.sha256(hello.samples.tobytes()).hexdigest()


@pytest.mark.parametrize("voice", [VoiceInput("builtin", "amy"), VoiceInput("x")])
def test_unknown_voice_is_a_permanent_error(engine, voice):
    with pytest.raises(EngineError) as caught:
        engine.synthesize(text=HELLO, voice=voice, seed=42)
    assert caught.value.permanent


def test_seed_picks_one_of_seven_takes():
    assert {seed_take(s) for s in range(7)} == set(range(-3, 4))


def test_voices_and_identity_do_not_load_the_runtime():
    code = (
        "import sys\n"
        "from synthesis.engines import get_engine\n"
        "e = get_engine('piper')\n"
        "assert e.voice(e.default_voice).language == 'en'\n"
        "assert 'US accent' in e.voice('joe').label\n"
        "assert len(e.identity()) == 64\n"
        "heavy = {'onnxruntime', 'piper'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)
