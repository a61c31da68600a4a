"""Serving stored audio with strong ETags and single byte ranges (RFC 9110), which
browsers need to seek in <audio>. Django's FileResponse has no Range support."""

from __future__ import annotations

import re

from django.http import FileResponse, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from synthesis import storage
from tts_platform.errors import error_response

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


def _etag_matches(header: str, etag: str) -> bool:
    return header.strip() == "*" or etag in [t.strip() for t in header.split(",")]


def _parse_range(header: str, size: int) -> tuple[int, int] | None | bool:
    """(first, last) inclusive; None to ignore the header (malformed or several ranges);
    False when unsatisfiable."""
    match = _RANGE.match(header.strip())
    if not match:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    # No file has 10^18 bytes: a longer number cannot be satisfied, and is not parsed
    # (Python refuses int() of more than 4300 digits).
    if len(first) > 18 or len(last) > 18:
        return False
    if not first:  # suffix range: the last N bytes
        length = int(last)
        if length == 0:
            return False
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or (last and int(last) < start):
        return False
    return start, end


def _iter_range(handle, start: int, length: int):
    try:
        handle.seek(start)
        remaining = length
        while remaining > 0:
            chunk = handle.read(min(_CHUNK, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk
    finally:
        handle.close()


def serve_audio(
    request,
    *,
    name: str,
    content_type: str,
    etag: str,
    filename: str,
    as_attachment: bool = False,
) -> HttpResponse:
    size = storage.size(name)
    if _etag_matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    else:
        wanted = request.headers.get("Range")
        byte_range = _parse_range(wanted, size) if wanted else None
        if wanted and request.headers.get("If-Range") not in (None, etag):
            byte_range = None  # the client's copy is another version: send it whole
        if byte_range is False:
            response = error_response(
                "range_not_satisfiable", f"The file has {size} bytes.", 416
            )
            response["Content-Range"] = f"bytes */{size}"
        elif byte_range is None:
            response = FileResponse(storage.open_file(name), content_type=content_type)
            response["Content-Length"] = str(size)
        else:
            start, end = byte_range
            response = StreamingHttpResponse(
                _iter_range(storage.open_file(name), start, end - start + 1),
                status=206,
                content_type=content_type,
            )
            response["Content-Range"] = f"bytes {start}-{end}/{size}"
            response["Content-Length"] = str(end - start + 1)
    response["ETag"] = etag
    response["Accept-Ranges"] = "bytes"
    response["Cache-Control"] = "private, max-age=31536000, immutable"
    response["Content-Disposition"] = content_disposition_header(
        as_attachment, filename
    )
    return response
