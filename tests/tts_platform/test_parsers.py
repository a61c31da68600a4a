"""Bodies the JSON parser chokes on are a 400 `invalid_json` in the error shape on every
API endpoint that takes a body; no body of any shape is a 500."""

import pytest

from tests.support.api import assert_error

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/v1/syntheses",
    "/v1/audio/speech",
    "/api/v1/voices",
    "/api/v1/auth/register",
    "/api/v1/auth/token",
    "/api/v1/moderation/blocks",
]

# A staff key, so the staff-only endpoint parses the body too.

# What the parser itself must refuse.
UNPARSABLE = {
    "array nested 100,000 levels": b"[" * 100_000 + b"]" * 100_000,
    "object nested 100,000 levels": b'{"a":' * 100_000 + b"1" + b"}" * 100_000,
    "nested past the depth limit": b'{"text": ' + b"[" * 40 + b"]" * 40 + b"}",
    "unclosed nesting": b"[" * 100_000,
    "invalid UTF-8": b'{"text": "caf\xe9 \xff\xfe"}',
    "a lone surrogate half": b'{"text": "\xed\xa0\x80"}',
    "an integer of 5,000 digits": b'{"seed": 1' + b"0" * 5000 + b"}",
    "an integer of 100 digits": b'{"seed": 1' + b"0" * 99 + b"}",
    "a float beyond double": b'{"speed": 1e999}',
    "NaN": b'{"seed": NaN}',
    "Infinity": b'{"speed": Infinity}',
    "-Infinity": b'{"speed": -Infinity}',
    "truncated": b'{"text": "Hello',
    "not JSON at all": b"text=Hello",
    "a NUL byte": b'{"text": "a"}\x00',
}

# Valid JSON of shapes no endpoint expects: refused by validation, never a 500.
ODD_SHAPES = {
    "a top-level array": b"[]",
    "a top-level string": b'"Hello"',
    "a top-level number": b"1",
    "null": b"null",
    "true": b"true",
    "an empty object": b"{}",
    "text as an object": b'{"text": {"a": [1]}, "voice": [], "seed": {}}',
    "text as a list": b'{"text": ["Hello"], "input": ["Hello"], "name": [1]}',
    "keys of every type": b'{"seed": "x", "sample_rate": [], "speed": "fast"}',
    "nested within the limit": b'{"text": ' + b"[" * 30 + b"]" * 30 + b"}",
}


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("body", UNPARSABLE.values(), ids=UNPARSABLE.keys())
def test_an_unparsable_body_is_invalid_json(staff_api, endpoint, body):
    response = staff_api.generic(
        "POST", endpoint, body, content_type="application/json"
    )
    assert_error(response, 400, "invalid_json")


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("body", ODD_SHAPES.values(), ids=ODD_SHAPES.keys())
def test_valid_json_of_the_wrong_shape_is_a_client_error(staff_api, endpoint, body):
    response = staff_api.generic(
        "POST", endpoint, body, content_type="application/json"
    )
    assert 400 <= response.status_code < 500, response.content[:300]
    assert_error(response, response.status_code)


def test_a_body_within_the_limits_reaches_validation(api):
    # A 20-digit integer parses; the serializer, not the parser, refuses it.
    response = api.generic(
        "POST",
        "/api/v1/syntheses",
        b'{"text": "Hi", "seed": 12345678901234567890, "speed": 1.5e0}',
        content_type="application/json",
    )
    assert_error(response, 400, "max_value", param="seed")
