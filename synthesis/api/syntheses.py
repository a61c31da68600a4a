"""The synthesis HTTP API (docs/api.md "Syntheses"): one APIView per operation."""

from __future__ import annotations

from django.conf import settings
from django.db.models import prefetch_related_objects
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.permissions import IsAdminUser
from rest_framework.response import Response
from rest_framework.views import APIView

from synthesis import selectors
from synthesis.api import streams
from synthesis.api.responses import artifact_audio
from synthesis.api.uploads import UploadLimitMixin
from synthesis.api.voices import SynthesisPromptFields, synthesis_prompt_voice
from synthesis.audio import formats
from synthesis.models import Artifact, SynthesisRequest
from synthesis.run_errors import public_message
from synthesis.services import syntheses, waits
from tts_platform.errors import ApiError
from tts_platform.fields import StrictCharField, StrictFloatField, StrictIntegerField
from tts_platform.pagination import paginated_response

MAX_WAIT_SECONDS = 60
# The bound of the raw text field; the limit that counts is TTS_MAX_TEXT_CHARS on the
# normalized text (whitespace runs collapse), checked by the service.
MAX_RAW_TEXT_CHARS = settings.TTS_MAX_TEXT_CHARS * 2
AUDIO_FORMATS = {name: spec.content_type for name, spec in formats.FORMATS.items()}


def audio_url(request: SynthesisRequest) -> str | None:
    if request.artifact.status != Artifact.Status.SUCCEEDED:
        return None
    return f"/api/v1/syntheses/{request.pk}/audio"


def segment_views(synthesis: SynthesisRequest) -> list[dict]:
    """The synthesis' segments as the API shows them: derived from the synthesis itself
    when it is one segment (nothing more is stored), else from its segment rows."""
    if synthesis.segment_count <= 1:
        artifact = synthesis.artifact
        return [
            {
                "index": 0,
                "text": synthesis.text,
                "voice": synthesis.voice_ref,
                "seed": synthesis.seed,
                "fingerprint": artifact.fingerprint,
                "cache": synthesis.cache,
                "status": public_status(artifact.status),
                "duration_s": artifact.duration_s,
            }
        ]
    if "segments" not in getattr(synthesis, "_prefetched_objects_cache", {}):
        prefetch_related_objects([synthesis], "segments__artifact")
    return [
        {
            "index": segment.index,
            "text": segment.text,
            "voice": segment.voice_ref,
            "seed": segment.seed,
            "fingerprint": segment.artifact.fingerprint,
            "cache": segment.cache,
            "status": public_status(segment.artifact.status),
            "duration_s": segment.artifact.duration_s,
        }
        for segment in synthesis.segments.all()
    ]


def public_status(status: str) -> str:
    # "purged" is internal (made again on the next identical request): to the client, gone.
    return Artifact.Status.FAILED if status == Artifact.Status.PURGED else status


def synthesis_status(synthesis: SynthesisRequest) -> str:
    status = public_status(synthesis.artifact.status)
    if status == Artifact.Status.QUEUED and synthesis.segment_count > 1:
        # A script is running as soon as any of its segments is.
        started = (Artifact.Status.RUNNING, Artifact.Status.SUCCEEDED)
        if any(s["status"] in started for s in segment_views(synthesis)):
            return Artifact.Status.RUNNING
    return status


def segment_counts(synthesis: SynthesisRequest) -> dict[str, int]:
    counts = dict.fromkeys(("hit", "coalesced", "miss"), 0)
    for segment in segment_views(synthesis):
        counts[segment["cache"]] += 1
    return counts


class SegmentOutputSerializer(serializers.Serializer):
    index = serializers.IntegerField()
    text = serializers.CharField()
    voice = serializers.CharField()
    seed = serializers.IntegerField()
    fingerprint = serializers.CharField()
    cache = serializers.ChoiceField(choices=SynthesisRequest.Cache.choices)
    status = serializers.CharField()
    duration_s = serializers.FloatField(allow_null=True)


class SynthesisOutputSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    status = serializers.SerializerMethodField()
    cache = serializers.CharField()
    fingerprint = serializers.CharField(source="artifact.fingerprint")
    text = serializers.CharField()
    voice = serializers.CharField(source="voice_ref")
    seed = serializers.IntegerField()
    sample_rate = serializers.IntegerField()
    engine = serializers.CharField()
    model_version = serializers.CharField(source="artifact.model_version")
    characters = serializers.IntegerField()
    reused_characters = serializers.IntegerField()
    segment_count = serializers.IntegerField()
    segments = serializers.SerializerMethodField()
    duration_s = serializers.FloatField(source="artifact.duration_s", allow_null=True)
    audio_url = serializers.SerializerMethodField()
    channel = serializers.CharField()
    latency_ms = serializers.FloatField()
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(
        source="artifact.finished_at", allow_null=True
    )
    error = serializers.SerializerMethodField()

    def get_audio_url(self, obj) -> str | None:
        return audio_url(obj)

    @extend_schema_field(
        {
            "type": "string",
            "enum": ["queued", "running", "succeeded", "failed", "blocked"],
        }
    )
    def get_status(self, obj) -> str:
        return synthesis_status(obj)

    @extend_schema_field(SegmentOutputSerializer(many=True))
    def get_segments(self, obj) -> list[dict]:
        return segment_views(obj)

    def get_error(self, obj) -> dict | None:
        artifact = obj.artifact
        if artifact.status == Artifact.Status.PURGED:
            return {"code": "audio_removed", "message": "This audio was removed."}
        if artifact.status == Artifact.Status.FAILED:
            code = artifact.error_code or "engine_error"
            error = {"code": code, "message": public_message(code)}
            failed = [
                s["index"]
                for s in segment_views(obj)
                if s["status"] == Artifact.Status.FAILED
            ]
            if obj.segment_count > 1 and failed:
                error["segment"] = failed[0]
                error["message"] = f"Segment {failed[0]} failed. {public_message(code)}"
            return error
        if artifact.status == Artifact.Status.BLOCKED:
            return {
                "code": "blocked",
                "message": "This audio was blocked by a moderator.",
            }
        return None


def synthesis_response(request: SynthesisRequest) -> Response:
    artifact = request.artifact
    in_flight = artifact.status in (Artifact.Status.QUEUED, Artifact.Status.RUNNING)
    code = status.HTTP_202_ACCEPTED if in_flight else status.HTTP_200_OK
    response = Response(SynthesisOutputSerializer(request).data, status=code)
    response["X-Cache"] = request.cache.upper()
    counts = segment_counts(request)
    response["X-Cache-Segments"] = ", ".join(f"{k}={v}" for k, v in counts.items())
    response["X-Fingerprint"] = artifact.fingerprint
    response["Location"] = f"/api/v1/syntheses/{request.pk}"
    return response


def wait_seconds(request) -> float:
    raw = request.query_params.get("wait")
    if raw is None:
        return 0.0
    try:
        wait = float(raw)
    except ValueError:
        wait = -1
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ApiError(
            "invalid_wait",
            f"wait must be a number of seconds from 0 to {MAX_WAIT_SECONDS}.",
            param="wait",
        )
    return wait


@extend_schema_field(
    {"type": "integer", "enum": list(settings.TTS_SAMPLE_RATES), "default": 24000}
)
class SampleRateField(StrictIntegerField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if value not in settings.TTS_SAMPLE_RATES:
            raise serializers.ValidationError(
                f"must be one of {list(settings.TTS_SAMPLE_RATES)}.",
                code="invalid_sample_rate",
            )
        return value


class SeedField(StrictIntegerField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", settings.TTS_DEFAULT_SEED)
        super().__init__(min_value=0, max_value=2**32 - 1, **kwargs)


class SpeedField(StrictFloatField):
    """Playback speed; 1.0 is the absence of speed (not part of the fingerprint)."""

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault("default", 1.0)
        super().__init__(min_value=0.25, max_value=4.0, **kwargs)


class SegmentInputSerializer(serializers.Serializer):
    text = StrictCharField(
        trim_whitespace=False, allow_blank=True, max_length=MAX_RAW_TEXT_CHARS
    )
    voice = StrictCharField(required=False, allow_null=True, max_length=100)
    seed = StrictIntegerField(
        required=False, allow_null=True, min_value=0, max_value=2**32 - 1
    )


class SynthesisInputSerializer(serializers.Serializer):
    text = StrictCharField(
        trim_whitespace=False,
        allow_blank=True,
        required=False,
        max_length=MAX_RAW_TEXT_CHARS,
    )
    # Instead of text: explicit segments, each with its own voice and seed.
    segments = serializers.ListField(
        child=SegmentInputSerializer(), required=False, allow_empty=True
    )
    voice = StrictCharField(required=False, allow_null=True, max_length=100)
    seed = SeedField()
    sample_rate = SampleRateField(
        required=False, default=settings.TTS_DEFAULT_SAMPLE_RATE
    )
    speed = SpeedField()

    def validate(self, attrs):
        if "text" not in attrs and "segments" not in attrs:
            raise serializers.ValidationError(
                {"text": serializers.ErrorDetail("This field is required.", "required")}
            )
        return attrs

    def to_input(self) -> syntheses.SynthesisInput:
        data = dict(self.validated_data)
        raw = data.pop("segments", None)
        if raw is not None:
            data["segments"] = tuple(syntheses.SegmentInput(**item) for item in raw)
        return syntheses.SynthesisInput(**data)


class SynthesisMultipartInputSerializer(
    SynthesisInputSerializer, SynthesisPromptFields
):
    pass


class SynthesisListCreateApi(UploadLimitMixin, APIView):
    """POST creates a synthesis (JSON, or multipart with an ad-hoc prompt voice);
    GET lists the caller's history."""

    class FilterSerializer(serializers.Serializer):
        search = serializers.CharField(required=False, default="", max_length=200)
        status = serializers.ChoiceField(
            choices=Artifact.Status.choices, required=False, default=""
        )
        cache = serializers.ChoiceField(
            choices=SynthesisRequest.Cache.choices, required=False, default=""
        )
        voice = serializers.CharField(required=False, default="", max_length=100)

    @extend_schema(
        request={
            "application/json": SynthesisInputSerializer,
            "multipart/form-data": SynthesisMultipartInputSerializer,
        },
        responses={200: SynthesisOutputSerializer, 202: SynthesisOutputSerializer},
        parameters=[OpenApiParameter("wait", float, description="seconds, 0..60")],
        tags=["syntheses"],
    )
    def post(self, request):
        wait = wait_seconds(request)
        serializer = SynthesisInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        synthesis = syntheses.synthesis_create(
            user=request.user,
            data=serializer.to_input(),
            channel=SynthesisRequest.Channel.API,
            api_key=getattr(request, "api_key", None),
            voice=synthesis_prompt_voice(request, serializer.validated_data),
        )
        if wait and synthesis.artifact.status in Artifact.Status.IN_FLIGHT:
            with waits.wait_slot(user=request.user, timeout=wait):
                syntheses.synthesis_wait(request=synthesis, timeout=wait)
        return synthesis_response(synthesis)

    @extend_schema(
        parameters=[FilterSerializer],
        responses=SynthesisOutputSerializer(many=True),
        tags=["syntheses"],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        queryset = selectors.synthesis_list(user=request.user, **filters.validated_data)
        return paginated_response(self, request, queryset, SynthesisOutputSerializer)


class SynthesisDetailApi(APIView):
    @extend_schema(responses=SynthesisOutputSerializer, tags=["syntheses"])
    def get(self, request, synthesis_id):
        synthesis = selectors.synthesis_get(
            user=request.user, synthesis_id=synthesis_id
        )
        wait = wait_seconds(request)
        if wait and synthesis.artifact.status in Artifact.Status.IN_FLIGHT:
            with waits.wait_slot(user=request.user, timeout=wait):
                syntheses.synthesis_wait(request=synthesis, timeout=wait)
        return synthesis_response(synthesis)

    @extend_schema(responses={204: None}, tags=["syntheses"])
    def delete(self, request, synthesis_id):
        synthesis = selectors.synthesis_get(
            user=request.user, synthesis_id=synthesis_id
        )
        syntheses.synthesis_delete(request=synthesis)
        return Response(status=status.HTTP_204_NO_CONTENT)


def audio_format(request) -> str:
    """The `format` query parameter of an audio request (the master WAV by default)."""
    fmt = request.query_params.get("format", formats.MASTER)
    if fmt not in AUDIO_FORMATS:
        raise ApiError(
            "unsupported_format",
            f"format must be one of {sorted(AUDIO_FORMATS)}.",
            param="format",
        )
    return fmt


class SynthesisAudioApi(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("format", str, enum=list(AUDIO_FORMATS)),
            OpenApiParameter("download", str, enum=["1"]),
            OpenApiParameter(
                "stream",
                bool,
                description="1: while the synthesis runs, a chunked body with each "
                "segment's audio as soon as it is stored (pcm, wav or mp3)",
            ),
        ],
        responses={(200, "audio/wav"): bytes, (206, "audio/wav"): bytes},
        tags=["syntheses"],
    )
    def get(self, request, synthesis_id):
        synthesis = selectors.synthesis_get(
            user=request.user, synthesis_id=synthesis_id
        )
        if streams.wants_stream(request):
            streamed = streams.stream_response(request, synthesis)
            if streamed is not None:
                return streamed
        return artifact_audio(
            request,
            synthesis.artifact,
            audio_format(request),
            as_attachment=request.query_params.get("download") == "1",
        )


class StatsApi(APIView):
    permission_classes = [IsAdminUser]

    @extend_schema(responses={200: None}, tags=["operations"])
    def get(self, request):
        return Response(selectors.platform_stats())
