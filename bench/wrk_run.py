"""Runs wrk (a C load generator, so the client does not take the server's cores from
Python threads) with bench/wrk/request.lua and returns its figures as a dict."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "wrk" / "request.lua"


def wrk(
    url: str,
    *,
    seconds: float,
    connections: int = 16,
    threads: int = 2,
    method: str = "GET",
    key: str | None = None,
    text: str = "",
    texts: int = 0,
    expect: tuple[str, str] | None = None,
    header: str | None = None,
) -> dict:
    """Figures of one wrk run: requests, req/s, p50/p90/p99/mean in ms, errors."""
    binary = shutil.which("wrk")
    if binary is None:
        raise SystemExit(
            "wrk is missing: `make bench` installs it (Debian package wrk)"
        )
    base, _, path = url.partition("://")[2].partition("/")
    env = {
        **os.environ,
        "WRK_METHOD": method,
        "WRK_PATH": "/" + path,
        "WRK_TEXTS": str(texts),
        "WRK_TEXT": text,
    }
    if key:
        env["WRK_KEY"] = key
    if expect:
        env["WRK_EXPECT_HEADER"], env["WRK_EXPECT_VALUE"] = expect
    if header:
        env["WRK_HEADER"] = header
    result = subprocess.run(
        [
            binary,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{seconds:g}s",
            "--timeout",
            "30s",
            "-s",
            str(SCRIPT),
            url.split("://")[0] + "://" + base,
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    line = [row for row in result.stdout.splitlines() if row.startswith("{")][-1]
    raw = json.loads(line)
    seconds_run = raw["duration_us"] / 1e6
    errors = sum(v for k, v in raw.items() if k.startswith("errors_"))
    return {
        "requests": raw["requests"],
        "seconds": round(seconds_run, 3),
        "requests_per_s": round(raw["requests"] / seconds_run, 1),
        "p50": round(raw["p50_us"] / 1000, 2),
        "p90": round(raw["p90_us"] / 1000, 2),
        "p99": round(raw["p99_us"] / 1000, 2),
        "mean": round(raw["mean_us"] / 1000, 2),
        "errors": errors,
        "unexpected": raw["unexpected"],
    }


def rounds_summary(runs: list[dict]) -> dict:
    """One kind's wrk rounds together: all requests over all seconds; wrk gives
    percentiles per run, so the median of the rounds' values."""
    requests = sum(r["requests"] for r in runs)
    seconds = sum(r["seconds"] for r in runs)
    return {
        "requests": requests,
        "requests_per_s": round(requests / seconds, 1),
        "p50": round(statistics.median(r["p50"] for r in runs), 2),
        "p99": round(statistics.median(r["p99"] for r in runs), 2),
        "errors": sum(r["errors"] + r["unexpected"] for r in runs),
        "rounds": runs,
    }
