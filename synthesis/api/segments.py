"""A synthesis' segments on their own: each segment's audio, for per-segment players
and for clients that assemble a script themselves."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from synthesis import selectors, storage
from synthesis.api.responses import serve_audio
from synthesis.api.syntheses import AUDIO_FORMATS, audio_filename
from synthesis.audio import formats
from synthesis.models import Artifact
from tts_platform.errors import ApiError


class SynthesisSegmentAudioApi(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("format", str, enum=list(AUDIO_FORMATS))],
        responses={(200, "audio/wav"): bytes, (206, "audio/wav"): bytes},
        tags=["syntheses"],
    )
    def get(self, request, synthesis_id, index: int):
        synthesis, artifact = selectors.segment_get(
            user=request.user, synthesis_id=synthesis_id, index=index
        )
        fmt = request.query_params.get("format", "wav")
        if fmt not in AUDIO_FORMATS:
            raise ApiError(
                "unsupported_format",
                f"format must be one of {sorted(AUDIO_FORMATS)}.",
                param="format",
            )
        if artifact.status == Artifact.Status.BLOCKED:
            raise ApiError("blocked", "This audio was blocked.", status_code=410)
        if artifact.status != Artifact.Status.SUCCEEDED:
            raise ApiError(
                "audio_not_ready",
                f"Segment {index} is {artifact.status}; no audio yet.",
                status_code=409,
            )
        if not storage.exists(artifact.audio_name):
            raise ApiError("audio_missing", "The audio file is gone.", status_code=410)
        stem = audio_filename(synthesis, fmt).rsplit(".", 1)[0]
        return serve_audio(
            request,
            name=formats.stored_name(artifact, fmt),
            content_type=AUDIO_FORMATS[fmt],
            etag=f'"{artifact.fingerprint}.{fmt}"',
            filename=f"{stem}-segment-{index}.{fmt}",
            as_attachment=request.query_params.get("download") == "1",
        )
