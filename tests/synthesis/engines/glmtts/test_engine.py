"""The GLM-TTS adapter against a stand-in of the upstream tree (tests/synthesis/
glmtts_standin.py), the identity registry, routing to the gpu queue, and a smoke test of
the real model where CUDA, the checkout and the weights are present."""

from __future__ import annotations

import base64
import io
import json
import os
import shutil
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
import redis
import soundfile
from django.conf import settings as django_settings
from django.core.management import call_command

from synthesis import storage
from synthesis.engines import EngineError, EngineUnavailable, get_engine
from synthesis.engines.base import VoiceInput
from synthesis.engines.glmtts.engine import ENGINE_PARAMS, GlmTtsEngine
from synthesis.engines.glmtts.features import VoiceFeatures, decode, encode
from synthesis.models import EngineIdentity, Voice
from synthesis.services import syntheses
from synthesis.services.engine_identity import engines_register_for_worker
from tests.support import glmtts_standin
from tests.support.api import assert_error
from tests.support.glmtts import PROMPT_TEXT, real_model_missing, store_voice
from tests.support.worker import database_url

ROOT = Path(__file__).resolve().parents[4]
TWO_CHUNKS = (
    "This first sentence is long enough to be a chunk of its own here. "
    "And this second sentence follows it as another chunk."
)


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    repo, ckpt = glmtts_standin.build(tmp_path_factory.mktemp("glmtts"))
    return repo, ckpt


def upstream(name: str):
    """A module of the loaded stand-in tree (the adapter imported it)."""
    return sys.modules[name]


@pytest.fixture
def engine(standin) -> GlmTtsEngine:
    repo, ckpt = standin
    return GlmTtsEngine(repo, ckpt, device="cpu", voice_cache_size=8)


def clip_bytes(pitch: float, seconds: float = 2.0, rate: int = 16000) -> bytes:
    t = np.arange(int(seconds * rate)) / rate
    envelope = 0.2 + 0.3 * np.abs(np.sin(2 * np.pi * 1.5 * t))
    samples = (envelope * np.sin(2 * np.pi * pitch * t)).astype(np.float32)
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format="WAV", subtype="PCM_16")
    return buffer.getvalue()


@pytest.fixture
def voice(request) -> VoiceInput:
    # A clip of its own per test: the feature file cache outlives a test.
    pitch = 110 + zlib.crc32(request.node.nodeid.encode()) % 2000 / 10
    return store_voice(clip_bytes(pitch))


# --- Synthesis ---------------------------------------------------------------------------


def test_speaks_a_prompt_voice_deterministically_per_seed(engine, voice):
    one = engine.synthesize(text="Hello there.", voice=voice, seed=42)
    two = engine.synthesize(text="Hello there.", voice=voice, seed=42)
    other = engine.synthesize(text="Hello there.", voice=voice, seed=43)
    assert one.sample_rate == 24000
    assert one.samples.dtype == np.float32 and one.samples.ndim == 1
    assert np.abs(one.samples).max() <= 1.0
    assert one.duration_s > 0.1
    assert one.samples.tobytes() == two.samples.tobytes()
    assert one.samples.tobytes() != other.samples.tobytes()
    assert one.info["model_fingerprint"] == engine.local_identity()[0]
    assert one.info["speech_tokens"] and one.info["normalized_chunks"] == [
        "hello there."
    ]


def test_works_from_any_working_directory_and_restores_it(
    engine, voice, tmp_path, monkeypatch
):
    # The weights live outside the checkout and the process runs elsewhere: upstream's
    # relative ckpt/ and ./configs/ reads must still find their files.
    monkeypatch.chdir(tmp_path)
    audio = engine.synthesize(text="A colour test.", voice=voice, seed=1)
    assert audio.info["normalized_chunks"] == ["a color test."]
    assert Path.cwd() == tmp_path


def test_every_request_starts_from_a_fresh_history(engine, voice):
    history = upstream("_standin_calls").HISTORY
    first = engine.synthesize(text=TWO_CHUNKS, voice=voice, seed=7)
    second = engine.synthesize(text=TWO_CHUNKS, voice=voice, seed=7)
    assert len(first.info["normalized_chunks"]) == 2
    for entry in history[-2:]:
        assert entry["cache_text"] == ["the color of this prompt is plain. "]
        assert len(entry["cache_speech_token"]) == 1
        assert entry["use_cache"] is True
    # The second chunk is conditioned on the first (the history matters), yet the
    # second request sounds exactly like the first.
    assert second.samples.tobytes() == first.samples.tobytes()


def test_a_voice_is_prepared_once_then_read_from_memory_or_file(engine, standin, voice):
    first = engine.synthesize(text="One.", voice=voice, seed=3)
    calls = upstream("_standin_calls").CALLS
    before = dict(calls)
    second = engine.synthesize(text="Two.", voice=voice, seed=3)
    assert (first.info["voice_features"], second.info["voice_features"]) == (
        "prepared",
        "memory",
    )
    # A new process (another worker, a restart) reads the stored features.
    other = GlmTtsEngine(*standin, device="cpu", voice_cache_size=8)
    third = other.synthesize(text="One.", voice=voice, seed=3)
    assert third.info["voice_features"] == "file"
    for name in (
        "extract_speech_token",
        "extract_speech_feat",
        "extract_spk_embedding",
    ):
        assert calls[name] == before[name], name
    assert third.samples.tobytes() == first.samples.tobytes()
    # Another transcript is another prompt.
    changed = VoiceInput(**{**voice.__dict__, "prompt_text": "Another transcript."})
    audio = engine.synthesize(text="One.", voice=changed, seed=3)
    assert audio.info["voice_features"] == "prepared"
    assert calls["extract_speech_token"] == before["extract_speech_token"] + 1


def test_voice_features_round_trip_exactly():
    rng = np.random.default_rng(0)
    features = VoiceFeatures(
        prompt_text="你好，the prompt. ",
        speech_tokens=rng.integers(0, 32768, 250).astype(np.int32),
        speech_feat=rng.standard_normal((1, 500, 80)).astype(np.float32),
        embedding=rng.standard_normal((1, 192)).astype(np.float32),
    )
    back = decode(encode(features))
    assert back.prompt_text == features.prompt_text
    for name in ("speech_tokens", "speech_feat", "embedding"):
        assert getattr(back, name).dtype == getattr(features, name).dtype
        assert getattr(back, name).tobytes() == getattr(features, name).tobytes()


def test_the_model_loads_once_per_process(engine, voice):
    engine.synthesize(text="Load.", voice=voice, seed=1)
    calls = upstream("_standin_calls").CALLS
    loads = calls["from_pretrained"], calls["load_flow_model"]
    engine.synthesize(text="Again.", voice=voice, seed=2)
    assert (calls["from_pretrained"], calls["load_flow_model"]) == loads


# --- Errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "permanent"),
    [
        ({"kind": "builtin", "name": "tongtong"}, True),
        ({"prompt_text": "  "}, True),
        ({"audio_path": "/nonexistent/clip.wav"}, True),
    ],
)
def test_unusable_voices_are_permanent_errors(engine, voice, change, permanent):
    with pytest.raises(EngineError) as raised:
        engine.synthesize(
            text="Hi.", voice=VoiceInput(**{**voice.__dict__, **change}), seed=1
        )
    assert raised.value.permanent is permanent


def test_a_silent_prompt_is_a_permanent_error(engine):
    silent = io.BytesIO()
    soundfile.write(silent, np.zeros(32000, np.float32), 16000, format="WAV")
    with pytest.raises(EngineError, match="no speech tokens") as raised:
        engine.synthesize(text="Hi.", voice=store_voice(silent.getvalue()), seed=1)
    assert raised.value.permanent


def _oom():
    return upstream("_numpy_torch").cuda.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB"
    )


@pytest.mark.parametrize(
    ("stage", "error", "permanent", "says"),
    [
        ("llm", _oom, False, "ran out of GPU memory"),
        ("flow", _oom, False, "ran out of GPU memory"),
        ("llm", lambda: ValueError("Unknown sample_method: beam"), True, "rejected"),
        ("flow", lambda: AssertionError(), True, "rejected the input"),
        ("flow", lambda: RuntimeError("CUDA error: illegal access"), False, "failed"),
    ],
)
def test_upstream_failures_map_to_transient_or_permanent(
    engine, voice, stage, error, permanent, says
):
    engine.synthesize(text="Warm up.", voice=voice, seed=1)  # loads the stand-in
    upstream("_standin_calls").FAULTS[stage] = error()
    with pytest.raises(EngineError, match=says) as raised:
        engine.synthesize(text="Fails.", voice=voice, seed=1)
    assert raised.value.permanent is permanent
    # The engine recovers: the next request works.
    assert engine.synthesize(text="Works.", voice=voice, seed=1).duration_s > 0


def test_missing_weights_are_transient_and_named(standin, voice, tmp_path):
    repo, ckpt = standin
    partial = tmp_path / "weights"
    shutil.copytree(ckpt, partial)
    (partial / "hift" / "hift.pt").unlink()
    broken = GlmTtsEngine(repo, partial, device="cpu")
    with pytest.raises(EngineError, match="hift") as raised:
        broken.synthesize(text="Hi.", voice=voice, seed=1)
    assert not raised.value.permanent
    shutil.rmtree(partial / "hift")
    assert any("hift" in problem for problem in GlmTtsEngine(repo, partial).missing())


# --- Identity and fingerprint parameters -------------------------------------------------


def _identity(repo: Path, ckpt: Path, **kwargs) -> str:
    return GlmTtsEngine(repo, ckpt, **kwargs).local_identity()[0]


def test_identity_changes_with_every_manifest_input(standin, tmp_path):
    repo, ckpt = (tmp_path / "repo", tmp_path / "ckpt")
    shutil.copytree(standin[0], repo, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(standin[1], ckpt)
    base = _identity(repo, ckpt)
    assert base == _identity(*standin)  # a copy of the same build is the same build
    seen = {base}

    def changed(path: Path, extra: str) -> str:
        original = path.read_bytes()
        path.write_bytes(original + extra.encode())
        try:
            return _identity(repo, ckpt)
        finally:
            path.write_bytes(original)

    seen.add(changed(ckpt / "llm" / "model-00002-of-00002.safetensors", "x"))
    seen.add(changed(ckpt / "flow" / "config.yaml", "# tuned\n"))
    seen.add(changed(repo / "configs" / "custom_replace.jsonl", "{}\n"))
    seen.add(changed(repo / "frontend" / "campplus.onnx", "x"))
    seen.add(changed(repo / "cosyvoice" / "cli" / "frontend.py", "# patched\n"))
    seen.add(_identity(repo, ckpt, dtype="float16"))
    seen.add(_identity(repo, ckpt, sample_rate=32000))
    seen.add(_identity(repo, ckpt, use_phoneme=True))
    assert len(seen) == 9
    # A git checkout of the same files is the same build; the commit is recorded.
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "build"], check=True)
    head = subprocess.run(
        [*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True
    ).stdout.strip()
    manifest = GlmTtsEngine(repo, ckpt).local_identity()[1]
    assert manifest["code_commit"] == head
    assert _identity(repo, ckpt) == base
    # The download's metadata is for people: it does not name another build.
    assert (
        changed(ckpt / ".cache/huggingface/download/llm/config.json.metadata", "x")
        == base
    )
    assert manifest["hf_revision"] == "0123abcd"
    assert "llm/model-00001-of-00002.safetensors" in manifest["checkpoints"]
    assert set(manifest["packages"]) >= {"torch", "transformers", "onnxruntime"}


def test_params_carry_every_engine_level_field_of_the_recommended_fingerprint(engine):
    engine.local_identity()  # as on a GPU worker
    params = engine.params()
    assert params == engine.local_params()
    assert set(params) == {
        "sample_rate",
        "use_phoneme",
        "use_history_cache",
        "sample_method",
        "engine_params",
        "decode_mode",
        "output",
    }
    assert params["engine_params"] == ENGINE_PARAMS and len(ENGINE_PARAMS) == 12
    assert (params["sample_rate"], params["sample_method"]) == (24000, "ras")
    assert json.loads(json.dumps(params)) == params


def test_web_processes_never_import_upstream_or_torch(standin, django_db_setup):
    script = (
        "import sys, django\n"
        "django.setup()\n"
        "from synthesis.engines import EngineUnavailable, get_engine\n"
        "e = get_engine('glmtts')\n"
        "e.params(); e.voices()\n"
        "try:\n"
        "    e.identity()\n"
        "except EngineUnavailable:\n"
        "    pass\n"
        "assert 'glmtts_inference' not in sys.modules\n"
        "assert 'torch' not in sys.modules and '_numpy_torch' not in sys.modules\n"
        "print('ok')\n"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tts_platform.settings_test",
        "DATABASE_URL": database_url(),
        "GLMTTS_REPO_DIR": str(standin[0]),
        "GLMTTS_CKPT_DIR": str(standin[1]),
    }
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


# --- Registry, API and routing -----------------------------------------------------------


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


# --- The real model ----------------------------------------------------------------------


@pytest.mark.gpu
def test_the_real_model_clones_a_voice():
    missing = real_model_missing()
    if missing:
        pytest.skip("GLM-TTS smoke test needs: " + "; ".join(missing))
    engine = GlmTtsEngine()
    repo = Path(django_settings.GLMTTS_REPO_DIR)
    example = json.loads(
        (repo / "examples" / "example_en.jsonl").read_text().splitlines()[0]
    )
    voice = store_voice(
        (repo / example["prompt_speech"]).read_bytes(), example["prompt_text"]
    )
    first = engine.synthesize(text="The cache never pays twice.", voice=voice, seed=42)
    again = engine.synthesize(text="The cache never pays twice.", voice=voice, seed=42)
    assert first.sample_rate == django_settings.GLMTTS_SAMPLE_RATE
    assert 0.8 < first.duration_s < 10
    assert float(np.sqrt(np.mean(first.samples**2))) > 0.01
    assert again.info["voice_features"] == "memory"
    assert again.info["speech_tokens"] == first.info["speech_tokens"]
