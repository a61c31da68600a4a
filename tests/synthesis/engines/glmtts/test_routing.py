"""GLM-TTS on the platform: identities registered by GPU workers and read by web
processes, the API before and after a worker registers, routing to the gpu queue, and a
real worker rendering syntheses with the stand-in tree."""

from __future__ import annotations

import base64
import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import redis
from django.conf import settings as django_settings
from django.core.management import call_command

from synthesis import storage
from synthesis.engines import EngineUnavailable, get_engine
from synthesis.engines.glmtts.engine import ENGINE_PARAMS, GlmTtsEngine
from synthesis.models import EngineIdentity, Voice
from synthesis.services import syntheses
from synthesis.services.engine_identity import engines_register_for_worker
from tests.support.api import assert_error
from tests.support.glmtts import (
    PROMPT_TEXT,
    clip_bytes,
    store_voice,
)
from tests.support.worker import database_url

ROOT = Path(__file__).resolve().parents[4]


@pytest.fixture
def glmtts_active(settings, standin):
    """The platform configured for GLM-TTS with the stand-in as this host's build."""
    settings.TTS_ENGINE = "glmtts"
    settings.GLMTTS_REPO_DIR, settings.GLMTTS_CKPT_DIR = standin
    settings.GLMTTS_DEVICE = "cpu"
    get_engine.cache_clear()
    yield
    get_engine.cache_clear()


def web_engine() -> GlmTtsEngine:
    """What a web process has: the engine without its local build."""
    get_engine.cache_clear()
    return get_engine("glmtts")


@pytest.mark.django_db
@pytest.mark.usefixtures("glmtts_active")
def test_web_identity_is_the_latest_registered_by_a_gpu_worker(standin):
    with pytest.raises(EngineUnavailable, match="No GPU worker"):
        web_engine().identity()
    assert web_engine().params() == web_engine().local_params()
    assert engines_register_for_worker(queues={"cpu", "default"}) == []
    assert engines_register_for_worker(queues={"gpu"}, host="gpu-1") == ["glmtts"]
    local = GlmTtsEngine(*standin).local_identity()[0]
    assert web_engine().identity() == local
    row = EngineIdentity.objects.get()
    assert (row.engine, row.identity, row.host) == ("glmtts", local, "gpu-1")
    assert row.manifest["llm_dtype"] == "float32"
    # A newer build registered elsewhere is what new requests are fingerprinted with.
    EngineIdentity.objects.create(
        engine="glmtts",
        identity="f" * 64,
        manifest={},
        host="gpu-2",
        registered_at=row.registered_at.replace(year=row.registered_at.year + 1),
    )
    assert web_engine().identity() == "f" * 64


@pytest.mark.django_db
@pytest.mark.usefixtures("glmtts_active")
def test_the_web_fingerprints_with_the_parameters_the_workers_run(settings, standin):
    settings.GLMTTS_SAMPLE_RATE = 32000
    engines_register_for_worker(queues={"gpu"}, host="gpu-32k")
    settings.GLMTTS_SAMPLE_RATE = 24000
    web = web_engine()
    assert web.local_params()["sample_rate"] == 24000
    assert web.params()["sample_rate"] == 32000
    assert (
        web.identity() == GlmTtsEngine(*standin, sample_rate=32000).local_identity()[0]
    )
    assert web.identity() != GlmTtsEngine(*standin).local_identity()[0]


@pytest.mark.django_db
@pytest.mark.usefixtures("glmtts_active")
def test_register_engine_command_records_this_hosts_build(standin):
    out = io.StringIO()
    call_command("register_engine", "glmtts", "--host", "ops-box", stdout=out)
    identity = GlmTtsEngine(*standin).local_identity()[0]
    assert f"glmtts {identity} registered for ops-box" in out.getvalue()
    assert EngineIdentity.objects.filter(identity=identity, host="ops-box").exists()


def prompt_voice_row(user) -> Voice:
    data = clip_bytes(180.0)
    stored = store_voice(data)
    return Voice.objects.create(
        owner=user,
        name="Narrator",
        audio_name=storage.voice_clip_name(stored.audio_sha256),
        audio_sha256=stored.audio_sha256,
        prompt_text=PROMPT_TEXT,
        duration_s=2.0,
        sample_rate=16000,
        consent=True,
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("glmtts_active")
def test_api_answers_503_until_a_gpu_worker_registers(api, user):
    voice = prompt_voice_row(user)
    body = {"text": "Hello.", "voice": str(voice.pk)}
    response = api.post("/api/v1/syntheses", body, format="json")
    error = assert_error(response, 503, "engine_unavailable")
    assert error["type"] == "server_error" and "GPU worker" in error["message"]
    assert response["Retry-After"]
    no_voice = api.post("/api/v1/syntheses", {"text": "Hello."}, format="json")
    assert_error(no_voice, 400, "voice_required", "voice")


@pytest.fixture
def broker():
    """The test broker with no worker consuming the engine queues, so the message
    services send can be read where it lands; consumers are restored afterwards."""
    from tts_platform.celery import app

    paused = {}
    for queue in ("gpu", "cpu"):
        replies = app.control.cancel_consumer(queue, reply=True, timeout=1)
        paused[queue] = [node for reply in replies for node in reply]
    client = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    client.delete("gpu", "cpu")
    yield client
    client.delete("gpu", "cpu")
    for queue, nodes in paused.items():
        if nodes:
            app.control.add_consumer(queue, destination=nodes, reply=True, timeout=1)


def queued_tasks(client, queue: str) -> list[tuple[str, list]]:
    """(task name, args) of the Celery messages waiting in a queue's Redis list."""
    tasks = []
    for raw in client.lrange(queue, 0, -1):
        message = json.loads(raw)
        args, _kwargs, _embed = json.loads(base64.b64decode(message["body"]))
        tasks.append((message["headers"]["task"], args))
    return tasks


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("engine_name", "queue"), [("glmtts", "gpu"), ("espeak", "cpu")]
)
def test_a_miss_is_enqueued_on_its_engines_queue(
    settings, standin, broker, user, engine_name, queue
):
    settings.TTS_ENGINE = engine_name
    settings.GLMTTS_REPO_DIR, settings.GLMTTS_CKPT_DIR = standin
    get_engine.cache_clear()
    engines_register_for_worker(queues={"gpu"})
    get_engine.cache_clear()  # the web side: the identity comes from the registry
    voice = str(prompt_voice_row(user).pk) if engine_name == "glmtts" else None
    request = syntheses.synthesis_create(
        user=user, data=syntheses.SynthesisInput(text="Routed text.", voice=voice)
    )
    get_engine.cache_clear()
    assert request.cache == "miss"
    other = "cpu" if queue == "gpu" else "gpu"
    assert queued_tasks(broker, queue) == [
        ("synthesis.tasks.artifact_synthesize_task", [request.artifact_id])
    ]
    assert queued_tasks(broker, other) == []


@pytest.mark.django_db(transaction=True)
def test_a_gpu_worker_registers_its_build_and_renders_glmtts_syntheses(
    settings, standin, broker, user, tmp_path
):
    """A real Celery worker serving only the gpu queue, started from another directory:
    it registers the stand-in build at start, and a synthesis the web side fingerprints
    with that build is rendered by it."""
    node = f"gpu-test-{os.getpid()}@localhost"
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "CONN_MAX_AGE": "0",
        "PYTHONPATH": str(ROOT),
        "TTS_ENGINE": "glmtts",
        "GLMTTS_REPO_DIR": str(standin[0]),
        "GLMTTS_CKPT_DIR": str(standin[1]),
        "GLMTTS_DEVICE": "cpu",
    }
    command = [sys.executable, "-m", "celery", "-A", "tts_platform", "worker"]
    # The production command (docs/deploy.md): prefork, one process, one task at a time.
    command += ["-Q", "gpu", "--concurrency", "1", "--prefetch-multiplier", "1"]
    command += ["-n", node, "--without-gossip"]
    with open(tmp_path / "worker.log", "w") as log:
        worker = subprocess.Popen(
            command + ["--without-mingle"],
            cwd=tmp_path,
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        deadline = time.monotonic() + 60
        while not EngineIdentity.objects.filter(engine="glmtts").exists():
            assert worker.poll() is None, (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker did not register"
            time.sleep(0.2)
        settings.TTS_ENGINE = "glmtts"
        settings.GLMTTS_REPO_DIR, settings.GLMTTS_CKPT_DIR = standin
        get_engine.cache_clear()
        request = syntheses.synthesis_create(
            user=user,
            data=syntheses.SynthesisInput(
                text="Rendered on the gpu queue.", voice=str(prompt_voice_row(user).pk)
            ),
        )
        syntheses.synthesis_wait(request=request, timeout=30)
        artifact = request.artifact
        assert artifact.status == "succeeded", (
            artifact.error_message or (tmp_path / "worker.log").read_text()[-3000:]
        )
        assert artifact.model_version == EngineIdentity.objects.get().identity
        assert artifact.inputs["params"]["engine_params"] == ENGINE_PARAMS
        assert storage.exists(artifact.audio_name) and artifact.duration_s > 0.1
    finally:
        worker.terminate()
        worker.wait(timeout=20)
        get_engine.cache_clear()
