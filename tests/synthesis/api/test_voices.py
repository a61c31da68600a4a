"""The voices endpoints of docs/api.md end to end: uploads through the real multipart stack,
real PostgreSQL, and (for syntheses) the real Celery worker and espeak engine."""

import numpy as np
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from synthesis import storage
from synthesis.models import Voice
from tests.support.api import assert_error, decode
from tests.support.audio_files import (
    RATE,
    encode,
    hostile_corpus,
    mutations,
    voice_like,
    wav,
)
from tests.support.voices import PROMPT, upload

VOICE_FIELDS = {
    "id",
    "name",
    "kind",
    "prompt_text",
    "audio_sha256",
    "duration_s",
    "sample_rate",
    "created_at",
}
ESPEAK_VOICES = {
    "espeak:en-us",
    "espeak:en-us+f3",
    "espeak:en-gb",
    "espeak:en-gb+f2",
    "espeak:en-us+m3",
    "espeak:cmn",
    "espeak:cmn+f3",
}
db = pytest.mark.django_db


# --- Upload -------------------------------------------------------------------------------


@db
def test_an_upload_makes_a_voice_with_its_canonical_clip(api):
    data = wav(voice_like(130))
    response = upload(api, data)
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= VOICE_FIELDS
    assert body["kind"] == "prompt"
    assert body["name"] == "Narrator"
    assert body["prompt_text"] == PROMPT
    assert body["duration_s"] == 1.5
    assert body["sample_rate"] == RATE
    assert len(body["audio_sha256"]) == 64
    assert body["created_at"]
    assert body["cloning"] is False
    assert body["selected_voice"] == "espeak:en-us"
    assert body["pitch_hz"] == pytest.approx(130, rel=0.03)
    assert response["Location"] == f"/api/v1/voices/{body['id']}"
    voice = Voice.objects.get(pk=body["id"])
    assert voice.audio_name == storage.voice_clip_name(body["audio_sha256"])
    assert voice.consent is True and voice.listed is True

    clip = api.get(f"/api/v1/voices/{body['id']}/audio")
    assert clip.status_code == 200
    assert clip["Content-Type"] == "audio/wav"
    assert clip["ETag"] == f'"{body["audio_sha256"]}.wav"'
    clip_bytes = b"".join(clip.streaming_content)
    assert clip_bytes == data  # a mono 16-bit WAV is already canonical
    samples, rate = decode(clip_bytes)
    assert rate == RATE and len(samples) == RATE * 3 // 2


@db
def test_the_same_samples_in_another_container_are_stored_once(api):
    samples = voice_like(170)
    as_wav = upload(api, wav(samples)).json()
    as_flac = upload(
        api, encode(samples, "FLAC", subtype="PCM_16"), name="take.flac"
    ).json()
    assert as_wav["id"] != as_flac["id"]  # every upload makes a voice
    assert as_wav["audio_sha256"] == as_flac["audio_sha256"]
    assert len({v.audio_name for v in Voice.objects.all()}) == 1


@db
def test_mp3_and_ogg_uploads_are_accepted(api):
    samples = voice_like(170).astype("float32") / 32768
    for fmt, subtype, name in [("MP3", None, "a.mp3"), ("OGG", "VORBIS", "a.ogg")]:
        response = upload(api, encode(samples, fmt, subtype=subtype), name=name)
        assert response.status_code == 201, response.content


@db
def test_the_name_defaults_to_the_file_name(api):
    response = api.post(
        "/api/v1/voices",
        {
            "prompt_text": PROMPT,
            "consent": "true",
            "audio": SimpleUploadedFile("Studio take 4.wav", wav()),
        },
        format="multipart",
    )
    assert response.status_code == 201
    assert response.json()["name"] == "Studio take 4"


HOSTILE = hostile_corpus()


@db
@pytest.mark.parametrize("hostile", HOSTILE, ids=[h.name for h in HOSTILE])
def test_every_hostile_file_is_a_4xx_in_the_error_shape(api, hostile):
    response = upload(api, hostile.data, name=hostile.name)
    error = assert_error(response, hostile.status, hostile.code, param="audio")
    assert error["type"] == "invalid_request_error"
    assert error["message"]
    assert not Voice.objects.exists()


@db
def test_mutated_uploads_are_accepted_or_refused_never_a_server_error(api):
    statuses = set()
    for index, data in enumerate(mutations(60, seed=5)):
        response = upload(api, data, name=f"mutant-{index}")
        statuses.add(response.status_code)
        if response.status_code != 201:
            assert_error(response, 400, param="audio")
    assert statuses <= {201, 400}
    assert 201 in statuses and 400 in statuses


@db
@pytest.mark.parametrize(
    ("data", "code"),
    [
        (wav(voice_like(150, seconds=0.5)), "audio_too_short"),
        (wav(voice_like(150, seconds=31)), "audio_too_long"),
        (
            encode(voice_like(150, seconds=31), "FLAC", subtype="PCM_16"),
            "audio_too_long",
        ),
        (wav(np.zeros(0, dtype=np.int16)), "audio_empty"),
        (wav(voice_like(150) * 0), "audio_silent"),
        (b"", "audio_empty"),
    ],
    ids=["short", "long_wav", "long_flac", "no_samples", "silent", "empty_file"],
)
def test_bad_audio_is_a_400_naming_the_problem(api, data, code):
    assert_error(upload(api, data, name="clip"), 400, code, param="audio")


@db
def test_nine_channels_and_a_zero_rate_are_refused(api):
    nine = encode(
        np.stack([voice_like(150)] * 9, axis=1),
        "WAV",
        subtype="PCM_16",
    )
    assert_error(upload(api, nine), 400, "audio_too_many_channels")
    zero_rate = bytearray(wav())
    zero_rate[24:28] = b"\0\0\0\0"
    assert_error(upload(api, bytes(zero_rate)), 400, "audio_invalid_rate")


@db
def test_the_transcript_consent_and_file_are_required(api):
    assert_error(upload(api, wav(), prompt_text=""), 400, "prompt_text_required")
    assert_error(upload(api, wav(), prompt_text="  \n"), 400, "prompt_text_required")
    assert_error(upload(api, wav(), consent="false"), 400, "consent_required")
    response = api.post(
        "/api/v1/voices",
        {"prompt_text": PROMPT, "audio": SimpleUploadedFile("a.wav", wav())},
        format="multipart",
    )
    assert_error(response, 400, "consent_required", param="consent")
    assert_error(upload(api, None), 400, "audio_required", param="audio")
    assert_error(
        upload(api, wav(), prompt_text="x" * 1001), 400, "prompt_text_too_long"
    )
    assert not Voice.objects.exists()


@db
def test_a_json_body_without_a_file_is_a_clear_400(api):
    response = api.post(
        "/api/v1/voices",
        {"prompt_text": PROMPT, "consent": True, "audio": "aGVsbG8="},
        format="json",
    )
    assert_error(response, 400, param="audio")


@db
def test_upload_without_credentials_is_401(client):
    response = client.post("/api/v1/voices", {"prompt_text": PROMPT})
    assert_error(response, 401)


# --- List, detail, audio, delete ---------------------------------------------------------


@db
def test_the_list_has_own_prompt_voices_then_the_engines_builtin_voices(api, other_api):
    mine = upload(api, wav(voice_like(120))).json()
    upload(other_api, wav(voice_like(200)))
    response = api.get("/api/v1/voices")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1 + len(ESPEAK_VOICES)
    assert [v["id"] for v in body["results"][:1]] == [mine["id"]]
    builtins = body["results"][1:]
    assert {v["id"] for v in builtins} == ESPEAK_VOICES
    for voice in builtins:
        assert set(voice) >= VOICE_FIELDS
        assert voice["kind"] == "builtin"
        assert voice["name"] == voice["id"].split(":", 1)[1]
        assert voice["audio_sha256"] is None
    kinds = api.get("/api/v1/voices?kind=builtin").json()
    assert kinds["count"] == len(ESPEAK_VOICES)
    prompts = api.get("/api/v1/voices?kind=prompt").json()
    assert [v["id"] for v in prompts["results"]] == [mine["id"]]
    page = api.get("/api/v1/voices?page=2&page_size=3").json()
    assert [v["id"] for v in page["results"]] == [v["id"] for v in body["results"][3:6]]


@db
def test_a_builtin_voice_has_a_detail_but_no_clip_and_cannot_be_deleted(api):
    response = api.get("/api/v1/voices/espeak:en-us+f3")
    assert response.status_code == 200
    assert response.json()["kind"] == "builtin"
    assert response.json()["pitch_hz"] == 210.0
    assert_error(api.get("/api/v1/voices/espeak:en-us+f3/audio"), 404)
    assert_error(api.delete("/api/v1/voices/espeak:en-us"), 400, "voice_not_deletable")
    assert_error(api.get("/api/v1/voices/kokoro:jf_alpha"), 404, "not_found")
    assert_error(api.get("/api/v1/voices/not-a-voice"), 404, "not_found")


@db
def test_someone_elses_voice_is_404_everywhere(api, other_api):
    theirs = upload(other_api, wav()).json()
    for response in (
        api.get(f"/api/v1/voices/{theirs['id']}"),
        api.get(f"/api/v1/voices/{theirs['id']}/audio"),
        api.delete(f"/api/v1/voices/{theirs['id']}"),
    ):
        assert_error(response, 404, "not_found")
    response = api.post(
        "/api/v1/syntheses", {"text": "Hi there.", "voice": theirs["id"]}, format="json"
    )
    assert_error(response, 400, "voice_not_found")
    assert Voice.objects.filter(pk=theirs["id"]).exists()


@db
def test_the_clip_stays_while_another_voice_uses_it(
    api, other_api, django_capture_on_commit_callbacks
):
    data = wav(voice_like(160))
    first = upload(api, data).json()
    second = upload(other_api, data).json()
    name = storage.voice_clip_name(first["audio_sha256"])
    with django_capture_on_commit_callbacks(execute=True):
        assert api.delete(f"/api/v1/voices/{first['id']}").status_code == 204
    assert storage.exists(name)
    assert_error(api.get(f"/api/v1/voices/{first['id']}"), 404)
    assert other_api.get(f"/api/v1/voices/{second['id']}/audio").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        assert other_api.delete(f"/api/v1/voices/{second['id']}").status_code == 204
    assert not storage.exists(name)


@db
def test_the_schema_documents_the_voice_endpoints(api):
    response = api.get("/api/schema/")
    assert response.status_code == 200
    schema = response.content.decode()
    for path in (
        "/api/v1/voices:",
        "/api/v1/voices/{voice_id}:",
        "/api/v1/voices/{voice_id}/audio:",
    ):
        assert path in schema
    assert "prompt_audio" in schema
    assert "selected_voice" in schema
