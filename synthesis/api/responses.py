"""The one way audio is served: synthesis audio (native API, OpenAI endpoint, portal,
admin) and voice clips (voices API, portal, admin) all go through `artifact_audio` or
`voice_clip_audio`, so every path answers the same state with the same status, ETag
and headers (docs/api.md "Audio responses").

- Status: blocked 410 `blocked`; purged 410 `audio_removed`; file lost 410
  `audio_missing`; queued or running 409 `audio_not_ready`; failed 409
  `synthesis_failed`. Raised as domain errors, mapped to HTTP by the caller's layer.
- ETag `"<fingerprint>.<format>"` (voice clips `"<audio_sha256>.wav"`): strong, one per
  representation; single byte ranges (RFC 9110), which browsers need to seek in
  <audio> (Django's FileResponse has none); a readable file name; one caching rule.
- The one difference: `allow_blocked=True` lets moderators hear blocked audio in the
  admin (they judge it); no user-facing path passes it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import IO, Literal
from urllib.parse import quote

from django.conf import settings
from django.http import (
    FileResponse,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.utils.http import content_disposition_header

from synthesis import cache, storage
from synthesis.audio import formats
from synthesis.models import Artifact, Voice
from synthesis.run_errors import public_message
from synthesis.services.errors import Conflict, Gone
from tts_platform.errors import error_response

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_CHUNK = 64 * 1024


def _etag_matches(header: str, etag: str) -> bool:
    return header.strip() == "*" or etag in [t.strip() for t in header.split(",")]


def _parse_range(header: str, size: int) -> tuple[int, int] | Literal[False] | None:
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


def _iter_range(handle: IO[bytes], start: int, length: int) -> Iterator[bytes]:
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
    request: HttpRequest,
    *,
    name: str,
    content_type: str,
    etag: str,
    filename: str,
    as_attachment: bool = False,
) -> HttpResponseBase:
    response: HttpResponseBase
    if _etag_matches(request.headers.get("If-None-Match", ""), etag):
        response = HttpResponse(status=304)
    elif settings.TTS_AUDIO_ACCEL_PREFIX:
        # The front proxy sends the bytes (and answers Range) from an internal
        # location, after the checks the caller made (docs/deploy.md "nginx").
        response = HttpResponse(content_type=content_type)
        response["X-Accel-Redirect"] = (
            settings.TTS_AUDIO_ACCEL_PREFIX.rstrip("/") + "/" + quote(name)
        )
    elif settings.TTS_AUDIO_PRESIGNED_REDIRECT and not storage.is_local():
        # The object store sends the bytes (and answers Range) from a presigned URL.
        response = HttpResponseRedirect(
            storage.presigned_url(
                name,
                content_type=content_type,
                disposition=content_disposition_header(as_attachment, filename)
                or "inline",
            )
        )
    else:
        size = storage.size(name)
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
    response["Cache-Control"] = (
        "private, no-store"  # a presigned URL expires; the audio behind it does not
        if isinstance(response, HttpResponseRedirect)
        else "private, max-age=31536000, immutable"
    )
    # Never None here: there is always a file name.
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment, filename) or "inline"
    )
    return response


# --- What every audio path serves ----------------------------------------------------


def readable_filename(text: str, tag: str, fmt: str) -> str:
    """`<first words of the text>-<tag>.<fmt>`, e.g. `hello-world-3f2a9c1d.mp3`."""
    stem = "-".join(re.findall(r"\w+", text)[:6]).lower()[:48] or "audio"
    return f"{stem}-{tag}.{fmt}"


def artifact_audio_check(artifact: Artifact, *, allow_blocked: bool = False) -> None:
    """Raises the domain error that says why `artifact` has no audio to serve."""
    status = artifact.status
    if status == Artifact.Status.BLOCKED and not allow_blocked:
        raise Gone("blocked", "This audio was blocked by a moderator.")
    if status in Artifact.Status.IN_FLIGHT:
        raise Conflict("audio_not_ready", f"The synthesis is {status}; no audio yet.")
    if status == Artifact.Status.FAILED:
        # The stored error message may hold internals: users get the code's message.
        raise Conflict("synthesis_failed", public_message(artifact.error_code))
    if status == Artifact.Status.PURGED or not artifact.audio_name:
        raise Gone("audio_removed", "This audio was removed.")
    if not storage.exists(artifact.audio_name):
        # Lost behind the platform's back: the hit path trusts the pointer (no stat per
        # hit), so drop it; the next request finds the artifact in Postgres and re-runs.
        cache.pointer_delete(artifact.fingerprint)
        raise Gone("audio_missing", "The audio file is gone.")


def artifact_audio(
    request: HttpRequest,
    artifact: Artifact,
    fmt: str = formats.MASTER,
    *,
    as_attachment: bool = False,
    allow_blocked: bool = False,
) -> HttpResponseBase:
    """The audio of `artifact` in `fmt` (a key of formats.FORMATS); derived formats
    are encoded on first request and stored beside the master."""
    artifact_audio_check(artifact, allow_blocked=allow_blocked)
    return serve_audio(
        request,
        name=formats.stored_name(artifact, fmt),
        content_type=formats.FORMATS[fmt].content_type,
        etag=f'"{artifact.fingerprint}.{fmt}"',
        filename=readable_filename(artifact.text, artifact.fingerprint[:8], fmt),
        as_attachment=as_attachment,
    )


def voice_clip_audio(
    request: HttpRequest,
    voice: Voice,
    *,
    as_attachment: bool = False,
    allow_blocked: bool = False,
) -> HttpResponseBase:
    """The canonical reference clip of a prompt voice (always WAV)."""
    if voice.blocked_at is not None and not allow_blocked:
        raise Gone("blocked", "This voice was blocked by a moderator.")
    if not voice.audio_name or not storage.exists(voice.audio_name):
        raise Gone("audio_missing", "The clip file is gone.")
    return serve_audio(
        request,
        name=voice.audio_name,
        content_type=formats.FORMATS["wav"].content_type,
        etag=f'"{voice.audio_sha256}.wav"',
        filename=readable_filename(voice.name, voice.audio_sha256[:8], "wav"),
        as_attachment=as_attachment,
    )
