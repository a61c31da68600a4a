"""GLM-TTS (zai-org/GLM-TTS, pinned at c5dc7ae) on a GPU worker: zero-shot voice cloning
from a prompt clip and its exact transcript. docs/glmtts.md has the facts it relies on.

Upstream is not a package: it runs from its checkout, reads `ckpt/…`, `configs/…` and
`frontend/…` relative to the working directory (the Chinese text normaliser on every
call), and imports torch and transformers at module top. So this adapter
- imports the checkout only when a worker first synthesises (runtime.py), never at web
  import time, and makes its tensors with the torch that upstream imported;
- runs every upstream call from a private run directory whose `ckpt`, `configs` and
  `frontend` entries point at the configured checkpoint and checkout, under a process
  lock (the working directory is process-wide; the lock is also the one-synthesis-at-a-
  time-per-GPU rule, with one worker process per GPU);
- rebuilds upstream's mutable history per request from cached features (features.py);
- names its build by a manifest hash (manifest.py) that GPU workers register at start
  and web processes read back (synthesis/services/engine_identity.py).
"""

from __future__ import annotations

import copy
import logging
import os
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from synthesis.engines.base import (
    Audio,
    BuiltinVoice,
    Engine,
    EngineError,
    EngineUnavailable,
    VoiceInput,
)
from synthesis.engines.glmtts.features import VoiceFeatureCache, feature_key
from synthesis.engines.glmtts.manifest import build_manifest, identity_of
from synthesis.engines.glmtts.runtime import (
    SAMPLE_METHOD,
    USE_HISTORY_CACHE,
    Runtime,
)

logger = logging.getLogger(__name__)

UPSTREAM_COMMIT = "c5dc7ae"
DTYPES = ("float32", "float16", "bfloat16")
VOCODERS = {24000: "hift", 32000: "vocos2d"}
CHECKPOINT_PARTS = ("llm", "flow", "speech_tokenizer", "vq32k-phoneme-tokenizer")

# Upstream constants that shape the audio and that no upstream call exposes
# (docs/glmtts.md §1, §5): RAS sampling, token/text ratios, text splitting, the
# history cap, the flow solver. Named here so the fingerprint says what produced a take.
ENGINE_PARAMS = {
    "top_k": 25,
    "top_p": 0.8,
    "temperature": 1.0,
    "ras_win": 10,
    "ras_tau_r": 0.1,
    "min_ratio": 2,
    "max_ratio": 20,
    "split_min": 30,
    "split_max": 60,
    "hist_cap": 750,
    "flow_steps": 10,
    "cfg_rate": 0.7,
}
DECODE_MODE = "offline"
# What happens to the samples after the engine: clipped to [-1, 1], resampled (soxr HQ)
# to the requested rate, stored as the mono 16-bit WAV master (synthesis/audio/pcm.py).
OUTPUT = {
    "channels": 1,
    "clip": 1.0,
    "resample": "soxr-hq",
    "master": "wav-pcm16",
    "postprocess": [],
    "loudness_norm": False,
}

# The working directory is one per process: every upstream call holds this lock.
_process_lock = threading.RLock()


class GlmTtsEngine(Engine):
    name = "glmtts"
    label = "GLM-TTS (zero-shot voice cloning, GPU)"
    queue = "gpu"
    default_voice = ""
    clones = True
    registers_identity = True
    adapter_version = 1

    def __init__(
        self,
        repo_dir: str | Path | None = None,
        ckpt_dir: str | Path | None = None,
        *,
        device: str | None = None,
        dtype: str | None = None,
        sample_rate: int | None = None,
        use_phoneme: bool | None = None,
        voice_cache_size: int | None = None,
    ) -> None:
        from django.conf import settings

        self.repo_dir = Path(repo_dir or settings.GLMTTS_REPO_DIR).absolute()
        self.ckpt_dir = Path(ckpt_dir or settings.GLMTTS_CKPT_DIR).absolute()
        self.device = device or settings.GLMTTS_DEVICE
        self.dtype = dtype or settings.GLMTTS_DTYPE
        self.sample_rate = int(sample_rate or settings.GLMTTS_SAMPLE_RATE)
        self.use_phoneme = (
            settings.GLMTTS_USE_PHONEME if use_phoneme is None else use_phoneme
        )
        self.identity_ttl = settings.GLMTTS_IDENTITY_TTL
        self.features = VoiceFeatureCache(
            capacity=settings.GLMTTS_VOICE_CACHE_SIZE
            if voice_cache_size is None
            else voice_cache_size
        )
        self._local: tuple[str, dict] | None = None
        self._registered: tuple[str, dict, float] | None = None
        self._runtime: Runtime | None = None
        self._run_dir: tempfile.TemporaryDirectory | None = None
        self._identity_lock = threading.Lock()

    # --- What the web tier asks -----------------------------------------------------------

    def voices(self) -> list[BuiltinVoice]:
        # The example prompts upstream ships are CC BY-NC: no builtin voices.
        return []

    def params(self) -> dict[str, Any]:
        """The engine-level fields of docs/glmtts.md §5, as the GPU workers run
        them: a worker's own, or on the web tier those the latest registered worker
        declared (so GLMTTS_SAMPLE_RATE and GLMTTS_USE_PHONEME need setting on the
        workers only). The request-level fields (text, prompt audio hash and transcript,
        seed) and the identity are top-level fingerprint fields; the top-level
        sample_rate is the delivered rate, this one the rate the vocoder runs at."""
        if self._local is not None:
            return copy.deepcopy(self._local[1]["params"])
        try:
            registered = self._registered_build()
        except EngineUnavailable:
            return self.local_params()
        return copy.deepcopy(registered[1])

    def local_params(self) -> dict[str, Any]:
        """The docs/glmtts.md §5 fields from this host's settings."""
        return {
            "sample_rate": self.sample_rate,
            "use_phoneme": self.use_phoneme,
            "use_history_cache": USE_HISTORY_CACHE,
            "sample_method": SAMPLE_METHOD,
            "engine_params": dict(ENGINE_PARAMS),
            "decode_mode": DECODE_MODE,
            "output": {**OUTPUT, "postprocess": list(OUTPUT["postprocess"])},
        }

    def identity(self) -> str:
        """This worker's own build once it computed it (at worker start), else the build
        the GPU workers registered most recently (web processes)."""
        if self._local is not None:
            return self._local[0]
        return self._registered_build()[0]

    def _registered_build(self) -> tuple[str, dict]:
        """(identity, params) of the latest registration, reread every few seconds."""
        now = time.monotonic()
        cached = self._registered
        if cached is not None and cached[2] > now:
            return cached[0], cached[1]
        from synthesis.services.engine_identity import engine_identity_latest

        row = engine_identity_latest(engine=self.name)
        if row is None:
            raise EngineUnavailable(
                "No GPU worker serving GLM-TTS has registered yet, so requests for it "
                "cannot be fingerprinted; start one (docs/deploy.md)."
            )
        params = row.manifest.get("params") or self.local_params()
        self._registered = (row.identity, params, now + self.identity_ttl)
        return row.identity, params

    # --- The worker's own build -----------------------------------------------------------

    def missing(self) -> list[str]:
        """What this host lacks to run GLM-TTS as configured (empty when complete)."""
        problems = []
        if not (self.repo_dir / "glmtts_inference.py").is_file():
            problems.append(
                f"the GLM-TTS checkout ({self.repo_dir}/glmtts_inference.py)"
            )
        if not (self.repo_dir / "frontend" / "campplus.onnx").is_file():
            problems.append(f"{self.repo_dir}/frontend/campplus.onnx")
        vocoder = VOCODERS.get(self.sample_rate)
        if vocoder is None:
            problems.append(f"a vocoder for GLMTTS_SAMPLE_RATE={self.sample_rate}")
        parts = CHECKPOINT_PARTS + ((vocoder,) if vocoder else ())
        problems += [
            f"the weights {self.ckpt_dir / part}/"
            for part in parts
            if not (self.ckpt_dir / part).is_dir()
        ]
        if self.dtype not in DTYPES:
            problems.append(f"a GLMTTS_DTYPE among {DTYPES} (got {self.dtype!r})")
        return problems

    def local_identity(self) -> tuple[str, dict]:
        """(identity, manifest) of the checkout and weights on this host, hashed once per
        process; raises EngineUnavailable when they are incomplete."""
        if self._local is None:
            with self._identity_lock:
                if self._local is None:
                    problems = self.missing()
                    if problems:
                        raise EngineUnavailable(
                            "GLM-TTS is not installed here; missing: "
                            + "; ".join(problems)
                        )
                    manifest = build_manifest(
                        repo_dir=self.repo_dir,
                        ckpt_dir=self.ckpt_dir,
                        llm_dtype=self.dtype,
                        adapter_version=self.adapter_version,
                        params=self.local_params(),
                    )
                    self._local = (identity_of(manifest), manifest)
        return self._local

    # --- Synthesis ------------------------------------------------------------------------

    def synthesize(self, *, text: str, voice: VoiceInput, seed: int) -> Audio:
        _check_request(text, voice)
        try:
            identity, _ = self.local_identity()
        except EngineUnavailable as exc:
            raise EngineError(str(exc), permanent=False) from exc
        key = feature_key(
            identity=identity,
            audio_sha256=voice.audio_sha256,
            prompt_text=voice.prompt_text,
            sample_rate=self.sample_rate,
        )
        run_dir = self._run_directory()
        with _process_lock:
            with _working_directory(run_dir):
                runtime = self._runtime_get()
            # Storage is read and written outside the run directory (MEDIA_ROOT may be
            # relative to the worker's own working directory).
            started = time.perf_counter()
            found = self.features.get(key)
            with _working_directory(run_dir):
                runtime.memory_reset()
                if found is None:
                    with _upstream_errors("prompt preparation", runtime):
                        features = runtime.prepare_voice(
                            voice.audio_path, voice.prompt_text
                        )
                    source = "prepared"
                else:
                    features, source = found
                prepared = time.perf_counter()
                if features.speech_tokens.size == 0:
                    raise EngineError(
                        "the prompt audio gives no speech tokens (silent or too short)",
                        permanent=True,
                    )
                with _upstream_errors("synthesis", runtime):
                    samples, tokens, chunks = runtime.generate(
                        text, features, seed=seed, use_phoneme=self.use_phoneme
                    )
                finished = time.perf_counter()
                peak = runtime.memory_peak()
            if found is None:
                self.features.put(key, features)
        info = {
            "model_fingerprint": identity,
            "voice_features": source,
            "normalized_chunks": chunks.get("syn_text_tn", []),
            "phoneme_chunks": chunks.get("syn_text_phoneme", []),
            "speech_tokens": tokens,
            "timings": {
                "prompt_s": round(prepared - started, 4),
                "synthesis_s": round(finished - prepared, 4),
            },
            "peak_gpu_mem": peak,
        }
        return Audio(
            samples=np.clip(samples, -1.0, 1.0),
            sample_rate=self.sample_rate,
            info=info,
        )

    def _run_directory(self) -> str:
        """A private directory standing in for the checkout as upstream's working
        directory: `ckpt` is the configured weights, `configs` and `frontend` the
        checkout's, wherever either lives."""
        if self._run_dir is None:
            run_dir = tempfile.TemporaryDirectory(prefix="glmtts-run-")
            root = Path(run_dir.name)
            (root / "ckpt").symlink_to(self.ckpt_dir, target_is_directory=True)
            for name in ("configs", "frontend"):
                (root / name).symlink_to(self.repo_dir / name, target_is_directory=True)
            self._run_dir = run_dir
        return self._run_dir.name

    def _runtime_get(self) -> Runtime:
        if self._runtime is None:
            with _upstream_errors("model loading", None):
                started = time.perf_counter()
                self._runtime = Runtime(
                    repo_dir=self.repo_dir,
                    ckpt_dir=self.ckpt_dir,
                    device=self.device,
                    dtype=self.dtype,
                    sample_rate=self.sample_rate,
                )
            logger.info("GLM-TTS loaded in %.1f s", time.perf_counter() - started)
        return self._runtime


def _check_request(text: str, voice: VoiceInput) -> None:
    from django.conf import settings

    if voice.kind != "prompt":
        raise EngineError(
            f"GLM-TTS clones prompt voices; {voice.name!r} is not one", permanent=True
        )
    if not voice.prompt_text.strip():
        raise EngineError(
            "GLM-TTS needs the exact transcript of the prompt audio (prompt_text is "
            "empty)",
            permanent=True,
        )
    if not text.strip():
        raise EngineError("the text is empty", permanent=True)
    if len(text) > settings.TTS_MAX_TEXT_CHARS:
        raise EngineError(
            f"the text has {len(text)} characters; the limit is "
            f"{settings.TTS_MAX_TEXT_CHARS}",
            permanent=True,
        )
    if not voice.audio_sha256 or not os.path.isfile(voice.audio_path):
        raise EngineError(
            f"the prompt audio {voice.audio_sha256[:12] or '?'} is not in storage",
            permanent=True,
        )


@contextmanager
def _working_directory(path: str):
    try:
        previous = os.getcwd()
    except FileNotFoundError:  # the caller's directory was deleted: nothing to restore
        previous = None
    os.chdir(path)
    try:
        yield
    finally:
        if previous is not None:
            os.chdir(previous)


# Exceptions upstream raises for input it cannot use (its asserts and ValueErrors:
# an unknown sample method, empty prompt tokens, a malformed tensor shape).
_INPUT_ERRORS = (ValueError, TypeError, AssertionError, KeyError, IndexError)


@contextmanager
def _upstream_errors(stage: str, runtime: Runtime | None):
    """Upstream failures as EngineError: out of GPU memory (and anything unexpected)
    is transient and retried; input upstream rejects is permanent."""
    try:
        yield
    except EngineError:
        raise
    except Exception as exc:
        message = str(exc) or type(exc).__name__
        if (
            type(exc).__name__ == "OutOfMemoryError"
            or "out of memory" in message.lower()
        ):
            if runtime is not None:
                runtime.release_memory()
            raise EngineError(
                f"GLM-TTS ran out of GPU memory during {stage}: {message}",
                permanent=False,
            ) from exc
        if isinstance(exc, _INPUT_ERRORS) and stage != "model loading":
            raise EngineError(
                f"GLM-TTS rejected the input during {stage}: {message}", permanent=True
            ) from exc
        raise EngineError(
            f"GLM-TTS failed during {stage}: {type(exc).__name__}: {message}",
            permanent=False,
        ) from exc
