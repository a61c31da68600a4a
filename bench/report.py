"""Writes the results section of docs/benchmarks.md from bench/results/*/result.json.

Usage: .venv/bin/python bench/report.py   (after running the benchmarks)
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import RESULTS, ROOT  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
BEGIN, END = "<!-- results:begin -->", "<!-- results:end -->"


def load(name: str) -> dict | None:
    path = RESULTS / name / "result.json"
    return json.loads(path.read_text()) if path.exists() else None


def table(header: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def hit_vs_bare(r: dict) -> str:
    labels = {
        "hit": "hit, one cached text",
        "hit_spread": f"hit, spread over {r['spread_texts']} cached texts",
        "bare": "bare read, GET /api/v1/me",
    }
    rows = [
        [
            labels[k],
            r[k]["requests"],
            r[k]["p50"],
            r[k]["p99"],
            r[k]["requests_per_s"],
            r[k]["errors"],
        ]
        for k in ("hit", "hit_spread", "bare")
    ]
    return (
        "### 1. Hit vs. bare authenticated read (wrk)\n\n"
        f"{r['machine']}; gunicorn {r['gunicorn']}; wrk, {r['connections']} "
        f"connections; {r['rounds']} rounds of {r['round_seconds']:g} s per kind, "
        "alternated.\n\n"
        + table(["kind", "requests", "p50 ms", "p99 ms", "requests/s", "errors"], rows)
        + "\n\nA hit over the bare read: p50 "
        f"**{r['hit_over_bare_p50']}x**, throughput **{r['hit_over_bare_throughput']}x**"
        f" (one text); p50 **{r['hit_spread_over_bare_p50']}x**, throughput "
        f"**{r['hit_spread_over_bare_throughput']}x** (spread)."
        + (
            " The median of the rounds' own ratios (each round runs the kinds back to "
            f"back): p50 **{r['hit_over_bare_p50_round_median']}x**, throughput "
            f"**{r['hit_over_bare_throughput_round_median']}x** (one text); p50 "
            f"**{r['hit_spread_over_bare_p50_round_median']}x**, throughput "
            f"**{r['hit_spread_over_bare_throughput_round_median']}x** (spread)."
            if "hit_over_bare_p50_round_median" in r
            else ""
        )
        + "\n\n![hit vs bare](img/bench-hit-vs-bare.png)\n"
    )


def audio_serving(r: dict) -> str:
    rows = [
        [label, r[k]["requests"], r[k]["p50"], r[k]["p99"], r[k]["requests_per_s"]]
        for k, label in (
            ("django", "Django checks and sends the file"),
            ("accel", "Django checks every request, nginx sends"),
            ("nginx", "check remembered for 1 s, nginx sends (deployment)"),
            ("static", "nginx alone, no check (reference)"),
        )
    ]
    blocked = r["blocked_through_nginx"]
    return (
        "### 6. Stored audio: Django vs. nginx (wrk)\n\n"
        f"{r['machine']}; gunicorn {r['gunicorn']}; the same {r['wav_bytes']}-byte "
        f"WAV; wrk, {r['connections']} connections, rounds alternated.\n\n"
        + table(["served by", "requests", "p50 ms", "p99 ms", "requests/s"], rows)
        + "\n\nOver Django sending the file, in throughput: the deployment's path "
        f"**{r['nginx_over_django_throughput']}x**, Django's check on every request "
        f"{r['accel_over_django_throughput']}x, nginx alone "
        f"{r['static_over_django_throughput']}x. Blocked afterwards, the audio through "
        f"nginx answers at once **{blocked['nginx']}** on the deployment's path "
        f"(**{blocked['accel']}** with Django's check on every request).\n\n"
        "![audio serving](img/bench-audio-serving.png)\n"
    )


def bare_read_baseline(r: dict) -> str:
    before = " ".join(r["baseline"].split()[:2])  # the commit and its date
    rows = [
        [label, r[k]["requests"], r[k]["p50"], r[k]["p99"], r[k]["requests_per_s"]]
        for k, label in (("then", f"before: {before}"), ("now", "this tree"))
    ]
    return (
        "### 7. The bare read, before and now (wrk)\n\n"
        f"{r['machine']}; gunicorn {r['gunicorn']}; `GET /api/v1/me` with an API key; "
        f"wrk, {r['connections']} connections, {r['rounds']} rounds of each "
        "alternated.\n\n"
        + table(["server", "requests", "p50 ms", "p99 ms", "requests/s"], rows)
        + f"\n\nNow over before: p50 **{r['now_over_then_p50']}x**, throughput "
        f"**{r['now_over_then_throughput']}x**.\n\n"
        "![bare read before and now](img/bench-bare-read-baseline.png)\n"
    )


def replay(r: dict) -> str:
    rows = [
        [k.lower(), v["n"], v["p50"], v["p99"], v["mean"]]
        for k, v in r["time_to_audio_ms"].items()
    ]
    stats = r["stats"]
    return (
        f"### 2. Replay workload (simulated GLM-TTS)\n\n"
        f"{r['machine']}; {r['simulation']}; {r['requests']} requests over "
        f"{r['distinct_inputs']} distinct inputs (Zipf exponent {r['zipf_exponent']}), "
        f"{r['distinct_requested']} of them drawn at least once; {r['clients']} "
        f"clients; {r['gpu_workers']} simulated GPU workers; "
        f"{r['wall_seconds']} s wall time ({r['requests_per_s']} requests/s).\n\n"
        f"- engine runs: **{r['engine_runs']}** = distinct inputs requested "
        f"({r['distinct_requested']}): **{r['engine_runs_equal_distinct']}**\n"
        f"- outcomes: {', '.join(f'{k.lower()} {v}' for k, v in r['outcomes'].items())}"
        f" (hit ratio {stats['hit_ratio']})\n"
        f"- simulated GPU-seconds spent: **{r['gpu_seconds_spent']}**, saved: "
        f"**{r['gpu_seconds_saved']}** (`/metrics`); `/api/v1/stats` says "
        f"{stats['engine_seconds']} spent, {stats['engine_seconds_saved']} saved\n\n"
        "Time to audio (POST /v1/audio/speech, WAV bytes received):\n\n"
        + table(["outcome", "requests", "p50 ms", "p99 ms", "mean ms"], rows)
        + "\n\n![replay](img/bench-replay.png)\n"
    )


def herd(r: dict) -> str:
    rows = [
        [
            i + 1,
            x["engine_runs"],
            ", ".join(f"{k.lower()} {v}" for k, v in x["outcomes"].items()),
            x["leader_ms"],
            x["followers_ms"]["p50"],
            x["followers_ms"]["p99"],
            x["identical_audio"],
        ]
        for i, x in enumerate(r["rounds"])
    ]
    lag = r["followers_minus_leader_ms"]
    return (
        f"### 3. {r['clients']} concurrent identical requests\n\n"
        f"{r['machine']}; {r['simulation']}; gunicorn {r.get('gunicorn', '')}; "
        "a new input each round.\n\n"
        + table(
            [
                "round",
                "engine runs",
                "outcomes",
                "leader ms",
                "followers p50 ms",
                "followers p99 ms",
                "same bytes",
            ],
            rows,
        )
        + f"\n\nFollowers minus leader: p50 {lag['p50']} ms, p99 {lag['p99']} ms.\n\n"
        "![herd](img/bench-herd.png)\n"
    )


def fingerprint_cost(r: dict) -> str:
    rows = [
        [
            x["sample_rate"],
            x["clip_seconds"],
            x["clip_bytes"],
            x["ours_us"],
            x["baseline_us"],
            x["speedup"],
        ]
        for x in r["rows"]
    ]
    return (
        "### 4. Fingerprint cost vs. prompt clip size\n\n"
        f"{r['machine']}; best of 5 repeats, clip in the page cache.\n\n"
        + table(
            ["rate Hz", "clip s", "clip bytes", "ours µs", "baseline µs", "speedup"],
            rows,
        )
        + "\n\n![fingerprint cost](img/bench-fingerprint-cost.png)\n"
    )


def faults(r: dict) -> str:
    rows = []
    for name, f in r["results"].items():
        errors = f["http_errors"]
        if "http_errors_after_1s" in f:
            errors = f"{errors} ({f['http_errors_after_1s']} after 1 s)"
        rows.append(
            [
                name.replace("_", " "),
                f["accepted"],
                f["not_ended"],
                f["recovery_s"] if f["accepted"] else "-",
                f["max_extra_runs"],
                f.get("repeats", "-"),
                errors,
                f.get("engine_runs_for_repeats", "-"),
            ]
        )
    s = r["settings"]
    return (
        "### 5. Faults\n\n"
        f"{r['machine']}; {r['engine']}; lease {s['TTS_LEASE_SECONDS']} s, sweep every "
        f"{s['TTS_SWEEP_INTERVAL']} s, queued grace {s['TTS_QUEUED_GRACE']} s.\n\n"
        + table(
            [
                "fault",
                "accepted",
                "not ended",
                "recovery s",
                "max extra runs / fingerprint",
                "requests under load",
                "HTTP errors",
                "engine runs for repeats",
            ],
            rows,
        )
        + "\n"
    )


SECTIONS = (
    ("1", "hit_vs_bare", hit_vs_bare),
    ("2", "replay", replay),
    ("3", "herd", herd),
    ("4", "fingerprint_cost", fingerprint_cost),
    ("5", "faults", faults),
    ("6", "audio_serving", audio_serving),
    ("7", "bare_read_baseline", bare_read_baseline),
)


def main() -> None:
    """Rewrites the section of every benchmark with a result; keeps the others."""
    text = DOC.read_text()
    current = re.search(f"{BEGIN}\n(.*){END}", text, flags=re.S)
    kept = {}
    for section in re.split(r"(?m)^(?=### )", current.group(1) if current else ""):
        number = re.match(r"### (\d+)\.", section)
        if number:
            kept[number.group(1)] = section
    parts = []
    for number, name, render in SECTIONS:
        data = load(name)
        if data is not None:
            parts.append(render(data) + "\n")
        elif number in kept:
            parts.append(kept[number])
    body = f"{BEGIN}\n" + "".join(parts).rstrip("\n") + f"\n{END}"
    DOC.write_text(re.sub(f"{BEGIN}.*{END}", lambda _: body, text, flags=re.S))
    print(f"wrote {DOC}")


if __name__ == "__main__":
    main()
