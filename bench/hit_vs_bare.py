"""Benchmark 1: a cache hit against a bare authenticated endpoint, same server.

hit  = POST /api/v1/syntheses repeating a cached text (fingerprint, Redis pointer,
       history row, JSON answer);
bare = GET /api/v1/auth/keys (authentication plus one small query).
gunicorn with 2 workers; the two kinds alternate in short blocks so both see the
same machine state. Usage: .venv/bin/python bench/hit_vs_bare.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import IMG, Http, machine, percentiles, platform, save  # noqa: E402

TEXT = "A line everyone asks for again and again."


def text_of(number: int) -> str:
    return TEXT if number == 0 else f"{TEXT} Take {number}."


def run_block(base, key, kind, seconds, clients, texts=1):
    latencies: list[float] = []
    errors = [0]
    stop = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(number):
        http = Http(base, key)
        text = text_of(number % texts)
        mine = []
        while time.perf_counter() < stop:
            started = time.perf_counter()
            if kind == "hit":
                status, headers, _ = http.request(
                    "POST", "/api/v1/syntheses", {"text": text}
                )
                ok = status == 200 and headers.get("X-Cache") == "HIT"
            else:
                status, _, _ = http.request("GET", "/api/v1/auth/keys")
                ok = status == 200
            elapsed = (time.perf_counter() - started) * 1000
            if ok:
                mine.append(elapsed)
            else:
                errors[0] += 1
        with lock:
            latencies.extend(mine)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return latencies, time.perf_counter() - began, errors[0]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=5.0, help="per block")
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument(
        "--texts",
        type=int,
        default=1,
        help="cached texts the hit clients spread over (1: all hit one artifact)",
    )
    args = parser.parse_args()
    name = "hit_vs_bare" if args.texts == 1 else "hit_vs_bare_spread"

    with platform(name, web_workers=2, threads=4) as (base, key, _):
        http = Http(base, key)
        for number in range(args.texts):
            status, _, body = http.json(
                "POST", "/api/v1/syntheses?wait=30", {"text": text_of(number)}
            )
            assert status == 200 and body["cache"] == "miss", body
        run_block(base, key, "hit", 2, args.clients, args.texts)  # warm-up
        run_block(base, key, "bare", 2, args.clients)
        data = {
            k: {"latencies": [], "seconds": 0.0, "errors": 0} for k in ("hit", "bare")
        }
        for round_ in range(args.rounds):
            order = ("hit", "bare") if round_ % 2 == 0 else ("bare", "hit")
            for kind in order:
                lat, elapsed, errors = run_block(
                    base, key, kind, args.seconds, args.clients, args.texts
                )
                data[kind]["latencies"].extend(lat)
                data[kind]["seconds"] += elapsed
                data[kind]["errors"] += errors

    result = {
        "machine": machine(),
        "clients": args.clients,
        "gunicorn": "2 workers x 4 threads",
        "hit_texts": args.texts,
    }
    for kind, d in data.items():
        result[kind] = {
            **percentiles(d["latencies"]),
            "requests_per_s": round(len(d["latencies"]) / d["seconds"], 1),
            "errors": d["errors"],
        }
    result["hit_over_bare_p50"] = round(result["hit"]["p50"] / result["bare"]["p50"], 2)
    save(name, result)
    plot(data, result, name)


def plot(data, result, name) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for kind, color in (("hit", "tab:blue"), ("bare", "tab:gray")):
        values = np.sort(data[kind]["latencies"])
        left.plot(values, np.linspace(0, 1, values.size), label=kind, color=color)
    left.set_xscale("log")
    left.set_xlabel("latency (ms, log)")
    left.set_ylabel("fraction of requests")
    left.set_title("Latency CDF")
    left.legend()
    kinds = ["hit", "bare"]
    right.bar(
        kinds,
        [result[k]["requests_per_s"] for k in kinds],
        color=["tab:blue", "tab:gray"],
    )
    right.set_ylabel("requests/s")
    right.set_title(f"Throughput ({result['clients']} clients, gunicorn 2 workers)")
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / f"bench-{name.replace('_', '-')}.png", dpi=110)


if __name__ == "__main__":
    main()
