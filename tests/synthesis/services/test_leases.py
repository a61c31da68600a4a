"""Every accepted request ends, whatever crashes: real faults (kill -9, SIGSTOP, a
flushed broker, an unreachable broker) against two real Celery workers and a beat, on
a slowed-down engine (espeak-sim) and a short lease, so a takeover happens in seconds.
"""

from __future__ import annotations

import os
import signal
import time

import kombu.pools
import pytest
import redis
from django.conf import settings as django_settings
from django.db import connection

from synthesis.engines import get_engine
from synthesis.models import Artifact
from synthesis.tasks import artifact_synthesize_task
from tests.support.worker import (
    ROOT,
    beat_start,
    process_stop,
    session_worker_node,
    worker_env,
    worker_start,
)
from tts_platform.celery import app

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.worker]

LEASE_S = 3
SWEEP_S = 1
GRACE_S = 3
RTF = 1.5  # the engine holds the worker 1.5 x the audio's duration
# Room for a loaded machine (process start-up, a busy CPU) on top of every deadline.
SLACK_S = 20
QUEUES = ("cpu", "gpu", "default")
LONG_TEXT = (
    "The quick brown fox jumps over the lazy dog, and then it runs back home again."
)

NODES = (f"lease-a-{os.getpid()}@localhost", f"lease-b-{os.getpid()}@localhost")


@pytest.fixture(scope="module")
def lease_workers(django_db_setup, django_db_blocker):
    """Two workers (one pool process each) and a beat running the sweeper every
    second, all with a 3 s lease. The session's shared worker, if it runs, stops
    consuming meanwhile so that only these take the work."""
    for queue in QUEUES:
        app.control.cancel_consumer(queue, destination=[session_worker_node()])
    env = worker_env(
        TTS_ENGINE="espeak-sim",
        TTS_SIM_RTF=str(RTF),
        TTS_LEASE_SECONDS=str(LEASE_S),
        TTS_SWEEP_INTERVAL=str(SWEEP_S),
        TTS_QUEUED_GRACE=str(GRACE_S),
    )
    logs = {node: ROOT / "var" / f"test-{node.split('@')[0]}.log" for node in NODES}
    handles, processes = [], []
    try:
        for node in NODES:
            handles.append(open(logs[node], "w"))  # noqa: SIM115
            processes.append(
                worker_start(
                    node=node,
                    queues="gpu,default",
                    concurrency=1,
                    env=env,
                    log=handles[-1],
                )
            )
        handles.append(open(ROOT / "var" / "test-beat.log", "w"))  # noqa: SIM115
        schedule = ROOT / "var" / f"test-beat-{os.getpid()}"
        processes.append(beat_start(env=env, log=handles[-1], schedule=schedule))
        yield logs
    finally:
        for process in processes:
            process_stop(process)
        for handle in handles:
            handle.close()
        for queue in QUEUES:
            app.control.add_consumer(queue, destination=[session_worker_node()])
        get_engine.cache_clear()


@pytest.fixture(autouse=True)
def _short_lease(settings, lease_workers):
    settings.TTS_ENGINE = "espeak-sim"
    settings.TTS_SIM_RTF = RTF
    settings.TTS_LEASE_SECONDS = LEASE_S
    settings.TTS_QUEUED_GRACE = GRACE_S
    settings.TTS_SWEEP_INTERVAL = SWEEP_S


def test_a_pool_process_killed_mid_run_is_taken_over_after_its_lease(api):
    artifact = _submit(api, LONG_TEXT)
    running = _wait_for(artifact, lambda a: a.status == "running", 30)
    assert running.attempts == 1
    os.kill(_pool_pid_running(artifact), signal.SIGKILL)

    run_s = _run_seconds(LONG_TEXT)
    done = _wait_for(
        artifact,
        lambda a: a.status in Artifact.Status.TERMINAL,
        LEASE_S + SWEEP_S + run_s + SLACK_S,
    )
    assert done.status == "succeeded"
    assert done.attempts == 2  # the killed run and the takeover
    assert Artifact.objects.filter(fingerprint=done.fingerprint).count() == 1
    synthesis = api.get(f"/api/v1/syntheses/{artifact['id']}").json()
    assert synthesis["status"] == "succeeded"
    assert api.get(synthesis["audio_url"]).status_code == 200


def test_a_second_live_worker_never_steals_a_healthy_lease(api, lease_workers):
    artifact = _submit(api, LONG_TEXT + " Once more, slowly.")
    running = _wait_for(artifact, lambda a: a.status == "running", 30)
    first_lease = running.lease_expires_at
    # The same message twice more, as a broker redelivery or a sweep would send it:
    # the idle worker receives them while the run (longer than two leases) goes on.
    for _ in range(2):
        artifact_synthesize_task.apply_async(args=[running.pk], queue="gpu")
    renewed = _wait_for(
        artifact,
        lambda a: a.status != "running" or a.lease_expires_at > first_lease,
        LEASE_S + SLACK_S,
    )
    assert renewed.status == "running"  # the heartbeat renewed the lease

    done = _wait_for(artifact, lambda a: a.status in Artifact.Status.TERMINAL, 60)
    assert done.status == "succeeded"
    assert done.attempts == 1
    logs = "".join(path.read_text() for path in lease_workers.values())
    assert "leased for another" in logs  # a duplicate met the live lease and waited


def test_the_old_runs_late_write_after_a_takeover_is_refused(api):
    artifact = _submit(api, LONG_TEXT + " Paused.")
    _wait_for(artifact, lambda a: a.status == "running", 30)
    # A stalled process (swapped out, a long GC pause, a frozen VM): its heartbeat
    # stops with it, the lease lapses and the other worker takes the run over.
    stalled = _pool_pid_running(artifact)
    os.kill(stalled, signal.SIGSTOP)
    try:
        done = _wait_for(
            artifact,
            lambda a: a.status in Artifact.Status.TERMINAL,
            LEASE_S + SWEEP_S + _run_seconds(LONG_TEXT) + SLACK_S,
        )
    finally:
        os.kill(stalled, signal.SIGCONT)
    assert done.status == "succeeded"
    assert done.attempts == 2
    # The stalled run resumes, finishes its engine call and tries to write.
    deadline = time.monotonic() + 30
    while _pool_pid_running(artifact, must=False) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not _pool_pid_running(artifact, must=False)
    after = Artifact.objects.get(pk=done.pk)
    assert (after.status, after.attempts, after.finished_at, after.audio_name) == (
        "succeeded",
        2,
        done.finished_at,
        done.audio_name,
    )


def test_syntheses_queued_when_the_broker_loses_its_messages_all_end(api):
    texts = [f"Queued message number {n}, lost with the broker." for n in range(4)]
    submitted = [_submit(api, text) for text in texts]
    broker = redis.Redis.from_url(django_settings.CELERY_BROKER_URL)
    broker.flushdb()
    _client_kill_on_db(broker)
    flushed_at = time.monotonic()

    run_s = sum(_run_seconds(text) for text in texts)
    for synthesis in submitted:
        done = _wait_for(
            synthesis,
            lambda a: a.status in Artifact.Status.TERMINAL,
            GRACE_S + SWEEP_S + run_s + SLACK_S - (time.monotonic() - flushed_at),
        )
        assert done.status == "succeeded"
        assert done.attempts <= 2  # at most once more per fingerprint


def test_an_enqueue_that_fails_after_commit_still_answers_and_is_swept(api, caplog):
    with _broker_unreachable():
        response = api.post(
            "/api/v1/syntheses", {"text": "The broker is down."}, format="json"
        )
    assert response.status_code == 202
    assert response.json()["status"] == "queued"
    assert "the sweeper sends it later" in caplog.text
    done = _wait_for(
        response.json(),
        lambda a: a.status in Artifact.Status.TERMINAL,
        GRACE_S + SWEEP_S + _run_seconds("The broker is down.") + SLACK_S,
    )
    assert done.status == "succeeded"
    assert done.attempts == 1


def test_a_run_whose_database_connections_drop_still_writes_once(api):
    artifact = _submit(api, LONG_TEXT + " The database drops.")
    _wait_for(artifact, lambda a: a.status == "running", 30)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchall()  # the workers' connections, at least
    done = _wait_for(
        artifact,
        lambda a: a.status in Artifact.Status.TERMINAL,
        _run_seconds(LONG_TEXT) + SLACK_S,
    )
    assert done.status == "succeeded"
    assert done.attempts == 1  # reconnected for its write: no second engine run


# --- helpers ----------------------------------------------------------------------------


def _submit(api, text: str) -> dict:
    response = api.post("/api/v1/syntheses", {"text": text}, format="json")
    assert response.status_code == 202, response.content[:300]
    return response.json()


def _artifact(synthesis: dict) -> Artifact:
    return Artifact.objects.get(fingerprint=synthesis["fingerprint"])


def _wait_for(synthesis: dict, condition, timeout: float) -> Artifact:
    deadline = time.monotonic() + timeout
    while True:
        artifact = _artifact(synthesis)
        if condition(artifact) or time.monotonic() > deadline:
            assert condition(artifact), (artifact.status, artifact.attempts)
            return artifact
        time.sleep(0.1)


def _run_seconds(text: str) -> float:
    """The simulated engine's time for `text` (espeak speaks ~13 characters a second)."""
    return RTF * len(text) / 10


def _pool_pid_running(synthesis: dict, *, must: bool = True) -> int | None:
    """The pool process running this artifact's task, as its worker reports it."""
    artifact_id = _artifact(synthesis).pk
    deadline = time.monotonic() + (10 if must else 0)
    while True:
        active = app.control.inspect(destination=list(NODES), timeout=1).active()
        for tasks in (active or {}).values():
            for task in tasks:
                if task["args"] in ([artifact_id], f"[{artifact_id}]", (artifact_id,)):
                    return task["worker_pid"]
        if time.monotonic() > deadline:
            assert not must, "no worker reports the task as active"
            return None


def _client_kill_on_db(broker: redis.Redis) -> None:
    """CLIENT KILL of every connection to the broker's database, as a broker restart
    would drop them (only this database's: the Redis server is shared)."""
    db = broker.connection_pool.connection_kwargs.get("db", 0)
    me = broker.client_id()
    for client in broker.client_list():
        if int(client["db"]) == db and int(client["id"]) != me:
            broker.client_kill_filter(_id=client["id"])
    _celery_reconnect()  # this process's own connections were among them


class _broker_unreachable:
    """Points this process's Celery producer at a port nothing listens on."""

    def __enter__(self):
        self.url = app.conf.broker_url
        self._reset("redis://127.0.0.1:9/0")

    def __exit__(self, *exc):
        self._reset(self.url)

    @staticmethod
    def _reset(url: str) -> None:
        app.conf.broker_url = url
        app.conf.broker_write_url = url
        _celery_reconnect()


def _celery_reconnect() -> None:
    """Drops this process's broker connections, so the next use opens new ones."""
    kombu.pools.reset()
    app._pool = None
    app.amqp._producer_pool = None
