"""A claimed run is a lease: the claim that lets exactly one delivery of a task run an
artifact's work, the heartbeat that keeps the claim while the work goes on, and the
fence (`attempts`) that every later write of the run must match. Any task that writes
an artifact's audio uses these (docs/operations.md)."""

from __future__ import annotations

import logging
import threading
from contextlib import contextmanager
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, close_old_connections, connection
from django.db.models import F, Q
from django.utils import timezone

from synthesis.models import Artifact

logger = logging.getLogger(__name__)

Status = Artifact.Status


class LeaseHeld(Exception):
    """Another worker's run holds a live lease on the artifact: try again once it could
    have lapsed (if that worker died, its run is taken over then)."""

    def __init__(self, remaining: float) -> None:
        super().__init__(f"leased for another {remaining:.1f} s")
        self.remaining = remaining


def artifact_claim(artifact_id: int) -> Artifact | None:
    """Claims an artifact for one run: a queued one, or a running one whose lease has
    expired (its worker died) while attempts remain. Sets a fresh lease and increments
    `attempts`, the fencing token every later write of this run must match. Returns the
    claimed artifact, or None when there is nothing to claim."""
    now = timezone.now()
    lapsed = Q(status=Status.RUNNING, attempts__lt=settings.TTS_MAX_ATTEMPTS) & (
        Q(lease_expires_at__lt=now) | Q(lease_expires_at__isnull=True)
    )
    claimed = (
        Artifact.objects.filter(pk=artifact_id)
        .filter(Q(status=Status.QUEUED) | lapsed)
        .update(
            status=Status.RUNNING,
            attempts=F("attempts") + 1,
            started_at=now,
            lease_expires_at=lease_end(now),
        )
    )
    if not claimed:
        return None
    return Artifact.objects.get(pk=artifact_id)


def lease_end(now):
    return now + timedelta(seconds=settings.TTS_LEASE_SECONDS)


@contextmanager
def lease_heartbeat(artifact: Artifact):
    """Renews the claim on `artifact` every third of the lease while the block runs,
    from a daemon thread, so the lease lapses soon after the process dies but never
    under a live run. The renewal is fenced like the final write: once another run has
    taken the artifact over, it stops."""
    stop = threading.Event()
    thread = threading.Thread(
        target=_renew_until,
        args=(artifact.pk, artifact.attempts, stop),
        name=f"lease-{artifact.pk}",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=5)


def _renew_until(artifact_id: int, attempt: int, stop: threading.Event) -> None:
    period = settings.TTS_LEASE_SECONDS / 3
    try:
        while not stop.wait(period):
            try:
                renewed = Artifact.objects.filter(
                    pk=artifact_id, attempts=attempt, status=Status.RUNNING
                ).update(lease_expires_at=lease_end(timezone.now()))
            except DatabaseError:
                # The database dropped the connection: try again next period.
                logger.warning("lease renewal of artifact %s failed", artifact_id)
                close_old_connections()
                continue
            if not renewed:
                return  # finished, released, or taken over: nothing left to hold
    finally:
        connection.close()  # this thread's own connection
