"""synthesis/audio/intake.py and engines/selection.py on files generated here: the
canonical form, every validation rule, the hostile corpus, the pitch estimate."""

import hashlib
import struct

import numpy as np
import pytest

from synthesis.audio.intake import (
    MAX_UPLOAD_BYTES,
    AudioInvalid,
    canonicalize,
    encode_canonical_wav,
)
from synthesis.engines import get_engine
from synthesis.engines.base import BuiltinVoice
from synthesis.engines.selection import median_f0, nearest_voice, text_language
from tests.support.audio_files import (
    RATE,
    encode,
    hostile_corpus,
    mutations,
    voice_like,
    wav,
    wav_with_list_chunk,
)

CORPUS = hostile_corpus()


def code_of(data: bytes, filename: str = "") -> str:
    with pytest.raises(AudioInvalid) as caught:
        canonicalize(data, filename=filename)
    return caught.value.code


def test_the_hostile_corpus_has_more_than_forty_files():
    assert len(CORPUS) >= 40
    assert len({h.name for h in CORPUS}) == len(CORPUS)


@pytest.mark.parametrize("hostile", CORPUS, ids=[h.name for h in CORPUS])
def test_each_hostile_file_is_refused_with_its_code(hostile):
    assert code_of(hostile.data, hostile.name) == hostile.code


def test_the_same_samples_in_wav_flac_and_wav_with_metadata_give_one_hash():
    samples = voice_like(140)
    plain = canonicalize(wav(samples), filename="a.wav")
    flac = canonicalize(encode(samples, "FLAC", subtype="PCM_16"), filename="a.flac")
    tagged_bytes = wav_with_list_chunk(samples)
    assert tagged_bytes != wav(samples)
    tagged = canonicalize(tagged_bytes, filename="a.wav")
    assert plain.sha256 == flac.sha256 == tagged.sha256
    assert plain.wav == flac.wav == tagged.wav
    assert plain.sha256 == hashlib.sha256(plain.wav).hexdigest()


def test_the_canonical_clip_keeps_16_bit_mono_samples_exactly():
    samples = voice_like(140)
    clip = canonicalize(wav(samples))
    assert clip.wav[:4] == b"RIFF" and len(clip.wav) == 44 + 2 * len(samples)
    assert np.array_equal(np.frombuffer(clip.wav[44:], "<i2"), samples)
    assert clip.sample_rate == RATE
    assert clip.frames == len(samples)
    assert clip.duration_s == pytest.approx(1.5)
    assert clip.source_format == "wav"
    assert clip.source_channels == 1


def test_channels_are_downmixed_to_their_mean():
    left = voice_like(120)
    right = voice_like(200, seed=1)
    stereo = np.stack([left, right], axis=1)
    clip = canonicalize(encode(stereo, "WAV", subtype="PCM_16"))
    expected = np.round((left.astype(np.float64) + right) / 2).astype(np.int16)
    assert np.array_equal(np.frombuffer(clip.wav[44:], "<i2"), expected)
    assert clip.source_channels == 2
    # The canonical header says mono, 16-bit, at the clip's own rate.
    _, channels, rate, _, align, bits = struct.unpack_from("<HHIIHH", clip.wav, 20)
    assert (channels, rate, align, bits) == (1, RATE, 2, 16)


def test_identical_channels_downmix_to_the_mono_hash():
    mono = voice_like(120)
    stereo = np.stack([mono, mono], axis=1)
    assert (
        canonicalize(encode(stereo, "WAV", subtype="PCM_16")).sha256
        == canonicalize(wav(mono)).sha256
    )


@pytest.mark.parametrize(
    ("fmt", "subtype", "name"),
    [("OGG", "VORBIS", "clip.ogg"), ("MP3", None, "clip.mp3"), ("FLAC", None, "c")],
)
def test_compressed_formats_are_accepted(fmt, subtype, name):
    samples = voice_like(150).astype(np.float32) / 32768
    clip = canonicalize(encode(samples, fmt, subtype=subtype), filename=name)
    assert clip.source_format == {"OGG": "ogg", "MP3": "mp3", "FLAC": "flac"}[fmt]
    assert clip.duration_s == pytest.approx(1.5, abs=0.06)


def test_other_rates_are_kept():
    clip = canonicalize(wav(voice_like(150, rate=44100), rate=44100))
    assert clip.sample_rate == 44100
    assert struct.unpack_from("<I", clip.wav, 24)[0] == 44100


def test_a_clip_under_one_second_is_too_short():
    assert code_of(wav(voice_like(150, seconds=0.9))) == "audio_too_short"


def test_one_second_is_enough_and_thirty_is_the_most():
    assert canonicalize(wav(voice_like(150, seconds=1.0))).duration_s == 1.0
    assert canonicalize(wav(voice_like(150, seconds=30.0))).duration_s == 30.0


@pytest.mark.parametrize("fmt", ["WAV", "FLAC"])
def test_a_clip_over_thirty_seconds_is_too_long(fmt):
    data = encode(voice_like(150, seconds=30.5), fmt, subtype="PCM_16")
    assert code_of(data) == "audio_too_long"


def test_a_silent_clip_is_refused():
    assert code_of(wav(np.zeros(RATE * 2, dtype=np.int16))) == "audio_silent"
    hiss = (np.random.default_rng(1).standard_normal(RATE * 2) * 5).astype(np.int16)
    assert code_of(wav(hiss)) == "audio_silent"


def test_nine_channels_are_too_many():
    samples = np.stack([voice_like(150)] * 9, axis=1)
    assert (
        code_of(encode(samples, "WAV", subtype="PCM_16")) == "audio_too_many_channels"
    )


def test_eight_channels_are_accepted():
    samples = np.stack([voice_like(150)] * 8, axis=1)
    assert canonicalize(encode(samples, "WAV", subtype="PCM_16")).source_channels == 8


def test_a_file_over_the_upload_limit_is_too_large():
    assert code_of(b"RIFF" + b"\0" * MAX_UPLOAD_BYTES) == "audio_too_large"


def test_unknown_extensions_are_judged_by_content():
    assert canonicalize(wav(), filename="blob").source_format == "wav"
    assert canonicalize(wav(), filename="take.bin").source_format == "wav"


def test_encode_canonical_wav_is_the_documented_layout():
    data = encode_canonical_wav(np.array([0, 1, -1], dtype=np.int16), 16000)
    assert data == (
        b"RIFF"
        + struct.pack("<I", 42)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, 16000, 32000, 2, 16)
        + b"data"
        + struct.pack("<I", 6)
        + b"\x00\x00\x01\x00\xff\xff"
    )


# --- Pitch and selection ---------------------------------------------------------------


@pytest.mark.parametrize("f0", [85.0, 110.0, 165.0, 230.0, 320.0])
@pytest.mark.parametrize("rate", [16000, 22050, 48000])
def test_median_f0_finds_the_pitch_of_a_voice_like_clip(f0, rate):
    samples = voice_like(f0, rate=rate).astype(np.float32) / 32768
    assert median_f0(samples, rate) == pytest.approx(f0, rel=0.03)


def test_median_f0_of_noise_or_silence_is_none():
    noise = np.random.default_rng(3).standard_normal(RATE * 2) * 0.1
    assert median_f0(noise, RATE) is None
    assert median_f0(np.zeros(RATE), RATE) is None
    assert median_f0(np.zeros(10), RATE) is None


def test_nearest_voice_is_nearest_in_semitones_within_the_language():
    voices = [
        BuiltinVoice("low", "", "en", pitch_hz=100.0),
        BuiltinVoice("high", "", "en", pitch_hz=200.0),
        BuiltinVoice("zh-mid", "", "zh", pitch_hz=145.0),
        BuiltinVoice("all", "", "multi", pitch_hz=300.0),
    ]
    # 141 Hz is nearer to 100 than to 200 in Hz, but nearer to 200 in semitones.
    assert nearest_voice(voices, 142.0, "en").name == "high"
    assert nearest_voice(voices, 141.0, "en").name == "low"
    assert nearest_voice(voices, 150.0, "zh").name == "zh-mid"
    assert nearest_voice(voices, 290.0, "zh").name == "all"
    assert nearest_voice(voices, None, "en") is None


def test_text_language():
    assert text_language("Hello there") == "en"
    assert text_language("你好, GLM") == "zh"


def test_espeak_speaks_a_prompt_voice_with_the_builtin_voice_its_pitch_selects(
    tmp_path,
):
    engine = get_engine("espeak")
    low, high = tmp_path / "low.wav", tmp_path / "high.wav"
    low.write_bytes(canonicalize(wav(voice_like(100))).wav)
    high.write_bytes(canonicalize(wav(voice_like(215))).wav)
    from synthesis.engines.base import VoiceInput

    def speak(voice):
        return engine.synthesize(text="Which voice is this?", voice=voice, seed=42)

    low_audio = speak(VoiceInput(kind="prompt", audio_path=str(low), prompt_text="x"))
    high_audio = speak(VoiceInput(kind="prompt", audio_path=str(high), prompt_text="x"))
    assert low_audio.info["selected_voice"] == "en-us+m3"
    assert high_audio.info["selected_voice"] == "en-us+f3"
    assert low_audio.info["cloning"] is False
    builtin = speak(VoiceInput(kind="builtin", name="en-us+m3"))
    assert np.array_equal(low_audio.samples, builtin.samples)
    assert not np.array_equal(low_audio.samples, high_audio.samples)


def test_a_missing_clip_is_a_permanent_engine_error(tmp_path):
    from synthesis.engines import EngineError
    from synthesis.engines.base import VoiceInput

    voice = VoiceInput(kind="prompt", audio_path=str(tmp_path / "gone.wav"))
    with pytest.raises(EngineError) as caught:
        get_engine("espeak").synthesize(text="Hi.", voice=voice, seed=1)
    assert caught.value.permanent


def test_mutated_files_give_a_clip_or_an_audio_invalid_never_anything_else():
    outcomes = set()
    for data in mutations(500, seed=11):
        try:
            clip = canonicalize(data, filename="upload")
        except AudioInvalid as error:
            outcomes.add(error.code)
        else:
            assert 1.0 <= clip.duration_s <= 30.0
            outcomes.add("accepted")
    # The mutations reach past the first checks into decoding.
    assert {"accepted", "audio_unreadable", "audio_truncated"} <= outcomes
