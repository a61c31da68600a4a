"""The identity of a GLM-TTS build (research/glmtts.md §2, §7.1).

GLM-TTS carries no version string. What decides its output is the checkpoint files, the
upstream code (text normalisation and splitting are Python), its configs, the LLM dtype,
the text-normalisation backend and the libraries that change the numbers. The identity
is the SHA-256 of a manifest of all of these; any change gives a new identity and so new
fingerprints for every request, on purpose.

Reads files and package metadata only: nothing here imports torch or the upstream code.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from collections.abc import Iterator
from importlib import metadata, util
from pathlib import Path

MANIFEST_VERSION = 1
# Distributions whose versions change the audio (research/glmtts.md §2): the numeric
# stack at bit level, the text front end (normalisation, G2P, English chunking) exactly.
DISTRIBUTIONS = (
    "torch",
    "torchaudio",
    "transformers",
    "onnxruntime-gpu",
    "onnxruntime",
    "WeTextProcessing",
    "ttsfrd",
    "inflect",
    "pronouncing",
    "pypinyin",
    "jieba",
    "librosa",
    "numpy",
    "x-transformers",
)
# Kept in the manifest for people, left out of the hash.
UNHASHED = ("hf_revision",)
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path, *, skip: Path | None = None) -> Iterator[Path]:
    """Regular files under root, sorted, without hidden files or directories (.git,
    the Hugging Face download cache) and without anything under `skip`."""
    for path in sorted(root.rglob("*")):
        relative = path.relative_to(root)
        if any(part.startswith(".") for part in relative.parts):
            continue
        if skip is not None and path.resolve().is_relative_to(skip):
            continue
        if path.is_file():
            yield path


def tree_digests(root: Path, *, skip: Path | None = None, suffix: str = "") -> dict:
    return {
        str(path.relative_to(root)): file_sha256(path)
        for path in _files(root, skip=skip)
        if path.name.endswith(suffix)
    }


def code_commit(repo_dir: Path) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(repo_dir), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return result.stdout.strip() if result.returncode == 0 else "unknown"


def hf_revision(ckpt_dir: Path) -> str:
    """The Hugging Face commit the weights were downloaded at, when the download left
    its metadata (huggingface-cli download --local-dir writes the commit first)."""
    meta = ckpt_dir / ".cache" / "huggingface" / "download"
    for path in sorted(meta.rglob("*.metadata")) if meta.is_dir() else ():
        lines = path.read_text(errors="replace").splitlines()
        if lines:
            return lines[0].strip()
    return "unknown"


def distribution_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"


def tn_backend() -> str:
    # Upstream prefers ttsfrd when it can be imported, else WeTextProcessing.
    if util.find_spec("ttsfrd") is not None:
        return f"ttsfrd=={distribution_version('ttsfrd')}"
    return f"wetextprocessing=={distribution_version('WeTextProcessing')}"


def build_manifest(
    *, repo_dir: Path, ckpt_dir: Path, llm_dtype: str, adapter_version: int
) -> dict:
    repo_dir, ckpt_dir = repo_dir.resolve(), ckpt_dir.resolve()
    checkpoints = tree_digests(ckpt_dir)
    campplus = repo_dir / "frontend" / "campplus.onnx"
    configs = (
        tree_digests(repo_dir / "configs") if (repo_dir / "configs").is_dir() else {}
    )
    code = tree_digests(repo_dir, skip=ckpt_dir, suffix=".py")
    return {
        "manifest_version": MANIFEST_VERSION,
        "engine": "glmtts",
        "adapter_version": adapter_version,
        "code_commit": code_commit(repo_dir),
        "code_sha256": _digest_of(code),
        "ckpt_manifest_sha256": _digest_of(
            {
                **{f"ckpt/{k}": v for k, v in checkpoints.items()},
                **{f"configs/{k}": v for k, v in configs.items()},
                "frontend/campplus.onnx": (
                    file_sha256(campplus) if campplus.is_file() else "absent"
                ),
            }
        ),
        "checkpoints": checkpoints,
        "configs": configs,
        "tn_backend": tn_backend(),
        "llm_dtype": llm_dtype,
        "packages": {name: distribution_version(name) for name in DISTRIBUTIONS},
        "hf_revision": hf_revision(ckpt_dir),
    }


def identity_of(manifest: dict) -> str:
    return _digest_of({k: v for k, v in manifest.items() if k not in UNHASHED})


def _digest_of(value) -> str:
    payload = json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
