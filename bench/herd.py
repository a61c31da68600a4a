"""Benchmark 3: 64 concurrent identical requests (a thundering herd).

All 64 clients start at once (a barrier) with the same new input against the
simulated GLM-TTS engine (espeak-sim, RTF 0.75). Exactly one engine run must happen;
the others coalesce onto it (or hit, if they arrive after it finished). Reports the
latency of the leader and of the followers. Repeated for several inputs.

Usage: .venv/bin/python bench/herd.py [--clients 64 --rounds 5]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import IMG, Http, machine, percentiles, platform, save  # noqa: E402
from replay import metric  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rtf", type=float, default=0.75)
    parser.add_argument(
        "--threads",
        type=int,
        default=16,
        help="gunicorn threads per worker (2 workers). Every admitted request holds a "
        "Postgres connection while it waits; 2 x 34 admits all 64 at once but needs "
        "about 70 connections, more than a shared server with max_connections=100 "
        "can spare.",
    )
    args = parser.parse_args()

    rounds = []
    with platform(
        "herd",
        engine="espeak-sim",
        sim_rtf=args.rtf,
        web_workers=2,
        threads=args.threads,
        worker_concurrency=1,
    ) as (base, key, _):
        connections = [Http(base, key) for _ in range(args.clients)]
        for connection in connections:  # open the keep-alive connections first
            connection.request("GET", "/api/v1/auth/keys")
        # Warm-up: both web workers load the engine registry and its identity.
        for index in range(4):
            warm = {"model": "tts-1", "voice": "alloy", "input": f"Warm up {index}."}
            connections[index].request("POST", "/v1/audio/speech", warm)
        for round_ in range(args.rounds):
            text = f"Everybody asks for sentence number {round_} at the same moment."
            body = {"model": "tts-1", "voice": "alloy", "input": text}
            barrier = threading.Barrier(args.clients)
            results: list[tuple[float, str, int]] = []
            lock = threading.Lock()
            runs_before = metric(
                Http(base).request("GET", "/metrics")[2].decode(),
                "tts_engine_runs_total",
            )

            def client(http, barrier=barrier, body=body, results=results, lock=lock):
                barrier.wait()
                started = time.perf_counter()
                status, headers, data = http.request("POST", "/v1/audio/speech", body)
                ms = (time.perf_counter() - started) * 1000
                with lock:
                    results.append((ms, headers.get("X-Cache", "ERROR"), len(data)))

            threads = [threading.Thread(target=client, args=(c,)) for c in connections]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            time.sleep(0.5)
            runs = (
                metric(
                    Http(base).request("GET", "/metrics")[2].decode(),
                    "tts_engine_runs_total",
                )
                - runs_before
            )
            leader = [ms for ms, cache, _ in results if cache == "MISS"]
            followers = [ms for ms, cache, _ in results if cache != "MISS"]
            rounds.append(
                {
                    "engine_runs": int(runs),
                    "outcomes": {
                        c: sum(1 for _, x, _ in results if x == c)
                        for c in sorted({x for _, x, _ in results})
                    },
                    "identical_audio": len({n for _, _, n in results}) == 1,
                    "leader_ms": round(leader[0], 1) if leader else None,
                    "followers_ms": percentiles(followers),
                    "latencies": sorted(results),
                }
            )

    summary = {
        "machine": machine(),
        "simulation": f"espeak-sim, RTF {args.rtf}",
        "clients": args.clients,
        "gunicorn": f"2 workers x {args.threads} threads",
        "rounds": [{k: v for k, v in r.items() if k != "latencies"} for r in rounds],
        "engine_runs_per_round": [r["engine_runs"] for r in rounds],
        "followers_all_ms": percentiles(
            [ms for r in rounds for ms, c, _ in r["latencies"] if c != "MISS"]
        ),
        "followers_minus_leader_ms": percentiles(
            [
                ms - r["leader_ms"]
                for r in rounds
                if r["leader_ms"]
                for ms, c, _ in r["latencies"]
                if c != "MISS"
            ]
        ),
    }
    save("herd", summary)
    plot(rounds, args.clients)


def plot(rounds, clients) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4))
    colors = {"MISS": "tab:red", "COALESCED": "tab:orange", "HIT": "tab:blue"}
    for index, r in enumerate(rounds):
        # The leader (miss) last and larger, so the followers do not hide it.
        for ms, cache, _ in sorted(r["latencies"], key=lambda x: x[1] == "MISS"):
            leader = cache == "MISS"
            ax.scatter(
                index + 1,
                ms / 1000,
                color=colors.get(cache, "black"),
                s=60 if leader else 12,
                alpha=1.0 if leader else 0.6,
                edgecolors="black" if leader else "none",
                zorder=3 if leader else 2,
            )
    for cache, color in colors.items():
        ax.scatter([], [], color=color, label=cache.lower())
    ax.set_xticks(range(1, len(rounds) + 1))
    ax.set_xlabel("round (a new input each round)")
    ax.set_ylabel("time to audio (s)")
    ax.set_title(f"{clients} identical concurrent requests: one engine run each round")
    ax.legend()
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "bench-herd.png", dpi=110)


if __name__ == "__main__":
    main()
