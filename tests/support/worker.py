"""Celery processes for the tests: the test database as a URL, and a worker (or a beat)
started as a real subprocess against the test database and the test broker."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parent.parent.parent


def database_url() -> str:
    db = settings.DATABASES["default"]
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


def session_worker_node() -> str:
    """The name of the session's shared worker (fixture `celery_worker`)."""
    return f"test-{os.getpid()}@localhost"


def worker_env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": database_url(), "CONN_MAX_AGE": "0", **extra}


def worker_start(
    *, node: str, queues: str, concurrency: int, env: dict, log
) -> subprocess.Popen:
    """Starts `celery worker` and returns once it answers a ping."""
    from tts_platform.celery import app

    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tts_platform",
            "worker",
            "-Q",
            queues,
            "-c",
            str(concurrency),
            "-l",
            "info",
            "-n",
            node,
            "--without-gossip",
            "--without-mingle",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise RuntimeError(f"the Celery worker {node} exited; see its log")
            if app.control.ping(destination=[node], timeout=0.5):
                return process
        raise RuntimeError(f"the Celery worker {node} did not start in 60 s")
    except BaseException:
        process_stop(process)  # never leave a worker behind to take later tests' work
        raise


def beat_start(*, env: dict, log, schedule: Path) -> subprocess.Popen:
    """`celery beat` (the periodic sweeper) as its own process."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tts_platform",
            "beat",
            "-s",
            str(schedule),
            "-l",
            "info",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def process_stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
