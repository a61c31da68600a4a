"""The API's JSON parser: any body the standard library's parser chokes on, or that
would only break the code after it, is a 400 `invalid_json` in the error shape.

DRF's parser turns most malformed JSON into a 400 already, but not a body nested
deeper than Python's recursion limit (the scanner raises RecursionError, a 500), and
it accepts numbers no field can hold (`1e999` parses to infinity)."""

from __future__ import annotations

import json
import math

from django.conf import settings
from rest_framework import parsers
from rest_framework.exceptions import ParseError

# No request body of this API nests more than a few levels.
MAX_DEPTH = 32
# int64 has 19 digits; longer integers are a mistake or an attack (CPU in int()).
MAX_INT_DIGITS = 40


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - the body is not {encoding}.") from exc
        try:
            data = json.loads(
                text,
                parse_constant=_refuse_constant,
                parse_float=_finite_float,
                parse_int=_bounded_int,
            )
        except RecursionError as exc:
            raise ParseError(_too_deep()) from exc
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from exc
        if _depth_exceeds(data, MAX_DEPTH):
            raise ParseError(_too_deep())
        return data


def _too_deep() -> str:
    return f"JSON parse error - nested deeper than {MAX_DEPTH} levels."


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(literal: str) -> float:
    value = float(literal)
    if not math.isfinite(value):
        raise ValueError(f"number {literal[:20]} is out of range")
    return value


def _bounded_int(literal: str) -> int:
    if len(literal.lstrip("-")) > MAX_INT_DIGITS:
        raise ValueError(f"integer longer than {MAX_INT_DIGITS} digits")
    return int(literal)


def _depth_exceeds(data, limit: int) -> bool:
    """Iterative (the input may be as deep as the recursion limit allows)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False
