"""What every server benchmark shares: a fresh platform (gunicorn + a Celery worker)
on the database and Redis databases named by the environment, a user with an API key,
HTTP helpers, percentiles and the results folder.

The benchmark wipes the database in DATABASE_URL and the Redis databases in REDIS_URL
and CELERY_BROKER_URL, so it refuses to run unless all three are set explicitly.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse, urlsplit, urlunsplit

import numpy as np
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
IMG = ROOT / "docs" / "img"
PYTHON = sys.executable
REQUIRED = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")


def base_env(**extra: str) -> dict[str, str]:
    missing = [name for name in REQUIRED if not os.environ.get(name)]
    if missing:
        raise SystemExit(
            f"set {', '.join(missing)}: the benchmark wipes that database and those "
            "Redis databases"
        )
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="tts_platform.settings",
        SECRET_KEY="bench-secret-key",
        RATELIMIT_ENABLE="false",
        # Plain http on localhost: no redirect to https (production's default).
        SECURE_SSL_REDIRECT="false",
        LOG_LEVEL="WARNING",
        CONN_MAX_AGE="60",
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env


def manage(env: dict, *args: str, tree: Path = ROOT) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args],
        cwd=tree,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return result.stdout


def bare_key(env: dict | None = None, tree: Path = ROOT) -> str:
    """The API key of a new user 'bare', who has no history: the bare read's caller
    (its cost stays the same however long the run)."""
    out = manage(
        env or base_env(),
        "shell",
        "-c",
        "from accounts.models import User\n"
        "from accounts.services import api_key_create\n"
        "u = User.objects.create_user('bare', password='bare-pw-1')\n"
        "print(api_key_create(user=u, name='bare')[1])",
        tree=tree,
    )
    return out.splitlines()[-1]


def create_database(url: str) -> None:
    """Creates the PostgreSQL database the benchmark was pointed at, if it is missing."""
    import psycopg

    parts = urlsplit(url)
    if not parts.scheme.startswith("postgres"):
        return
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _flush_redis(url: str) -> None:
    import redis

    redis.Redis.from_url(url).flushdb()


@contextmanager
def platform(
    name: str,
    *,
    engine: str = "espeak",
    sim_rtf: float = 0.0,
    web_workers: int = 2,
    threads: int = 8,
    worker_concurrency: int = 1,
    port: int = 8791,
):
    """Yields (base_url, api_key, staff_key) of a fresh platform; stops it afterwards."""
    with running_platform(
        name,
        engine=engine,
        sim_rtf=sim_rtf,
        web_workers=web_workers,
        threads=threads,
        worker_concurrency=worker_concurrency,
        port=port,
    ) as running:
        yield running.base, running.key, running.staff_key


@dataclass
class Platform:
    base: str
    key: str
    staff_key: str
    env: dict
    web: subprocess.Popen
    worker: subprocess.Popen
    beat: subprocess.Popen | None


@contextmanager
def running_platform(
    name: str,
    *,
    engine: str = "espeak",
    sim_rtf: float = 0.0,
    web_workers: int = 2,
    threads: int = 8,
    worker_concurrency: int = 1,
    port: int = 8791,
    beat: bool = False,
    extra_env: dict[str, str] | None = None,
):
    """A fresh platform and its processes (gunicorn, a Celery worker and, with `beat`,
    the periodic sweeper), for benchmarks that act on them."""
    media = RESULTS / name / "media"
    shutil.rmtree(media, ignore_errors=True)
    media.mkdir(parents=True)
    env = base_env(
        TTS_ENGINE=engine,
        TTS_SIM_RTF=str(sim_rtf),
        MEDIA_ROOT=str(media),
        ALLOWED_HOSTS="127.0.0.1,localhost",
        **(extra_env or {}),
    )
    create_database(env["DATABASE_URL"])
    manage(env, "migrate", "--no-input")
    manage(env, "flush", "--no-input")
    _flush_redis(env["REDIS_URL"])
    _flush_redis(env["CELERY_BROKER_URL"])
    keys = json.loads(
        manage(
            env,
            "shell",
            "-c",
            "import json\n"
            "from accounts.models import User\n"
            "from accounts.services import api_key_create\n"
            "u = User.objects.create_user('bench', password='bench-pw-1')\n"
            "s = User.objects.create_user('ops', password='ops-pw-1', is_staff=True)\n"
            "print(json.dumps([api_key_create(user=u, name='b')[1],"
            " api_key_create(user=s, name='s')[1]]))",
        ).splitlines()[-1]
    )
    log = open(RESULTS / name / "server.log", "w")  # noqa: SIM115
    web = _start(
        env,
        log,
        "gunicorn",
        "tts_platform.wsgi",
        "-w",
        str(web_workers),
        "-k",
        "gthread",
        "--threads",
        str(threads),
        "-b",
        f"127.0.0.1:{port}",
        "--keep-alive",
        "30",
    )
    worker = _start(
        env,
        log,
        "celery",
        "-A",
        "tts_platform",
        "worker",
        "-Q",
        "gpu,cpu,default",
        "-c",
        str(worker_concurrency),
        "-l",
        os.environ.get("BENCH_WORKER_LOG_LEVEL", "warning"),
        "-n",
        f"bench-{os.getpid()}@localhost",
        "--without-gossip",
        "--without-mingle",
    )
    sweeper = None
    if beat:
        schedule = RESULTS / name / "celerybeat-schedule"
        sweeper = _start(
            env, log, "celery", "-A", "tts_platform", "beat", "-s", str(schedule)
        )
    processes = [p for p in (web, worker, sweeper) if p is not None]
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(base, web)
        yield Platform(base, keys[0], keys[1], env, web, worker, sweeper)
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        log.close()


def _start(env: dict, log, *args: str, tree: Path = ROOT) -> subprocess.Popen:
    return subprocess.Popen(
        [PYTHON, "-m", *args],
        cwd=tree,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def gunicorn(
    env: dict, *, port: int, workers: int, threads: int, log, tree: Path = ROOT
) -> subprocess.Popen:
    """A further gunicorn like the platform's, e.g. with other settings on the same
    database (bench/audio_serving.py) or of an earlier tree (bench/bare_read_baseline.py)."""
    return _start(
        env, log, "gunicorn", "tts_platform.wsgi", "-w", str(workers),
        "-k", "gthread", "--threads", str(threads),
        "-b", f"127.0.0.1:{port}", "--keep-alive", "30", tree=tree,
    )  # fmt: skip


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def wait_ready(base: str, web: subprocess.Popen) -> None:
    _wait_ready(base, web)


def _wait_ready(base: str, web: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if web.poll() is not None:
            raise SystemExit("gunicorn exited; see bench/results/*/server.log")
        try:
            status, _, _ = Http(base).request("GET", "/readyz")
            if status == 200:
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit("the platform did not become ready in 60 s")


class Http:
    """One keep-alive connection (one per client thread)."""

    def __init__(self, base: str, key: str | None = None) -> None:
        parsed = urlparse(base)
        self.host, self.port = parsed.hostname, parsed.port
        self.headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.connection = http.client.HTTPConnection(self.host, self.port, timeout=120)

    def request(self, method: str, path: str, body: dict | None = None):
        headers = dict(self.headers)
        payload = None
        if body is not None:
            payload = json.dumps(body)
            headers["Content-Type"] = "application/json"
        for attempt in range(2):
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                return response.status, dict(response.getheaders()), data
            except (http.client.HTTPException, ConnectionError):
                self.connection.close()
                self.connection = http.client.HTTPConnection(
                    self.host, self.port, timeout=120
                )
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: dict | None = None):
        status, headers, data = self.request(method, path, body)
        return status, headers, json.loads(data) if data else None


def percentiles(values_ms) -> dict[str, float]:
    values = np.asarray(values_ms, dtype=float)
    if values.size == 0:
        return {"n": 0, "p50": float("nan"), "p99": float("nan"), "mean": float("nan")}
    return {
        "n": int(values.size),
        "p50": round(float(np.percentile(values, 50)), 2),
        "p99": round(float(np.percentile(values, 99)), 2),
        "mean": round(float(values.mean()), 2),
    }


def metrics_text(base: str) -> str:
    return Http(base).request("GET", "/metrics")[2].decode()


def save(name: str, data: dict) -> Path:
    path = RESULTS / name / "result.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2))
    print(json.dumps(data, indent=2))
    return path


def machine() -> str:
    cpus = os.cpu_count()
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpus} CPUs ({model})" if model else f"{cpus} CPUs"
