"""One failed-password limiter for every place that checks a password (portal log-in,
admin log-in, the token endpoint, the password-change form), and one client address
for the limiter, the throttles and /metrics: X-Forwarded-For counts only as far as
TRUSTED_PROXY_HOPS says."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import User
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Passphrase-9"


@pytest.fixture
def limited(settings):
    settings.RATELIMIT_ENABLE = True
    settings.LOGIN_RATELIMIT_ATTEMPTS = 3
    settings.LOGIN_RATELIMIT_WINDOW = 60
    # This process's own counters only (settings_test gives each its key prefix).
    cache.delete_pattern("login-failures:*")
    cache.delete_pattern("throttle_*")
    return settings


@pytest.fixture
def carol(django_user_model):
    return django_user_model.objects.create_user(
        username="carol", password=PASSWORD, is_staff=True, is_superuser=True
    )


def token(password: str, **headers):
    return APIClient().post(
        "/api/v1/auth/token",
        {"username": "carol", "password": password},
        format="json",
        **headers,
    )


def test_the_token_endpoint_refuses_even_the_right_password_after_failures(
    limited, carol
):
    for _ in range(3):
        assert_error(token("wrong"), 401, "invalid_credentials")
    refused = token(PASSWORD)
    assert_error(refused, 429, "too_many_failed_logins")
    assert 0 < int(refused["Retry-After"]) <= 60


def test_rotating_x_forwarded_for_does_not_reset_the_counter(limited, carol):
    for i in range(3):
        token("wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}")
    assert_error(token(PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.99"), 429)


def test_behind_a_trusted_proxy_each_client_has_its_own_counter(limited, carol):
    limited.TRUSTED_PROXY_HOPS = 1
    # The proxy appends the address it saw; what the client wrote before is its claim.
    for i in range(3):
        token("wrong", HTTP_X_FORWARDED_FOR=f"10.9.9.{i}, 203.0.113.7")
    assert_error(token(PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.7"), 429)
    assert token(PASSWORD, HTTP_X_FORWARDED_FOR="203.0.113.8").status_code == 201


def admin_login(client: Client, password: str):
    return client.post(
        "/admin/login/?next=/admin/",
        {"username": "carol", "password": password, "next": "/admin/"},
    )


def test_the_admin_login_shares_the_limit_with_the_api_and_the_portal(limited, carol):
    token("wrong")
    Client().post("/accounts/login/", {"username": "carol", "password": "wrong"})
    client = Client()
    assert admin_login(client, "wrong").status_code == 200
    refused = admin_login(client, PASSWORD)
    assert refused.status_code == 200  # the form again, not the redirect
    assert "Too many failed log-in attempts" in refused.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_portal_login_is_limited(limited, carol):
    client = Client()
    for _ in range(3):
        client.post("/accounts/login/", {"username": "carol", "password": "wrong"})
    page = client.post("/accounts/login/", {"username": "carol", "password": PASSWORD})
    assert page.status_code == 200
    assert "Too many failed log-in attempts" in page.content.decode()


def test_the_old_password_of_a_password_change_counts_too(limited, carol):
    client = Client()
    client.force_login(carol)

    def change(old: str):
        return client.post(
            "/accounts/password_change/",
            {
                "old_password": old,
                "new_password1": "another-long-Passphrase-7",
                "new_password2": "another-long-Passphrase-7",
            },
        )

    for _ in range(3):
        assert change("wrong").status_code == 200
    refused = change(PASSWORD)
    assert refused.status_code == 200
    assert "Too many failed log-in attempts" in refused.content.decode()
    carol.refresh_from_db()
    assert carol.check_password(PASSWORD)


def test_registration_is_throttled_per_client_address_not_per_header(
    limited, monkeypatch
):
    from tts_platform.throttling import RegisterRateThrottle

    monkeypatch.setattr(RegisterRateThrottle, "THROTTLE_RATES", {"register": "2/hour"})
    client = APIClient()

    def register(i: int):
        return client.post(
            "/api/v1/auth/register",
            {"username": f"mass{i}", "password": PASSWORD},
            format="json",
            HTTP_X_FORWARDED_FOR=f"192.0.2.{i}",
        )

    assert register(1).status_code == 201
    assert register(2).status_code == 201
    assert_error(register(3), 429, "rate_limit_exceeded")
    assert User.objects.filter(username__startswith="mass").count() == 2


def test_metrics_localhost_rule_uses_the_client_address(settings):
    settings.METRICS_TOKEN = ""
    assert Client().get("/metrics").status_code == 200  # REMOTE_ADDR 127.0.0.1
    settings.TRUSTED_PROXY_HOPS = 1
    # A proxy on localhost forwards a request from the internet: not local.
    from_outside = Client().get("/metrics", HTTP_X_FORWARDED_FOR="203.0.113.9")
    assert_error(from_outside, 403, "permission_denied")
    assert Client().get("/metrics", HTTP_X_FORWARDED_FOR="127.0.0.1").status_code == 200
