"""What `make run` prints once everything answers: where to go, how to become admin,
where the data lives and how to stop. Stdlib only (runs in the launcher process)."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit

PRODUCT = "Echo TTS"


def wait_until_ready(
    base_url: str, worker_ready_file: Path, children, timeout: float = 300
) -> bool:
    """True once /readyz answers 200 (database, cache, broker), the worker consumes
    and has its engine loaded; False if a child exited or the time ran out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(child.poll() is not None for child in children):
            return False
        engine_loaded = Path(f"{worker_ready_file}.engine")
        if (
            worker_ready_file.exists()
            and engine_loaded.exists()
            and _answers(base_url + "readyz")
        ):
            return True
        time.sleep(0.3)
    return False


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (OSError, urllib.error.URLError):
        return False


def _without_password(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":…@")
        return parts._replace(netloc=netloc).geturl()
    return url


def render(
    base_url: str, env: dict[str, str], var: Path, seconds: float, embedded_redis: bool
) -> str:
    database = env.get("DATABASE_URL")
    data = [
        f"database  {_without_password(database)}"
        if database
        else f"database  {var / 'db.sqlite3'} (SQLite)",
        f"audio     {env.get('MEDIA_ROOT') or var / 'media'}",
        "redis     "
        + (
            f"embedded, saved to {var / 'redis.rdb'}"
            if embedded_redis
            else _without_password(env["REDIS_URL"])
        ),
    ]
    engine = env.get("TTS_ENGINE", "kokoro")
    lines = [
        f"{PRODUCT} is ready ({seconds:.0f} s; engine {engine})",
        "",
        f"  Portal     {base_url}",
        f"  API docs   {base_url}api/docs/",
        f"  Admin      {base_url}admin/   (create an admin: make superuser)",
        "",
        *(f"  {line}" for line in data),
        "",
        "  Stop with Ctrl-C. Logs are quiet; LOG_LEVEL=debug make run shows all.",
    ]
    rule = "─" * max(len(line) for line in lines)
    return "\n".join([rule, *lines, rule])
