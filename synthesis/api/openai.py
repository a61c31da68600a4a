"""The OpenAI-compatible endpoints (docs/openai.md, docs/api.md "OpenAI-compatible"): `POST /v1/audio/speech`
and `GET /v1/models`, so OpenAI's clients work by changing only the base URL.

The same service as the native API answers: same fingerprint for the same input, same
cache, same history (channel "openai"), same `X-Cache`/`X-Fingerprint` headers.
"""

from __future__ import annotations

from django.conf import settings
from django.http.response import HttpResponseBase
from django.urls import path
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.response import Response
from rest_framework.views import APIView

from synthesis.api import openai_streams, streams
from synthesis.api.responses import artifact_audio
from synthesis.api.syntheses import (
    MAX_RAW_TEXT_CHARS,
    SampleRateField,
    SeedField,
    SpeedField,
)
from synthesis.engines import Engine, engine_names
from synthesis.models import Artifact, SynthesisRequest
from synthesis.services import syntheses, waits
from synthesis.services.errors import ServiceError
from synthesis.services.voices import ResolvedVoice, voice_resolve
from tts_platform.errors import ApiError
from tts_platform.fields import StrictCharField

MODEL_ALIASES = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")
# OpenAI's response formats, each one of the stored formats (audio/formats.py).
RESPONSE_FORMATS = ("mp3", "wav", "flac", "opus", "pcm")
OPENAI_VOICES = (
    "alloy",
    "ash",
    "ballad",
    "coral",
    "echo",
    "fable",
    "onyx",
    "nova",
    "sage",
    "shimmer",
    "verse",
)
# OpenAI voice -> builtin voice of each engine, chosen by register and accent
# (docs/openai.md has the table and the reasons).
_ESPEAK_VOICES = {
    "alloy": "en-us",
    "ash": "en-us+m3",
    "ballad": "en-gb",
    "coral": "en-us+f3",
    "echo": "en-us",
    "fable": "en-gb",
    "onyx": "en-us+m3",
    "nova": "en-us+f3",
    "sage": "en-gb+f2",
    "shimmer": "en-gb+f2",
    "verse": "en-gb",
}
VOICE_MAP: dict[str, dict[str, str]] = {
    "espeak": _ESPEAK_VOICES,
    "espeak-sim": _ESPEAK_VOICES,
    "kokoro": {
        "alloy": "blend_alpha_kumo",
        "ash": "blend_kumo_alpha",
        "ballad": "blend_kumo_alpha",
        "coral": "jf_gongitsune",
        "echo": "jm_kumo",
        "fable": "blend_alpha_kumo",
        "onyx": "jm_kumo",
        "nova": "jf_alpha",
        "sage": "jf_nezumi",
        "shimmer": "jf_tebukuro",
        "verse": "blend_kumo_alpha",
    },
}


class JsonErrorsNegotiation(DefaultContentNegotiation):
    """OpenAI's clients ask for `application/octet-stream`; successes are audio bytes
    and errors are JSON whatever the Accept header says."""

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


def model_engine(model: str) -> Engine:
    engine = syntheses.active_engine()
    if model == engine.name or model in MODEL_ALIASES:
        return engine
    if model in engine_names():
        raise ApiError(
            "model_not_available",
            f"Model {model!r} is not the engine this server runs ({engine.name!r}).",
            param="model",
        )
    raise ApiError(
        "model_not_found",
        f"No model {model!r}; see GET /v1/models.",
        param="model",
    )


def openai_voice(*, user, engine: Engine, voice: str) -> ResolvedVoice:
    """OpenAI's voice names map to builtin voices; anything else is a voice id or a
    builtin name as in the native API."""
    if voice in OPENAI_VOICES:
        name = VOICE_MAP.get(engine.name, {}).get(voice, engine.default_voice)
        return voice_resolve(user=user, engine=engine, voice_id=name)
    return voice_resolve(user=user, engine=engine, voice_id=voice)


class SpeechInputSerializer(serializers.Serializer):
    model = StrictCharField(max_length=100)
    input = StrictCharField(
        trim_whitespace=False, allow_blank=True, max_length=MAX_RAW_TEXT_CHARS
    )
    voice = StrictCharField(max_length=100)
    response_format = serializers.ChoiceField(
        choices=list(RESPONSE_FORMATS), required=False, default="mp3"
    )
    speed = SpeedField()
    seed = SeedField()
    sample_rate = SampleRateField(
        required=False, default=settings.TTS_DEFAULT_SAMPLE_RATE
    )
    # "audio": the body streams as segments finish; "sse": OpenAI's speech events.
    stream_format = serializers.ChoiceField(
        choices=["audio", "sse"], required=False, default="audio"
    )


class SpeechApi(APIView):
    content_negotiation_class = JsonErrorsNegotiation

    @extend_schema(
        request=SpeechInputSerializer,
        responses={(200, "application/octet-stream"): bytes},
        tags=["openai"],
    )
    def post(self, request):
        serializer = SpeechInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        engine = model_engine(data["model"])
        voice = openai_voice(user=request.user, engine=engine, voice=data["voice"])
        try:
            synthesis = syntheses.synthesis_create(
                user=request.user,
                data=syntheses.SynthesisInput(
                    text=data["input"],
                    seed=data["seed"],
                    sample_rate=data["sample_rate"],
                    speed=data["speed"],
                ),
                channel=SynthesisRequest.Channel.OPENAI,
                api_key=getattr(request, "api_key", None),
                voice=voice,
            )
        except ServiceError as error:
            if error.param == "text":  # the native name of OpenAI's `input`
                error.param = "input"
            raise
        fmt = data["response_format"]
        if data["stream_format"] == "sse":
            response = openai_streams.sse_response(synthesis, fmt)
        elif openai_streams.streams_now(synthesis, fmt):
            response = streams.streaming_response(synthesis, fmt)
        else:
            if synthesis.artifact.status in Artifact.Status.IN_FLIGHT:
                timeout = settings.TTS_SYNC_TIMEOUT
                with waits.wait_slot(user=request.user, timeout=timeout):
                    syntheses.synthesis_wait(request=synthesis, timeout=timeout)
            response = speech_audio(request, synthesis, fmt)
        response["X-Cache"] = synthesis.cache.upper()
        response["X-Fingerprint"] = synthesis.artifact.fingerprint
        response["X-Synthesis-Id"] = str(synthesis.pk)
        return response


def speech_audio(request, synthesis: SynthesisRequest, fmt: str) -> HttpResponseBase:
    """The finished audio, or the refusal every audio path gives for that state
    (docs/api.md "Audio responses"), with the headers that name the synthesis so a
    client can fetch it later from the native API."""
    try:
        return artifact_audio(request, synthesis.artifact, fmt)
    except ServiceError as error:
        refusal = ApiError.from_service(error)
        refusal.headers.update(
            {
                "X-Cache": synthesis.cache.upper(),
                "X-Fingerprint": synthesis.artifact.fingerprint,
                "X-Synthesis-Id": str(synthesis.pk),
                "Location": f"/api/v1/syntheses/{synthesis.pk}",
            }
        )
        raise refusal from None


def _model(model_id: str) -> dict:
    return {"id": model_id, "object": "model", "created": 0, "owned_by": "echo-tts"}


def model_ids() -> list[str]:
    return [syntheses.active_engine().name, *MODEL_ALIASES]


class ModelListApi(APIView):
    @extend_schema(
        responses={200: None}, tags=["openai"], operation_id="v1_models_list"
    )
    def get(self, request):
        return Response({"object": "list", "data": [_model(m) for m in model_ids()]})


class ModelDetailApi(APIView):
    @extend_schema(responses={200: None}, tags=["openai"])
    def get(self, request, model_id):
        if model_id not in model_ids():
            raise ApiError(
                "model_not_found", f"No model {model_id!r}.", status_code=404
            )
        return Response(_model(model_id))


urlpatterns = [
    path("audio/speech", SpeechApi.as_view(), name="openai-speech"),
    path(
        "audio/voices", openai_streams.AudioVoiceListApi.as_view(), name="openai-voices"
    ),
    path(
        "audio/models",
        openai_streams.AudioModelListApi.as_view(),
        name="openai-audio-models",
    ),
    path("models", ModelListApi.as_view(), name="openai-models"),
    path("models/<str:model_id>", ModelDetailApi.as_view(), name="openai-model"),
]
