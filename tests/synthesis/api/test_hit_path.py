"""The hit path at its cost: an authenticated request plus one Redis read, one indexed
SELECT and the history INSERT. Hit counts go to Redis and are folded into Postgres by
a periodic task; a request's metrics go to Redis in one pipelined call."""

import time

import psycopg
import pytest
from django.db import OperationalError, connection

from synthesis import cache, metrics
from synthesis.models import Artifact, SynthesisRequest
from synthesis.services import hit_counts
from synthesis.services.artifacts import artifact_for_pointer
from tests.support.api import synthesize
from tests.support.worker import database_url

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]


@pytest.fixture(autouse=True)
def _no_leftover_hit_counts():
    hit_counts.hit_counts_fold()  # counts of earlier tests' artifacts


def pointer_written(results_redis, fingerprint: str) -> bool:
    """The worker sets the pointer just after it marks the artifact done."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if results_redis.exists(cache.pointer_key(fingerprint)):
            return True
        time.sleep(0.02)
    return False


def test_a_hit_is_one_select_and_one_insert(
    api, results_redis, django_assert_max_num_queries
):
    miss = synthesize(api, text="Pinned queries.")
    assert miss["X-Cache"] == "MISS"
    assert pointer_written(results_redis, miss["X-Fingerprint"])
    api.get("/api/v1/me")  # the key is remembered from here on

    with django_assert_max_num_queries(2) as queries:
        hit = api.post("/api/v1/syntheses", {"text": "Pinned queries."}, format="json")
    assert hit.status_code == 200 and hit["X-Cache"] == "HIT"
    sql = [q["sql"].split()[0] for q in queries.captured_queries]
    assert sql == ["SELECT", "INSERT"], queries.captured_queries
    # No row lock and no write on the artifact: its count waits for the fold.
    assert Artifact.objects.get().hit_count == 0
    assert SynthesisRequest.objects.filter(cache="hit").count() == 1


def test_the_pointers_artifact_must_carry_the_pointers_fingerprint(api):
    synthesize(api, text="Named by its pointer.")
    artifact = Artifact.objects.get()
    found = artifact_for_pointer(artifact.pk, artifact.fingerprint)
    assert found is not None and found.pk == artifact.pk
    assert found.status == artifact.status and found.audio_name == artifact.audio_name
    assert found.get_deferred_fields() == {"inputs"}
    assert found.inputs == artifact.inputs  # loaded when asked for
    assert artifact_for_pointer(artifact.pk, "0" * 64) is None
    assert artifact_for_pointer(artifact.pk + 1000, artifact.fingerprint) is None


def test_hits_counted_in_redis_are_folded_into_the_artifact(api):
    synthesize(api, text="Counted later.")
    for _ in range(3):
        assert synthesize(api, text="Counted later.")["X-Cache"] == "HIT"
    artifact = Artifact.objects.get()
    assert (artifact.hit_count, artifact.last_hit_at) == (0, None)

    assert hit_counts.hit_counts_fold() == 3
    artifact.refresh_from_db()
    assert artifact.hit_count == 3
    assert artifact.last_hit_at is not None
    assert hit_counts.hit_counts_fold() == 0  # moved, not copied
    artifact.refresh_from_db()
    assert artifact.hit_count == 3


def test_a_fold_that_fails_gives_the_counts_back(api):
    synthesize(api, text="Folded twice.")
    synthesize(api, text="Folded twice.")
    artifact = Artifact.objects.get()
    # A real failure: another transaction holds the artifact's row lock and this
    # connection gives up waiting for it.
    with psycopg.connect(database_url(), autocommit=False) as other:
        other.execute(
            "SELECT 1 FROM synthesis_artifact WHERE id = %s FOR UPDATE", [artifact.pk]
        )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            with pytest.raises(OperationalError):
                hit_counts.hit_counts_fold()
        finally:
            with connection.cursor() as cursor:
                cursor.execute("SET lock_timeout = 0")
        other.rollback()
    assert hit_counts.hit_counts_fold() == 1
    artifact.refresh_from_db()
    assert artifact.hit_count == 1


def test_a_requests_metrics_are_sent_in_one_pipelined_call(api, monkeypatch):
    synthesize(api, text="One round trip.")
    calls = []
    real = metrics._execute

    def counted(fills):
        calls.append(len(fills))
        real(fills)

    monkeypatch.setattr(metrics, "_execute", counted)
    hit = api.post("/api/v1/syntheses", {"text": "One round trip."}, format="json")
    assert hit["X-Cache"] == "HIT"
    # request counter, hit count, request duration: three writes, one call.
    assert calls == [3]
    broker = metrics.store()
    artifact = Artifact.objects.get()
    assert int(broker.hget(metrics.HIT_COUNTS, str(artifact.pk))) == 1
