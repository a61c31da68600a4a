"""Benchmark 7: the bare authenticated read (GET /api/v1/me) of this tree against the
same read of an earlier commit, side by side, wrk: does the web tier's per-request work
(middleware, authentication) cost more than it did?

The earlier commit is unpacked with `git archive` into bench/results and runs on the same
virtualenv (its requirements are a subset), on its own database (DATABASE_URL's name
plus `_baseline`, wiped) and the same Redis databases, with the same gunicorn (2
workers x 8 gthreads). Only one server is loaded at a time; the two alternate in 8 s
rounds with 16 connections, each round in the other order.
Usage: .venv/bin/python bench/bare_read_baseline.py [--baseline d51102e] [--port 8793]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import (  # noqa: E402
    IMG,
    RESULTS,
    ROOT,
    bare_key,
    base_env,
    create_database,
    gunicorn,
    machine,
    manage,
    platform,
    save,
    stop,
    wait_ready,
)
from wrk_run import rounds_summary, wrk  # noqa: E402

# The main branch before the work on segments, leases, streaming and the hot path.
BASELINE = "d51102e"
KINDS = ("then", "now")


def unpack(commit: str, tree: Path) -> str:
    shutil.rmtree(tree, ignore_errors=True)
    tree.mkdir(parents=True)
    archive = subprocess.run(
        ["git", "archive", commit], cwd=ROOT, check=True, capture_output=True
    )
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return subprocess.run(
        ["git", "log", "-1", "--format=%h %ad", "--date=short", commit],
        cwd=ROOT, check=True, capture_output=True, text=True,
    ).stdout.strip()  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", default=BASELINE, help="the earlier commit")
    parser.add_argument("--seconds", type=float, default=8.0, help="per round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8793)
    args = parser.parse_args()
    name = "bare_read_baseline"
    tree = RESULTS / name / "tree"
    described = unpack(args.baseline, tree)
    rounds: dict[str, list[dict]] = {kind: [] for kind in KINDS}

    with platform(name, web_workers=2, threads=8, port=args.port) as (base, _, _):
        now_key = bare_key()
        env = base_env(
            DATABASE_URL=base_env()["DATABASE_URL"] + "_baseline",
            TTS_ENGINE="espeak",
            MEDIA_ROOT=str(RESULTS / name / "media"),
            ALLOWED_HOSTS="127.0.0.1,localhost",
        )
        create_database(env["DATABASE_URL"])
        manage(env, "migrate", "--no-input", tree=tree)
        manage(env, "flush", "--no-input", tree=tree)
        then_key = bare_key(env, tree)
        then_port = args.port + 1
        log = open(RESULTS / name / "baseline-server.log", "w")  # noqa: SIM115
        then_web = gunicorn(
            env, port=then_port, workers=2, threads=8, log=log, tree=tree
        )
        try:
            then_base = f"http://127.0.0.1:{then_port}"
            wait_ready(then_base, then_web)
            urls = {"then": (then_base, then_key), "now": (base, now_key)}
            for kind in KINDS:  # warm-up
                wrk(urls[kind][0] + "/api/v1/me", seconds=2, key=urls[kind][1])
            for round_ in range(args.rounds):
                order = KINDS if round_ % 2 == 0 else KINDS[::-1]
                for kind in order:
                    url, key = urls[kind]
                    figures = wrk(
                        url + "/api/v1/me",
                        seconds=args.seconds,
                        connections=args.connections,
                        key=key,
                    )
                    print(kind, json.dumps(figures), flush=True)
                    rounds[kind].append(figures)
        finally:
            stop(then_web)
            log.close()

    result = {
        "machine": machine(),
        "connections": args.connections,
        "gunicorn": "2 workers x 8 threads (gthread)",
        "baseline": described,
        "rounds": args.rounds,
    }
    for kind, runs in rounds.items():
        result[kind] = rounds_summary(runs)
    then, now = result["then"], result["now"]
    result["now_over_then_p50"] = round(now["p50"] / then["p50"], 2)
    result["now_over_then_throughput"] = round(
        now["requests_per_s"] / then["requests_per_s"], 2
    )
    save(name, result)
    plot(result)


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = {"then": f"before ({result['baseline'][:7]})", "now": "now"}
    colors = {"then": "tab:gray", "now": "tab:blue"}
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for kind in KINDS:
        runs = result[kind]["rounds"]
        rounds = range(1, len(runs) + 1)
        left.plot(rounds, [r["requests_per_s"] for r in runs], "o-",
                  color=colors[kind], label=labels[kind])  # fmt: skip
        right.plot(rounds, [r["p50"] for r in runs], "o-",
                   color=colors[kind], label=labels[kind])  # fmt: skip
    left.set_title("GET /api/v1/me: requests/s per round")
    right.set_title("p50 latency (ms) per round")
    for axis in (left, right):
        axis.set_xlabel("round")
        axis.set_ylim(bottom=0)
        axis.legend()
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "bench-bare-read-baseline.png", dpi=110)


if __name__ == "__main__":
    main()
