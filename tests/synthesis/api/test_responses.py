"""One way to serve audio (synthesis/api/responses.py): for the same artifact state,
the native API, the portal's players, the admin's players and the OpenAI endpoint answer
with the same status, error code, ETag and headers. The admin's one difference is
explicit: moderators hear blocked audio."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from synthesis import storage
from synthesis.models import Artifact, SynthesisRequest
from synthesis.run_errors import public_message
from synthesis.services import moderation
from tests.support.api import assert_error
from tests.support.moderation import make_artifact, make_voice

pytestmark = pytest.mark.django_db

TEXT = "One way to serve audio, whatever the door."
# What a client can rely on, the same on every path.
SHARED_HEADERS = (
    "Content-Type",
    "Content-Length",
    "ETag",
    "Accept-Ranges",
    "Cache-Control",
    "Content-Disposition",
)


@pytest.fixture
def moderator(staff_user) -> Client:
    """A moderator in the admin: staff with the view permissions the players need."""
    staff_user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="synthesis",
            codename__in=["view_artifact", "view_voice"],
        )
    )
    client = Client()
    client.force_login(staff_user)
    return client


@pytest.fixture
def text(request) -> str:
    """The same opening words in every test (the file name is made from them), a text
    of its own per test (a fingerprint of its own)."""
    return f"{TEXT} {request.node.name}"


@pytest.fixture
def artifact(user, text) -> Artifact:
    return make_artifact(text, user=user)


@pytest.fixture(autouse=True)
def short_sync_timeout(settings):
    # No worker runs here: what the OpenAI endpoint queues stays in flight.
    settings.TTS_SYNC_TIMEOUT = 0.2


def synthesis_url(artifact: Artifact) -> str:
    synthesis = SynthesisRequest.objects.filter(artifact=artifact).earliest(
        "created_at"
    )
    return f"/api/v1/syntheses/{synthesis.pk}/audio"


def speech(api, text: str):
    body = {"model": "tts-1", "input": text, "voice": "espeak:en-us"}
    return api.post("/v1/audio/speech", {**body, "response_format": "wav"}, "json")


def answers(artifact, *, api, portal, moderator, **headers) -> dict:
    url = synthesis_url(artifact)
    return {
        "native": api.get(url, **headers),
        "portal": portal.get(url, **headers),
        "admin": moderator.get(f"/admin-audio/artifact/{artifact.pk}", **headers),
    }


def shared(response) -> dict:
    return {name: response.get(name) for name in SHARED_HEADERS}


def test_succeeded_audio_is_the_same_response_on_every_path(
    artifact, text, api, portal, moderator
):
    by_path = answers(artifact, api=api, portal=portal, moderator=moderator)
    by_path["openai"] = speech(api, text)
    assert by_path["openai"]["X-Cache"] == "HIT"
    native = shared(by_path["native"])
    assert native["ETag"] == f'"{artifact.fingerprint}.wav"'
    assert native["Content-Type"] == "audio/wav"
    assert native["Content-Length"] == str(artifact.bytes)
    assert native["Cache-Control"] == "private, max-age=31536000, immutable"
    assert native["Content-Disposition"] == (
        f'inline; filename="one-way-to-serve-audio-whatever-{artifact.fingerprint[:8]}.wav"'
    )
    for path, response in by_path.items():
        assert response.status_code == 200, path
        assert shared(response) == native, path
    # Ranges and revalidation work the same through every GET path.
    for path, response in answers(
        artifact, api=api, portal=portal, moderator=moderator, HTTP_RANGE="bytes=0-99"
    ).items():
        assert response.status_code == 206, path
        assert response["Content-Range"] == f"bytes 0-99/{artifact.bytes}", path
    for path, response in answers(
        artifact,
        api=api,
        portal=portal,
        moderator=moderator,
        HTTP_IF_NONE_MATCH=native["ETag"],
    ).items():
        assert response.status_code == 304, path
        assert response["ETag"] == native["ETag"], path


def test_the_portal_plays_through_the_api(artifact, portal):
    page = portal.get("/history/").content.decode()
    assert f'src="{synthesis_url(artifact)}"' in page


def test_blocked_audio_is_410_everywhere_but_the_moderators_player(
    artifact, text, api, portal, moderator, staff_user
):
    before = shared(moderator.get(f"/admin-audio/artifact/{artifact.pk}"))
    moderation.block_create(
        actor=staff_user, target="artifact", target_id=artifact.fingerprint
    )
    by_path = answers(artifact, api=api, portal=portal, moderator=moderator)
    admin = by_path.pop("admin")
    by_path["openai"] = speech(api, text)
    for path, response in by_path.items():
        error = assert_error(response, 410, "blocked")
        assert error["type"] == "not_found_error", path
    # The one documented difference: moderators judge what they hear.
    assert admin.status_code == 200
    assert shared(admin) == before


def test_purged_audio_is_410_audio_removed_and_openai_makes_it_again(
    artifact, text, api, portal, moderator
):
    Artifact.objects.filter(pk=artifact.pk).update(
        status=Artifact.Status.PURGED, audio_name=""
    )
    storage.delete(artifact.audio_name)
    for path, response in answers(
        artifact, api=api, portal=portal, moderator=moderator
    ).items():
        assert assert_error(response, 410, "audio_removed"), path
    # POST /v1/audio/speech asks for the audio, not for stored bytes: the identical
    # request produces it again (here no worker runs, so it is still in flight).
    again = speech(api, text)
    assert_error(again, 409, "audio_not_ready")
    assert again["X-Cache"] == "MISS"


def test_a_lost_file_is_410_audio_missing(artifact, api, portal, moderator):
    storage.delete(artifact.audio_name)
    for path, response in answers(
        artifact, api=api, portal=portal, moderator=moderator
    ).items():
        assert assert_error(response, 410, "audio_missing"), path


def test_audio_in_flight_is_409_on_every_path(api, portal, moderator, text):
    queued = api.post("/api/v1/syntheses", {"text": text}, format="json")
    assert queued.status_code == 202
    artifact = Artifact.objects.get(fingerprint=queued.json()["fingerprint"])
    by_path = answers(artifact, api=api, portal=portal, moderator=moderator)
    by_path["openai"] = speech(api, text)
    for path, response in by_path.items():
        assert_error(response, 409, "audio_not_ready")
        assert response["Content-Type"] == "application/json", path
    openai = by_path["openai"]
    assert openai["X-Cache"] == "COALESCED"
    assert openai["Location"] == f"/api/v1/syntheses/{openai['X-Synthesis-Id']}"


def test_failed_audio_is_409_synthesis_failed(artifact, api, portal, moderator):
    Artifact.objects.filter(pk=artifact.pk).update(
        status=Artifact.Status.FAILED, error_code="engine_error", error_message="boom"
    )
    for path, response in answers(
        artifact, api=api, portal=portal, moderator=moderator
    ).items():
        error = assert_error(response, 409, "synthesis_failed")
        assert error["message"] == public_message("engine_error"), path
        assert "boom" not in error["message"], path  # internals stay with staff


def test_a_voice_clip_is_the_same_response_on_every_path(
    user, api, portal, moderator, staff_user
):
    voice = make_voice(user, name="Night narrator")
    urls = {
        "api": (api, f"/api/v1/voices/{voice.pk}/audio"),
        "portal": (portal, f"/api/v1/voices/{voice.pk}/audio"),
        "admin": (moderator, f"/admin-audio/voice/{voice.pk}"),
    }

    def fetch(**headers) -> dict:
        return {path: c.get(url, **headers) for path, (c, url) in urls.items()}

    clips = fetch()
    first = shared(clips["api"])
    assert first["ETag"] == f'"{voice.audio_sha256}.wav"'
    assert first["Content-Disposition"] == (
        f'inline; filename="night-narrator-{voice.audio_sha256[:8]}.wav"'
    )
    for path, response in clips.items():
        assert response.status_code == 200, path
        assert shared(response) == first, path
    for path, response in fetch(HTTP_RANGE="bytes=10-19").items():
        assert response.status_code == 206, path
    assert f'src="{urls["portal"][1]}"' in portal.get("/voices/").content.decode()

    moderation.block_create(actor=staff_user, target="voice", target_id=str(voice.pk))
    blocked = fetch()
    assert_error(blocked["api"], 410, "blocked")
    assert_error(blocked["portal"], 410, "blocked")
    assert shared(blocked["admin"]) == first  # moderators still hear it
    assert urls["portal"][1] not in portal.get("/voices/").content.decode()

    storage.delete(voice.audio_name)
    gone = fetch()
    assert_error(gone["admin"], 410, "audio_missing")
    assert_error(gone["api"], 410, "blocked")  # the block is what a user is told
