"""What the GLM-TTS voice-feature cache costs and saves per request.

    DJANGO_SETTINGS_MODULE=tts_platform.settings_test .venv/bin/python \
        bench/glmtts_voice_features.py [--repeat 200] [--prompt-seconds 10]

Always measures the cache itself on features of a real prompt's size (25 speech tokens
and 50 mel frames a second, a 192-d embedding): storing them, reading them back from
storage in a fresh process-level cache (another worker, a restart), and a memory hit.
Where CUDA, the GLM-TTS checkout and its weights are present it also measures what the
cache saves: the prompt preparation time of a first request against a repeat.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tts_platform.settings_test")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="bench-media-"))

import django  # noqa: E402

django.setup()

import numpy as np  # noqa: E402

from synthesis.engines.glmtts.features import (  # noqa: E402
    VoiceFeatureCache,
    VoiceFeatures,
    encode,
    feature_key,
)


def _ms(samples: list[float]) -> dict:
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
    }


def cache_costs(repeat: int, prompt_seconds: float) -> dict:
    rng = np.random.default_rng(0)
    features = VoiceFeatures(
        prompt_text="the exact transcript of the prompt clip, normalised. ",
        speech_tokens=rng.integers(0, 32768, int(25 * prompt_seconds)).astype(np.int32),
        speech_feat=rng.standard_normal((1, int(50 * prompt_seconds), 80)).astype(
            np.float32
        ),
        embedding=rng.standard_normal((1, 192)).astype(np.float32),
    )
    store, file_hit, memory_hit = [], [], []
    for i in range(repeat):
        key = feature_key(
            identity="bench",
            audio_sha256=f"{i:064x}",
            prompt_text="p",
            sample_rate=24000,
        )
        cache = VoiceFeatureCache(capacity=8)
        started = time.perf_counter()
        cache.put(key, features)
        store.append(time.perf_counter() - started)
        cold = VoiceFeatureCache(capacity=8)
        started = time.perf_counter()
        assert cold.get(key)[1] == "file"
        file_hit.append(time.perf_counter() - started)
        started = time.perf_counter()
        assert cold.get(key)[1] == "memory"
        memory_hit.append(time.perf_counter() - started)
    return {
        "prompt_seconds": prompt_seconds,
        "file_bytes": len(encode(features)),
        "store": _ms(store),
        "file_hit": _ms(file_hit),
        "memory_hit": _ms(memory_hit),
    }


def real_savings() -> dict:
    from django.conf import settings

    from synthesis.engines.glmtts.engine import GlmTtsEngine
    from tests.support.glmtts import real_model_missing, store_voice

    missing = real_model_missing()
    if missing:
        return {"skipped": "needs " + "; ".join(missing)}
    engine = GlmTtsEngine()
    repo = Path(settings.GLMTTS_REPO_DIR)
    runs = []
    for line in (repo / "examples" / "example_en.jsonl").read_text().splitlines()[:3]:
        example = json.loads(line)
        voice = store_voice(
            (repo / example["prompt_speech"]).read_bytes(), example["prompt_text"]
        )
        text = "A short line to measure the prompt preparation."
        first = engine.synthesize(text=text, voice=voice, seed=42)
        again = engine.synthesize(text=text, voice=voice, seed=42)
        runs.append(
            {
                "prepared_prompt_s": first.info["timings"]["prompt_s"],
                "cached_prompt_s": again.info["timings"]["prompt_s"],
                "synthesis_s": again.info["timings"]["synthesis_s"],
            }
        )
    return {"runs": runs}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--prompt-seconds", type=float, default=10.0)
    args = parser.parse_args()
    result = {
        "cache": cache_costs(args.repeat, args.prompt_seconds),
        "real_model": real_savings(),
    }
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
