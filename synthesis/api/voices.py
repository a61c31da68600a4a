"""The voice library of docs/api.md "Voices": one APIView per operation, plus the ad-hoc
prompt voice of a multipart synthesis.

A prompt voice on an engine that cannot clone (espeak, kokoro) is spoken with the
builtin voice nearest to the clip's pitch (engines/selection.py); the voice object says
so with `cloning: false` and names that `selected_voice`."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from synthesis import selectors as voice_selectors
from synthesis.api.responses import voice_clip_audio
from synthesis.api.uploads import UploadLimitMixin
from synthesis.engines import Engine
from synthesis.engines.base import BuiltinVoice
from synthesis.engines.selection import nearest_voice, text_language
from synthesis.models import Voice
from synthesis.services import syntheses
from synthesis.services import voices as voice_services
from synthesis.services.voices import ResolvedVoice, prompt_resolved
from tts_platform.errors import ApiError
from tts_platform.fields import StrictBooleanField, StrictCharField
from tts_platform.pagination import paginated_response

# --- The voice object -------------------------------------------------------------------


class VoiceOutputSerializer(serializers.Serializer):
    id = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Voice.Kind.choices)
    prompt_text = serializers.CharField(allow_null=True)
    audio_sha256 = serializers.CharField(
        allow_null=True, help_text="SHA-256 of the canonical mono 16-bit WAV clip."
    )
    duration_s = serializers.FloatField(allow_null=True)
    sample_rate = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField(allow_null=True)
    engine = serializers.CharField(
        help_text="The engine that speaks this voice on this server."
    )
    cloning = serializers.BooleanField(
        allow_null=True,
        help_text="Prompt voices: true when the engine clones the clip; false when it "
        "selects the builtin voice nearest to the clip's pitch (not cloning).",
    )
    selected_voice = serializers.CharField(
        allow_null=True,
        help_text="Prompt voices on engines that cannot clone: the builtin voice the "
        "clip selects for text in the transcript's language.",
    )
    pitch_hz = serializers.FloatField(
        allow_null=True,
        help_text="Median F0 of the clip (prompt) or the pitch a builtin voice stands for.",
    )
    label = serializers.CharField(allow_null=True)
    language = serializers.CharField(allow_null=True)
    gender = serializers.CharField(allow_null=True)
    listed = serializers.BooleanField()
    blocked = serializers.BooleanField()
    audio_url = serializers.CharField(allow_null=True)


def builtin_data(engine: Engine, voice: BuiltinVoice) -> dict:
    return {
        "id": f"{engine.name}:{voice.name}",
        "name": voice.name,
        "kind": Voice.Kind.BUILTIN,
        "prompt_text": None,
        "audio_sha256": None,
        "duration_s": None,
        "sample_rate": None,
        "created_at": None,
        "engine": engine.name,
        "cloning": None,
        "selected_voice": None,
        "pitch_hz": voice.pitch_hz or None,
        "label": voice.label,
        "language": voice.language,
        "gender": voice.gender or None,
        "listed": True,
        "blocked": False,
        "audio_url": None,
    }


def prompt_data(engine: Engine, voice: Voice) -> dict:
    selected = None
    if not engine.clones:
        chosen = nearest_voice(
            engine.voices(), voice.pitch_hz, text_language(voice.prompt_text)
        )
        selected = f"{engine.name}:{chosen.name if chosen else engine.default_voice}"
    return {
        "id": str(voice.pk),
        "name": voice.name,
        "kind": voice.kind,
        "prompt_text": voice.prompt_text,
        "audio_sha256": voice.audio_sha256,
        "duration_s": voice.duration_s,
        "sample_rate": voice.sample_rate,
        "created_at": voice.created_at,
        "engine": engine.name,
        "cloning": engine.clones,
        "selected_voice": selected,
        "pitch_hz": voice.pitch_hz,
        "label": None,
        "language": text_language(voice.prompt_text),
        "gender": None,
        "listed": voice.listed,
        "blocked": voice.blocked_at is not None,
        "audio_url": f"/api/v1/voices/{voice.pk}/audio",
    }


class _VoiceChain:
    """Own prompt voices (a queryset) followed by the engine's builtin voices, sliceable
    for the paginator without loading every row."""

    def __init__(self, engine: Engine, queryset, builtins: list[BuiltinVoice]) -> None:
        self.engine, self.queryset, self.builtins = engine, queryset, builtins
        self._prompt_count: int | None = None

    def _prompts(self) -> int:
        if self._prompt_count is None:
            self._prompt_count = self.queryset.count()
        return self._prompt_count

    def __len__(self) -> int:
        return self._prompts() + len(self.builtins)

    def __getitem__(self, item: slice) -> list[dict]:
        start, stop, _ = item.indices(len(self))
        prompts = self._prompts()
        rows = [prompt_data(self.engine, v) for v in self.queryset[start:stop]]
        rows += [
            builtin_data(self.engine, v)
            for v in self.builtins[max(0, start - prompts) : max(0, stop - prompts)]
        ]
        return rows


# --- Views ---------------------------------------------------------------------------


class VoiceCreateInputSerializer(serializers.Serializer):
    name = StrictCharField(required=False, allow_blank=True, max_length=100)
    prompt_text = StrictCharField(
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        max_length=voice_services.MAX_PROMPT_TEXT_CHARS * 2,
        help_text="The exact transcript of the clip.",
    )
    audio = serializers.FileField(
        required=False,
        allow_empty_file=True,
        help_text="WAV, FLAC, Ogg or MP3; 1-30 s of audio, at most 20 MB.",
    )
    consent = StrictBooleanField(
        required=False,
        default=False,
        help_text="Must be true: you have the speaker's consent.",
    )


class VoiceListCreateApi(UploadLimitMixin, APIView):
    """POST uploads a prompt voice; GET lists own prompt voices and builtin voices."""

    class FilterSerializer(serializers.Serializer):
        kind = serializers.ChoiceField(
            choices=Voice.Kind.choices, required=False, default=""
        )

    @extend_schema(
        request={"multipart/form-data": VoiceCreateInputSerializer},
        responses={201: VoiceOutputSerializer},
        tags=["voices"],
    )
    def post(self, request):
        serializer = VoiceCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        voice = voice_services.voice_create(
            user=request.user,
            upload=request.FILES.get("audio"),
            prompt_text=data.get("prompt_text", ""),
            consent=data["consent"],
            name=data.get("name", ""),
        )
        engine = syntheses.active_engine()
        body = VoiceOutputSerializer(prompt_data(engine, voice)).data
        return Response(
            body,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/voices/{voice.pk}"},
        )

    @extend_schema(
        parameters=[FilterSerializer],
        responses=VoiceOutputSerializer(many=True),
        tags=["voices"],
    )
    def get(self, request):
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        kind = filters.validated_data["kind"]
        engine = syntheses.active_engine()
        queryset = voice_selectors.voice_list(user=request.user)
        builtins = engine.voices()
        if kind == Voice.Kind.BUILTIN:
            queryset = queryset.none()
        elif kind == Voice.Kind.PROMPT:
            builtins = []
        return paginated_response(
            self,
            request,
            _VoiceChain(engine, queryset, builtins),
            VoiceOutputSerializer,
        )


class VoiceDetailApi(APIView):
    @extend_schema(responses=VoiceOutputSerializer, tags=["voices"])
    def get(self, request, voice_id):
        engine = syntheses.active_engine()
        builtin = voice_selectors.builtin_voice_get(engine=engine, voice_id=voice_id)
        if builtin is not None:
            return Response(VoiceOutputSerializer(builtin_data(engine, builtin)).data)
        voice = voice_selectors.voice_get(user=request.user, voice_id=voice_id)
        return Response(VoiceOutputSerializer(prompt_data(engine, voice)).data)

    @extend_schema(responses={204: None}, tags=["voices"])
    def delete(self, request, voice_id):
        engine = syntheses.active_engine()
        if voice_selectors.builtin_voice_get(engine=engine, voice_id=voice_id):
            raise ApiError(
                "voice_not_deletable", "Builtin voices cannot be deleted.", param="id"
            )
        voice = voice_selectors.voice_get(user=request.user, voice_id=voice_id)
        voice_services.voice_delete(voice=voice)
        return Response(status=status.HTTP_204_NO_CONTENT)


class VoiceAudioApi(APIView):
    @extend_schema(
        responses={(200, "audio/wav"): bytes, (206, "audio/wav"): bytes},
        parameters=[OpenApiParameter("download", str, enum=["1"])],
        tags=["voices"],
    )
    def get(self, request, voice_id):
        engine = syntheses.active_engine()
        if voice_selectors.builtin_voice_get(engine=engine, voice_id=voice_id):
            raise ApiError(
                "no_reference_clip",
                "Builtin voices have no reference clip.",
                status_code=404,
            )
        voice = voice_selectors.voice_get(user=request.user, voice_id=voice_id)
        return voice_clip_audio(
            request, voice, as_attachment=request.query_params.get("download") == "1"
        )


# --- Ad-hoc prompt voices of POST /api/v1/syntheses --------------------------------------


class SynthesisPromptFields(serializers.Serializer):
    """The multipart extras of POST /api/v1/syntheses (schema only: validation below
    names each problem with its own code)."""

    prompt_audio = serializers.FileField(
        required=False, help_text="A reference clip (WAV, FLAC, Ogg, MP3; 1-30 s)."
    )
    prompt_text = serializers.CharField(
        required=False,
        max_length=voice_services.MAX_PROMPT_TEXT_CHARS * 2,
        help_text="The exact transcript of prompt_audio.",
    )
    consent = serializers.BooleanField(required=False, default=False)


def synthesis_prompt_voice(request, data: dict) -> ResolvedVoice | None:
    """The ad-hoc prompt voice a synthesis request carries, or None when it names none.
    Stored as an unlisted voice of the user, reused when the same clip and transcript
    come again."""
    upload = request.FILES.get("prompt_audio")
    if upload is None and not (
        "prompt_audio" in request.data or "prompt_text" in request.data
    ):
        return None
    if data.get("voice"):
        raise ApiError(
            "voice_conflict",
            "Send either voice or prompt_audio with prompt_text, not both.",
            param="voice",
        )
    if upload is None:
        raise ApiError(
            "audio_required",
            "prompt_audio must be a file sent as multipart/form-data.",
            param="prompt_audio",
        )
    prompt_text = request.data.get("prompt_text")
    consent = str(request.data.get("consent", "")).lower() in ("true", "1", "on")
    text = syntheses.text_validate(data["text"])  # before storing anything
    voice = voice_services.voice_adhoc_get_or_create(
        user=request.user,
        upload=upload,
        prompt_text=prompt_text if isinstance(prompt_text, str) else "",
        consent=consent,
        characters=len(text),
    )
    return prompt_resolved(voice)
