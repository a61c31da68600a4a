"""Stored audio through a real nginx with X-Accel-Redirect: Django makes the checks
(ownership, status, ETag), nginx sends the bytes and answers Range."""

from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings

from synthesis import storage
from synthesis.models import Artifact
from tests.support.api import client_for
from tests.support.moderation import make_artifact
from tests.support.nginx import nginx_in_front

pytestmark = pytest.mark.django_db(transaction=True)

PREFIX = "/_media"


@pytest.fixture
def accel(live_server, settings):
    settings.TTS_AUDIO_ACCEL_PREFIX = PREFIX
    upstream = urlsplit(live_server.url).netloc
    with nginx_in_front(
        upstream, media_root=str(settings.MEDIA_ROOT), prefix=PREFIX
    ) as base:
        yield base


def session_for(user) -> requests.Session:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {client_for(user).api_key}"
    return session


def audio_url(user, text: str) -> tuple[str, Artifact]:
    artifact = make_artifact(text, user=user)
    synthesis = artifact.requests.get(user=user)
    return f"/api/v1/syntheses/{synthesis.pk}/audio", artifact


def test_accel_audio_is_sent_by_nginx_with_djangos_etag(accel, user):
    path, artifact = audio_url(user, "Served by the front proxy.")
    stored = storage.open_file(artifact.audio_name).read()
    session = session_for(user)

    whole = session.get(accel + path)
    assert whole.status_code == 200, whole.text[:300]
    assert whole.content == stored
    assert whole.headers["Server"].startswith("nginx")
    assert "X-Accel-Redirect" not in whole.headers
    assert whole.headers["Content-Type"] == "audio/wav"
    assert whole.headers["ETag"] == f'"{artifact.fingerprint}.wav"'
    assert whole.headers["Cache-Control"] == "private, max-age=31536000, immutable"
    assert whole.headers["Content-Length"] == str(len(stored))
    assert "attachment" not in whole.headers["Content-Disposition"]

    part = session.get(accel + path, headers={"Range": "bytes=100-299"})
    assert part.status_code == 206
    assert part.content == stored[100:300]
    assert part.headers["Content-Range"] == f"bytes 100-299/{len(stored)}"

    tail = session.get(accel + path, headers={"Range": "bytes=-10"})
    assert tail.status_code == 206 and tail.content == stored[-10:]

    cached = session.get(accel + path, headers={"If-None-Match": whole.headers["ETag"]})
    assert cached.status_code == 304 and cached.content == b""


def test_accel_keeps_the_checks_blocked_is_410_and_others_get_404(
    accel, user, other_user
):
    path, artifact = audio_url(user, "Blocked behind the proxy.")
    assert session_for(other_user).get(accel + path).status_code == 404
    Artifact.objects.filter(pk=artifact.pk).update(status=Artifact.Status.BLOCKED)
    blocked = session_for(user).get(accel + path)
    assert blocked.status_code == 410
    assert blocked.json()["error"]["code"] == "blocked"
    # The internal location is not reachable from outside.
    direct = requests.get(f"{accel}{PREFIX}/{artifact.audio_name}")
    assert direct.status_code == 404


def test_accel_off_django_sends_the_bytes(live_server, user):
    assert settings.TTS_AUDIO_ACCEL_PREFIX == ""
    path, artifact = audio_url(user, "Served by Django.")
    response = session_for(user).get(live_server.url + path)
    assert response.status_code == 200
    assert "X-Accel-Redirect" not in response.headers
    assert response.content == storage.open_file(artifact.audio_name).read()
