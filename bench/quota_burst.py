"""What quota enforcement costs on the request path.

Every miss locks its user's usage row for the rest of its transaction, so one user's
concurrent misses are admitted one after the other, while different users' misses do
not wait for each other. This measures a burst of N concurrent misses (distinct texts,
no worker: the runs only get enqueued) from one user and from N users, on a throwaway
database created next to DATABASE_URL's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tts_bench \\
    REDIS_URL=redis://127.0.0.1:6379/9 CELERY_BROKER_URL=redis://127.0.0.1:6379/10 \\
    DJANGO_SETTINGS_MODULE=tts_platform.settings_test .venv/bin/python bench/quota_burst.py
"""

from __future__ import annotations

import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import (  # noqa: E402
    setup_databases,
    setup_test_environment,
    teardown_databases,
)

SIZES = (1, 10, 25, 50)
REPEATS = 3


def burst(users, texts) -> tuple[float, list[float]]:
    from synthesis.services import syntheses

    barrier = threading.Barrier(len(texts))
    latencies: list[float] = [0.0] * len(texts)

    def run(index: int) -> None:
        try:
            connection.ensure_connection()  # connecting is not what is measured
            barrier.wait()
            started = time.perf_counter()
            syntheses.synthesis_create(
                user=users[index], data=syntheses.SynthesisInput(text=texts[index])
            )
            latencies[index] = (time.perf_counter() - started) * 1000
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(texts))]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return (time.perf_counter() - started) * 1000, latencies


def main() -> None:
    from accounts.models import User
    from tts_platform.celery import app

    settings.TTS_MAX_CONCURRENT_MISSES = 10_000
    setup_test_environment()
    old = setup_databases(verbosity=0, interactive=False, aliases={"default"})
    try:
        users = [User.objects.create(username=f"bench{i}") for i in range(max(SIZES))]
        burst(users[:1], ["Warm-up: engine identity, connections, caches."])
        print(f"{'burst':>6} {'who':>8} {'wall ms':>9} {'p50 ms':>8} {'max ms':>8}")
        for round_, size in enumerate(SIZES):
            for who, owners in (("1 user", [users[0]] * size), ("N users", users)):
                # Median of REPEATS bursts, each of new texts (all misses).
                runs = [
                    burst(
                        owners[:size],
                        [f"Bench {round_} {rep} {who} {i}." for i in range(size)],
                    )
                    for rep in range(REPEATS)
                ]
                wall = statistics.median(w for w, _ in runs)
                lat = [x for _, lats in runs for x in lats]
                print(
                    f"{size:>6} {who:>8} {wall:>9.1f} "
                    f"{statistics.median(lat):>8.1f} {max(lat):>8.1f}"
                )
    finally:
        connection.close()
        teardown_databases(old, verbosity=0)
        app.control.purge()  # the enqueued runs name a database that is gone


if __name__ == "__main__":
    main()
