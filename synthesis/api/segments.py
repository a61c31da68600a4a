"""A synthesis' segments on their own: each segment's audio, for per-segment players
and for clients that assemble a script themselves."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.views import APIView

from synthesis import selectors
from synthesis.api.responses import artifact_audio
from synthesis.api.syntheses import AUDIO_FORMATS, audio_format


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
        # A segment is an artifact like any other: the same answers as every audio path.
        return artifact_audio(
            request,
            artifact,
            audio_format(request),
            as_attachment=request.query_params.get("download") == "1",
        )
