"""Streaming a synthesis while it is made (`?stream=1`), through a live HTTP server with
the real Celery worker, PostgreSQL, Redis and espeak."""

from __future__ import annotations

import io
import queue
import threading
import time

import numpy as np
import pytest
import requests
import soundfile

from synthesis.audio import formats
from synthesis.models import Artifact
from synthesis.services import runs
from tests.support.api import assert_error, audio_bytes, client_for
from tests.support.moderation import worker_paused

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

PARAGRAPHS = [
    "The first paragraph arrives before anything else.",
    "The second one follows when its run is done.",
    "A third paragraph, a little longer than the others, ends the script.",
]
SCRIPT = "\n\n".join(PARAGRAPHS)


class Reader(threading.Thread):
    """Reads a streamed body in a thread; chunks land in a queue as they arrive."""

    def __init__(self, response) -> None:
        super().__init__(daemon=True)
        self.response = response
        self.chunks: queue.Queue[bytes | None] = queue.Queue()

    def run(self) -> None:
        for chunk in self.response.iter_content(chunk_size=4096):
            self.chunks.put(chunk)
        self.chunks.put(None)

    def read_at_least(self, size: int, timeout: float = 30) -> bytes:
        data, deadline = b"", time.monotonic() + timeout
        while len(data) < size:
            chunk = self.chunks.get(timeout=max(0.01, deadline - time.monotonic()))
            assert chunk is not None, f"the stream ended after {len(data)} bytes"
            data += chunk
        return data

    def read_all(self, timeout: float = 60) -> bytes:
        data, deadline = b"", time.monotonic() + timeout
        while (
            chunk := self.chunks.get(timeout=deadline - time.monotonic())
        ) is not None:
            data += chunk
        return data


def stored_pcm(artifact: Artifact) -> bytes:
    from synthesis import storage

    with storage.open_file(artifact.audio_name) as handle:
        return formats.pcm_s16le(handle.read())


def open_stream(live_server, key: str, synthesis_id: str, fmt: str):
    response = requests.get(
        f"{live_server.url}/api/v1/syntheses/{synthesis_id}/audio",
        params={"stream": "1", "format": fmt},
        headers={"Authorization": f"Bearer {key}"},
        stream=True,
        timeout=60,
    )
    assert response.status_code == 200, response.content[:300]
    return response


def test_the_first_segment_streams_before_the_rest_and_the_whole_equals_the_stored_pcm(
    live_server, user
):
    client = client_for(user)
    with worker_paused():
        body = client.post("/api/v1/syntheses", {"text": SCRIPT}, format="json").json()
        assert body["status"] == "queued"
        response = open_stream(live_server, client.api_key, body["id"], "pcm")
        assert response.headers["Content-Type"] == "audio/pcm"
        reader = Reader(response)
        reader.start()
        # Only the first segment runs (here, in the test process): its audio arrives
        # while every other segment is still queued.
        first = Artifact.objects.get(fingerprint=body["segments"][0]["fingerprint"])
        runs.artifact_synthesize(artifact_id=first.pk)
        first.refresh_from_db()
        early = reader.read_at_least(2 * int(first.duration_s * 24000) - 4096)
        queued = Artifact.objects.filter(
            fingerprint__in=[s["fingerprint"] for s in body["segments"][1:]]
        )
        assert all(a.status == "queued" for a in queued)
    rest = reader.read_all()
    done = client.get(f"/api/v1/syntheses/{body['id']}?wait=30").json()
    assert done["status"] == "succeeded"
    joined = Artifact.objects.get(fingerprint=done["fingerprint"])
    streamed = early + rest
    assert streamed == stored_pcm(joined)
    assert np.abs(np.frombuffer(streamed, "<i2")).max() > 1000  # not silence


def test_wav_and_mp3_streams_are_the_stored_audio(live_server, user):
    client = client_for(user)
    with worker_paused():
        body = client.post("/api/v1/syntheses", {"text": SCRIPT}, format="json").json()
        wav = Reader(open_stream(live_server, client.api_key, body["id"], "wav"))
        mp3 = Reader(open_stream(live_server, client.api_key, body["id"], "mp3"))
        wav.start()
        mp3.start()
    streamed_wav, streamed_mp3 = wav.read_all(), mp3.read_all()
    done = client.get(f"/api/v1/syntheses/{body['id']}?wait=30").json()
    stored_wav = audio_bytes(client, done)
    assert streamed_wav[:4] == b"RIFF" and streamed_wav[4:8] == b"\xff\xff\xff\xff"
    assert streamed_wav[44:] == stored_wav[44:]
    stored_mp3 = b"".join(
        client.get(done["audio_url"] + "?format=mp3").streaming_content
    )
    # The same frames; only the encoder's info header in the first frame (frame count,
    # gapless trimming) is written when the encoder closes, after it was streamed.
    assert len(streamed_mp3) == len(stored_mp3)
    assert streamed_mp3[1024:] == stored_mp3[1024:]
    decoded, rate = soundfile.read(io.BytesIO(streamed_mp3), dtype="float32")
    assert decoded.size / rate == pytest.approx(done["duration_s"], abs=0.2)


def test_a_finished_synthesis_streams_its_stored_file(live_server, user):
    client = client_for(user)
    done = client.post("/api/v1/syntheses?wait=30", {"text": SCRIPT}, format="json")
    body = done.json()
    assert body["status"] == "succeeded"
    response = open_stream(live_server, client.api_key, body["id"], "wav")
    assert response.content == audio_bytes(client, body)
    pcm = open_stream(live_server, client.api_key, body["id"], "pcm").content
    assert pcm == stored_pcm(Artifact.objects.get(fingerprint=body["fingerprint"]))


def test_a_stream_of_a_failing_script_ends_with_what_it_has(live_server, user):
    client = client_for(user)
    with worker_paused():
        body = client.post("/api/v1/syntheses", {"text": SCRIPT}, format="json").json()
        broken = body["segments"][1]["fingerprint"]
        Artifact.objects.filter(fingerprint=broken).update(model_version="other")
        reader = Reader(open_stream(live_server, client.api_key, body["id"], "pcm"))
        reader.start()
    data = reader.read_all()
    first = Artifact.objects.get(fingerprint=body["segments"][0]["fingerprint"])
    # The first segment, its pause, and nothing after the failed one.
    assert len(data) == 2 * (int(first.duration_s * 24000) + int(0.4 * 24000))
    failed = client.get(f"/api/v1/syntheses/{body['id']}").json()
    assert failed["status"] == "failed"
    assert failed["error"]["segment"] == 1


def test_a_stream_format_that_cannot_stream_is_a_400(user):
    client = client_for(user)
    body = client.post("/api/v1/syntheses", {"text": "Hi there."}, format="json").json()
    response = client.get(f"/api/v1/syntheses/{body['id']}/audio?stream=1&format=flac")
    assert_error(response, 400, "unsupported_format", "format")
