"""Derived formats of GET /api/v1/syntheses/{id}/audio: encoded once from the master
WAV, stored beside it, served with ranges and strong ETags, byte-identical on repeat."""

import io
import os
import subprocess
import sys
import threading

import numpy as np
import pytest
import soundfile
from django.core.cache import caches

from synthesis import storage
from synthesis.audio import formats
from synthesis.models import Artifact
from tests.support.api import assert_error, audio_bytes, synthesize

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

CONTENT_TYPES = {
    "flac": "audio/flac",
    "mp3": "audio/mpeg",
    "ogg": "audio/ogg",
    "opus": "audio/ogg",
}


def fetch(client, body, fmt, **headers):
    response = client.get(f"{body['audio_url']}?format={fmt}", **headers)
    if response.streaming:
        return response, b"".join(response.streaming_content)
    return response, response.content


@pytest.mark.parametrize("fmt", sorted(CONTENT_TYPES))
@pytest.mark.parametrize("sample_rate", [24000, 22050])
def test_each_derived_format_decodes_to_the_master(api, fmt, sample_rate):
    body = synthesize(api, text="Formats for everyone.", sample_rate=sample_rate).json()
    master, rate = soundfile.read(io.BytesIO(audio_bytes(api, body)), dtype="float32")
    response, data = fetch(api, body, fmt)
    assert response.status_code == 200
    assert response["Content-Type"] == CONTENT_TYPES[fmt]
    assert response["ETag"] == f'"{body["fingerprint"]}.{fmt}"'
    assert response["Content-Disposition"].endswith(f'.{fmt}"')
    samples, decoded_rate = soundfile.read(io.BytesIO(data), dtype="float32")
    # Opus runs at 8/12/16/24/48 kHz only: a 22.05 kHz master is served at 48 kHz.
    assert decoded_rate == (48000 if fmt == "opus" and rate == 22050 else rate)
    assert abs(len(samples) / decoded_rate - len(master) / rate) < 0.08
    if fmt == "flac":
        assert np.array_equal(samples, master)
    else:
        assert np.sqrt(np.mean(np.square(samples))) > 0.01


def test_a_derived_format_is_encoded_once_and_served_with_ranges(api, other_api):
    body = synthesize(api, text="Encode me once.").json()
    name = storage.artifact_audio_name(body["fingerprint"], "mp3")
    assert not storage.exists(name)
    _, first = fetch(api, body, "mp3")
    path = storage.local_path(name)
    stat = os.stat(path)

    # Another user's identical request shares the artifact and the encoded file.
    theirs = synthesize(other_api, text="Encode me once.").json()
    assert theirs["cache"] == "hit"
    _, second = fetch(other_api, theirs, "mp3")
    assert second == first
    assert os.stat(path).st_mtime_ns == stat.st_mtime_ns
    assert os.stat(path).st_ino == stat.st_ino  # not rewritten

    part, data = fetch(api, body, "mp3", HTTP_RANGE="bytes=100-299")
    assert part.status_code == 206
    assert part["Content-Range"] == f"bytes 100-299/{len(first)}"
    assert data == first[100:300]
    etag = f'"{body["fingerprint"]}.mp3"'
    assert fetch(api, body, "mp3", HTTP_IF_NONE_MATCH=etag)[0].status_code == 304
    # The WAV's ETag names another representation.
    wav_etag = f'"{body["fingerprint"]}.wav"'
    assert fetch(api, body, "mp3", HTTP_IF_NONE_MATCH=wav_etag)[0].status_code == 200


@pytest.mark.parametrize("fmt", formats.DERIVED)
def test_encoding_is_deterministic(api, fmt):
    """Encoded again from scratch (the stored file removed), the bytes are the same,
    so concurrent encoders and lost files never change what a client downloads."""
    body = synthesize(api, text="Deterministic bytes, please.").json()
    _, first = fetch(api, body, fmt)
    storage.delete(storage.artifact_audio_name(body["fingerprint"], fmt))
    _, second = fetch(api, body, fmt)
    assert second == first


def test_concurrent_first_requests_store_one_good_file(api):
    body = synthesize(api, text="Many at once.").json()
    artifact = Artifact.objects.get(fingerprint=body["fingerprint"])
    results = []

    def encode():
        results.append(formats.stored_name(artifact, "opus"))

    threads = [threading.Thread(target=encode) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    name = storage.artifact_audio_name(body["fingerprint"], "opus")
    assert results == [name] * 6
    folder = os.path.dirname(storage.local_path(name))
    assert not [f for f in os.listdir(folder) if f.startswith(".tmp-")]
    _, served = fetch(api, body, "opus")
    assert soundfile.read(io.BytesIO(served))[0].size > 0


def test_deleting_the_last_reference_removes_derived_files(api):
    body = synthesize(api, text="Gone in every format.").json()
    for fmt in formats.DERIVED:
        fetch(api, body, fmt)
    names = formats.derived_names(body["fingerprint"])
    assert all(storage.exists(n) for n in names)
    assert api.delete(f"/api/v1/syntheses/{body['id']}").status_code == 204
    assert not any(storage.exists(n) for n in names)


def test_unknown_format_and_unfinished_audio(api):
    body = synthesize(api, text="What format?").json()
    assert_error(api.get(body["audio_url"] + "?format=aac"), 400, "unsupported_format")
    queued = api.post("/api/v1/syntheses", {"text": "Not yet."}, format="json").json()
    response = api.get(f"/api/v1/syntheses/{queued['id']}/audio?format=mp3")
    # Either still in flight (409) or already done (200): never a 500.
    assert response.status_code in (200, 409)


def test_an_encoder_killed_while_holding_the_claim_holds_nobody_up_for_long(api):
    """A process killed -9 mid-encoding never releases its claim; the claim expires by
    itself, then a waiting request encodes, and the file is whole."""
    body = synthesize(api, text="The encoder dies.").json()
    artifact = Artifact.objects.get(fingerprint=body["fingerprint"])
    name = storage.artifact_audio_name(artifact.fingerprint, "mp3")
    encoder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import django, sys, time; django.setup()\n"
            "from synthesis.audio import formats\n"
            f"assert formats._claim({name!r})\n"
            "print('claimed', flush=True); time.sleep(600)",
        ],
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "tts_platform.settings_test"},
        stdout=subprocess.PIPE,
    )
    try:
        assert encoder.stdout.readline() == b"claimed\n"
    finally:
        encoder.kill()
        encoder.wait()
    ttl_ms = (
        caches["default"]
        .client.get_client()
        .pttl(caches["default"].make_key(formats.claim_key(name)))
    )
    assert 0 < ttl_ms <= formats.ENCODE_CLAIM_S * 1000

    assert formats.stored_name(artifact, "mp3") == name
    with storage.open_file(name) as handle:
        stored = handle.read()
    with storage.open_file(artifact.audio_name) as handle:
        assert stored == formats.encode(handle.read(), "mp3")
