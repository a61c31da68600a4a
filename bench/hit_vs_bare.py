"""Benchmark 1: a cache hit against a bare authenticated read, side by side, with wrk.

hit    = POST /api/v1/syntheses repeating a cached text (authentication, validation,
         fingerprint, Redis pointer, the pointer's artifact checked, a history row,
         JSON answer), either one hot text or spread over 100 cached texts;
bare   = GET /api/v1/me (the same API-key authentication and two small queries), by a
         user without history, so its cost stays the same through the run.

A `make run`-like server (gunicorn 2 workers x 8 gthreads, PostgreSQL, Redis, espeak);
wrk with 16 connections on 2 threads; the three kinds alternate in 8 s rounds, each
round in another order, so all see the same machine state. Every hit must answer
`X-Cache: HIT`, every answer 2xx. Usage: .venv/bin/python bench/hit_vs_bare.py
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import IMG, Http, bare_key, machine, platform, save  # noqa: E402
from wrk_run import rounds_summary, wrk  # noqa: E402

TEXT = "A line everyone asks for again and again."
SPREAD = 100
KINDS = ("hit", "hit_spread", "bare")


def text_of(number: int) -> str:
    return TEXT if number == 0 else f"{TEXT} Take {number}."


def run_kind(base: str, kind: str, keys: dict, seconds: float, connections: int):
    if kind == "bare":
        return wrk(
            base + "/api/v1/me", seconds=seconds, connections=connections,
            key=keys["bare"],
        )  # fmt: skip
    return wrk(
        base + "/api/v1/syntheses",
        seconds=seconds,
        connections=connections,
        method="POST",
        key=keys["hit"],
        text=TEXT,
        texts=1 if kind == "hit" else SPREAD,
        expect=("X-Cache", "HIT"),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="per round")
    parser.add_argument("--rounds", type=int, default=8)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    name = "hit_vs_bare"
    rounds: dict[str, list[dict]] = {kind: [] for kind in KINDS}

    with platform(name, web_workers=2, threads=8, port=args.port) as (base, key, _):
        keys = {"hit": key, "bare": bare_key()}
        http = Http(base, key)
        for number in range(SPREAD):
            status, _, body = http.json(
                "POST", "/api/v1/syntheses?wait=30", {"text": text_of(number)}
            )
            assert status == 200 and body["cache"] == "miss", body
        for kind in KINDS:  # warm-up: connections, caches, code paths
            run_kind(base, kind, keys, 2, args.connections)
        for round_ in range(args.rounds):
            order = KINDS[round_ % 3 :] + KINDS[: round_ % 3]
            for kind in order:
                figures = run_kind(base, kind, keys, args.seconds, args.connections)
                print(kind, json.dumps(figures), flush=True)
                rounds[kind].append(figures)

    result = {
        "machine": machine(),
        "connections": args.connections,
        "gunicorn": "2 workers x 8 threads (gthread)",
        "round_seconds": args.seconds,
        "rounds": args.rounds,
        "spread_texts": SPREAD,
    }
    for kind, runs in rounds.items():
        result[kind] = rounds_summary(runs)
    bare = result["bare"]
    for kind in ("hit", "hit_spread"):
        result[f"{kind}_over_bare_p50"] = round(result[kind]["p50"] / bare["p50"], 2)
        result[f"{kind}_over_bare_throughput"] = round(
            result[kind]["requests_per_s"] / bare["requests_per_s"], 2
        )
        # Each round runs every kind back to back: its ratios see one machine state,
        # so their median is robust to a machine whose speed drifts between rounds.
        pairs = list(zip(rounds[kind], rounds["bare"], strict=True))
        result[f"{kind}_over_bare_p50_round_median"] = round(
            statistics.median(h["p50"] / b["p50"] for h, b in pairs), 2
        )
        result[f"{kind}_over_bare_throughput_round_median"] = round(
            statistics.median(
                h["requests_per_s"] / b["requests_per_s"] for h, b in pairs
            ),
            2,
        )
    save(name, result)
    plot(result)


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"hit": "hit (1 text)", "hit_spread": f"hit ({SPREAD} texts)"}
    labels["bare"] = "bare (GET /me)"
    colors = {"hit": "tab:blue", "hit_spread": "tab:cyan", "bare": "tab:gray"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for kind in KINDS:
        runs = result[kind]["rounds"]
        left.plot(
            range(1, len(runs) + 1),
            [r["p50"] for r in runs],
            marker="o",
            label=labels[kind],
            color=colors[kind],
        )
    left.set_xlabel("round")
    left.set_ylabel("p50 latency (ms)")
    left.set_ylim(bottom=0)
    left.set_title("Median latency per 8 s round")
    left.legend()
    right.bar(
        [labels[k] for k in KINDS],
        [result[k]["requests_per_s"] for k in KINDS],
        color=[colors[k] for k in KINDS],
    )
    right.set_ylabel("requests/s")
    right.set_title(f"Throughput (wrk, {result['connections']} connections)")
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "bench-hit-vs-bare.png", dpi=110)


if __name__ == "__main__":
    main()
