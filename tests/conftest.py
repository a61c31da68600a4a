"""Shared fixtures. Tests talk to the real PostgreSQL, Redis and a real Celery worker
(started once per session as a subprocess against the test database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.servers.basehttp import ThreadedWSGIServer
from rest_framework.test import APIClient

from tests.support.api import client_for
from tests.support.worker import (
    process_stop,
    session_worker_node,
    worker_env,
    worker_start,
)

ROOT = Path(__file__).resolve().parent.parent

# The browser fixtures (`browser`, `new_page`) for the portal's and the admin's tests.
pytest_plugins = ["tests.support.chromium"]

# The live_server's listen backlog is 10 connections: the concurrency tests open 32 or
# more at once, and past the backlog the kernel resets connections before Django sees
# them. A production server (gunicorn) has a backlog of 2048.
ThreadedWSGIServer.request_queue_size = 256


def pytest_collection_modifyitems(items):
    """Every test that needs the Celery worker carries the `worker` marker, so
    `make test-fast` (-m "not worker and not browser") can leave them out."""
    for item in items:
        if "celery_worker" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.worker)


@pytest.fixture(autouse=True)
def _empty_results_cache():
    """Every test starts without hot-index pointers (pointers of earlier tests would name
    artifacts that no longer exist). Only this process's pointers go: the other xdist
    process's keys (tts_platform/settings_test.py) and the default cache stay."""
    from django_redis import get_redis_connection

    from synthesis import cache

    cache.backoff_reset()
    # Only the hot index: the default cache's counters (throttles, log-in failures)
    # of a test running in parallel share this database.
    redis = get_redis_connection("results")
    keys = list(redis.scan_iter(match=cache.pointer_key("*"), count=1000))
    if keys:
        redis.delete(*keys)


@pytest.fixture
def results_redis():
    from django_redis import get_redis_connection

    return get_redis_connection("results")


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A real worker process (prefork, 2 children) consuming every queue, on the test
    database and the test broker."""
    log = open(ROOT / "var" / "test-worker.log", "w")  # noqa: SIM115
    process = worker_start(
        node=session_worker_node(),
        queues="cpu,gpu,default",
        concurrency=2,
        env=worker_env(),
        log=log,
    )
    yield process
    process_stop(process)
    log.close()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(
        username="alice", password="pw-alice-1"
    )


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="bob", password="pw-bob-1")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="mod", password="pw-mod-1", is_staff=True
    )


@pytest.fixture
def portal(client, user):
    """The portal's browser session of `user` (Django's test client, logged in)."""
    client.force_login(user)
    return client


@pytest.fixture
def other_portal(other_user):
    from django.test import Client

    client = Client()
    client.force_login(other_user)
    return client


@pytest.fixture
def api(user) -> APIClient:
    return client_for(user)


@pytest.fixture
def other_api(other_user) -> APIClient:
    return client_for(other_user)


@pytest.fixture
def staff_api(staff_user) -> APIClient:
    return client_for(staff_user)
