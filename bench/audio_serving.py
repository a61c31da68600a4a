"""Benchmark 5: the same stored WAV served through Django against through nginx, side
by side, wrk.

Two gunicorns like `make run`'s on one database and media folder: one sends the bytes
itself ("django"), the other answers with X-Accel-Redirect behind a real nginx (the
configuration of docs/deploy.md, `tests/support/nginx.py`). Through nginx, "nginx" is
the deployment's path for synthesis audio: Django's check remembered for a second per
caller and URL, then nginx sends the file; "accel" asks Django on every request
(`?stream=0` takes that path, as conditional requests do). For reference, the same
nginx also sends the file with no check at all ("static"). The kinds alternate in 8 s
rounds with 16 connections. Afterwards the artifact is blocked: nginx must then answer
410 at once, on both paths.
Usage: .venv/bin/python bench/audio_serving.py [--port 8791]
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from harness import (  # noqa: E402
    IMG,
    RESULTS,
    Http,
    gunicorn,
    machine,
    running_platform,
    save,
    stop,
    wait_ready,
)
from wrk_run import rounds_summary, wrk  # noqa: E402

from tests.support.nginx import nginx_in_front  # noqa: E402
from tests.support.ports import free_port  # noqa: E402

# About 4.2 s of speech: a WAV of about 200 KB at 24 kHz.
TEXT = "Stored audio is read from disk and sent, the same bytes for every listener."
PREFIX = "/_media"
KINDS = ("django", "accel", "nginx", "static")
# For reference only, not part of the deployment: nginx sending the same file with no
# check at all (no Django request), what the bytes alone cost.
STATIC = """
        location /_static/ {{
            alias {media_root}/;
        }}
"""


def fetch(url: str, key: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--port", type=int, default=8791)
    args = parser.parse_args()
    name = "audio_serving"
    rounds: dict[str, list[dict]] = {kind: [] for kind in KINDS}

    with running_platform(name, web_workers=2, threads=8, port=args.port) as running:
        base, key, staff = running.base, running.key, running.staff_key
        status, _, body = Http(base, key).json(
            "POST", "/api/v1/syntheses?wait=30", {"text": TEXT}
        )
        assert status == 200 and body["status"] == "succeeded", body
        path = body["audio_url"]
        accel_port = free_port()
        log = open(RESULTS / name / "accel-server.log", "w")  # noqa: SIM115
        accel_web = gunicorn(
            {**running.env, "TTS_AUDIO_ACCEL_PREFIX": PREFIX},
            port=accel_port,
            workers=2,
            threads=8,
            log=log,
        )
        try:
            wait_ready(f"http://127.0.0.1:{accel_port}", accel_web)
            with nginx_in_front(
                f"127.0.0.1:{accel_port}",
                media_root=running.env["MEDIA_ROOT"],
                prefix=PREFIX,
                workers=2,
                # Out of reach, as RATELIMIT_ENABLE=false is for Django.
                rate="1000000r/s",
                extra_locations=STATIC.format(media_root=running.env["MEDIA_ROOT"]),
            ) as front:
                fingerprint = body["fingerprint"]
                audio_name = f"audio/{fingerprint[:2]}/{fingerprint}.wav"
                urls = {
                    "django": base + path,
                    "accel": front + path + "?stream=0",
                    "nginx": front + path,
                    "static": f"{front}/_static/{audio_name}",
                }
                _, direct = fetch(urls["django"], key)
                assert direct[:4] == b"RIFF"
                assert fetch(urls["accel"], key)[1] == direct
                assert fetch(urls["nginx"], key)[1] == direct
                assert fetch(urls["static"], key)[1] == direct
                for kind in KINDS:  # warm-up
                    wrk(urls[kind], seconds=2, key=key)
                for round_ in range(args.rounds):
                    order = KINDS[round_ % 4 :] + KINDS[: round_ % 4]
                    for kind in order:
                        figures = wrk(
                            urls[kind],
                            seconds=args.seconds,
                            connections=args.connections,
                            key=key,
                        )
                        print(kind, json.dumps(figures), flush=True)
                        rounds[kind].append(figures)
                status, _, _ = Http(base, staff).json(
                    "POST",
                    "/api/v1/moderation/blocks",
                    {
                        "target": "artifact",
                        "id": body["fingerprint"],
                        "reason": "x",
                    },
                )
                assert status == 201, status
                blocked = {
                    kind: fetch(urls[kind], key)[0] for kind in ("accel", "nginx")
                }
        finally:
            stop(accel_web)
            log.close()

    result = {
        "machine": machine(),
        "connections": args.connections,
        "gunicorn": "2 workers x 8 threads (gthread)",
        "wav_bytes": len(direct),
        "blocked_through_nginx": blocked,
    }
    for kind, runs in rounds.items():
        result[kind] = rounds_summary(runs)
    for kind in ("accel", "nginx", "static"):
        result[f"{kind}_over_django_throughput"] = round(
            result[kind]["requests_per_s"] / result["django"]["requests_per_s"], 1
        )
    save(name, result)
    plot(result)


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = [
        "Django",
        "Django check\nper request",
        "check kept 1 s\n(deployment)",
        "nginx,\nno check",
    ]
    colors = ["tab:gray", "tab:blue", "tab:green", "tab:olive"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.bar(labels, [result[k]["requests_per_s"] for k in KINDS], color=colors)
    left.set_yscale("log")
    left.set_ylabel("requests/s (log)")
    left.set_title(f"Throughput, {result['wav_bytes'] // 1000} KB WAV")
    right.bar(labels, [result[k]["p50"] for k in KINDS], color=colors)
    right.set_yscale("log")
    right.set_ylabel("p50 latency (ms, log)")
    right.set_title(f"Median latency (wrk, {result['connections']} connections)")
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "bench-audio-serving.png", dpi=110)


if __name__ == "__main__":
    main()
