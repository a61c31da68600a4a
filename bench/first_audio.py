"""Benchmark: time to the first audio byte of a long miss, streamed vs. waiting.

A 20-paragraph script, never synthesized before, on the simulated GLM-TTS engine
(espeak-sim, RTF 0.75). Side by side in one run, each with a script of its own (so both
are misses): (a) streamed: POST, then GET .../audio?stream=1&format=pcm at once,
recording the time of the first and of the last byte; (b) waiting: POST, then GET with
?wait until the synthesis is done, then the audio. Then 32 streams held open while a
cache hit is timed, against the same hit with no stream open.

Usage: .venv/bin/python bench/first_audio.py [--paragraphs 20 --rtf 0.75 --rounds 3]
(with DATABASE_URL, REDIS_URL and CELERY_BROKER_URL set: they are wiped)
"""

from __future__ import annotations

import argparse
import http.client
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import IMG, Http, machine, percentiles, platform, save  # noqa: E402


def script(round_: int, kind: str, paragraphs: int) -> str:
    return "\n\n".join(
        f"Round {round_}, {kind} script, paragraph {n}: the keeper lit the lamp "
        "and watched the boats come home across the quiet water."
        for n in range(paragraphs)
    )


def streamed(base: str, key: str, text: str) -> dict:
    client = Http(base, key)
    started = time.perf_counter()
    _, _, body = client.json("POST", "/api/v1/syntheses", {"text": text})
    parsed = urlparse(base)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=600)
    connection.request(
        "GET",
        f"/api/v1/syntheses/{body['id']}/audio?stream=1&format=pcm",
        headers={"Authorization": f"Bearer {key}"},
    )
    response = connection.getresponse()
    first = None
    size = 0
    while chunk := response.read1(65536):
        if first is None:
            first = time.perf_counter() - started
        size += len(chunk)
    last = time.perf_counter() - started
    return {
        "first_byte_s": round(first, 3),
        "last_byte_s": round(last, 3),
        "bytes": size,
    }


def waited(base: str, key: str, text: str) -> dict:
    client = Http(base, key)
    started = time.perf_counter()
    _, _, body = client.json("POST", "/api/v1/syntheses?wait=60", {"text": text})
    while body["status"] in ("queued", "running"):
        _, _, body = client.json("GET", f"/api/v1/syntheses/{body['id']}?wait=60")
    status, _, data = client.request("GET", body["audio_url"])
    assert status == 200
    elapsed = round(time.perf_counter() - started, 3)
    return {"first_byte_s": elapsed, "last_byte_s": elapsed, "bytes": len(data)}


def hit_latency(base: str, key: str, n: int = 100) -> dict:
    client = Http(base, key)
    body = {"text": "A line that is always in the cache."}
    client.json("POST", "/api/v1/syntheses?wait=30", body)
    times = []
    for _ in range(n):
        started = time.perf_counter()
        status, headers, _ = client.request("POST", "/api/v1/syntheses", body)
        assert status == 200 and headers.get("X-Cache") == "HIT"
        times.append((time.perf_counter() - started) * 1000)
    return percentiles(times)


def hits_under_open_streams(base: str, key: str, streams: int, paragraphs: int) -> dict:
    """`streams` clients each open a stream of a script that runs for minutes; while
    they are open, hits are timed."""
    stop = threading.Event()
    opened = threading.Barrier(streams + 1)

    def hold(index: int) -> None:
        client = Http(base, key)
        text = script(1000 + index, "held", paragraphs)
        _, _, body = client.json("POST", "/api/v1/syntheses", {"text": text})
        parsed = urlparse(base)
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, 600)
        connection.request(
            "GET",
            f"/api/v1/syntheses/{body['id']}/audio?stream=1&format=pcm",
            headers={"Authorization": f"Bearer {key}"},
        )
        response = connection.getresponse()
        opened.wait()
        try:
            while not stop.is_set() and response.read1(4096):
                pass
        except (http.client.HTTPException, OSError):
            pass  # the platform stopped under an open stream: expected at the end
        connection.close()

    threads = [
        threading.Thread(target=hold, args=(i,), daemon=True) for i in range(streams)
    ]
    for thread in threads:
        thread.start()
    opened.wait()
    result = hit_latency(base, key)
    stop.set()
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--paragraphs", type=int, default=20)
    parser.add_argument("--rtf", type=float, default=0.75)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--streams", type=int, default=32)
    parser.add_argument("--threads", type=int, default=32)
    args = parser.parse_args()
    rounds = []
    with platform(
        "first_audio",
        engine="espeak-sim",
        sim_rtf=args.rtf,
        worker_concurrency=2,
        threads=args.threads,
        port=8793,
    ) as (base, key, _):
        for round_ in range(args.rounds):
            rounds.append(
                {
                    "streamed": streamed(
                        base, key, script(round_, "streamed", args.paragraphs)
                    ),
                    "waited": waited(
                        base, key, script(round_, "waited", args.paragraphs)
                    ),
                }
            )
        hits_alone = hit_latency(base, key)
        hits_streaming = hits_under_open_streams(
            base, key, args.streams, args.paragraphs
        )
    first = [r["streamed"]["first_byte_s"] for r in rounds]
    whole = [r["waited"]["first_byte_s"] for r in rounds]
    result = {
        "machine": machine(),
        "rtf": args.rtf,
        "paragraphs": args.paragraphs,
        "rounds": rounds,
        "streamed_first_byte_s_mean": round(sum(first) / len(first), 3),
        "waited_first_byte_s_mean": round(sum(whole) / len(whole), 3),
        "first_byte_ratio": round(sum(first) / sum(whole), 4),
        "gunicorn": f"2 workers x {args.threads} threads (gthread)",
        "hit_alone_ms": hits_alone,
        f"hit_with_{args.streams}_streams_open_ms": hits_streaming,
        "hit_p50_ratio": round(hits_streaming["p50"] / hits_alone["p50"], 3),
    }
    save("first_audio", result)
    plot(result)


def plot(result: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rounds = result["rounds"]
    labels = [f"round {i + 1}" for i in range(len(rounds))]
    x = range(len(rounds))
    fig, axis = plt.subplots(figsize=(8, 4))
    axis.bar(
        [i - 0.2 for i in x],
        [r["streamed"]["first_byte_s"] for r in rounds],
        0.4,
        label="streamed: first byte",
        color="#2a7",
    )
    axis.bar(
        [i + 0.2 for i in x],
        [r["waited"]["first_byte_s"] for r in rounds],
        0.4,
        label="waiting for the whole",
        color="#888",
    )
    axis.set_xticks(list(x), labels)
    axis.set_ylabel("seconds after the request")
    axis.legend()
    axis.set_title(
        f"{result['paragraphs']}-paragraph miss, espeak-sim RTF {result['rtf']}: "
        f"first audio after {result['first_byte_ratio']:.2f} of the wait"
    )
    fig.tight_layout()
    IMG.mkdir(parents=True, exist_ok=True)
    fig.savefig(IMG / "first_audio.png", dpi=110)


if __name__ == "__main__":
    main()
