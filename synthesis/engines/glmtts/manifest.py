"""The identity of a GLM-TTS build (docs/glmtts.md §2).

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
import os
from collections.abc import Iterator
from importlib import metadata, util
from pathlib import Path

MANIFEST_VERSION = 1
# Distributions whose versions change the audio (docs/glmtts.md §2): the numeric
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
# Kept in the manifest for people, left out of the hash. The commit adds nothing to
# code_sha256 (every .py file of the checkout) and would split one build in two between a
# git checkout and a copied tree.
UNHASHED = ("hf_revision", "code_commit")
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _files(root: Path, *, skip: Path | None = None) -> Iterator[Path]:
    """Regular files under root (symlinks followed), sorted, without hidden files or
    directories (.git, the Hugging Face download cache) and without anything under
    `skip`."""
    found = []
    for directory, subdirs, names in os.walk(root, followlinks=True):
        here = Path(directory)
        if skip is not None and here.resolve().is_relative_to(skip):
            subdirs[:] = []
            continue
        subdirs[:] = [d for d in subdirs if not d.startswith(".")]
        found += [here / n for n in names if not n.startswith(".")]
    yield from sorted(p for p in found if p.is_file())


def tree_digests(root: Path, *, skip: Path | None = None, suffix: str = "") -> dict:
    return {
        str(path.relative_to(root)): file_sha256(path)
        for path in _files(root, skip=skip)
        if path.name.endswith(suffix)
    }


def code_commit(repo_dir: Path) -> str:
    """The checked-out commit, read from .git (no git binary needed; worktrees too)."""
    git = repo_dir / ".git"
    try:
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            git = (
                repo_dir / git.read_text().strip().removeprefix("gitdir: ")
            ).resolve()
        common = git
        if (git / "commondir").is_file():
            common = (git / (git / "commondir").read_text().strip()).resolve()
        head = (git / "HEAD").read_text().strip()
        if not head.startswith("ref: "):
            return head
        ref = head.removeprefix("ref: ")
        for base in (git, common):
            if (base / ref).is_file():
                return (base / ref).read_text().strip()
        for line in (common / "packed-refs").read_text().splitlines():
            if line.endswith(" " + ref):
                return line.split()[0]
    except OSError:
        pass
    return "unknown"


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
    *,
    repo_dir: Path,
    ckpt_dir: Path,
    llm_dtype: str,
    adapter_version: int,
    params: dict,
) -> dict:
    """`params`: the engine's fingerprint parameters as this worker runs them; the web
    tier fingerprints with the registered ones, and a worker configured otherwise has
    another identity, so it refuses work fingerprinted for this one."""
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
        "params": params,
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
