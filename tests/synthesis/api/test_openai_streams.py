"""OpenAI-ecosystem clients: streamed speech (audio and SSE), voice and model discovery,
and the requests Open WebUI sends, against a live server, the real Celery worker and
espeak."""

from __future__ import annotations

import base64
import json

import numpy as np
import openai
import pytest
import requests

from synthesis import storage
from synthesis.audio import formats
from synthesis.models import Artifact, SynthesisRequest, Voice
from synthesis.services import syntheses

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

SCRIPT = "\n\n".join(
    [
        "Streaming starts with the first paragraph.",
        "Then the second paragraph follows.",
        "And the third one closes the script.",
    ]
)


def stored_pcm(fingerprint: str) -> bytes:
    """The stored audio's samples, once the join that follows the last segment is
    done."""
    synthesis = SynthesisRequest.objects.get(artifact__fingerprint=fingerprint)
    syntheses.synthesis_wait(request=synthesis, timeout=30)
    artifact = Artifact.objects.get(fingerprint=fingerprint)
    with storage.open_file(artifact.audio_name) as handle:
        return formats.pcm_s16le(handle.read())


@pytest.fixture
def openai_client(live_server, api):
    return openai.OpenAI(
        api_key=api.api_key, base_url=f"{live_server.url}/v1", max_retries=0
    )


def test_the_openai_clients_streaming_helpers_get_the_stored_audio(openai_client):
    with openai_client.audio.speech.with_streaming_response.create(
        model="tts-1", voice="alloy", input=SCRIPT, response_format="pcm"
    ) as response:
        assert response.headers["Content-Type"] == "audio/pcm"
        fingerprint = response.headers["X-Fingerprint"]
        streamed = b"".join(response.iter_bytes())
    synthesis = SynthesisRequest.objects.get()
    assert synthesis.segment_count == 3
    assert synthesis.artifact.fingerprint == fingerprint
    assert streamed == stored_pcm(fingerprint)


def test_sse_speech_events_decode_to_speech_and_end_with_usage(live_server, api):
    response = requests.post(
        f"{live_server.url}/v1/audio/speech",
        json={
            "model": "tts-1",
            "voice": "alloy",
            "input": SCRIPT,
            "response_format": "pcm",
            "stream_format": "sse",
        },
        headers={"Authorization": f"Bearer {api.api_key}"},
        stream=True,
        timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/event-stream"
    events = [
        json.loads(line[len("data: ") :])
        for line in response.iter_lines(decode_unicode=True)
        if line.startswith("data: ")
    ]
    deltas = [e for e in events if e["type"] == "speech.audio.delta"]
    assert deltas and events[-1]["type"] == "speech.audio.done"
    assert events[:-1] == deltas
    pcm = b"".join(base64.b64decode(e["audio"]) for e in deltas)
    samples = np.frombuffer(pcm, dtype="<i2")
    assert np.sqrt(np.mean(samples.astype(np.float64) ** 2)) > 300
    synthesis = SynthesisRequest.objects.get()
    assert pcm == stored_pcm(synthesis.artifact.fingerprint)
    usage = events[-1]["usage"]
    assert usage["input_tokens"] == len(SCRIPT)
    assert usage["output_tokens"] > 0
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]


def test_a_repeat_over_sse_is_served_from_the_cache(live_server, api):
    body = {"model": "tts-1", "voice": "alloy", "input": "A short repeat."}
    headers = {"Authorization": f"Bearer {api.api_key}"}
    url = f"{live_server.url}/v1/audio/speech"
    requests.post(url, json=body, headers=headers, timeout=60).raise_for_status()
    again = requests.post(
        url, json={**body, "stream_format": "sse"}, headers=headers, timeout=60
    )
    assert again.headers["X-Cache"] == "HIT"
    assert again.text.rstrip().endswith('"type":"speech.audio.done"}') or (
        '"speech.audio.done"' in again.text.splitlines()[-2]
    )


def test_voices_and_models_are_discoverable(api, user):
    Voice.objects.create(
        owner=user,
        name="My narrator",
        audio_name="voices/x.wav",
        audio_sha256="a" * 64,
        prompt_text="Hello.",
        duration_s=2.0,
        sample_rate=24000,
        consent=True,
    )
    voices = api.get("/v1/audio/voices").json()["voices"]
    ids = {voice["id"] for voice in voices}
    assert {"alloy", "echo", "nova", "shimmer"} <= ids
    assert "espeak:en-us" in ids
    assert all(set(voice) == {"id", "name"} for voice in voices)
    assert any(voice["name"] == "My narrator" for voice in voices)
    models = api.get("/v1/audio/models").json()["models"]
    assert {"id": "tts-1"} in models
    assert all(set(model) == {"id"} for model in models)


def test_what_open_webui_sends_with_the_openai_engine(live_server, api):
    """Open WebUI's TTS engine "OpenAI" pointed at our base URL: it lists voices and
    models, then posts {model, input, voice} and plays the body as MP3."""
    base = f"{live_server.url}/v1"
    headers = {"Authorization": f"Bearer {api.api_key}"}
    voices = requests.get(f"{base}/audio/voices", headers=headers, timeout=10).json()
    available = {voice["id"]: voice["name"] for voice in voices.get("voices", [])}
    assert "alloy" in available
    models = requests.get(f"{base}/audio/models", headers=headers, timeout=10).json()
    assert "tts-1" in [model["id"] for model in models.get("models", [])]
    speech = requests.post(
        f"{base}/audio/speech",
        json={"model": "tts-1", "input": "Hello from Open WebUI.", "voice": "alloy"},
        headers={**headers, "Content-Type": "application/json"},
        timeout=60,
    )
    assert speech.status_code == 200
    assert speech.headers["Content-Type"] == "audio/mpeg"
    assert speech.content[:3] == b"ID3" or speech.content[0] == 0xFF
