import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from synthesis.audio.intake import canonicalize
from synthesis.engines import EngineError, get_engine
from synthesis.engines.base import Audio, VoiceInput
from synthesis.engines.kokoro import chunks, seed_take
from tests.support.audio_files import voice_like, wav

ROOT = Path(__file__).resolve().parents[3]
ALPHA = VoiceInput("builtin", "jf_alpha")
HELLO = "Hello, this is a cache test."


@pytest.fixture(scope="module")
def engine():
    return get_engine("kokoro")


@pytest.fixture(scope="module")
def hello(engine) -> Audio:
    return engine.synthesize(text=HELLO, voice=ALPHA, seed=42)


def assert_speech(audio: Audio) -> None:
    assert audio.sample_rate == 24000
    assert audio.samples.dtype == np.float32
    assert audio.samples.ndim == 1
    assert np.isfinite(audio.samples).all()
    assert np.abs(audio.samples).max() <= 1.0
    assert np.sqrt(np.mean(audio.samples**2)) > 0.01


def test_english_sentence_is_speech_of_plausible_length(hello):
    assert_speech(hello)
    assert 1.0 < hello.duration_s < 5.0


def test_output_is_deterministic_and_seed_dependent(engine, hello):
    again = engine.synthesize(text=HELLO, voice=ALPHA, seed=42)
    other = engine.synthesize(text=HELLO, voice=ALPHA, seed=43)
    assert again.samples.tobytes() == hello.samples.tobytes()
    assert other.samples.tobytes() != hello.samples.tobytes()


@pytest.mark.parametrize(
    ("text", "voice", "expected"),
    [
        ("你好，这是一次缓存测试。", "jm_kumo", "ni↓xau↓"),
        # The Latin run must reach the English G2P, not be dropped by misaki.
        ("GLM-TTS 你好", "blend_alpha_kumo", "dʒˌiː"),
    ],
)
def test_mandarin_and_mixed_text_are_spoken(engine, text, voice, expected):
    audio = engine.synthesize(text=text, voice=VoiceInput("builtin", voice), seed=0)
    assert_speech(audio)
    assert 0.5 < audio.duration_s < 6.0
    assert expected in audio.info["phonemes"]


@pytest.mark.parametrize(
    "voice",
    [VoiceInput("builtin", "af_heart"), VoiceInput("prompt", audio_sha256="0" * 64)],
)
def test_unknown_voice_is_a_permanent_error(engine, voice):
    with pytest.raises(EngineError) as raised:
        engine.synthesize(text="Hi", voice=voice, seed=1)
    assert raised.value.permanent


def test_text_without_phonemes_is_a_permanent_error(engine, hello):
    with pytest.raises(EngineError) as raised:
        engine.synthesize(text=" ... ！", voice=ALPHA, seed=1)
    assert raised.value.permanent


def test_long_phonemes_are_cut_at_sentence_ends_under_the_limit():
    sentence = "ðɪs ɪz ɐ sˈɛntəns, wɪð ɐ klˈɔz."
    pieces = chunks(" ".join([sentence] * 40))
    assert len(pieces) > 1
    assert all(len(p) <= 510 for p in pieces)
    assert all(p.endswith(".") for p in pieces)
    assert " ".join(pieces) == " ".join([sentence] * 40)


def test_unbroken_phonemes_are_still_cut():
    pieces = chunks("a" * 1200)
    assert [len(p) for p in pieces] == [510, 510, 180]


def test_seed_picks_one_of_seven_takes_and_zero_is_plain():
    assert seed_take(0) == 0
    assert {seed_take(s) for s in range(7)} == set(range(-3, 4))


def test_voices_and_identity_do_not_load_the_runtime():
    code = (
        "import sys\n"
        "from synthesis.engines import get_engine\n"
        "e = get_engine('kokoro')\n"
        "assert e.voice(e.default_voice) is not None\n"
        "assert len(e.identity()) == 64\n"
        "heavy = {'onnxruntime', 'misaki', 'phonemizer', 'jieba'} & set(sys.modules)\n"
        "assert not heavy, heavy\n"
    )
    subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True, timeout=60)


def test_a_prompt_voice_selects_by_pitch_among_the_multilingual_voices(
    engine, tmp_path
):
    clips = {}
    for f0 in (100, 290):
        path = tmp_path / f"{f0}.wav"
        path.write_bytes(canonicalize(wav(voice_like(f0))).wav)
        clips[f0] = VoiceInput(kind="prompt", audio_path=str(path), prompt_text="x")
    low = engine.synthesize(text="Hello there.", voice=clips[100], seed=42)
    high = engine.synthesize(text="你好。", voice=clips[290], seed=42)
    assert low.info["selected_voice"] == "jm_kumo"
    assert high.info["selected_voice"] == "jf_alpha"
    builtin = engine.synthesize(
        text="Hello there.", voice=VoiceInput("builtin", "jm_kumo"), seed=42
    )
    assert np.array_equal(low.samples, builtin.samples)


def test_voices_are_described(engine):
    voices = engine.voices()
    names = {v.name for v in voices}
    assert {"jf_alpha", "jf_gongitsune", "jf_nezumi", "jf_tebukuro", "jm_kumo"} <= names
    assert engine.default_voice in names
    assert all(v.language == "multi" and v.pitch_hz > 0 for v in voices)
    assert engine.voice("jm_kumo").gender == "male"
