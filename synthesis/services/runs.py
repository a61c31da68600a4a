"""The worker path: claim an artifact, run its engine, check and store the audio, and
the sweeper that recovers work a lost worker or broker left behind
(docs/architecture.md "The worker path")."""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from synthesis import cache, metrics, storage
from synthesis.audio import gate, pcm, timestretch
from synthesis.engines import EngineError, get_engine
from synthesis.models import Artifact, SynthesisRequest

from . import joins, quota
from .voices import engine_voice_input

logger = logging.getLogger(__name__)

Status = Artifact.Status
Outcome = SynthesisRequest.Cache


def artifact_enqueue(artifact_id: int, queue: str, priority: int | None = None) -> None:
    """`priority`: the broker's (0 first); a script's later segments go behind every
    synthesis' first (services/scripts.py segment_priority)."""
    from synthesis.tasks import artifact_synthesize_task

    artifact_synthesize_task.apply_async(
        args=[artifact_id], queue=queue, priority=priority
    )


class TransientFailure(Exception):
    """The run failed in a way worth retrying; the artifact is queued again."""


def artifact_synthesize(*, artifact_id: int, final_attempt: bool = False) -> None:
    """Runs the engine for one artifact, at most once per claim.

    Idempotent: the conditional UPDATE queued -> running lets exactly one delivery of
    the task proceed; a redelivered or duplicate task finds nothing to claim and stops.
    `attempts` fences the final write, so a run that lost its claim cannot overwrite a
    newer one."""
    artifact = artifact_claim(artifact_id)
    if artifact is None:
        return
    started = time.perf_counter()
    outcome, saved, seconds = "failed", 0.0, None
    try:
        outcome, saved, seconds = _artifact_run(artifact, final_attempt)
    except TransientFailure:
        outcome = "retried"
        raise
    finally:
        metrics.engine_run(
            engine=artifact.engine,
            outcome=outcome,
            seconds=seconds if seconds is not None else time.perf_counter() - started,
            seconds_saved=saved,
        )


def _artifact_run(
    artifact: Artifact, final_attempt: bool
) -> tuple[str, float, float | None]:
    """(outcome, engine seconds saved by the requests that joined this run, engine
    seconds of a successful run as recorded on the artifact)."""
    attempt = artifact.attempts
    give_up = final_attempt or attempt >= settings.TTS_MAX_ATTEMPTS
    try:
        data, duration, engine_seconds = _render(artifact)
        name = storage.artifact_audio_name(artifact.fingerprint)
        storage.write_atomic(name, data)
    except EngineError as error:
        if error.permanent or give_up:
            _artifact_fail(artifact, attempt, "engine_error", str(error))
            return "failed", 0.0, None
        _artifact_release(artifact, attempt, str(error))
        raise TransientFailure(str(error)) from error
    except gate.AudioRejected as error:
        _artifact_fail(artifact, attempt, error.code, str(error))
        return "failed", 0.0, None
    except Exception as error:
        # Storage, resampling, a time limit: worth another try, then a clear failure
        # instead of a run left "running" until the sweeper finds it.
        logger.exception("rendering artifact %s failed", artifact.pk)
        if give_up:
            _artifact_fail(artifact, attempt, "internal_error", str(error))
            return "failed", 0.0, None
        _artifact_release(artifact, attempt, str(error))
        raise TransientFailure(str(error)) from error
    now = timezone.now()
    with transaction.atomic():
        done = Artifact.objects.filter(
            pk=artifact.pk, status=Status.RUNNING, attempts=attempt
        ).update(
            status=Status.SUCCEEDED,
            audio_name=name,
            duration_s=duration,
            bytes=len(data),
            engine_seconds=engine_seconds,
            finished_at=now,
            error_code="",
            error_message="",
        )
        if done:
            artifact.refresh_from_db()
            transaction.on_commit(lambda: cache.pointer_set(artifact))
            transaction.on_commit(lambda: cache.stored_publish(artifact.fingerprint))
            transaction.on_commit(lambda: joins.after_part_succeeded(artifact))
    if not done:
        return "superseded", 0.0, None  # the claim was lost to a newer run
    # Requests that joined this run while it was in flight; later repeats are hits
    # and credit their saving themselves.
    joined = artifact.requests.filter(cache=Outcome.COALESCED).count()
    return "succeeded", joined * engine_seconds, engine_seconds


def artifact_claim(artifact_id: int) -> Artifact | None:
    """queued -> running for exactly one caller; `attempts` becomes its fence."""
    now = timezone.now()
    claimed = Artifact.objects.filter(pk=artifact_id, status=Status.QUEUED).update(
        status=Status.RUNNING, attempts=F("attempts") + 1, started_at=now
    )
    if not claimed:
        return None
    return Artifact.objects.get(pk=artifact_id)


def _render(artifact: Artifact) -> tuple[bytes, float, float]:
    """Engine run plus the checks and encoding of the master WAV:
    (WAV bytes, audio seconds, engine seconds)."""
    inputs = artifact.inputs
    engine = get_engine(artifact.engine)
    if engine.identity() != artifact.model_version:
        raise EngineError(
            "this worker's engine build differs from the one the request was "
            "fingerprinted for",
            permanent=True,
        )
    started = time.perf_counter()
    result = engine.synthesize(
        text=inputs["text"],
        voice=engine_voice_input(inputs["voice"]),
        seed=inputs["seed"],
    )
    engine_seconds = time.perf_counter() - started
    samples = pcm.resample(result.samples, result.sample_rate, artifact.sample_rate)
    gate.check_output(samples, artifact.sample_rate, text=inputs["text"])
    speed = inputs["params"].get("speed")
    if speed:
        samples = timestretch.stretch(samples, speed, artifact.sample_rate)
    duration = len(samples) / artifact.sample_rate
    return pcm.encode_wav(samples, artifact.sample_rate), duration, engine_seconds


@transaction.atomic
def _artifact_fail(artifact: Artifact, attempt: int, code: str, message: str) -> None:
    # Users see a fixed message per code (synthesis/run_errors.py); the detail is here.
    logger.warning("artifact %s failed: %s: %s", artifact.pk, code, message)
    failed = Artifact.objects.filter(
        pk=artifact.pk, status=Status.RUNNING, attempts=attempt
    ).update(
        status=Status.FAILED,
        error_code=code,
        error_message=message[:2000],
        finished_at=timezone.now(),
    )
    if failed:  # once per run: the fenced UPDATE changes the row only once
        quota.quota_refund(artifact_id=artifact.pk)
        artifact.error_code = code
        joins.after_part_failed(artifact)


def _artifact_release(artifact: Artifact, attempt: int, message: str) -> None:
    Artifact.objects.filter(
        pk=artifact.pk, status=Status.RUNNING, attempts=attempt
    ).update(status=Status.QUEUED, error_message=message[:2000])


def artifact_sweep(*, now=None) -> dict[str, int]:
    """Recovers work a lost worker or broker left behind: runs stuck past the hard time
    limit are queued again (or failed after TTS_MAX_ATTEMPTS); artifacts queued for
    longer than that are enqueued again (the claim makes a duplicate message harmless)."""
    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.TTS_TASK_TIME_LIMIT + 30)
    stuck = Artifact.objects.filter(status=Status.RUNNING, started_at__lt=stale)
    failed = stuck.filter(attempts__gte=settings.TTS_MAX_ATTEMPTS).update(
        status=Status.FAILED,
        error_code="timed_out",
        error_message="The engine run did not finish in time.",
        finished_at=now,
    )
    requeued = stuck.update(status=Status.QUEUED, started_at=None)
    waiting = list(
        Artifact.objects.filter(status=Status.QUEUED, created_at__lt=stale).values_list(
            "pk", "engine", "kind"
        )
    )
    for artifact_id, engine_name, kind in waiting:
        if kind == Artifact.Kind.JOIN:
            joins.join_enqueue(artifact_id)
        else:
            artifact_enqueue(artifact_id, get_engine(engine_name).queue)
    return {"failed": failed, "requeued": requeued, "reenqueued": len(waiting)}
