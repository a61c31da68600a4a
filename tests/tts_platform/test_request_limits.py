"""Request bodies: one limit for every view, refused from Content-Length before a byte is
read and capped while streaming; JSON-only parsers where no file is expected; a bound on
every text field."""

from __future__ import annotations

import io
import json

import pytest
from django.test import Client
from rest_framework.test import APIClient

from synthesis.services.errors import TooLarge
from tests.support.api import assert_error

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


class BigJsonBody:
    """A JSON body of `size` bytes produced on demand; counts what the server reads."""

    def __init__(self, size: int) -> None:
        self.head = b'{"username": "someone", "password": "'
        self.size = size
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.size - self.position
        size = min(size, self.size - self.position)
        start = self.position
        self.position += size
        head = self.head[start : start + size]
        return head + b"x" * (size - len(head))

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 1024)


def test_a_40_mb_json_body_to_register_is_refused_without_being_read():
    body = BigJsonBody(40 * MB)
    response = APIClient().generic(
        "POST",
        "/api/v1/auth/register",
        content_type="application/json",
        **{"wsgi.input": body, "CONTENT_LENGTH": str(body.size)},
    )
    assert_error(response, 413, "request_too_large")
    assert body.position == 0


def test_the_limit_applies_to_portal_forms_too():
    body = BigJsonBody(3 * MB)
    response = Client().generic(
        "POST",
        "/accounts/login/",
        content_type="application/x-www-form-urlencoded",
        **{"wsgi.input": body, "CONTENT_LENGTH": str(body.size)},
    )
    assert_error(response, 413, "request_too_large")
    assert body.position == 0


def test_the_stream_is_capped_while_it_is_read():
    """Django reads at most Content-Length bytes; the cap holds whatever the server in
    front passes on (e.g. a stream longer than its declared length)."""
    from tts_platform.body_limit import CappedStream

    stream = CappedStream(io.BytesIO(b"x" * MB), 64 * 1024)
    assert len(stream.read(60 * 1024)) == 60 * 1024
    with pytest.raises(TooLarge):
        stream.read(8 * 1024)


def test_a_body_without_length_is_refused():
    response = APIClient().post(
        "/api/v1/auth/register",
        b"",
        content_type="application/json",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert_error(response, 411, "length_required")


def test_a_json_body_under_the_limit_still_works(settings):
    settings.TTS_MAX_BODY_BYTES = 1 * MB
    text = "word " * 50_000  # 250 kB, like a long document
    response = APIClient().post(
        "/api/v1/auth/register",
        json.dumps({"username": "longbody", "password": "p" * 20, "pad": text}),
        content_type="application/json",
    )
    assert response.status_code == 201, response.content[:300]


@pytest.mark.parametrize(
    "path", ["/api/v1/auth/register", "/api/v1/auth/token", "/api/v1/moderation/purge"]
)
def test_endpoints_without_files_accept_json_only(path, staff_api):
    response = staff_api.post(
        path, {"username": "a", "password": "b"}, format="multipart"
    )
    assert_error(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("path", "body", "param"),
    [
        ("/api/v1/auth/token", {"username": "u" * 5000, "password": "x"}, "username"),
        ("/api/v1/auth/token", {"username": "u", "password": "x" * 5000}, "password"),
        ("/api/v1/syntheses", {"text": "a " * 60_000}, "text"),
        ("/v1/audio/speech", {"model": "tts-1", "input": "a" * 120_000}, "input"),
    ],
)
def test_every_text_field_has_a_maximum_length(api, path, body, param):
    assert_error(api.post(path, body, format="json"), 400, param=param)


def test_moderation_reasons_have_a_maximum_length(staff_api, user):
    response = staff_api.post(
        "/api/v1/moderation/blocks",
        {"target": "user", "id": user.username, "reason": "r" * 5000},
        format="json",
    )
    assert_error(response, 400, param="reason")


def test_query_text_fields_have_a_maximum_length(api):
    assert_error(api.get("/api/v1/syntheses", {"search": "s" * 5000}), 400)
    assert_error(api.get("/api/v1/syntheses", {"voice": "v" * 5000}), 400)
