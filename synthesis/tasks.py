"""Celery tasks: ids in, a service call, the retry policy. Nothing else."""

from celery import shared_task
from django.conf import settings

from synthesis.services import joins, runs


@shared_task(
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=settings.TTS_MAX_ATTEMPTS,
)
def artifact_synthesize_task(self, artifact_id: int) -> None:
    final = self.request.retries >= self.max_retries
    try:
        runs.artifact_synthesize(artifact_id=artifact_id, final_attempt=final)
    except runs.TransientFailure as exc:
        # Exponential backoff with jitter: 1, 2, 4 ... s, at most a minute.
        countdown = min(60, 2**self.request.retries)
        raise self.retry(exc=exc, countdown=countdown) from exc


@shared_task
def artifact_sweep_task() -> dict:
    return runs.artifact_sweep()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def artifact_join_task(artifact_id: int) -> None:
    joins.artifact_join(artifact_id=artifact_id)
