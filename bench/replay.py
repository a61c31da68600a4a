"""Benchmark 2: a replay workload against a simulated GLM-TTS.

N requests over D distinct inputs with Zipf popularity (exponent 1.0), sent by C
concurrent clients through POST /v1/audio/speech (the answer is the audio, so the
measured time is time-to-audio). The engine is "espeak-sim": espeak's audio plus a
wait of TTS_SIM_RTF x the audio duration, GLM-TTS's published real-time factor
(0.75, A100 fp16; docs/glmtts.md §4). This is a simulation of GPU cost, not a GPU.

Usage: .venv/bin/python bench/replay.py [--requests 10000 --distinct 1000]
"""

from __future__ import annotations

import argparse
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import IMG, Http, machine, metrics_text, percentiles, platform, save  # noqa: E402

WORDS = ["amber", "basil", "cedar", "delta", "ember"] + [
    "fjord",
    "garnet",
    "harbor",
    "indigo",
    "juniper",
]


def text_of(i: int) -> str:
    return f"Line {i}, {WORDS[i % 10]} {WORDS[(i // 10) % 10]}."


def metric(text: str, name: str, **labels) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name):
            continue
        match = re.match(r"^(\w+)(\{[^}]*\})? (\S+)$", line)
        if not match or match.group(1) != name:
            continue
        got = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(got.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=10000)
    parser.add_argument("--distinct", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--gpu-workers", type=int, default=4)
    parser.add_argument("--rtf", type=float, default=0.75)
    parser.add_argument("--zipf", type=float, default=1.0)
    args = parser.parse_args()

    rng = np.random.default_rng(7)
    ranks = np.arange(1, args.distinct + 1)
    weights = 1.0 / ranks**args.zipf
    sequence = rng.choice(args.distinct, size=args.requests, p=weights / weights.sum())
    distinct_requested = len(set(sequence.tolist()))

    records: list[tuple[int, float, float, str]] = []  # (index, start, ms, cache)
    lock = threading.Lock()
    cursor = [0]

    with platform(
        "replay",
        engine="espeak-sim",
        sim_rtf=args.rtf,
        web_workers=2,
        threads=args.clients,
        worker_concurrency=args.gpu_workers,
    ) as (base, key, staff_key):
        began = time.perf_counter()

        def client():
            http = Http(base, key)
            while True:
                with lock:
                    index = cursor[0]
                    cursor[0] += 1
                if index >= args.requests:
                    return
                body = {
                    "model": "tts-1",
                    "voice": "alloy",
                    "input": text_of(int(sequence[index])),
                    "response_format": "wav",
                }
                started = time.perf_counter()
                status, headers, data = http.request("POST", "/v1/audio/speech", body)
                elapsed = (time.perf_counter() - started) * 1000
                cache = headers.get("X-Cache", "ERROR") if status == 200 else "ERROR"
                with lock:
                    records.append((index, started - began, elapsed, cache))

        threads = [threading.Thread(target=client) for _ in range(args.clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - began
        text = metrics_text(base)
        stats = Http(base, staff_key).json("GET", "/api/v1/stats")[2]

    by_cache: dict[str, list[float]] = {}
    for _, _, ms, cache in records:
        by_cache.setdefault(cache, []).append(ms)
    engine_runs = metric(text, "tts_engine_runs_total", engine="espeak-sim")
    result = {
        "machine": machine(),
        "simulation": f"espeak-sim, RTF {args.rtf} (GLM-TTS, A100 fp16)",
        "requests": args.requests,
        "distinct_inputs": args.distinct,
        "distinct_requested": distinct_requested,
        "zipf_exponent": args.zipf,
        "clients": args.clients,
        "gpu_workers": args.gpu_workers,
        "wall_seconds": round(wall, 1),
        "requests_per_s": round(args.requests / wall, 1),
        "outcomes": {k: len(v) for k, v in sorted(by_cache.items())},
        "engine_runs": int(engine_runs),
        "engine_runs_equal_distinct": int(engine_runs) == distinct_requested,
        "stats": stats,
        "gpu_seconds_spent": round(metric(text, "tts_engine_seconds_sum"), 1),
        "gpu_seconds_saved": round(metric(text, "tts_engine_seconds_saved_total"), 1),
        "time_to_audio_ms": {k: percentiles(v) for k, v in sorted(by_cache.items())},
    }
    save("replay", result)
    plot(records, result)


def plot(records, result) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    colors = {"HIT": "tab:blue", "MISS": "tab:red", "COALESCED": "tab:orange"}
    for cache, color in colors.items():
        values = np.sort([ms for _, _, ms, c in records if c == cache])
        if values.size:
            left.plot(
                values,
                np.linspace(0, 1, values.size),
                color=color,
                label=f"{cache.lower()} ({values.size})",
            )
    left.set_xscale("log")
    left.set_xlabel("time to audio (ms, log)")
    left.set_ylabel("fraction of requests")
    left.set_title("Time to audio by cache outcome")
    left.legend()

    ordered = sorted(records)
    misses = np.cumsum([1 if c == "MISS" else 0 for _, _, _, c in ordered])
    right.plot(
        np.arange(1, len(ordered) + 1), misses, color="tab:red", label="engine runs"
    )
    right.plot(
        [0, len(ordered)],
        [0, len(ordered)],
        color="tab:gray",
        ls="--",
        label="no cache",
    )
    right.set_xlabel("requests sent")
    right.set_ylabel("engine runs")
    right.set_title(
        f"{result['requests']} requests, {result['distinct_requested']} distinct inputs"
    )
    right.legend()
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "bench-replay.png", dpi=110)


if __name__ == "__main__":
    main()
