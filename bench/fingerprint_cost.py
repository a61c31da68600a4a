"""Benchmark 4: the cost of fingerprinting a prompt-voice request against the size of
the prompt clip.

ours:     the clip's SHA-256 was computed once at upload; a request hashes only the
          canonical JSON (synthesis.fingerprint), whatever the clip's size.
baseline: the seed design, which reads the whole clip and hashes it on every request,
          then hashes the JSON. Measured with the file in the page cache (its best case;
          a cold read from disk or object storage costs far more).

Usage: .venv/bin/python bench/fingerprint_cost.py
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
import timeit
from pathlib import Path

import numpy as np
import soundfile

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import IMG, machine, save  # noqa: E402

from synthesis import fingerprint as fp  # noqa: E402

SECONDS = (1, 3, 5, 10, 20, 30)
RATES = (24000, 48000)
PROMPT_TEXT = "This is the exact transcript of my reference clip."
TEXT = "Please read this sentence in my voice."


def request_fingerprint(audio_sha256: str) -> str:
    return fp.fingerprint(
        engine="glmtts",
        model="0" * 64,
        text=TEXT,
        voice=fp.prompt_voice(audio_sha256=audio_sha256, prompt_text=PROMPT_TEXT),
        seed=42,
        sample_rate=24000,
    )


def baseline(path: str) -> str:
    with open(path, "rb") as handle:
        digest = hashlib.sha256(handle.read()).hexdigest()
    return request_fingerprint(digest)


def per_call_us(func, *args) -> float:
    timer = timeit.Timer(lambda: func(*args))
    number, _ = timer.autorange()
    best = min(timer.repeat(repeat=5, number=number))
    return best / number * 1e6


def main() -> None:
    rows = []
    rng = np.random.default_rng(1)
    with tempfile.TemporaryDirectory() as folder:
        for rate in RATES:
            for seconds in SECONDS:
                path = f"{folder}/clip-{rate}-{seconds}.wav"
                samples = (rng.standard_normal(rate * seconds) * 0.1).astype(np.float32)
                soundfile.write(path, samples, rate, subtype="PCM_16")
                size = Path(path).stat().st_size
                stored_sha = hashlib.sha256(Path(path).read_bytes()).hexdigest()
                assert baseline(path) == request_fingerprint(stored_sha)
                rows.append(
                    {
                        "sample_rate": rate,
                        "clip_seconds": seconds,
                        "clip_bytes": size,
                        "ours_us": round(
                            per_call_us(request_fingerprint, stored_sha), 2
                        ),
                        "baseline_us": round(per_call_us(baseline, path), 2),
                    }
                )
    for row in rows:
        row["speedup"] = round(row["baseline_us"] / row["ours_us"], 1)
    save("fingerprint_cost", {"machine": machine(), "rows": rows})
    plot(rows)


def plot(rows) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    for rate, style in zip(RATES, ("-", "--"), strict=True):
        part = [r for r in rows if r["sample_rate"] == rate]
        x = [r["clip_bytes"] / 1e6 for r in part]
        ax.plot(
            x,
            [r["baseline_us"] for r in part],
            style,
            marker="o",
            color="tab:red",
            label=f"baseline: read + hash clip ({rate // 1000} kHz)",
        )
        ax.plot(
            x,
            [r["ours_us"] for r in part],
            style,
            marker="o",
            color="tab:blue",
            label=f"ours: stored hash ({rate // 1000} kHz)",
        )
    ax.set_xlabel("prompt clip size (MB, 16-bit mono WAV, 1-30 s)")
    ax.set_ylabel("fingerprint time per request (µs, log)")
    ax.set_yscale("log")
    ax.set_title("Fingerprint cost vs. prompt clip size")
    ax.legend(fontsize=8)
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "bench-fingerprint-cost.png", dpi=110)


if __name__ == "__main__":
    main()
