"""Benchmark 5: faults. Every accepted request must end, promptly, whatever crashes.

Starts the platform (gunicorn, one Celery worker, the beat running the sweeper; the
simulated GLM-TTS engine espeak-sim; the default lease, sweep interval and grace), then
injects one fault at a time and reports how long the platform took to recover and how
many accepted requests did not end:

1. worker kill: the Celery pool process is killed (-9) in the middle of an engine run,
   with more syntheses queued behind it (a CUDA out-of-memory kill, a driver fault).
2. broker loss: the broker database is flushed while syntheses are queued, and every
   client connection to it is killed (a Redis restart without persistence). On a shared
   Redis server only the connections to the broker's database are killed.
3. cache wipe: the result cache is flushed under a load of repeats (8 clients).
4. database drop: every connection to the database is terminated
   (pg_terminate_backend) under the same load, with new syntheses in flight.

Usage: .venv/bin/python bench/faults.py [--requests 6 --rtf 0.75 --port 8791]
(needs DATABASE_URL, REDIS_URL and CELERY_BROKER_URL: it wipes them)
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from pathlib import Path

import psycopg
import redis

sys.path.insert(0, str(Path(__file__).resolve().parent))

from harness import Http, machine, running_platform, save  # noqa: E402

TERMINAL = ("succeeded", "failed", "blocked", "purged")
CLIENTS = 8
FAULTS = ("worker_kill", "broker_loss", "cache_wipe", "database_drop")
LOAD_S = 12


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=6)
    parser.add_argument("--rtf", type=float, default=0.75)
    parser.add_argument("--timeout", type=float, default=180)
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", 8791)))
    parser.add_argument(
        "--only", choices=FAULTS, action="append", help="inject only these faults"
    )
    args = parser.parse_args()

    with running_platform(
        "faults",
        engine="espeak-sim",
        sim_rtf=args.rtf,
        web_workers=2,
        threads=8,
        worker_concurrency=1,
        port=args.port,
        beat=True,
    ) as platform:
        bench = Faults(platform, args)
        bench.warm_up()
        results = {
            name: getattr(bench, name)()
            for name in FAULTS
            if name in (args.only or FAULTS)
        }
    report = {
        "machine": machine(),
        "engine": f"espeak-sim, RTF {args.rtf}",
        "settings": {
            "TTS_LEASE_SECONDS": 30,
            "TTS_SWEEP_INTERVAL": 10,
            "TTS_QUEUED_GRACE": 30,
        },
        "results": results,
    }
    save("faults", report)
    print()
    print(
        f"{'fault':15} {'accepted':>8} {'not ended':>9} {'recovery s':>10} "
        f"{'extra runs/fp':>13} {'HTTP errors':>11}"
    )
    for name, result in results.items():
        print(
            f"{name:15} {result['accepted']:>8} {result['not_ended']:>9} "
            f"{result['recovery_s']:>10} {result['max_extra_runs']:>13} "
            f"{result['http_errors']:>11}"
        )


class Faults:
    def __init__(self, platform, args) -> None:
        self.platform = platform
        self.args = args
        self.http = Http(platform.base, platform.key)
        self.db = psycopg.connect(platform.env["DATABASE_URL"], autocommit=True)
        self.produced: list[str] = []  # texts whose audio exists: repeats are hits

    def warm_up(self) -> None:
        status, _, _ = self.http.json(
            "POST", "/api/v1/syntheses?wait=60", {"text": "Warm up."}
        )
        assert status == 200, status
        self.produced.append("Warm up.")

    # --- the faults -----------------------------------------------------------------

    def worker_kill(self) -> dict:
        texts = self._texts("The worker dies in the middle of this run")
        accepted = self._submit(texts)
        running = self._wait_running(accepted)
        os.kill(self._pool_pid(), signal.SIGKILL)
        return self._outcome(accepted, time.monotonic(), watch=running)

    def broker_loss(self) -> dict:
        texts = self._texts("The broker forgets this queued request")
        accepted = self._submit(texts)
        broker = redis.Redis.from_url(self.platform.env["CELERY_BROKER_URL"])
        broker.flushdb()
        _client_kill_on_db(broker)
        return self._outcome(accepted, time.monotonic())

    def cache_wipe(self) -> dict:
        cache = redis.Redis.from_url(self.platform.env["REDIS_URL"])
        return self._under_load(lambda: cache.flushdb(), misses=0)

    def database_drop(self) -> dict:
        def terminate() -> None:
            self.db.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )

        return self._under_load(terminate, misses=3)

    # --- helpers --------------------------------------------------------------------

    def _texts(self, prefix: str) -> list[str]:
        return [f"{prefix}, number {n}." for n in range(self.args.requests)]

    def _submit(self, texts: list[str]) -> dict[str, str]:
        """{fingerprint: text} of the accepted (202) requests."""
        accepted = {}
        for text in texts:
            status, headers, body = self.http.json(
                "POST", "/api/v1/syntheses", {"text": text}
            )
            assert status == 202, (status, body)
            accepted[body["fingerprint"]] = text
        return accepted

    def _artifacts(self, fingerprints) -> dict[str, tuple[str, int]]:
        rows = self.db.execute(
            "SELECT fingerprint, status, attempts FROM synthesis_artifact "
            "WHERE fingerprint = ANY(%s)",
            [list(fingerprints)],
        ).fetchall()
        return {fp: (status, attempts) for fp, status, attempts in rows}

    def _wait_running(self, accepted: dict) -> str:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for fp, (status, _) in self._artifacts(accepted).items():
                if status == "running":
                    time.sleep(0.5)  # well inside the engine call
                    return fp
            time.sleep(0.05)
        raise SystemExit("no run started within 60 s")

    def _pool_pid(self) -> int:
        """The worker's pool process (its only child with concurrency 1)."""
        parent = self.platform.worker.pid
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == parent:
                return int(stat.parent.name)
        raise SystemExit("the worker has no pool process")

    def _outcome(self, accepted: dict, fault_at: float, watch: str | None = None):
        """Waits for every accepted request to end; recovery is the time from the
        fault until the last one (or the watched one) ended."""
        ended_at: dict[str, float] = {}
        deadline = fault_at + self.args.timeout
        rows = {}
        while len(ended_at) < len(accepted) and time.monotonic() < deadline:
            rows = self._artifacts(accepted)
            for fp, (status, _) in rows.items():
                if status in TERMINAL and fp not in ended_at:
                    ended_at[fp] = time.monotonic()
            time.sleep(0.1)
        rows = self._artifacts(accepted)
        self.produced += [
            accepted[fp] for fp, (status, _) in rows.items() if status == "succeeded"
        ]
        last = max(ended_at.values(), default=deadline)
        watched = ended_at.get(watch, deadline) if watch else last
        return {
            "accepted": len(accepted),
            "not_ended": len(accepted) - len(ended_at),
            "failed": sum(status == "failed" for status, _ in rows.values()),
            "recovery_s": round(watched - fault_at, 1),
            "all_ended_s": round(last - fault_at, 1),
            "max_extra_runs": max(attempts - 1 for _, attempts in rows.values()),
            "http_errors": 0,
        }

    def _under_load(self, inject, *, misses: int) -> dict:
        """CLIENTS clients repeat produced texts (hits) for LOAD_S seconds; the fault
        is injected halfway, right after `misses` new syntheses were accepted."""
        statuses: list[tuple[float, int]] = []  # (answered at, status)
        lock = threading.Lock()
        stop = time.monotonic() + LOAD_S
        runs_before = self._engine_runs()

        def client(index: int) -> None:
            http = Http(self.platform.base, self.platform.key)
            n = index
            while time.monotonic() < stop:
                text = self.produced[n % len(self.produced)]
                n += 1
                try:
                    status, _, _ = http.request(
                        "POST", "/api/v1/syntheses?wait=30", {"text": text}
                    )
                except OSError:
                    status = 0
                with lock:
                    statuses.append((time.monotonic(), status))

        threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
        for thread in threads:
            thread.start()
        time.sleep(LOAD_S / 2)
        accepted = self._submit(
            [f"New during the fault, number {n}, {time.time()}." for n in range(misses)]
        )
        inject()
        fault_at = time.monotonic()
        for thread in threads:
            thread.join()
        outcome = (
            self._outcome(accepted, fault_at)
            if accepted
            else {
                "accepted": 0,
                "not_ended": 0,
                "failed": 0,
                "recovery_s": 0.0,
                "max_extra_runs": 0,
            }
        )
        errors = [at for at, status in statuses if status != 200]
        outcome.update(
            repeats=len(statuses),
            http_errors=len(errors),
            # Requests sent after the fault (answered more than a second later).
            http_errors_after_1s=sum(at > fault_at + 1 for at in errors),
            error_statuses=sorted({status for _, status in statuses if status != 200}),
            engine_runs_for_repeats=self._engine_runs() - runs_before - len(accepted),
        )
        return outcome

    def _engine_runs(self) -> int:
        return self.db.execute(
            "SELECT COALESCE(SUM(attempts), 0) FROM synthesis_artifact"
        ).fetchone()[0]


def _client_kill_on_db(broker: redis.Redis) -> None:
    db = broker.connection_pool.connection_kwargs.get("db", 0)
    me = broker.client_id()
    for client in broker.client_list():
        if int(client["db"]) == db and int(client["id"]) != me:
            broker.client_kill_filter(_id=client["id"])


if __name__ == "__main__":
    main()
