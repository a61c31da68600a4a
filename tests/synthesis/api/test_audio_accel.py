"""Stored audio through a real nginx with X-Accel-Redirect: Django makes the checks
(ownership, status, ETag), nginx sends the bytes and answers Range. Synthesis audio:
nginx remembers a passed check for a second per caller and URL; a block reaches it at
once through the marker file (docs/deploy.md "nginx in front")."""

import time
from urllib.parse import urlsplit

import pytest
import requests
from django.conf import settings

from accounts.models import ApiKey
from accounts.services import api_key_revoke
from synthesis import storage
from synthesis.models import Artifact
from synthesis.services import moderation
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


def test_accel_remembered_check_sends_the_file_without_asking_django(accel, user):
    path, artifact = audio_url(user, "Checked once, sent many times.")
    stored = storage.open_file(artifact.audio_name).read()
    session = session_for(user)

    first = session.get(accel + path)
    assert first.status_code == 200 and first.content == stored
    assert first.headers["X-Audio-Check"] == "MISS"
    again = session.get(accel + path)
    assert again.headers["X-Audio-Check"] == "HIT"
    assert again.content == stored
    # The same headers as Django's answer, whichever way the check went.
    for name in ("Content-Type", "ETag", "Cache-Control", "Content-Disposition"):
        assert again.headers[name] == first.headers[name], name
    assert again.headers["ETag"] == f'"{artifact.fingerprint}.wav"'
    part = session.get(accel + path, headers={"Range": "bytes=44-143"})
    assert part.status_code == 206 and part.content == stored[44:144]
    assert part.headers["X-Audio-Check"] == "HIT"

    # The checked location is internal too.
    assert (
        requests.get(f"{accel}/_checked{PREFIX}/{artifact.audio_name}").status_code
        == 404
    )


def test_accel_remembered_check_serves_every_format_like_django(
    accel, live_server, user, settings
):
    path, _ = audio_url(user, "Every format, the same headers.")
    session = session_for(user)
    for fmt in ("wav", "mp3", "flac", "ogg", "opus", "pcm"):
        url = f"{path}?format={fmt}&download=1"
        settings.TTS_AUDIO_ACCEL_PREFIX = ""  # Django sends the bytes itself
        direct = session.get(live_server.url + url)
        settings.TTS_AUDIO_ACCEL_PREFIX = PREFIX
        session.get(accel + url)
        proxied = session.get(accel + url)
        assert proxied.headers["X-Audio-Check"] == "HIT", fmt
        assert proxied.content == direct.content, fmt
        for name in ("Content-Type", "ETag", "Cache-Control", "Content-Disposition"):
            assert proxied.headers[name] == direct.headers[name], (fmt, name)


def test_accel_remembered_check_belongs_to_its_caller(accel, user, other_user):
    path, _ = audio_url(user, "A check is remembered per caller.")
    assert session_for(user).get(accel + path).status_code == 200
    refused = session_for(other_user).get(accel + path)
    assert refused.status_code == 404
    assert refused.json()["error"]["code"] == "not_found"
    anonymous = requests.get(accel + path)
    assert anonymous.status_code == 401
    assert "error" in anonymous.json()


def test_accel_block_after_a_remembered_check_is_410_at_once(accel, user, staff_user):
    path, artifact = audio_url(user, "Blocked while the check is remembered.")
    session = session_for(user)
    assert session.get(accel + path).status_code == 200
    assert session.get(accel + path + "?format=mp3").status_code == 200
    assert session.get(accel + path).headers["X-Audio-Check"] == "HIT"

    block = moderation.block_create(
        actor=staff_user, target="artifact", target_id=artifact.fingerprint
    )
    for url in (path, path + "?format=mp3"):
        blocked = session.get(accel + url)
        assert blocked.status_code == 410, url
        assert blocked.json()["error"]["code"] == "blocked"

    moderation.block_lift(actor=staff_user, block_id=block.pk)
    assert not storage.exists(storage.blocked_marker_name(artifact.fingerprint))
    restored = session.get(accel + path)
    assert restored.status_code == 200
    assert restored.content == storage.open_file(artifact.audio_name).read()


def test_accel_audio_gone_after_a_remembered_check_is_djangos_410(accel, user):
    path, artifact = audio_url(user, "Lost while the check is remembered.")
    session = session_for(user)
    assert session.get(accel + path).status_code == 200
    storage.delete(artifact.audio_name)
    gone = session.get(accel + path)
    assert gone.status_code == 410
    assert gone.json()["error"]["code"] == "audio_missing"


def test_accel_revoked_key_is_refused_within_a_second(accel, user):
    path, _ = audio_url(user, "A revoked key stops downloading.")
    session = session_for(user)
    assert session.get(accel + path).status_code == 200
    api_key_revoke(api_key=ApiKey.objects.get(user=user, revoked_at__isnull=True))
    deadline = time.monotonic() + 5
    while (status := session.get(accel + path).status_code) == 200:
        assert time.monotonic() < deadline, "the revoked key still downloads"
        time.sleep(0.1)
    assert status == 401


def test_accel_conditional_and_streamed_requests_are_djangos(accel, user):
    path, _ = audio_url(user, "Conditional requests go to Django.")
    session = session_for(user)
    etag = session.get(accel + path).headers["ETag"]
    cached = session.get(accel + path, headers={"If-None-Match": etag})
    assert cached.status_code == 304 and "X-Audio-Check" not in cached.headers
    streamed = session.get(accel + path + "?stream=1")
    assert streamed.status_code == 200 and "X-Audio-Check" not in streamed.headers
    assert streamed.content[:4] == b"RIFF"


def test_accel_downloads_after_a_remembered_check_keep_the_callers_rate_limit(
    live_server, settings, user, other_user
):
    settings.TTS_AUDIO_ACCEL_PREFIX = PREFIX
    upstream = urlsplit(live_server.url).netloc
    path, _ = audio_url(user, "Downloaded too often.")
    with nginx_in_front(
        upstream,
        media_root=str(settings.MEDIA_ROOT),
        prefix=PREFIX,
        rate="60r/m",
        burst=5,
    ) as accel:
        session = session_for(user)
        answers = [session.get(accel + path) for _ in range(10)]
        statuses = [a.status_code for a in answers]
        assert statuses[:6] == [200] * 6  # the first, then a burst of 5
        assert 429 in statuses[6:]
        limited = next(a for a in answers if a.status_code == 429)
        assert limited.headers["Retry-After"] == "1"
        assert limited.json()["error"]["code"] == "rate_limit_exceeded"
        assert limited.json()["error"]["type"] == "rate_limit_error"
        # Counted per caller: another user is not held up.
        other_path, _ = audio_url(other_user, "Another caller's download.")
        assert session_for(other_user).get(accel + other_path).status_code == 200
