"""Artifact hit counts: counted in Redis by the hot path (metrics.artifact_hit), added
to Artifact.hit_count and last_hit_at here, every 30 s by Celery beat.

A hit therefore writes no artifact row: concurrent hits of one popular text do not
queue on its row lock. The counts are informative (admin, moderation); what must hold
for every request, its history row, is written by the request itself."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import DateTimeField, F, Value
from django.db.models.functions import Coalesce, Greatest

from synthesis import metrics
from synthesis.models import Artifact

logger = logging.getLogger(__name__)


def hit_counts_fold() -> int:
    """Moves the counted hits into the artifact rows; returns how many hits it moved.

    The counters are read and deleted in one MULTI, so hits counted meanwhile start
    fresh counters; if the database write fails they are added back to Redis."""
    client = metrics.store()
    pipe = client.pipeline(transaction=True)
    pipe.hgetall(metrics.HIT_COUNTS)
    pipe.hgetall(metrics.HIT_LAST)
    pipe.delete(metrics.HIT_COUNTS, metrics.HIT_LAST)
    counts, lasts, _ = pipe.execute()
    if not counts:
        return 0
    hits = {int(k): int(v) for k, v in counts.items()}
    last = {int(k): int(v) for k, v in lasts.items()}
    try:
        with transaction.atomic():
            for artifact_id in sorted(hits):  # one lock order: no deadlocks
                seen = Value(
                    datetime.fromtimestamp(last.get(artifact_id, 0), tz=UTC),
                    output_field=DateTimeField(),
                )
                Artifact.objects.filter(pk=artifact_id).update(
                    hit_count=F("hit_count") + hits[artifact_id],
                    last_hit_at=Greatest(Coalesce("last_hit_at", seen), seen),
                )
    except Exception:
        restore = client.pipeline(transaction=True)
        for artifact_id, count in hits.items():
            restore.hincrby(metrics.HIT_COUNTS, str(artifact_id), count)
        for artifact_id, when in last.items():
            restore.hset(metrics.HIT_LAST, str(artifact_id), when)
        restore.execute()
        raise
    return sum(hits.values())
