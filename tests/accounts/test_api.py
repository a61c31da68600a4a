import pytest
from rest_framework.test import APIClient

from accounts.models import ApiKey
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db


def test_register_returns_a_working_key_once():
    client = APIClient()
    response = client.post(
        "/api/v1/auth/register",
        {
            "username": "carol",
            "password": "a-long-passphrase-42",
            "email": "c@example.org",
        },
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["user"]["username"] == "carol"
    assert body["api_key"].startswith("tts_")
    key = ApiKey.objects.get()
    assert body["api_key"] not in (key.key_hash, key.prefix)
    assert body["api_key"].startswith(key.prefix)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {body['api_key']}")
    assert client.get("/api/v1/me").json()["username"] == "carol"


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"password": "a-long-passphrase-42"}, "required", "username"),
        ({"username": "dave", "password": "123"}, "weak_password", "password"),
        ({"username": "dave", "password": 12345678901}, "invalid", "password"),
        (
            {"username": "bad name!", "password": "a-long-passphrase-42"},
            "invalid",
            "username",
        ),
    ],
)
def test_register_rejects_bad_input(body, code, param):
    response = APIClient().post("/api/v1/auth/register", body, format="json")
    assert_error(response, 400, code, param)


def test_register_rejects_a_taken_username(user):
    response = APIClient().post(
        "/api/v1/auth/register",
        {"username": "ALICE", "password": "a-long-passphrase-42"},
        format="json",
    )
    assert_error(response, 400, "username_taken", "username")


def test_registration_can_be_closed(settings):
    settings.TTS_REGISTRATION_OPEN = False
    response = APIClient().post(
        "/api/v1/auth/register",
        {"username": "erin", "password": "a-long-passphrase-42"},
        format="json",
    )
    assert_error(response, 403, "registration_closed")


def test_token_with_password_and_wrong_password(user):
    client = APIClient()
    response = client.post(
        "/api/v1/auth/token",
        {"username": "alice", "password": "pw-alice-1", "name": "laptop"},
        format="json",
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "name", "key", "prefix", "created_at"}
    assert body["name"] == "laptop"
    wrong = client.post(
        "/api/v1/auth/token", {"username": "alice", "password": "nope"}, format="json"
    )
    assert_error(wrong, 401, "invalid_credentials")


def test_keys_list_never_shows_secrets_and_revocation_is_immediate(api, user):
    listing = api.get("/api/v1/auth/keys")
    assert listing.status_code == 200
    (entry,) = listing.json()["results"]
    assert set(entry) == {
        "id",
        "name",
        "prefix",
        "created_at",
        "last_used_at",
        "revoked_at",
    }
    assert entry["last_used_at"] is not None
    assert api.delete(f"/api/v1/auth/keys/{entry['id']}").status_code == 204
    assert_error(api.get("/api/v1/me"), 401, "invalid_api_key")


def test_someone_elses_key_is_404(api, other_api):
    (entry,) = other_api.get("/api/v1/auth/keys").json()["results"]
    assert_error(api.delete(f"/api/v1/auth/keys/{entry['id']}"), 404)
    assert other_api.get("/api/v1/me").status_code == 200


@pytest.mark.parametrize(
    "header", [None, "Bearer", "Bearer nope", "Basic abc", "Token tts_wrong_key"]
)
def test_missing_or_bad_credentials_are_401_with_a_challenge(header):
    client = APIClient()
    if header:
        client.credentials(HTTP_AUTHORIZATION=header)
    response = client.get("/api/v1/syntheses")
    assert_error(response, 401)
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_token_scheme_is_accepted(api):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {api.api_key}")
    assert client.get("/api/v1/me").status_code == 200


def test_a_deactivated_users_keys_stop_working(api, user):
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert_error(api.get("/api/v1/me"), 401)


def test_me_reports_quota_and_usage(api, settings):
    body = api.get("/api/v1/me").json()
    assert body["username"] == "alice"
    assert body["is_staff"] is False
    assert body["quota"]["characters_limit"] == settings.TTS_MONTHLY_CHARACTERS
    assert body["quota"]["characters_used"] == 0
    assert body["quota"]["period_end"]
    assert body["usage"] == {"requests": 0, "hits": 0, "misses": 0, "coalesced": 0}
