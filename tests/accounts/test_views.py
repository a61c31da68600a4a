"""The account pages of the portal (accounts/views.py, accounts/forms.py): sign-up,
log-in and its rate limit, log-out, password change, API keys."""

import hashlib

import pytest
from django.test import Client

from accounts.models import ApiKey
from accounts.ratelimit import login_failures_clear

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/history/", "/voices/", "/account/", "/accounts/password_change/"]
)
def test_pages_ask_anonymous_visitors_to_log_in(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith(f"/accounts/login/?next={path}")


def test_signup_creates_the_user_logs_in_and_needs_no_key(client, django_user_model):
    response = client.post(
        "/accounts/signup/",
        {
            "username": "carol",
            "email": "",
            "password1": "a-long-Passphrase-9",
            "password2": "a-long-Passphrase-9",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    carol = django_user_model.objects.get(username="carol")
    assert carol.check_password("a-long-Passphrase-9")
    assert not ApiKey.objects.filter(user=carol).exists()
    assert client.get("/").status_code == 200


def test_signup_rejects_a_taken_name_and_a_weak_password(client, user):
    response = client.post(
        "/accounts/signup/",
        {"username": "ALICE", "password1": "x", "password2": "x"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "That username is taken." in form.errors["username"]
    response = client.post(
        "/accounts/signup/",
        {"username": "dave", "password1": "12345678", "password2": "12345678"},
    )
    assert "password1" in response.context["form"].errors


def test_signup_is_closed_by_setting(client, settings):
    settings.TTS_REGISTRATION_OPEN = False
    response = client.get("/accounts/signup/")
    assert response.status_code == 403
    assert b"Sign-up is closed" in response.content


def test_login_is_rate_limited_per_username_and_ip(client, user, settings):
    settings.RATELIMIT_ENABLE = True
    settings.LOGIN_RATELIMIT_ATTEMPTS = 3
    login_failures_clear(username="alice", ip="127.0.0.1")
    for _ in range(3):
        response = client.post(
            "/accounts/login/", {"username": "alice", "password": "wrong"}
        )
        assert response.status_code == 200
        assert b"Please enter a correct username" in response.content
    # The right password no longer gets in from this address.
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "pw-alice-1"}
    )
    assert response.status_code == 200
    assert b"Too many failed log-in attempts" in response.content
    assert "_auth_user_id" not in client.session
    # Another address is not affected.
    response = client.post(
        "/accounts/login/",
        {"username": "alice", "password": "pw-alice-1"},
        REMOTE_ADDR="10.0.0.9",
    )
    assert response.status_code == 302
    login_failures_clear(username="alice", ip="127.0.0.1")


def test_login_is_not_limited_when_rate_limits_are_off(client, user, settings):
    settings.RATELIMIT_ENABLE = False
    settings.LOGIN_RATELIMIT_ATTEMPTS = 1
    for _ in range(3):
        client.post("/accounts/login/", {"username": "alice", "password": "wrong"})
    response = client.post(
        "/accounts/login/", {"username": "alice", "password": "pw-alice-1"}
    )
    assert response.status_code == 302


def test_logout_needs_post(portal):
    assert portal.get("/accounts/logout/").status_code == 405
    response = portal.post("/accounts/logout/")
    assert response.status_code == 302
    assert b"Sign up" in portal.get("/").content  # the landing again


def test_password_change(portal, user):
    response = portal.post(
        "/accounts/password_change/",
        {
            "old_password": "pw-alice-1",
            "new_password1": "another-Passphrase-7",
            "new_password2": "another-Passphrase-7",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/password_change/done/"
    user.refresh_from_db()
    assert user.check_password("another-Passphrase-7")


def test_api_key_secret_is_shown_once_and_works_until_revoked(portal, user):
    response = portal.post("/account/", {"name": "laptop"})
    assert response.status_code == 200
    secret = response.context["new_key"]["secret"]
    assert secret.encode() in response.content
    key = ApiKey.objects.get(user=user, name="laptop")
    assert key.key_hash == hashlib.sha256(secret.encode()).hexdigest()
    page = portal.get("/account/")
    assert secret.encode() not in page.content
    assert key.prefix.encode() in page.content

    api = Client()
    assert (
        api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 200
    )
    response = portal.post(f"/account/keys/{key.pk}/revoke/")
    assert response.status_code == 302
    assert (
        api.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {secret}").status_code == 401
    )


def test_someone_elses_key_cannot_be_revoked(portal, other_user):
    from accounts.services import api_key_create

    key, _ = api_key_create(user=other_user, name="theirs")
    assert portal.post(f"/account/keys/{key.pk}/revoke/").status_code == 404
    key.refresh_from_db()
    assert key.revoked_at is None
