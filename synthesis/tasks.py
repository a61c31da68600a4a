"""Celery tasks: ids in, a service call, the retry policy. Nothing else."""

import logging

from celery import shared_task

from synthesis.services import hit_counts, joins, runs

# A little past the lease's end, so the retried delivery finds it lapsed.
LEASE_MARGIN_S = 0.5
logger = logging.getLogger(__name__)


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    # The service bounds the engine runs (TTS_MAX_ATTEMPTS); a delivery that meets a
    # live lease retries until that run ends or its lease lapses.
    max_retries=None,
)
def artifact_synthesize_task(self, artifact_id: int) -> None:
    try:
        runs.artifact_synthesize(artifact_id=artifact_id)
    except runs.LeaseHeld as exc:
        raise self.retry(exc=exc, countdown=exc.remaining + LEASE_MARGIN_S) from exc
    except runs.TransientFailure as exc:
        # Exponential backoff: 1, 2, 4 ... s, at most a minute.
        countdown = min(60, 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def artifact_sweep_task() -> dict:
    # Runs every few seconds: a line only when it found something to recover.
    result = runs.artifact_sweep()
    if any(result.values()):
        logger.warning("sweeper recovered stuck work: %s", result)
    return result


@shared_task(acks_late=True, reject_on_worker_lost=True)
def artifact_join_task(artifact_id: int) -> None:
    joins.artifact_join(artifact_id=artifact_id)


@shared_task
def hit_counts_fold_task() -> int:
    return hit_counts.hit_counts_fold()
