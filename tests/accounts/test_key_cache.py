"""API keys are remembered briefly in each web process; revocations still take effect
within API_KEY_CACHE_SECONDS (here shortened), and at once in the revoking process."""

import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import key_cache
from accounts.models import ApiKey
from synthesis.services import moderation
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_key_cache():
    key_cache.api_key_forget_all()
    yield
    key_cache.api_key_forget_all()


def test_a_remembered_key_is_not_looked_up_again(api):
    assert api.get("/api/v1/me").status_code == 200
    with CaptureQueriesContext(connection) as queries:
        assert api.get("/api/v1/me").status_code == 200
    assert not [q for q in queries if "accounts_apikey" in q["sql"]]


def test_a_key_revoked_by_another_process_stops_working_within_the_ttl(api, settings):
    settings.API_KEY_CACHE_SECONDS = 0.5
    assert api.get("/api/v1/me").status_code == 200
    # Another web process revokes it: this process's memory is not told.
    ApiKey.objects.update(revoked_at=timezone.now())
    time.sleep(0.6)
    assert_error(api.get("/api/v1/me"), 401, "invalid_api_key")


def test_a_key_revoked_in_this_process_stops_working_at_once(api, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    assert api.get("/api/v1/me").status_code == 200
    (entry,) = api.get("/api/v1/auth/keys").json()["results"]
    assert api.delete(f"/api/v1/auth/keys/{entry['id']}").status_code == 204
    assert_error(api.get("/api/v1/me"), 401, "invalid_api_key")


def test_a_blocked_users_keys_stop_working_at_once(api, user, staff_user, settings):
    settings.API_KEY_CACHE_SECONDS = 60
    assert api.get("/api/v1/me").status_code == 200
    moderation.block_create(
        actor=staff_user, target="user", target_id=user.username, reason="spam"
    )
    assert_error(api.get("/api/v1/me"), 401, "invalid_api_key")


def test_each_request_gets_its_own_copy_of_the_user(api):
    first = key_cache.api_key_authenticate(key=api.api_key)
    first.user.username = "changed by a view"
    second = key_cache.api_key_authenticate(key=api.api_key)
    assert second.user.username == "alice"
    assert second is not first and second.user is not first.user


def test_unknown_keys_are_not_remembered(api):
    assert key_cache.api_key_authenticate(key="tts_00000000_nope") is None
    assert key_cache._entries == {}
