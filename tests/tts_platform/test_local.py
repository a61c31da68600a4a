"""What `make run` leaves in var/ is found by any manage.py, and its embedded Redis
stops without leaving files behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import redis

from tts_platform import launcher, local

ROOT = Path(__file__).resolve().parents[2]


def _bare_env() -> dict[str, str]:
    """The environment of someone who set nothing."""
    names = {"SECRET_KEY", "TTS_EMBEDDED", "DEBUG", "DATABASE_URL", "REDIS_URL"}
    env = {k: v for k, v in os.environ.items() if k not in names}
    env.pop("CELERY_BROKER_URL", None)
    return {**env, "DJANGO_SETTINGS_MODULE": "tts_platform.settings"}


def test_manage_py_finds_the_local_secret_key_and_database():
    key = local.secret_key(create=True)
    out = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "shell",
            "-c",
            "from django.conf import settings as s;"
            "print(s.SECRET_KEY); print(s.DATABASES['default']['NAME'])",
        ],
        cwd=ROOT,
        env=_bare_env(),
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert key in out
    assert str(ROOT / "var" / "db.sqlite3") in out


def test_log_level_is_accepted_in_lower_case():
    env = {**_bare_env(), "LOG_LEVEL": "debug"}
    subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, check=True
    )


def _local_paths(monkeypatch, var: Path) -> None:
    monkeypatch.setattr(local, "REDIS_RUN_DIR", var / "redis")
    monkeypatch.setattr(local, "REDIS_RDB", var / "redis.rdb")
    monkeypatch.setattr(local, "REDIS_REGISTRY", var / "redis.rdb.settings")


def test_embedded_redis_is_found_while_it_runs_and_leaves_nothing(
    monkeypatch, tmp_path
):
    _local_paths(monkeypatch, tmp_path)
    server, socket = launcher._start_embedded_redis()
    run_dir, pid = Path(server.redis_dir), server.pid
    try:
        assert local.embedded_redis_socket() == socket
        cache_url, _broker = local.redis_urls(socket)
        assert redis.Redis.from_url(cache_url).ping()
    finally:
        launcher._stop_embedded_redis(server)
    assert not Path(f"/proc/{pid}").exists()
    assert not run_dir.exists()
    assert local.embedded_redis_socket() == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["redis.rdb"]


def test_a_stale_registry_is_not_taken_for_a_running_redis(monkeypatch, tmp_path):
    _local_paths(monkeypatch, tmp_path)
    local.REDIS_REGISTRY.write_text(
        '{"unixsocket": "%s", "pidfile": "x"}' % (tmp_path / "gone.sock")
    )
    assert local.embedded_redis_socket() == ""
