"""The OpenAI-compatible endpoints, driven by the official `openai` client against a
live server, a real Celery worker and the espeak engine."""

import io

import numpy as np
import openai
import pytest
import soundfile

from synthesis.models import Artifact, SynthesisRequest
from tests.support.api import client_for, synthesize

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

TEXT = "The quick brown fox speaks through the OpenAI client."


@pytest.fixture
def openai_client(live_server, api):
    return openai.OpenAI(
        api_key=api.api_key, base_url=f"{live_server.url}/v1", max_retries=0
    )


def speech(client, **kwargs):
    kwargs.setdefault("model", "tts-1")
    kwargs.setdefault("voice", "alloy")
    kwargs.setdefault("input", TEXT)
    # seed and sample_rate are this server's extensions: sent as extra body fields.
    extra = {k: kwargs.pop(k) for k in ("seed", "sample_rate") if k in kwargs}
    if extra:
        kwargs["extra_body"] = extra
    return client.audio.speech.with_raw_response.create(**kwargs)


def test_every_response_format_decodes_to_the_same_speech(openai_client):
    wav = speech(openai_client, response_format="wav")
    assert wav.headers["X-Cache"] == "MISS"
    assert wav.headers["Content-Type"] == "audio/wav"
    master, rate = soundfile.read(io.BytesIO(wav.content), dtype="float32")
    assert rate == 24000
    seconds = len(master) / rate
    assert seconds > 1

    for fmt, content_type in [
        ("mp3", "audio/mpeg"),
        ("flac", "audio/flac"),
        ("opus", "audio/ogg"),
    ]:
        response = speech(openai_client, response_format=fmt)
        assert response.headers["X-Cache"] == "HIT", fmt
        assert response.headers["X-Fingerprint"] == wav.headers["X-Fingerprint"]
        assert response.headers["Content-Type"] == content_type
        samples, decoded_rate = soundfile.read(io.BytesIO(response.content))
        assert abs(len(samples) / decoded_rate - seconds) < 0.1, fmt
        assert np.sqrt(np.mean(np.square(samples))) > 0.01, fmt
    flac, _ = soundfile.read(
        io.BytesIO(speech(openai_client, response_format="flac").content),
        dtype="float32",
    )
    assert np.array_equal(flac, master)  # lossless

    pcm = speech(openai_client, response_format="pcm")
    assert pcm.headers["Content-Type"] == "audio/pcm"
    raw = np.frombuffer(pcm.content, dtype="<i2")
    assert np.array_equal(raw, (master * 32768).round().astype("<i2"))


def test_the_default_format_is_mp3_and_a_repeat_is_a_byte_identical_hit(
    openai_client, user
):
    first = openai_client.audio.speech.with_raw_response.create(
        model="tts-1", voice="alloy", input=TEXT
    )
    assert first.headers["Content-Type"] == "audio/mpeg"
    assert first.headers["X-Cache"] == "MISS"
    second = speech(openai_client)
    assert second.headers["X-Cache"] == "HIT"
    assert second.headers["X-Fingerprint"] == first.headers["X-Fingerprint"]
    assert second.content == first.content
    # The non-raw call returns the bytes as well.
    assert (
        openai_client.audio.speech.create(
            model="tts-1-hd", voice="alloy", input=TEXT
        ).content
        == first.content
    )

    rows = SynthesisRequest.objects.filter(user=user).order_by("created_at")
    assert [r.cache for r in rows] == ["miss", "hit", "hit"]
    assert {r.channel for r in rows} == {"openai"}
    assert Artifact.objects.get().attempts == 1


def test_the_same_input_has_the_same_fingerprint_on_both_apis(openai_client, api):
    native = synthesize(api, text=TEXT, voice="espeak:en-us")
    assert native.json()["cache"] == "miss"
    # alloy is espeak's en-us; speed 1.0 is the absence of speed; seed 42, 24 kHz.
    response = speech(openai_client, voice="alloy", speed=1.0, response_format="wav")
    assert response.headers["X-Cache"] == "HIT"
    assert response.headers["X-Fingerprint"] == native["X-Fingerprint"]


def test_voices_models_and_extensions(openai_client, user):
    nova = speech(openai_client, voice="nova", response_format="wav")
    builtin = speech(openai_client, voice="espeak:en-us+f3", response_format="wav")
    assert builtin.headers["X-Cache"] == "HIT"  # nova is espeak's en-us+f3
    assert builtin.headers["X-Fingerprint"] == nova.headers["X-Fingerprint"]
    by_engine = speech(openai_client, model="espeak", voice="en-gb")
    assert by_engine.headers["X-Cache"] == "MISS"

    seeded = speech(openai_client, voice="nova", seed=7, sample_rate=16000)
    assert seeded.headers["X-Fingerprint"] != nova.headers["X-Fingerprint"]
    row = SynthesisRequest.objects.get(pk=seeded.headers["X-Synthesis-Id"])
    assert (row.seed, row.sample_rate, row.voice_ref) == (7, 16000, "espeak:en-us+f3")

    ids = [m.id for m in openai_client.models.list()]
    assert ids[0] == "espeak"
    assert {"tts-1", "tts-1-hd", "gpt-4o-mini-tts"} <= set(ids)
    assert openai_client.models.retrieve("tts-1").id == "tts-1"


def test_speed_is_fingerprinted_and_changes_the_tempo(openai_client):
    normal = speech(openai_client, response_format="wav")
    fast = speech(openai_client, response_format="wav", speed=1.25)
    assert fast.headers["X-Cache"] == "MISS"
    assert fast.headers["X-Fingerprint"] != normal.headers["X-Fingerprint"]
    artifact = Artifact.objects.get(fingerprint=fast.headers["X-Fingerprint"])
    assert artifact.inputs["params"] == {"speed": 1.25}
    assert (
        Artifact.objects.get(fingerprint=normal.headers["X-Fingerprint"]).inputs[
            "params"
        ]
        == {}
    )

    normal_samples, _ = soundfile.read(io.BytesIO(normal.content))
    fast_samples, _ = soundfile.read(io.BytesIO(fast.content))
    assert len(fast_samples) == round(len(normal_samples) / 1.25)
    again = speech(openai_client, response_format="wav", speed=1.25)
    assert again.headers["X-Cache"] == "HIT"
    assert again.content == fast.content


@pytest.mark.parametrize(
    ("kwargs", "code", "param"),
    [
        ({"model": "tts-9"}, "model_not_found", "model"),
        ({"voice": "nobody"}, "voice_not_found", "voice"),
        ({"voice": "kokoro:jf_alpha"}, "voice_not_available", "voice"),
        ({"response_format": "aac"}, "invalid_choice", "response_format"),
        ({"speed": 4.5}, "max_value", "speed"),
        ({"speed": 0.2}, "min_value", "speed"),
        ({"speed": "fast"}, "invalid", "speed"),
        ({"input": openai.omit}, "required", "input"),
        ({"input": "   "}, "text_empty", "input"),
        ({"voice": openai.omit}, "required", "voice"),
        ({"seed": -1}, "min_value", "seed"),
        ({"sample_rate": 8000}, "invalid_sample_rate", "sample_rate"),
    ],
)
def test_bad_input_is_an_openai_shaped_400(openai_client, kwargs, code, param):
    with pytest.raises(openai.BadRequestError) as caught:
        speech(openai_client, **kwargs)
    error = caught.value
    assert error.status_code == 400
    assert error.body["type"] == "invalid_request_error"
    assert error.code == code
    assert error.param == param
    assert error.body["message"]
    assert not SynthesisRequest.objects.exists()


def test_a_bad_key_is_401(live_server):
    client = openai.OpenAI(
        api_key="sk-not-a-key", base_url=f"{live_server.url}/v1", max_retries=0
    )
    with pytest.raises(openai.AuthenticationError) as caught:
        speech(client)
    assert caught.value.body["type"] == "authentication_error"


def test_history_of_openai_requests_is_private(openai_client, other_user):
    response = speech(openai_client)
    other = client_for(other_user)
    synthesis_id = response.headers["X-Synthesis-Id"]
    assert other.get(f"/api/v1/syntheses/{synthesis_id}").status_code == 404
