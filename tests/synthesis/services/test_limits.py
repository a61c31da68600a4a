"""Limits that cannot be walked around: runs in flight are counted on the runs a user
started (not on history rows the user can delete), stored voices are bounded per user
and checked before anything is stored, and a user holds only so many waiting threads.
No worker runs here: every miss stays queued."""

from __future__ import annotations

import pytest
import soundfile
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.models import CharacterUsage
from synthesis import storage
from synthesis.models import Artifact, Voice
from synthesis.services import quota
from tests.support.api import assert_error
from tests.support.tones import voiced_tone_wav

pytestmark = pytest.mark.django_db

PROMPT = "The quick brown fox jumps over the lazy dog."


@pytest.fixture
def limits(settings):
    settings.RATELIMIT_ENABLE = True
    return settings


def post(api, text: str, wait: float = 0):
    query = f"?wait={wait}" if wait else ""
    return api.post(f"/api/v1/syntheses{query}", {"text": text}, format="json")


# --- Runs in flight ------------------------------------------------------------------


def test_deleting_history_does_not_free_the_runs_in_flight_limit(api, limits):
    limits.TTS_MAX_CONCURRENT_MISSES = 2
    for i in range(2):
        created = post(api, f"Queued run number {i}.")
        assert created.status_code == 202
        assert (
            api.delete(f"/api/v1/syntheses/{created.json()['id']}").status_code == 204
        )
    # Both runs are still queued: "create, delete" must not make room.
    assert Artifact.objects.filter(status="queued").count() == 2
    assert_error(post(api, "A third run."), 429, "too_many_concurrent_requests")


def test_a_run_counts_for_the_user_who_started_it(api, other_api, user, limits):
    limits.TTS_MAX_CONCURRENT_MISSES = 1
    assert post(api, "Started by alice.").status_code == 202
    # Bob joins alice's run: free, and it is still alice's run.
    joined = post(other_api, "Started by alice.")
    assert joined["X-Cache"] == "COALESCED"
    assert post(other_api, "Bob's own run.").status_code == 202
    assert quota.runs_in_flight(user) == 1


# --- Voice storage ---------------------------------------------------------------------


def upload(api, data: bytes, name: str = "take.wav"):
    return api.post(
        "/api/v1/voices",
        {
            "name": "Narrator",
            "prompt_text": PROMPT,
            "consent": "true",
            "audio": SimpleUploadedFile(name, data),
        },
        format="multipart",
    )


def stored_clips() -> set[str]:
    return {v.audio_name for v in Voice.objects.all() if storage.exists(v.audio_name)}


def test_a_user_holds_at_most_tts_max_voices(api, settings):
    settings.TTS_MAX_VOICES = 2
    assert upload(api, voiced_tone_wav(2.0)).status_code == 201
    assert upload(api, voiced_tone_wav(2.1)).status_code == 201
    refused = upload(api, voiced_tone_wav(2.2))
    assert_error(refused, 429, "too_many_voices")
    assert Voice.objects.count() == 2


def test_a_user_stores_at_most_tts_max_voice_bytes(api, settings):
    settings.TTS_MAX_VOICE_BYTES = 200_000  # 24 kHz mono 16-bit: about 4 s
    assert upload(api, voiced_tone_wav(3.0)).status_code == 201
    before = stored_clips()
    assert_error(upload(api, voiced_tone_wav(2.0)), 429, "voice_storage_full")
    assert stored_clips() == before


def test_clips_are_stored_at_most_at_48_khz(api):
    created = upload(api, voiced_tone_wav(2.0, rate=96000))
    assert created.status_code == 201, created.content[:300]
    assert created.json()["sample_rate"] == 48000
    voice = Voice.objects.get()
    info = soundfile.info(storage.local_path(voice.audio_name))
    assert info.samplerate == 48000
    assert info.frames == 96000


def test_an_adhoc_clip_is_not_stored_when_the_quota_refuses_the_request(api, user):
    text = "This request is over the quota."
    user.monthly_character_limit = len(text) - 1
    user.save()
    response = api.post(
        "/api/v1/syntheses",
        {
            "text": text,
            "prompt_audio": SimpleUploadedFile("clip.wav", voiced_tone_wav(2.0)),
            "prompt_text": PROMPT,
            "consent": "true",
        },
        format="multipart",
    )
    assert_error(response, 429, "quota_exceeded")
    assert Voice.objects.count() == 0
    assert not CharacterUsage.objects.filter(user=user, characters__gt=0).exists()


def test_an_adhoc_clip_counts_against_the_voice_limit(api, settings):
    settings.TTS_MAX_VOICES = 0
    response = api.post(
        "/api/v1/syntheses",
        {
            "text": "Hello there.",
            "prompt_audio": SimpleUploadedFile("clip.wav", voiced_tone_wav(2.0)),
            "prompt_text": PROMPT,
            "consent": "true",
        },
        format="multipart",
    )
    assert_error(response, 429, "too_many_voices")
    assert Voice.objects.count() == 0


# --- Waiting threads -------------------------------------------------------------------


def test_waits_beyond_the_per_user_cap_are_refused(api, other_api, limits):
    limits.TTS_MAX_CONCURRENT_WAITS = 0
    refused = post(api, "Nobody may wait here.", wait=2)
    assert_error(refused, 429, "too_many_waits")
    assert int(refused["Retry-After"]) > 0
    # Without ?wait the request is answered at once (202), as always.
    assert post(other_api, "Polling instead.").status_code == 202


def test_a_finished_wait_gives_its_slot_back(api, limits):
    limits.TTS_MAX_CONCURRENT_WAITS = 1
    for i in range(3):
        response = post(api, f"Waited for, one at a time ({i}).", wait=0.2)
        assert response.status_code == 202
    created = post(api, "Waited for by id.")
    detail = api.get(f"/api/v1/syntheses/{created.json()['id']}?wait=0.2")
    assert detail.status_code == 202


def test_the_openai_endpoint_waits_within_the_same_cap(api, limits):
    limits.TTS_MAX_CONCURRENT_WAITS = 0
    response = api.post(
        "/v1/audio/speech",
        {"model": "tts-1", "input": "Waiting is capped.", "voice": "alloy"},
        format="json",
    )
    assert_error(response, 429, "too_many_waits")
