"""The admin's audio players (synthesis/admin/audio.py): staff with the view permission
only, byte ranges; the same answers as every audio path (tests/synthesis/api/
test_responses.py)."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from synthesis import storage
from tests.support.api import assert_error
from tests.support.moderation import make_artifact, make_voice


@pytest.mark.django_db
def test_admin_audio_needs_the_moderation_permission_and_supports_ranges(
    admin_client, user, staff_user
):
    artifact = make_artifact("Played in the admin.")
    voice = make_voice(user)
    url = f"/admin-audio/artifact/{artifact.pk}"

    partial = admin_client.get(url, HTTP_RANGE="bytes=0-99")
    assert partial.status_code == 206
    assert partial["Content-Range"] == f"bytes 0-99/{artifact.bytes}"
    assert len(b"".join(partial.streaming_content)) == 100
    clip = admin_client.get(f"/admin-audio/voice/{voice.pk}")
    assert clip.status_code == 200 and clip["Content-Type"] == "audio/wav"

    assert_error(Client().get(url), 403, "permission_denied")
    someone = Client()
    someone.force_login(user)
    assert_error(someone.get(url), 403, "permission_denied")
    # Being staff is not enough to hear users' recordings: the view permission of
    # what the audio belongs to is.
    moderator = Client()
    moderator.force_login(staff_user)
    assert_error(moderator.get(url), 403, "permission_denied")
    staff_user.user_permissions.add(
        Permission.objects.get(
            content_type__app_label="synthesis", codename="view_artifact"
        )
    )
    assert moderator.get(url).status_code == 200
    assert_error(moderator.get(f"/admin-audio/voice/{voice.pk}"), 403)

    assert_error(admin_client.get("/admin-audio/artifact/999999"), 404, "not_found")
    assert_error(admin_client.get("/admin-audio/voice/nope"), 404, "not_found")
    storage.delete(artifact.audio_name)
    assert_error(admin_client.get(url), 410, "audio_missing")
