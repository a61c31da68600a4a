"""Monthly character quotas and the per-user limit of engine runs in flight.

Both are enforced in Postgres inside the synthesis_create transaction. The user's usage
row for the month is locked (SELECT ... FOR UPDATE), so concurrent requests of one user
are checked and charged one after the other; a rejection raises, and the rollback undoes
the whole request, artifact claim included, so nothing is enqueued or charged.

Only misses cost engine time, so only misses are charged and limited. Hits and requests
that join a run in flight (coalesced) are free unless TTS_QUOTA_CHARGE_HITS is set."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from django.conf import settings
from django.db import connection
from django.db.models import F
from django.utils import timezone

from accounts.models import CharacterUsage
from synthesis.models import Artifact, SynthesisRequest, SynthesisSegment
from synthesis.services.errors import LimitExceeded

IN_FLIGHT = (Artifact.Status.QUEUED, Artifact.Status.RUNNING)
# A run usually finishes within seconds; clients retry after this many.
CONCURRENCY_RETRY_AFTER = 2


def period_start(now: datetime | None = None) -> date:
    now = now or timezone.now()
    return now.astimezone(UTC).date().replace(day=1)


def period_end(start: date) -> datetime:
    year, month = (
        (start.year + 1, 1) if start.month == 12 else (start.year, start.month + 1)
    )
    return datetime(year, month, 1, tzinfo=UTC)


def character_limit(user) -> int:
    limit = user.monthly_character_limit
    return settings.TTS_MONTHLY_CHARACTERS if limit is None else limit


def quota_charge(
    *, user, characters: int, miss: bool, artifact_id: int | None = None
) -> None:
    """Charges `characters` to the user's month, or raises LimitExceeded
    (`quota_exceeded`, `too_many_concurrent_requests`) with Retry-After. A miss records
    the user as the starter of the run of `artifact_id` (Artifact.started_by).

    Must run inside the transaction that records the request: the row lock is held until
    it commits, which is what makes the check and the charge one atomic step."""
    if not miss and not settings.TTS_QUOTA_CHARGE_HITS:
        return
    if not connection.in_atomic_block:
        raise RuntimeError("quota_charge must run in the request's transaction")
    start = period_start()
    limit = character_limit(user)
    if characters > limit:
        _exceeded(characters, limit, 0, start)
    # INSERT ... ON CONFLICT DO NOTHING, then lock the row: the first request of a month
    # creates it, every request then serializes on it.
    CharacterUsage.objects.bulk_create(
        [CharacterUsage(user=user, period_start=start)], ignore_conflicts=True
    )
    usage = CharacterUsage.objects.select_for_update().get(
        user=user, period_start=start
    )
    if usage.characters + characters > limit:
        _exceeded(characters, limit, usage.characters, start)
    # The concurrency limit is a request-rate limit: RATELIMIT_ENABLE=false (load tests)
    # turns it off like the others. The character quota always applies.
    if miss and settings.RATELIMIT_ENABLE:
        # Under READ COMMITTED this count runs after the lock was granted, so it sees
        # every run started by the previous holder of the lock.
        _refuse_too_many_runs(user, exclude_artifact_id=artifact_id)
    if miss and artifact_id is not None:
        Artifact.objects.filter(pk=artifact_id).update(started_by=user)
    CharacterUsage.objects.filter(pk=usage.pk).update(
        characters=F("characters") + characters
    )


def runs_in_flight(user, *, exclude_artifact_id: int | None = None) -> int:
    """Runs the user started that are queued or running. Counted on the artifacts, not
    on the history: deleting a synthesis does not stop its run."""
    runs = Artifact.objects.filter(started_by=user, status__in=IN_FLIGHT)
    if exclude_artifact_id is not None:
        runs = runs.exclude(pk=exclude_artifact_id)
    return runs.count()


def _refuse_too_many_runs(user, *, exclude_artifact_id: int | None = None) -> None:
    in_flight = runs_in_flight(user, exclude_artifact_id=exclude_artifact_id)
    if in_flight >= settings.TTS_MAX_CONCURRENT_MISSES:
        raise LimitExceeded(
            "too_many_concurrent_requests",
            f"{in_flight} of your syntheses are still running; the limit is "
            f"{settings.TTS_MAX_CONCURRENT_MISSES}. Retry when one has finished.",
            retry_after=CONCURRENCY_RETRY_AFTER,
        )


def quota_precheck(*, user, characters: int) -> None:
    """The checks of quota_charge, without the lock and without charging: for work a
    request does before it reaches quota_charge (storing an uploaded clip), so a
    request that will be refused stores nothing. quota_charge still decides."""
    start = period_start()
    limit = character_limit(user)
    used = characters_used(user=user, start=start)
    if used + characters > limit:
        _exceeded(characters, limit, used, start)
    if settings.RATELIMIT_ENABLE:
        _refuse_too_many_runs(user)


def _exceeded(characters: int, limit: int, used: int, start: date):
    retry_after = math.ceil((period_end(start) - timezone.now()).total_seconds())
    raise LimitExceeded(
        "quota_exceeded",
        f"This request needs {characters} characters; {max(0, limit - used)} of your "
        f"{limit} monthly characters are left.",
        retry_after=max(1, retry_after),
    )


def quota_refund(*, artifact_id: int) -> None:
    """A run that failed delivered nothing: its characters go back to the miss that
    started it, which is the artifact's latest miss (a new miss only follows a failed or
    purged run). Runs in the caller's transaction, once per failed run."""
    miss = (
        SynthesisRequest.objects.filter(
            artifact_id=artifact_id, cache=SynthesisRequest.Cache.MISS
        )
        .order_by("-created_at")
        .values("user_id", "characters", "created_at")
        .first()
    )
    if miss is None:  # a script's segment: its characters were charged to the script
        segment = (
            SynthesisSegment.objects.filter(
                artifact_id=artifact_id, cache=SynthesisRequest.Cache.MISS
            )
            .order_by("-synthesis__created_at")
            .values("synthesis__user_id", "text", "synthesis__created_at")
            .first()
        )
        if segment is None:  # the history row was deleted meanwhile
            return
        miss = {
            "user_id": segment["synthesis__user_id"],
            "characters": len(segment["text"]),
            "created_at": segment["synthesis__created_at"],
        }
    CharacterUsage.objects.filter(
        user_id=miss["user_id"],
        period_start=period_start(miss["created_at"]),
        characters__gte=miss["characters"],
    ).update(characters=F("characters") - miss["characters"])


def characters_used(*, user, start: date | None = None) -> int:
    start = start or period_start()
    row = (
        CharacterUsage.objects.filter(user=user, period_start=start)
        .values_list("characters", flat=True)
        .first()
    )
    return row or 0
