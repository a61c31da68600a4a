"""The worker path: claim an artifact, run its engine, check and store the audio, and
the sweeper that recovers work a lost worker or broker left behind
(docs/operations.md)."""

from __future__ import annotations

import functools
import logging
import time
from datetime import timedelta

from django.conf import settings
from django.db import (
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import Q
from django.utils import timezone

from synthesis import cache, metrics, storage
from synthesis.audio import gate, pcm, timestretch
from synthesis.engines import EngineError, get_engine
from synthesis.models import Artifact, SynthesisRequest

from . import joins, quota

# The claim and the heartbeat are part of this module's interface: every task that
# writes an artifact's audio claims and holds it the same way.
from .leases import LeaseHeld, artifact_claim, lease_heartbeat
from .voices import engine_voice_input

logger = logging.getLogger(__name__)

Status = Artifact.Status
Outcome = SynthesisRequest.Cache


def artifact_enqueue(artifact_id: int, queue: str, priority: int | None = None) -> bool:
    """Sends the run's message; False when it could not be sent (broker down).
    `priority`: the broker's (0 first); a script's later segments go behind every
    synthesis' first (services/scripts.py segment_priority)."""
    from synthesis.tasks import artifact_synthesize_task

    return task_send(artifact_synthesize_task, artifact_id, queue, priority)


def task_send(task, artifact_id: int, queue: str, priority: int | None = None) -> bool:
    """Sends the message of a task that works on a queued artifact; False when it could
    not be sent (broker down).

    Called after the commit, so a failure here must not fail the request that was
    already accepted: it is logged, and the sweeper sends the message once the grace
    has passed. The queued row is marked first, so the sweeper sends it again only if
    no worker claimed it within the grace (a message lost with the broker)."""
    try:
        _mark_sent(artifact_id)
        task.apply_async(args=[artifact_id], queue=queue, priority=priority)
    except Exception:
        logger.exception(
            "enqueueing artifact %s failed; the sweeper sends it later", artifact_id
        )
        return False
    return True


def _mark_sent(artifact_id: int) -> None:
    Artifact.objects.filter(pk=artifact_id, status=Status.QUEUED).update(
        lease_expires_at=timezone.now() + timedelta(seconds=settings.TTS_QUEUED_GRACE)
    )


class TransientFailure(Exception):
    """The run failed in a way worth retrying; the artifact is queued again."""


def artifact_synthesize(*, artifact_id: int, final_attempt: bool = False) -> None:
    """Runs the engine for one artifact, at most once per claim.

    Idempotent: the claim (a conditional UPDATE) lets exactly one delivery of the task
    proceed; a redelivered or duplicate task finds nothing to claim and stops, or, while
    another run's lease is live, raises LeaseHeld so it can look again after it.
    `attempts` fences the final write, so a run that lost its lease cannot overwrite a
    newer one."""
    artifact = artifact_claim(artifact_id)
    if artifact is None:
        _unclaimed(artifact_id)
        return
    started = time.perf_counter()
    outcome, saved, seconds = "failed", 0.0, None
    try:
        with lease_heartbeat(artifact):
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


def _unclaimed(artifact_id: int) -> None:
    """Why a delivery found nothing to claim: another run's live lease (look again when
    it could have lapsed), a dead run out of attempts (fail it), or nothing to do."""
    artifact = Artifact.objects.filter(pk=artifact_id).first()
    if artifact is None or artifact.status != Status.RUNNING:
        return
    now = timezone.now()
    if artifact.lease_expires_at and artifact.lease_expires_at > now:
        raise LeaseHeld((artifact.lease_expires_at - now).total_seconds())
    _artifact_fail(
        artifact,
        artifact.attempts,
        "timed_out",
        "The engine run did not finish.",
        lease_before=now,
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
        if not _run_holds(artifact, attempt):
            # Taken over while the engine ran (this process stalled past its lease):
            # the newer run writes the file and the row.
            return "superseded", 0.0, None
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
    if not _artifact_succeed(artifact, attempt, name, data, duration, engine_seconds):
        return "superseded", 0.0, None  # the claim was lost to a newer run
    # Requests that joined this run while it was in flight; later repeats are hits
    # and credit their saving themselves.
    joined = artifact.requests.filter(cache=Outcome.COALESCED).count()
    return "succeeded", joined * engine_seconds, engine_seconds


def _reconnecting(write):
    """The run's fenced reads and writes survive one dropped database connection
    (a failover, pg_terminate_backend): reconnect and do it again. Each is conditional
    on the run's fence, so doing it twice changes nothing more than doing it once;
    the engine's work is not thrown away for a connection."""

    @functools.wraps(write)
    def wrapper(*args, **kwargs):
        try:
            return write(*args, **kwargs)
        except (OperationalError, InterfaceError):
            if connection.in_atomic_block:
                raise
            logger.warning("database connection lost; %s again", write.__name__)
            connection.close()
            return write(*args, **kwargs)

    return wrapper


@_reconnecting
@transaction.atomic
def _artifact_succeed(
    artifact: Artifact,
    attempt: int,
    name: str,
    data: bytes,
    duration: float,
    engine_seconds: float,
) -> bool:
    done = Artifact.objects.filter(
        pk=artifact.pk, status=Status.RUNNING, attempts=attempt
    ).update(
        status=Status.SUCCEEDED,
        audio_name=name,
        duration_s=duration,
        bytes=len(data),
        engine_seconds=engine_seconds,
        finished_at=timezone.now(),
        lease_expires_at=None,
        error_code="",
        error_message="",
    )
    if done:
        artifact.refresh_from_db()
        transaction.on_commit(lambda: cache.pointer_set(artifact))
        transaction.on_commit(lambda: cache.stored_publish(artifact.fingerprint))
        transaction.on_commit(lambda: joins.after_part_succeeded(artifact))
    return bool(done)


@_reconnecting
def _run_holds(artifact: Artifact, attempt: int) -> bool:
    return Artifact.objects.filter(
        pk=artifact.pk, status=Status.RUNNING, attempts=attempt
    ).exists()


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


@_reconnecting
@transaction.atomic
def _artifact_fail(
    artifact: Artifact, attempt: int, code: str, message: str, *, lease_before=None
) -> int:
    # Users see a fixed message per code (synthesis/run_errors.py); the detail is here.
    logger.warning("artifact %s failed: %s: %s", artifact.pk, code, message)
    run = Artifact.objects.filter(
        pk=artifact.pk, status=Status.RUNNING, attempts=attempt
    )
    if lease_before is not None:  # only a run whose lease lapsed (the sweeper's case)
        run = run.filter(
            Q(lease_expires_at__lt=lease_before) | Q(lease_expires_at__isnull=True)
        )
    failed = run.update(
        status=Status.FAILED,
        error_code=code,
        error_message=message[:2000],
        finished_at=timezone.now(),
        lease_expires_at=None,
    )
    if failed:  # once per run: the fenced UPDATE changes the row only once
        quota.quota_refund(artifact_id=artifact.pk)
        artifact.error_code = code
        joins.after_part_failed(artifact)
    return failed


@_reconnecting
def _artifact_release(artifact: Artifact, attempt: int, message: str) -> None:
    """Queued again for the task's retry; the sweeper leaves it to that retry for a
    grace period."""
    Artifact.objects.filter(
        pk=artifact.pk, status=Status.RUNNING, attempts=attempt
    ).update(
        status=Status.QUEUED,
        error_message=message[:2000],
        lease_expires_at=timezone.now() + timedelta(seconds=settings.TTS_QUEUED_GRACE),
    )


def _resend(artifact_id: int, engine_name: str, kind: str) -> bool:
    if kind == Artifact.Kind.JOIN:
        return joins.join_enqueue(artifact_id)
    try:
        queue = get_engine(engine_name).queue
    except LookupError:  # one unknown engine must not stop the others' sweep
        logger.warning(
            "engine %s is unknown here: its work is left queued", engine_name
        )
        return False
    return artifact_enqueue(artifact_id, queue)


def artifact_sweep(*, now=None) -> dict[str, int]:
    """Recovers work a lost worker or broker left behind, every TTS_SWEEP_INTERVAL:
    runs whose lease expired are queued again (or failed, with a refund, once they used
    TTS_MAX_ATTEMPTS), and queued artifacts whose message may be lost (no claim within
    the grace after it was sent) get their message again. A duplicate message is
    harmless: only one delivery wins the claim."""
    now = now or timezone.now()
    expired = Artifact.objects.filter(
        status=Status.RUNNING, lease_expires_at__lt=now
    ) | Artifact.objects.filter(status=Status.RUNNING, lease_expires_at__isnull=True)
    failed = requeued = 0
    for artifact in expired.only("pk", "attempts"):
        if artifact.attempts >= settings.TTS_MAX_ATTEMPTS:
            failed += _artifact_fail(
                artifact,
                artifact.attempts,
                "timed_out",
                "The engine run did not finish.",
                lease_before=now,
            )
        else:
            # Fenced on the run and its expired lease: a run renewed meanwhile stays.
            requeued += (
                Artifact.objects.filter(
                    pk=artifact.pk,
                    status=Status.RUNNING,
                    attempts=artifact.attempts,
                )
                .filter(Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True))
                .update(status=Status.QUEUED, lease_expires_at=None)
            )
    grace = now - timedelta(seconds=settings.TTS_QUEUED_GRACE)
    waiting = list(
        Artifact.objects.filter(status=Status.QUEUED)
        .filter(
            Q(lease_expires_at__lt=now)
            | Q(lease_expires_at__isnull=True, created_at__lt=grace)
            | Q(lease_expires_at__isnull=True, started_at__isnull=False)
        )
        .values_list("pk", "engine", "kind")
    )
    reenqueued = sum(_resend(*row) for row in waiting)
    result = {"failed": failed, "requeued": requeued, "reenqueued": reenqueued}
    if any(result.values()):
        logger.warning("sweep: %s", result)
    return result
