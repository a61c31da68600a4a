"""`make run`'s banner and its quiet access log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

from tts_platform import banner
from tts_platform.quiet_access_log import QUIET_PATHS, QuietAccessLogger


def test_banner_names_portal_docs_admin_data_and_stop():
    text = banner.render(
        "http://127.0.0.1:8000/", {}, Path("/srv/app/var"), 21.4, embedded_redis=True
    )
    for expected in (
        "http://127.0.0.1:8000/api/docs/",
        "http://127.0.0.1:8000/admin/",
        "make superuser",
        "/srv/app/var/db.sqlite3",
        "/srv/app/var/media",
        "embedded",
        "Ctrl-C",
        "LOG_LEVEL=debug",
    ):
        assert expected in text


def test_banner_hides_database_passwords():
    env = {
        "DATABASE_URL": "postgres://tts:s3cret@db:5432/tts",
        "REDIS_URL": "redis://:hunter2@cache:6379/0",
    }
    text = banner.render("http://127.0.0.1:8000/", env, Path("var"), 3, False)
    assert "s3cret" not in text and "hunter2" not in text
    assert "db:5432/tts" in text and "cache:6379/0" in text


def test_waiting_stops_when_a_child_exits(tmp_path):
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    assert not banner.wait_until_ready(
        "http://127.0.0.1:9/", tmp_path / "ready", [child], timeout=5
    )


def test_polling_and_static_lines_are_left_out():
    for path in ("/static/css/site.css", "/favicon.ico", "/syntheses/abc/status/"):
        assert QUIET_PATHS.match(path)
    for path in ("/api/v1/syntheses", "/history/", "/"):
        assert not QUIET_PATHS.match(path)

    class Recording(QuietAccessLogger):
        access_log_enabled = True

    lines = []
    logger = Recording.__new__(Recording)
    logger.cfg = SimpleNamespace(access_log_format="%(r)s %(s)s")
    logger.access_log = SimpleNamespace(info=lambda fmt, atoms: lines.append(fmt))
    logger.atoms = lambda *args: {}
    logger.atoms_wrapper_class = dict

    def send(path, status):
        logger.access(SimpleNamespace(status=status), None, {"PATH_INFO": path}, 0)

    send("/static/js/portal.js", "200 OK")
    send("/syntheses/abc/status/", "200 OK")
    assert lines == []
    send("/static/missing.js", "404 Not Found")
    send("/api/v1/syntheses", "201 Created")
    assert len(lines) == 2
