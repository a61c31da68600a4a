"""What happens when Redis forgets, files vanish, workers die or deliver twice."""

import pytest
from django.db import transaction
from django.utils import timezone

from synthesis import cache, storage
from synthesis import fingerprint as fp
from synthesis.engines import get_engine
from synthesis.models import Artifact
from synthesis.services import artifacts, quota, runs, syntheses
from synthesis.tasks import artifact_synthesize_task
from tests.support.api import audio_bytes, synthesize

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]


def test_a_flushed_cache_still_hits_from_postgres_and_rewarms(api, results_redis):
    first = synthesize(api, text="Remember me.").json()
    key = f"tts:v1:{first['fingerprint']}"
    assert results_redis.exists(key)

    results_redis.flushdb()
    second = synthesize(api, text="Remember me.")
    assert second["X-Cache"] == "HIT"
    assert results_redis.exists(key)  # re-warmed
    assert Artifact.objects.get().attempts == 1
    assert audio_bytes(api, second.json()) == audio_bytes(api, first)


def test_a_lost_file_is_noticed_on_download_and_produced_again_once(api, results_redis):
    first = synthesize(api, text="My file will vanish.").json()
    artifact = Artifact.objects.get()
    original = storage.open_file(artifact.audio_name).read()
    storage.delete(artifact.audio_name)

    # The pointer proves the file to the hit path (no stat per hit) ...
    hit = synthesize(api, text="My file will vanish.").json()
    assert hit["cache"] == "hit"
    # ... until a download finds it gone and drops the pointer.
    assert api.get(hit["audio_url"]).status_code == 410
    assert not results_redis.exists(cache.pointer_key(artifact.fingerprint))

    again = synthesize(api, text="My file will vanish.")
    assert again.status_code == 200
    assert again["X-Cache"] == "MISS"
    assert again.json()["status"] == "succeeded"
    third = synthesize(api, text="My file will vanish.")
    assert third["X-Cache"] == "HIT"
    artifact.refresh_from_db()
    assert artifact.attempts == 2
    # Deterministic engine: the replacement is the same audio, and old links work.
    assert audio_bytes(api, first) == original


def test_a_pointer_naming_an_unknown_artifact_is_ignored(api):
    engine = get_engine("espeak")
    inputs = _espeak_inputs("Stale pointer.", "en-us")
    ghost = Artifact(
        pk=987654,
        fingerprint=fp.fingerprint_of(inputs),
        audio_name="audio/xx/ghost.wav",
        engine="espeak",
        model_version=engine.identity(),
        duration_s=1.0,
        finished_at=timezone.now(),
    )
    storage.write_atomic(ghost.audio_name, b"RIFF")
    cache.pointer_set(ghost)

    response = synthesize(api, text="Stale pointer.")
    assert response.status_code == 200
    assert response["X-Cache"] == "MISS"
    assert Artifact.objects.get().pk != ghost.pk


def test_without_redis_requests_are_answered_from_postgres(api, settings):
    synthesize(api, text="Redis goes away.")
    settings.CACHES = {
        **settings.CACHES,
        "results": {
            **settings.CACHES["results"],
            "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens there
        },
    }
    repeat = synthesize(api, text="Redis goes away.")
    assert repeat.status_code == 200
    assert repeat["X-Cache"] == "HIT"
    fresh = synthesize(api, text="Redis is still away.")
    assert fresh.status_code == 200
    assert fresh["X-Cache"] == "MISS"
    assert fresh.json()["status"] == "succeeded"


def test_a_redelivered_task_does_not_run_the_engine_twice(api):
    synthesize(api, text="Delivered twice.")
    artifact = Artifact.objects.get()
    assert artifact.attempts == 1
    # The same message again, as a broker redelivery would hand it over.
    runs.artifact_synthesize(artifact_id=artifact.pk)
    artifact_synthesize_task.apply(args=[artifact.pk])
    artifact.refresh_from_db()
    assert artifact.attempts == 1
    assert artifact.status == Artifact.Status.SUCCEEDED


def test_a_duplicate_delivery_during_a_live_lease_waits_for_it(api):
    response = api.post("/api/v1/syntheses", {"text": "Running now."}, format="json")
    artifact = Artifact.objects.get(fingerprint=response["X-Fingerprint"])
    syntheses.synthesis_wait(request=_request(response), timeout=30)
    # Pretend another worker holds the run: a second delivery must not claim it, and
    # is told how long the lease has left.
    Artifact.objects.filter(pk=artifact.pk).update(
        status=Artifact.Status.RUNNING,
        lease_expires_at=timezone.now() + timezone.timedelta(seconds=20),
    )
    with pytest.raises(runs.LeaseHeld) as held:
        runs.artifact_synthesize(artifact_id=artifact.pk)
    assert 15 < held.value.remaining <= 20
    artifact.refresh_from_db()
    assert artifact.status == Artifact.Status.RUNNING
    assert artifact.attempts == 1


def test_a_delivery_takes_over_a_run_whose_lease_expired(api):
    response = api.post("/api/v1/syntheses", {"text": "Lapsed."}, format="json")
    syntheses.synthesis_wait(request=_request(response), timeout=30)
    artifact = Artifact.objects.get()
    Artifact.objects.filter(pk=artifact.pk).update(
        status=Artifact.Status.RUNNING,
        lease_expires_at=timezone.now() - timezone.timedelta(seconds=1),
    )
    runs.artifact_synthesize(artifact_id=artifact.pk)
    artifact.refresh_from_db()
    assert artifact.status == Artifact.Status.SUCCEEDED
    assert artifact.attempts == 2
    assert artifact.lease_expires_at is None


def test_a_delivery_fails_a_dead_run_out_of_attempts_and_refunds(api, settings):
    response = api.post("/api/v1/syntheses", {"text": "Out of tries."}, format="json")
    syntheses.synthesis_wait(request=_request(response), timeout=30)
    Artifact.objects.filter(fingerprint=response["X-Fingerprint"]).update(
        status=Artifact.Status.RUNNING,
        attempts=settings.TTS_MAX_ATTEMPTS,
        lease_expires_at=timezone.now() - timezone.timedelta(seconds=1),
    )
    used = quota.characters_used(user=_request(response).user)
    runs.artifact_synthesize(artifact_id=Artifact.objects.get().pk)
    artifact = Artifact.objects.get()
    assert artifact.status == Artifact.Status.FAILED
    assert artifact.error_code == "timed_out"
    assert artifact.attempts == settings.TTS_MAX_ATTEMPTS
    assert quota.characters_used(user=_request(response).user) < used


def test_the_sweeper_leaves_a_live_lease_alone(api):
    response = api.post("/api/v1/syntheses", {"text": "Alive."}, format="json")
    syntheses.synthesis_wait(request=_request(response), timeout=30)
    old = timezone.now() - timezone.timedelta(hours=1)
    Artifact.objects.filter(fingerprint=response["X-Fingerprint"]).update(
        status=Artifact.Status.RUNNING,
        started_at=old,
        created_at=old,
        lease_expires_at=timezone.now() + timezone.timedelta(seconds=20),
    )
    assert runs.artifact_sweep() == {"failed": 0, "requeued": 0, "reenqueued": 0}
    assert Artifact.objects.get().status == Artifact.Status.RUNNING


def test_the_sweeper_recovers_a_run_whose_worker_died(api, settings):
    response = synthesize(api, text="The worker died.")
    artifact = Artifact.objects.get(fingerprint=response["X-Fingerprint"])
    long_ago = timezone.now() - timezone.timedelta(
        seconds=settings.TTS_TASK_TIME_LIMIT * 2
    )
    Artifact.objects.filter(pk=artifact.pk).update(
        status=Artifact.Status.RUNNING, started_at=long_ago, created_at=long_ago
    )
    result = runs.artifact_sweep()
    assert result["requeued"] == 1
    assert result["reenqueued"] == 1
    syntheses.synthesis_wait(request=_request(response), timeout=30)
    artifact.refresh_from_db()
    assert artifact.status == Artifact.Status.SUCCEEDED
    assert artifact.attempts == 2


def test_the_sweeper_fails_a_run_that_keeps_dying(api, settings):
    response = synthesize(api, text="Poison.")
    long_ago = timezone.now() - timezone.timedelta(
        seconds=settings.TTS_TASK_TIME_LIMIT * 2
    )
    Artifact.objects.filter(fingerprint=response["X-Fingerprint"]).update(
        status=Artifact.Status.RUNNING,
        started_at=long_ago,
        attempts=settings.TTS_MAX_ATTEMPTS,
    )
    assert runs.artifact_sweep()["failed"] == 1
    artifact = Artifact.objects.get()
    assert artifact.status == Artifact.Status.FAILED
    assert artifact.error_code == "timed_out"


def _row(engine, inputs) -> artifacts.ArtifactRow:
    return artifacts.ArtifactRow(
        engine=engine.name,
        model_version=inputs["model"],
        sample_rate=inputs["sample_rate"],
    )


def test_a_permanent_engine_error_fails_and_a_later_request_tries_again(user):
    engine = get_engine("espeak")
    inputs = _espeak_inputs("Unknown voice.", "klingon")
    with transaction.atomic():
        artifact, outcome = artifacts.artifact_get_or_claim(
            fp.fingerprint_of(inputs), inputs, _row(engine, inputs)
        )
    assert outcome == "miss"
    runs.artifact_synthesize(artifact_id=artifact.pk)
    artifact.refresh_from_db()
    assert artifact.status == Artifact.Status.FAILED
    assert artifact.error_code == "engine_error"
    assert "klingon" in artifact.error_message
    assert not cache.pointer_get(artifact.fingerprint)

    with transaction.atomic():
        retried, outcome = artifacts.artifact_get_or_claim(
            artifact.fingerprint, inputs, _row(engine, inputs)
        )
    assert outcome == "miss"
    assert retried.status == Artifact.Status.QUEUED


def test_a_worker_with_another_engine_build_refuses_the_work(api):
    response = api.post("/api/v1/syntheses", {"text": "Other build."}, format="json")
    syntheses.synthesis_wait(request=_request(response), timeout=30)
    artifact = Artifact.objects.get()
    Artifact.objects.filter(pk=artifact.pk).update(
        status=Artifact.Status.QUEUED, model_version="0" * 64
    )
    runs.artifact_synthesize(artifact_id=artifact.pk)
    artifact.refresh_from_db()
    assert artifact.status == Artifact.Status.FAILED
    assert "differs" in artifact.error_message


def _espeak_inputs(text: str, voice: str) -> dict:
    return fp.canonical_inputs(
        engine="espeak",
        model=get_engine("espeak").identity(),
        text=text,
        voice=fp.builtin_voice(voice),
        seed=42,
        sample_rate=24000,
    )


def _request(response):
    from synthesis.models import SynthesisRequest

    return SynthesisRequest.objects.select_related("artifact").get(
        pk=response.json()["id"]
    )


def test_after_a_redis_failure_the_cache_is_skipped_for_a_while(
    settings, results_redis
):
    from synthesis import cache as result_cache

    real = settings.CACHES["results"]
    settings.CACHES = {
        **settings.CACHES,
        "results": {**real, "LOCATION": "redis://127.0.0.1:9/0"},
    }
    assert result_cache.pointer_get("a" * 64) is None
    assert result_cache.backing_off()

    settings.CACHES = {**settings.CACHES, "results": real}
    results_redis.set(
        "tts:v1:" + "a" * 64,
        '{"artifact_id": 1, "audio_name": "x", "engine": "espeak", '
        '"model_version": "m", "duration_s": 1.0, "finished_at": ""}',
    )
    assert result_cache.pointer_get("a" * 64) is None  # not asked while backing off
    result_cache.backoff_reset()
    assert not result_cache.backing_off()
    assert result_cache.pointer_get("a" * 64).artifact_id == 1
