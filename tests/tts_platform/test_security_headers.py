"""Safe responses: bounded Range parsing, no caching of plaintext keys, fixed failure
messages on shared artifacts, a CSP without inline scripts on every portal and admin
page, a clean `check --deploy` in production and no pickle in the cache."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.cache import cache
from django.test import Client
from django_redis import get_redis_connection
from rest_framework.test import APIClient

from synthesis.models import Artifact
from tests.support.api import assert_error
from tests.support.moderation import make_artifact

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "a-long-Passphrase-9"


# --- Range -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    ["bytes=" + "9" * 5000 + "-", "bytes=0-" + "9" * 5000, "bytes=-" + "1" * 5000],
)
def test_a_range_with_thousands_of_digits_is_416(api, user, header):
    artifact = make_artifact("Seek far away.", user=user)
    synthesis = artifact.requests.get()
    response = api.get(f"/api/v1/syntheses/{synthesis.pk}/audio", HTTP_RANGE=header)
    assert_error(response, 416, "range_not_satisfiable")
    assert response["Content-Range"] == f"bytes */{artifact.bytes}"


# --- Plaintext keys are never cached --------------------------------------------------


def test_register_and_token_responses_are_not_stored():
    client = APIClient()
    registered = client.post(
        "/api/v1/auth/register",
        {"username": "keeper", "password": PASSWORD},
        format="json",
    )
    assert registered.status_code == 201
    assert registered["Cache-Control"] == "no-store"
    token = client.post(
        "/api/v1/auth/token",
        {"username": "keeper", "password": PASSWORD},
        format="json",
    )
    assert token.status_code == 201
    assert token["Cache-Control"] == "no-store"


def test_the_portal_page_showing_a_new_key_is_not_stored(user):
    client = Client()
    client.force_login(user)
    page = client.post("/account/", {"name": "laptop"})
    assert page.status_code == 200
    assert "tts_" in page.content.decode()
    assert page["Cache-Control"] == "no-store"


# --- Failures on shared artifacts --------------------------------------------------------


def test_failure_details_stay_out_of_what_users_see(api, user):
    artifact = make_artifact("This run broke.", user=user)
    detail = "OSError: /srv/tts/secret/engine.so: cannot open shared object on host-7"
    Artifact.objects.filter(pk=artifact.pk).update(
        status="failed", error_code="internal_error", error_message=detail
    )
    synthesis = artifact.requests.get()
    body = api.get(f"/api/v1/syntheses/{synthesis.pk}").json()
    assert body["error"]["code"] == "internal_error"
    assert "secret" not in body["error"]["message"]
    assert body["error"]["message"]
    client = Client()
    client.force_login(user)
    fragment = client.get(f"/syntheses/{synthesis.pk}/status/").content.decode()
    assert "secret" not in fragment and "The synthesis failed" in fragment


# --- Content-Security-Policy ----------------------------------------------------------------

INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>")
INLINE_HANDLER = re.compile(r"\son[a-z]+\s*=", re.IGNORECASE)


def assert_csp_page(response):
    assert response.status_code == 200, response.status_code
    policy = response["Content-Security-Policy"]
    directives = dict(
        (part.split()[0], part.split()[1:])
        for part in policy.split(";")
        if part.strip()
    )
    assert directives["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in policy and "'unsafe-eval'" not in policy
    assert directives["frame-ancestors"] == ["'none'"]
    assert response["Referrer-Policy"] == "same-origin"
    html = response.content.decode()
    assert not INLINE_SCRIPT.search(html), INLINE_SCRIPT.search(html).group(0)
    assert not INLINE_HANDLER.search(html), INLINE_HANDLER.search(html).group(0)


@pytest.mark.parametrize(
    "path",
    ["/", "/history/", "/voices/", "/account/", "/accounts/password_change/"],
)
def test_portal_pages_send_a_csp_and_run_no_inline_script(user, path):
    client = Client()
    client.force_login(user)
    assert_csp_page(client.get(path))


@pytest.mark.parametrize("path", ["/", "/accounts/login/", "/accounts/signup/"])
def test_public_pages_send_a_csp(path):
    assert_csp_page(Client().get(path))


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/accounts/user/",
        "/admin/synthesis/artifact/",
        "/admin/accounts/apikey/",
    ],
)
def test_admin_pages_send_a_csp(admin_client, path):
    response = admin_client.get(path)
    assert response.status_code == 200
    assert "script-src 'self'" in response["Content-Security-Policy"]


# --- Production configuration ---------------------------------------------------------------


def test_check_deploy_is_clean_for_a_production_configuration():
    keep = {"PATH", "HOME", "LANG"}
    env = {k: v for k, v in os.environ.items() if k in keep}
    env.update(
        DJANGO_SETTINGS_MODULE="tts_platform.settings",
        DEBUG="false",
        SECRET_KEY="Jx7-vQ2#pL9!mZ4$wR8^tY6&uI3*oP1(aS5)dF0_gH2+kL7=zX9@cV4%bN6~",
        ALLOWED_HOSTS="tts.example.org",
        DATABASE_URL=os.environ.get("DATABASE_URL", ""),
        REDIS_URL=os.environ.get("REDIS_URL", ""),
    )
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_defaults_are_https_only():
    code = (
        "from django.conf import settings as s; import json; print(json.dumps(["
        "s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT,"
        "s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER, s.DEBUG]))"
    )
    env = {
        "PATH": os.environ["PATH"],
        "DJANGO_SETTINGS_MODULE": "tts_platform.settings",
        "SECRET_KEY": "x" * 60,
        "SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto",
    }
    run = [sys.executable, "-c", f"import django; django.setup(); {code}"]
    production = subprocess.run(
        run, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert json.loads(production.stdout) == [
        True,
        True,
        True,
        31_536_000,
        ["HTTP_X_FORWARDED_PROTO", "https"],
        False,
    ], production.stderr
    embedded = subprocess.run(
        run,
        cwd=ROOT,
        env={**env, "TTS_EMBEDDED": "true"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    secure, csrf_secure, redirect, hsts, _, debug = json.loads(embedded.stdout)
    assert (secure, csrf_secure, redirect, hsts, debug) == (
        False,
        False,
        False,
        0,
        False,
    )


# --- Cache serializer -----------------------------------------------------------------------


def test_the_cache_stores_json_not_pickle():
    cache.set("serializer-probe", {"a": [1, 2]}, timeout=30)
    raw = get_redis_connection("default").get(cache.make_key("serializer-probe"))
    assert json.loads(raw) == {"a": [1, 2]}
    cache.delete("serializer-probe")
