"""What OpenAI-ecosystem clients expect besides `POST /v1/audio/speech` returning
bytes: speech events over SSE (`stream_format: "sse"`), and the voice and model
discovery of `GET /v1/audio/voices` and `GET /v1/audio/models` (Open WebUI,
SillyTavern and Kokoro-FastAPI clients list voices from there)."""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterator

from django.http import StreamingHttpResponse
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from synthesis import selectors, storage
from synthesis.audio import formats
from synthesis.audio.stream import STREAM_FORMATS
from synthesis.models import Artifact, SynthesisRequest
from synthesis.services import streams, syntheses

Status = Artifact.Status
# One audio "token" per 20 ms of sound, for the usage OpenAI's done event reports.
OUTPUT_TOKENS_PER_SECOND = 50
SSE_CHUNK_BYTES = 32 * 1024
JOIN_WAIT_SECONDS = 10


def streams_now(synthesis: SynthesisRequest, fmt: str) -> bool:
    """A script still in flight streams segment by segment; a single segment (nothing
    to send before it is done) and the stored formats wait as before."""
    return (
        fmt in STREAM_FORMATS
        and synthesis.segment_count > 1
        and synthesis.artifact.status in Status.IN_FLIGHT
    )


def _event(payload: dict) -> bytes:
    return f"data: {json.dumps(payload, separators=(',', ':'))}\n\n".encode()


def _stored_chunks(synthesis: SynthesisRequest, fmt: str) -> Iterator[bytes]:
    from django.conf import settings

    syntheses.synthesis_wait(request=synthesis, timeout=settings.TTS_SYNC_TIMEOUT)
    artifact = synthesis.artifact
    if artifact.status != Status.SUCCEEDED or not storage.exists(artifact.audio_name):
        return
    if fmt == "pcm":
        with storage.open_file(artifact.audio_name) as handle:
            data = formats.pcm_s16le(handle.read())
    else:
        with storage.open_file(formats.stored_name(artifact, fmt)) as handle:
            data = handle.read()
    for start in range(0, len(data), SSE_CHUNK_BYTES):
        yield data[start : start + SSE_CHUNK_BYTES]


def sse_events(synthesis: SynthesisRequest, fmt: str) -> Iterator[bytes]:
    yield b": speech\n\n"  # sends the headers before the first segment is done
    if fmt in STREAM_FORMATS and synthesis.artifact.status in Status.IN_FLIGHT:
        chunks = streams.synthesis_stream(synthesis, fmt)
    else:
        chunks = _stored_chunks(synthesis, fmt)
    for chunk in chunks:
        if chunk:
            audio = base64.b64encode(chunk).decode()
            yield _event({"type": "speech.audio.delta", "audio": audio})
    # The last segment is out; its join (which knows the length) follows in moments.
    syntheses.synthesis_wait(request=synthesis, timeout=JOIN_WAIT_SECONDS)
    seconds = synthesis.artifact.duration_s or 0.0
    output_tokens = math.ceil(seconds * OUTPUT_TOKENS_PER_SECOND)
    usage = {
        "input_tokens": synthesis.characters,
        "output_tokens": output_tokens,
        "total_tokens": synthesis.characters + output_tokens,
    }
    yield _event({"type": "speech.audio.done", "usage": usage})


def sse_response(synthesis: SynthesisRequest, fmt: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(
        sse_events(synthesis, fmt), content_type="text/event-stream"
    )
    response["Cache-Control"] = "no-store"
    response["X-Accel-Buffering"] = "no"
    return response


class AudioVoiceListApi(APIView):
    """`{"voices": [{"id", "name"}]}`: OpenAI's voice names, the active engine's
    builtin voices and the caller's own prompt voices."""

    @extend_schema(responses={200: None}, tags=["openai"])
    def get(self, request):
        from synthesis.api.openai import OPENAI_VOICES

        engine = syntheses.active_engine()
        voices = [{"id": name, "name": name} for name in OPENAI_VOICES]
        voices += [
            {"id": f"{engine.name}:{voice.name}", "name": voice.label}
            for voice in engine.voices()
        ]
        voices += [
            {"id": str(voice.pk), "name": voice.name}
            for voice in selectors.voice_list(user=request.user)
        ]
        return Response({"voices": voices})


class AudioModelListApi(APIView):
    """`{"models": [{"id"}]}`: the engine and OpenAI's model names aliasing it."""

    @extend_schema(responses={200: None}, tags=["openai"])
    def get(self, request):
        from synthesis.api.openai import model_ids

        return Response({"models": [{"id": model} for model in model_ids()]})
