"""Benchmark: what an edit of one paragraph costs, against the whole script.

A 30-paragraph script is synthesized once (every segment a miss), then edited 10 times,
one paragraph each, on the simulated GLM-TTS engine (espeak-sim, RTF 0.75: each segment
holds the worker 0.75 x its audio duration). For each request: engine seconds spent
(from /api/v1/stats before and after, as the platform counts them) and the time until
the finished audio (POST, then GET ?wait=60 until it is done). Side by side in one run.

Usage: .venv/bin/python bench/script_edit.py [--paragraphs 30 --edits 10 --rtf 0.75]
(with DATABASE_URL, REDIS_URL and CELERY_BROKER_URL set: they are wiped)
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import IMG, Http, machine, platform, save  # noqa: E402

WORDS = [
    "river",
    "stone",
    "lantern",
    "harbour",
    "morning",
    "quiet",
    "garden",
    "winter",
    "letter",
    "window",
    "mountain",
    "candle",
    "orchard",
    "meadow",
    "bridge",
    "forest",
    "evening",
    "silver",
    "thunder",
    "meadow",
]


def paragraph(n: int, rng: random.Random) -> str:
    sentences = []
    for s in range(2):
        words = " ".join(rng.choice(WORDS) for _ in range(9))
        sentences.append(f"In part {n}, sentence {s + 1} speaks of {words}.")
    return " ".join(sentences)


def engine_seconds(staff: Http) -> float:
    return staff.json("GET", "/api/v1/stats")[2]["engine_seconds"]


def timed(client: Http, staff: Http, text: str) -> dict:
    before = engine_seconds(staff)
    started = time.perf_counter()
    status, headers, body = client.json(
        "POST", "/api/v1/syntheses?wait=60", {"text": text}
    )
    while body["status"] in ("queued", "running"):
        status, _, body = client.json("GET", f"/api/v1/syntheses/{body['id']}?wait=60")
    elapsed = time.perf_counter() - started
    assert status == 200 and body["status"] == "succeeded", (status, body)
    # The join finishes after the last segment; stats count it once it is stored.
    return {
        "seconds_to_audio": round(elapsed, 3),
        "engine_seconds": round(engine_seconds(staff) - before, 3),
        "x_cache_segments": headers.get("X-Cache-Segments"),
        "segments": body["segment_count"],
        "audio_seconds": body["duration_s"],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=30)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--rtf", type=float, default=0.75)
    parser.add_argument("--workers", type=int, default=4)
    args = parser.parse_args()
    rng = random.Random(7)
    paragraphs = [paragraph(n, rng) for n in range(args.paragraphs)]
    with platform(
        "script_edit",
        engine="espeak-sim",
        sim_rtf=args.rtf,
        worker_concurrency=args.workers,
        port=8792,
    ) as (base, key, staff_key):
        client, staff = Http(base, key), Http(base, staff_key)
        whole = timed(client, staff, "\n\n".join(paragraphs))
        edits = []
        for edit in range(args.edits):
            index = rng.randrange(len(paragraphs))
            paragraphs[index] = paragraph(1000 + edit, rng)
            result = timed(client, staff, "\n\n".join(paragraphs))
            result["paragraph"] = index
            edits.append(result)
    mean_edit = sum(e["engine_seconds"] for e in edits) / len(edits)
    mean_time = sum(e["seconds_to_audio"] for e in edits) / len(edits)
    result = {
        "machine": machine(),
        "rtf": args.rtf,
        "paragraphs": args.paragraphs,
        "whole": whole,
        "edits": edits,
        "edit_engine_seconds_mean": round(mean_edit, 3),
        "edit_to_whole_engine_ratio": round(mean_edit / whole["engine_seconds"], 4),
        "edit_seconds_to_audio_mean": round(mean_time, 3),
        "edit_to_whole_time_ratio": round(mean_time / whole["seconds_to_audio"], 4),
    }
    save("script_edit", result)
    plot(result)


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = ["whole"] + [f"edit {i + 1}" for i in range(len(result["edits"]))]
    engine = [result["whole"]["engine_seconds"]] + [
        e["engine_seconds"] for e in result["edits"]
    ]
    wall = [result["whole"]["seconds_to_audio"]] + [
        e["seconds_to_audio"] for e in result["edits"]
    ]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    axes[0].bar(labels, engine, color=["#888"] + ["#2a7"] * len(result["edits"]))
    axes[0].set_ylabel("engine seconds spent")
    axes[1].bar(labels, wall, color=["#888"] + ["#27a"] * len(result["edits"]))
    axes[1].set_ylabel("seconds to the finished audio")
    for axis in axes:
        axis.tick_params(axis="x", rotation=60)
    fig.suptitle(
        f"{result['paragraphs']}-paragraph script, espeak-sim RTF {result['rtf']}: "
        f"an edit costs {result['edit_to_whole_engine_ratio']:.3f} of the whole"
    )
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "script_edit.png", dpi=110)


if __name__ == "__main__":
    main()
