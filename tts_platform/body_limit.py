"""One limit on request bodies for every view (TTS_MAX_BODY_BYTES), larger only for the
views that accept audio uploads (they declare it; synthesis/api/uploads.py).

Checked in process_view, before any view, the CSRF check or DRF's parsers touch the
body: a Content-Length over the limit is answered 413 without reading a byte. The
stream is also capped while it is read, so a body can never deliver more than the limit
whatever the server in front passes on. A body sent without a length (chunked) is
refused with 411: Django would read it as empty."""

from __future__ import annotations

from django.conf import settings

from synthesis.services.errors import TooLarge

from .errors import error_response


def content_length(meta) -> int:
    try:
        return max(0, int(meta.get("CONTENT_LENGTH") or 0))
    except ValueError:
        return 0


def view_body_limit(view_func) -> tuple[int, bool]:
    """(limit, whether the view declares and enforces its own): `max_body_bytes` on the
    function or on its DRF class, else TTS_MAX_BODY_BYTES."""
    declared = getattr(view_func, "max_body_bytes", None)
    if declared is None:
        declared = getattr(getattr(view_func, "cls", None), "max_body_bytes", None)
    if declared is None:
        return settings.TTS_MAX_BODY_BYTES, False
    return declared, True


def accepts_uploads(limit: int):
    """Marks a function view as taking bodies of up to `limit` bytes, which it refuses
    itself (from Content-Length, before reading) when larger."""

    def mark(view_func):
        view_func.max_body_bytes = limit
        return view_func

    return mark


def body_too_large(limit: int) -> TooLarge:
    return TooLarge(
        "request_too_large",
        f"The request body is over the limit of {limit} bytes.",
    )


class CappedStream:
    """Reads through to the request's stream and raises once more than `limit`
    bytes came through."""

    def __init__(self, stream, limit: int) -> None:
        self.stream, self.limit, self.received = stream, limit, 0

    def _count(self, data: bytes) -> bytes:
        self.received += len(data)
        if self.received > self.limit:
            raise body_too_large(self.limit)
        return data

    def read(self, *args, **kwargs) -> bytes:
        return self._count(self.stream.read(*args, **kwargs))

    def readline(self, *args, **kwargs) -> bytes:
        return self._count(self.stream.readline(*args, **kwargs))

    def close(self) -> None:
        close = getattr(self.stream, "close", None)
        if close:
            close()


def _refusal(status: int, code: str, message: str):
    response = error_response(code, message, status)
    # The unread body is left on the socket: the connection cannot be reused.
    response["Connection"] = "close"
    return response


class RequestBodyLimitMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit, own = view_body_limit(view_func)
        meta = request.META
        length = content_length(meta)
        # Upload views refuse oversized bodies themselves, in their own words (a form
        # message in the portal); the stream stays capped for them too.
        if length > limit and not own:
            return _refusal(413, "request_too_large", body_too_large(limit).message)
        if not length and "chunked" in meta.get("HTTP_TRANSFER_ENCODING", "").lower():
            return _refusal(
                411, "length_required", "Send the body with a Content-Length."
            )
        stream = getattr(request, "_stream", None)
        if stream is not None and not getattr(request, "_read_started", False):
            request._stream = CappedStream(stream, limit)
        return None

    def process_exception(self, request, exception):
        # Raised by CappedStream in a view that is not DRF's (DRF maps it itself).
        if isinstance(exception, TooLarge) and exception.code == "request_too_large":
            return _refusal(413, exception.code, exception.message)
        return None
