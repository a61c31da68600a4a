"""Small helpers shared by the tests."""

from __future__ import annotations

import io

import soundfile
from rest_framework.test import APIClient

SYNTHESIS_FIELDS = {
    "id",
    "status",
    "cache",
    "fingerprint",
    "text",
    "voice",
    "seed",
    "sample_rate",
    "engine",
    "model_version",
    "characters",
    "duration_s",
    "audio_url",
    "created_at",
    "finished_at",
    "error",
}
ERROR_FIELDS = {"code", "message", "param", "type"}


def synthesize(client, wait: float = 30, **body):
    body.setdefault("text", "Hello, this is a cache test.")
    return client.post(f"/api/v1/syntheses?wait={wait}", body, format="json")


def audio_bytes(client, synthesis: dict, **headers) -> bytes:
    response = client.get(synthesis["audio_url"], **headers)
    assert response.status_code == 200, response.content[:300]
    return b"".join(response.streaming_content)


def decode(data: bytes):
    return soundfile.read(io.BytesIO(data), dtype="float32")


def assert_error(response, status: int, code: str | None = None, param=...):
    assert response.status_code == status, response.content[:500]
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == ERROR_FIELDS, body
    if code is not None:
        assert body["error"]["code"] == code, body
    if param is not ...:
        assert body["error"]["param"] == param, body
    return body["error"]


def client_for(user) -> APIClient:
    from accounts.services import api_key_create

    _, key = api_key_create(user=user, name="test")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    client.api_key = key
    return client
