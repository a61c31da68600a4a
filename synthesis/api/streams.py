"""Streaming a synthesis' audio while it is made (`?stream=1`): the body carries each
segment's audio, in order, as soon as it is stored, then ends. A finished synthesis is
its stored file. Every request for the same audio gets the same stream: one that joins
late gets the stored segments at once, then the rest as they land."""

from __future__ import annotations

from django.http import HttpResponse, StreamingHttpResponse

from synthesis.audio.stream import STREAM_FORMATS
from synthesis.models import Artifact, SynthesisRequest
from synthesis.services import streams
from tts_platform.errors import ApiError

Status = Artifact.Status


def wants_stream(request) -> bool:
    return request.query_params.get("stream", "").lower() in ("1", "true", "yes")


def stream_format(request, default: str = "wav") -> str:
    fmt = request.query_params.get("format", default)
    if fmt not in STREAM_FORMATS:
        raise ApiError(
            "unsupported_format",
            f"a stream's format must be one of {sorted(STREAM_FORMATS)}.",
            param="format",
        )
    return fmt


def streaming_response(synthesis: SynthesisRequest, fmt: str) -> HttpResponse:
    response = StreamingHttpResponse(
        streams.synthesis_stream(synthesis, fmt), content_type=STREAM_FORMATS[fmt]
    )
    response["Cache-Control"] = "no-store"
    # Proxies must pass each segment on as it comes, not buffer the whole body.
    response["X-Accel-Buffering"] = "no"
    response["X-Fingerprint"] = synthesis.artifact.fingerprint
    return response


def stream_response(request, synthesis: SynthesisRequest) -> HttpResponse | None:
    """The stream while the synthesis is in flight, or None when the ordinary audio
    answer applies (a finished synthesis, pcm included, or an error status)."""
    fmt = stream_format(request)
    if synthesis.artifact.status in Status.IN_FLIGHT:
        return streaming_response(synthesis, fmt)
    return None
