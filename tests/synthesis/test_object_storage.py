"""Audio, derived formats and voice clips in an S3-compatible store (a real moto
server process), and a worker that shares no filesystem with the web."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile

from synthesis import storage
from synthesis.models import Artifact
from tests.support.api import audio_bytes, synthesize
from tests.support.audio_files import voice_like, wav
from tests.support.moderation import make_artifact
from tests.support.object_storage import s3_server
from tests.support.worker import database_url

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
PROMPT = "The quick brown fox jumps over the lazy dog."


@pytest.fixture
def object_storage(monkeypatch, settings, tmp_path):
    with s3_server() as server:
        for name, value in server.env.items():
            monkeypatch.setenv(name, value)
        from tts_platform.object_storage import object_storage as s3_settings

        settings.STORAGES = {
            **settings.STORAGES,
            "default": s3_settings(server.env["STORAGE_URL"]),
        }
        settings.TTS_STORAGE_CACHE_DIR = tmp_path / "storage-cache"
        assert not storage.is_local()
        yield server


def test_object_storage_write_is_one_put_and_local_copy_reads_through(
    object_storage, settings
):
    name = storage.voice_clip_name("ab" + "0" * 62)
    storage.write_atomic(name, b"first")
    storage.write_atomic(name, b"second")  # same name, replaced whole: no suffix
    assert object_storage.keys() == [f"media/{name}"]
    assert object_storage.read(name) == b"second"
    assert storage.exists(name) and storage.size(name) == 6

    path = storage.local_copy(name)
    assert Path(path).read_bytes() == b"second"
    assert Path(path).is_relative_to(settings.TTS_STORAGE_CACHE_DIR)
    # Read through once: content-addressed names never change, the copy is reused.
    object_storage.client().delete_object(
        Bucket=object_storage.bucket, Key=f"media/{name}"
    )
    assert storage.local_copy(name) == path


def test_object_storage_copy_is_checked_against_its_hash(object_storage, settings):
    name = storage.voice_clip_name("cd" + "1" * 62)
    storage.write_atomic(name, b"not what the name promises")
    with pytest.raises(OSError, match="does not match"):
        storage.local_copy(name, sha256="cd" + "1" * 62)
    assert not (Path(settings.TTS_STORAGE_CACHE_DIR) / name).exists()


def test_object_storage_audio_and_derived_formats_download_through_the_api(
    object_storage, api, user
):
    artifact = make_artifact("Stored in the bucket.", user=user)
    synthesis = artifact.requests.get()
    stored = object_storage.read(artifact.audio_name)
    url = f"/api/v1/syntheses/{synthesis.pk}/audio"

    response = api.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == stored
    part = api.get(url, HTTP_RANGE="bytes=10-19")
    assert part.status_code == 206
    assert b"".join(part.streaming_content) == stored[10:20]

    mp3 = api.get(url + "?format=mp3")
    assert mp3.status_code == 200
    derived = storage.artifact_audio_name(artifact.fingerprint, "mp3")
    assert object_storage.read(derived) == b"".join(mp3.streaming_content)


def test_s3_presigned_redirect_serves_the_object_and_keeps_the_checks(
    object_storage, api, other_api, user, settings
):
    settings.TTS_AUDIO_PRESIGNED_REDIRECT = True
    artifact = make_artifact("Straight from the store.", user=user)
    url = f"/api/v1/syntheses/{artifact.requests.get().pk}/audio"

    response = api.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(object_storage.endpoint)
    assert response["Cache-Control"] == "private, no-store"
    fetched = requests.get(response["Location"], timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == object_storage.read(artifact.audio_name)
    assert fetched.headers["Content-Type"] == "audio/wav"
    ranged = requests.get(response["Location"], headers={"Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.content == b"RIFF"

    assert other_api.get(url).status_code == 404
    Artifact.objects.filter(pk=artifact.pk).update(status=Artifact.Status.BLOCKED)
    assert api.get(url).status_code == 410


# --- A worker on another host ----------------------------------------------------------


@contextmanager
def session_worker_paused():
    """The session's test worker (if this run started one) stops taking runs, so the
    worker of the test below is the one that runs the engine."""
    from tts_platform.celery import app

    node = f"test-{os.getpid()}@localhost"
    running = bool(app.control.ping(destination=[node], timeout=0.5))
    if running:
        for queue in ("cpu", "default"):
            app.control.cancel_consumer(queue, destination=[node], reply=True)
    try:
        yield
    finally:
        if running:
            for queue in ("cpu", "default"):
                app.control.add_consumer(queue, destination=[node], reply=True)


@contextmanager
def worker_on_another_host(server, home: Path):
    """A Celery worker whose MEDIA_ROOT is an empty folder of its own: it reaches
    stored audio and clips only through the object store."""
    from tts_platform.celery import app

    node = f"s3-{os.getpid()}@localhost"
    env = {
        **os.environ,
        **server.env,
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "MEDIA_ROOT": str(home / "media"),
        "TTS_STORAGE_CACHE_DIR": str(home / "storage-cache"),
    }
    (home / "media").mkdir(parents=True)
    log = open(home / "worker.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [
            sys.executable, "-m", "celery", "-A", "tts_platform", "worker",
            "-Q", "cpu,default", "-c", "1", "-l", "info", "-n", node,
            "--without-gossip", "--without-mingle",
        ],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:
        for _ in range(120):
            if process.poll() is not None:
                raise RuntimeError((home / "worker.log").read_text()[-2000:])
            if app.control.ping(destination=[node], timeout=0.5):
                break
        else:
            raise RuntimeError("the object-storage worker did not start")
        yield
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


@pytest.mark.worker
def test_s3_worker_sharing_no_filesystem_completes_a_prompt_voice_synthesis(
    object_storage, api, settings, tmp_path
):
    home = tmp_path / "worker-host"
    with session_worker_paused(), worker_on_another_host(object_storage, home):
        clip = wav(voice_like(155, seed=1515))  # a clip no other test stores
        voice = api.post(
            "/api/v1/voices",
            {
                "name": "Remote",
                "prompt_text": PROMPT,
                "consent": "true",
                "audio": SimpleUploadedFile("take.wav", clip),
            },
            format="multipart",
        )
        assert voice.status_code == 201, voice.content
        sha = voice.json()["audio_sha256"]

        response = synthesize(api, text="Made far away.", voice=voice.json()["id"])
        assert response.status_code == 200, response.content
        body = response.json()
        assert body["status"] == "succeeded", body
        assert body["cache"] == "miss"

    artifact = Artifact.objects.get(fingerprint=body["fingerprint"])
    assert audio_bytes(api, body) == object_storage.read(artifact.audio_name)
    # The worker's own media folder stayed empty; it read the clip from the store
    # into its content-addressed copy.
    assert list((home / "media").rglob("*")) == []
    copy = home / "storage-cache" / storage.voice_clip_name(sha)
    assert copy.read_bytes() == object_storage.read(storage.voice_clip_name(sha))
    # And the web's media folder holds neither the clip nor the audio.
    media = Path(settings.MEDIA_ROOT)
    assert not (media / storage.voice_clip_name(sha)).exists()
    assert not (media / artifact.audio_name).exists()
