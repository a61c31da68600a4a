"""Single flight on the request path: one artifact per fingerprint, and exactly one
request that enqueues its run (docs/architecture.md "The request path").

PostgreSQL decides, not Redis: `INSERT ... ON CONFLICT (fingerprint) DO NOTHING` lets one
request win; a failed, purged or lost artifact is re-queued by a conditional UPDATE that
likewise only one request wins. Every function here runs in the caller's transaction."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from synthesis import metrics, storage
from synthesis.models import Artifact, SynthesisRequest

logger = logging.getLogger(__name__)

Status = Artifact.Status
Outcome = SynthesisRequest.Cache


@dataclass(frozen=True)
class ArtifactRow:
    """The columns of a new artifact besides its fingerprint and inputs."""

    engine: str
    model_version: str
    sample_rate: int
    kind: str = Artifact.Kind.RUN


def _hit_select() -> str:
    # Every column but the inputs (the answer does not need them): the inputs are
    # deferred on the instance, as with .defer("inputs").
    columns = ", ".join(
        connection.ops.quote_name(field.column)
        for field in Artifact._meta.concrete_fields
        if field.column and field.name != "inputs"
    )
    table = connection.ops.quote_name(Artifact._meta.db_table)
    return f"SELECT {columns} FROM {table} WHERE id = %s AND fingerprint = %s"


_HIT_SELECT = _hit_select()


def artifact_for_pointer(artifact_id: int, fingerprint: str) -> Artifact | None:
    """The artifact a Redis pointer names, if it still has that fingerprint: the hit
    path's one SELECT, written out once here because building it through the ORM on
    every hit costs more than running it (benchmark 1, docs/benchmarks.md)."""
    return next(
        iter(Artifact.objects.raw(_HIT_SELECT, [artifact_id, fingerprint])), None
    )


def count_hit(queryset) -> int:
    """Counts a hit of each succeeded artifact in `queryset`; returns how many there
    were, which proves a pointer still current. One indexed SELECT, no row lock and no
    write: the counts go to Redis and a periodic task adds them to the rows
    (hit_counts.py), so hits of one popular text do not queue on its row."""
    ids = list(queryset.filter(status=Status.SUCCEEDED).values_list("pk", flat=True))
    for artifact_id in ids:
        metrics.artifact_hit(artifact_id=artifact_id)
    return len(ids)


def artifact_get_or_claim(
    fingerprint: str, inputs: dict, row: ArtifactRow
) -> tuple[Artifact, str]:
    """Within the caller's transaction: (artifact, cache outcome). MISS means this call
    inserted or re-queued the artifact and its caller must enqueue the run (on commit);
    COALESCED, that a run is in flight; HIT, that the audio (or a tombstone) is there."""
    inserted = artifact_insert(fingerprint, inputs, row)
    if inserted is not None:
        return inserted, Outcome.MISS
    # The insert lost: the row exists and, under READ COMMITTED, is visible now that
    # the winning transaction has committed.
    artifact = Artifact.objects.get(fingerprint=fingerprint)
    if artifact.status == Status.SUCCEEDED:
        if storage.exists(artifact.audio_name):
            count_hit(Artifact.objects.filter(pk=artifact.pk))
            return artifact, Outcome.HIT
        logger.warning(
            "audio of artifact %s is missing; producing it again", artifact.pk
        )
        return artifact_requeue(artifact, from_statuses=[Status.SUCCEEDED])
    if artifact.status in (Status.FAILED, Status.PURGED):
        return artifact_requeue(artifact, from_statuses=[Status.FAILED, Status.PURGED])
    if artifact.status == Status.BLOCKED:
        return artifact, Outcome.HIT  # the tombstone answers; nothing is synthesized
    return artifact, Outcome.COALESCED


def artifact_requeue(artifact: Artifact, *, from_statuses) -> tuple[Artifact, str]:
    """Conditional reset to queued: of concurrent requests, exactly one wins the UPDATE
    and enqueues; the others join its run."""
    won = Artifact.objects.filter(pk=artifact.pk, status__in=from_statuses).update(
        status=Status.QUEUED,
        audio_name="",
        error_code="",
        error_message="",
        started_at=None,
        finished_at=None,
    )
    artifact.refresh_from_db()
    return artifact, (Outcome.MISS if won else Outcome.COALESCED)


def artifact_insert(
    fingerprint: str, inputs: dict, row: ArtifactRow
) -> Artifact | None:
    """INSERT ... ON CONFLICT (fingerprint) DO NOTHING RETURNING id: the new artifact,
    or None when the fingerprint exists (or a concurrent insert of it committed)."""
    artifact = Artifact(
        fingerprint=fingerprint,
        kind=row.kind,
        status=Status.QUEUED,
        engine=row.engine,
        model_version=row.model_version,
        inputs=inputs,
        sample_rate=row.sample_rate,
        created_at=timezone.now(),
    )
    fields = [f for f in Artifact._meta.concrete_fields if not f.primary_key]
    # Concrete fields are the ones with a column (the stubs type it optional).
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields if f.column)
    placeholders = ", ".join(["%s"] * len(fields))
    values = [
        f.get_db_prep_save(getattr(artifact, f.attname), connection) for f in fields
    ]
    sql = (
        f"INSERT INTO {connection.ops.quote_name(Artifact._meta.db_table)} "
        f"({columns}) VALUES ({placeholders}) "
        f"ON CONFLICT ({connection.ops.quote_name('fingerprint')}) DO NOTHING RETURNING id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        inserted = cursor.fetchone()
    if inserted is None:
        return None
    artifact.pk = inserted[0]
    return artifact
