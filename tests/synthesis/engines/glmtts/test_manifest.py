"""The identity of a GLM-TTS build (synthesis/engines/glmtts/manifest.py) and the
engine-level fingerprint fields, against the stand-in tree."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

from synthesis.engines.glmtts.engine import ENGINE_PARAMS, GlmTtsEngine
from tests.support.worker import database_url

ROOT = Path(__file__).resolve().parents[4]


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
