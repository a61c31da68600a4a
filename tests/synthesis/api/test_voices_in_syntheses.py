"""Syntheses with prompt voices (synthesis/api/voices.py `synthesis_prompt_voice` and
the voice resolver): saved and ad-hoc clips, through the real Celery worker and espeak."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from synthesis import storage
from synthesis.models import Artifact, SynthesisRequest, Voice
from synthesis.services import voices as voice_services
from tests.support.api import assert_error, audio_bytes
from tests.support.audio_files import (
    encode,
    voice_like,
    wav,
)
from tests.support.voices import PROMPT, synthesize_with_clip, upload


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_a_synthesis_with_a_saved_prompt_voice_repeats_as_a_hit(api):
    voice = upload(api, wav(voice_like(120))).json()
    body = {"text": "Spoken with a prompt voice.", "voice": voice["id"]}
    first = api.post("/api/v1/syntheses?wait=30", body, format="json")
    assert first.status_code == 200, first.content
    assert first["X-Cache"] == "MISS"
    assert first.json()["voice"] == voice["id"]
    second = api.post("/api/v1/syntheses?wait=30", body, format="json")
    assert second["X-Cache"] == "HIT"
    assert second["X-Fingerprint"] == first["X-Fingerprint"]
    artifact = Artifact.objects.get(fingerprint=first["X-Fingerprint"])
    assert artifact.inputs["voice"] == {
        "kind": "prompt",
        "audio_sha256": voice["audio_sha256"],
        "prompt_text": PROMPT,
    }
    assert artifact.attempts == 1


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_an_ad_hoc_clip_is_an_unlisted_voice_reused_and_a_hit_on_repeat(api):
    clip = wav(voice_like(120))
    first = synthesize_with_clip(api, clip)
    assert first.status_code == 200, first.content
    assert first["X-Cache"] == "MISS"
    assert first.json()["status"] == "succeeded"
    voice = Voice.objects.get()
    assert voice.listed is False
    assert first.json()["voice"] == str(voice.pk)
    # The same clip in another container, the same transcript: the same voice.
    again = synthesize_with_clip(
        api, encode(voice_like(120), "FLAC", subtype="PCM_16"), name="clip.flac"
    )
    assert again["X-Cache"] == "HIT"
    assert again["X-Fingerprint"] == first["X-Fingerprint"]
    assert Voice.objects.count() == 1
    assert audio_bytes(api, again.json()) == audio_bytes(api, first.json())
    # Unlisted: not in the library, but its own history can look it up.
    assert api.get("/api/v1/voices?kind=prompt").json()["count"] == 0
    assert api.get(f"/api/v1/voices/{voice.pk}").json()["listed"] is False
    # Another transcript is another voice (and another fingerprint).
    other = synthesize_with_clip(api, clip, prompt_text="Another transcript.")
    assert other["X-Cache"] == "MISS"
    assert Voice.objects.count() == 2


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_low_and_high_clips_select_different_builtin_voices(api):
    text = "Which voice is this?"
    low = synthesize_with_clip(api, wav(voice_like(100)), text=text)
    high = synthesize_with_clip(api, wav(voice_like(215)), text=text)
    assert low.status_code == high.status_code == 200
    assert low["X-Fingerprint"] != high["X-Fingerprint"]
    low_voice = api.get(f"/api/v1/voices/{low.json()['voice']}").json()
    high_voice = api.get(f"/api/v1/voices/{high.json()['voice']}").json()
    assert low_voice["selected_voice"] == "espeak:en-us+m3"
    assert high_voice["selected_voice"] == "espeak:en-us+f3"
    # What the engine spoke is exactly the selected builtin voice.
    for prompt, voice in ((low, low_voice), (high, high_voice)):
        builtin = api.post(
            "/api/v1/syntheses?wait=30",
            {"text": text, "voice": voice["selected_voice"]},
            format="json",
        )
        assert builtin["X-Cache"] == "MISS"
        assert audio_bytes(api, builtin.json()) == audio_bytes(api, prompt.json())
    assert audio_bytes(api, low.json()) != audio_bytes(api, high.json())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_deleting_a_voice_keeps_its_history_playable(api):
    voice = upload(api, wav(voice_like(140))).json()
    synthesis = api.post(
        "/api/v1/syntheses?wait=30",
        {"text": "History outlives voices.", "voice": voice["id"]},
        format="json",
    ).json()
    assert synthesis["status"] == "succeeded"
    before = audio_bytes(api, synthesis)
    assert api.delete(f"/api/v1/voices/{voice['id']}").status_code == 204
    assert not Voice.objects.exists()
    assert not storage.exists(storage.voice_clip_name(voice["audio_sha256"]))
    row = SynthesisRequest.objects.get(pk=synthesis["id"])
    assert row.voice is None and row.voice_ref == voice["id"]
    detail = api.get(f"/api/v1/syntheses/{synthesis['id']}")
    assert detail.status_code == 200
    assert detail.json()["voice"] == voice["id"]
    assert audio_bytes(api, synthesis) == before
    assert_error(api.get(f"/api/v1/voices/{voice['id']}"), 404)


@pytest.mark.django_db
def test_ad_hoc_clip_errors_use_the_synthesis_field_names(api):
    bad = synthesize_with_clip(api, b"not audio at all")
    assert_error(bad, 400, "audio_unreadable", param="prompt_audio")
    missing_text = api.post(
        "/api/v1/syntheses",
        {"text": "Hi.", "prompt_audio": SimpleUploadedFile("a.wav", wav())},
        format="multipart",
    )
    assert_error(missing_text, 400, "prompt_text_required", param="prompt_text")
    no_file = api.post(
        "/api/v1/syntheses", {"text": "Hi.", "prompt_text": PROMPT}, format="json"
    )
    assert_error(no_file, 400, "audio_required", param="prompt_audio")
    both = synthesize_with_clip(api, wav(), voice="espeak:en-us")
    assert_error(both, 400, "voice_conflict", param="voice")
    unspeakable = synthesize_with_clip(api, wav(), text="   ")
    assert_error(unspeakable, 400, "text_empty")
    assert not Voice.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_identical_ad_hoc_clips_sent_at_once_make_one_voice(user):
    data = wav(voice_like(150))
    barrier = threading.Barrier(4)
    voices, errors = [], []

    def send():
        try:
            barrier.wait()
            voices.append(
                voice_services.voice_adhoc_get_or_create(
                    user=user,
                    upload=SimpleUploadedFile("clip.wav", data),
                    prompt_text=PROMPT,
                ).pk
            )
        except Exception as error:  # pragma: no cover - reported below
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert len(voices) == 4 and len(set(voices)) == 1
    assert Voice.objects.filter(owner=user, listed=False).count() == 1
