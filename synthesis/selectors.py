"""Reads, with ownership built in: someone else's object is a 404."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db.models import Count, Q, Sum
from django.http import Http404
from django.utils import timezone

from .models import Artifact, SynthesisRequest

Outcome = SynthesisRequest.Cache


def synthesis_get(*, user, synthesis_id) -> SynthesisRequest:
    try:
        pk = uuid.UUID(str(synthesis_id))
    except ValueError:
        raise Http404 from None
    request = (
        SynthesisRequest.objects.select_related("artifact")
        .filter(pk=pk, user=user)
        .first()
    )
    if request is None:
        raise Http404
    return request


def synthesis_list(
    *,
    user,
    search: str = "",
    status: str = "",
    cache: str = "",
    voice: str = "",
):
    queryset = SynthesisRequest.objects.select_related("artifact").filter(user=user)
    if search:
        queryset = queryset.filter(text__icontains=search)
    if status:
        queryset = queryset.filter(artifact__status=status)
    if cache:
        queryset = queryset.filter(cache=cache)
    if voice:
        queryset = queryset.filter(voice_ref=voice)
    return queryset.order_by("-created_at")


def _month_start(now):
    return now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def _next_month(start):
    return (start.replace(day=28) + timezone.timedelta(days=4)).replace(day=1)


def user_quota(*, user) -> dict:
    """Characters this month. Cache hits are free: only misses cost engine time."""
    start = _month_start(timezone.now())
    used = (
        SynthesisRequest.objects.filter(user=user, created_at__gte=start)
        .exclude(cache=Outcome.HIT)
        .aggregate(total=Sum("characters"))["total"]
    )
    limit = user.monthly_character_limit
    return {
        "characters_limit": limit
        if limit is not None
        else settings.TTS_MONTHLY_CHARACTERS,
        "characters_used": used or 0,
        "period_end": _next_month(start).isoformat(),
    }


def user_usage(*, user) -> dict:
    counts = SynthesisRequest.objects.filter(user=user).aggregate(
        requests=Count("pk"),
        hits=Count("pk", filter=Q(cache=Outcome.HIT)),
        misses=Count("pk", filter=Q(cache=Outcome.MISS)),
        coalesced=Count("pk", filter=Q(cache=Outcome.COALESCED)),
    )
    return counts


def platform_stats() -> dict:
    requests = SynthesisRequest.objects.aggregate(
        requests=Count("pk"),
        hits=Count("pk", filter=Q(cache=Outcome.HIT)),
        misses=Count("pk", filter=Q(cache=Outcome.MISS)),
        coalesced=Count("pk", filter=Q(cache=Outcome.COALESCED)),
        # Engine time the repeats did not spend: the run they reused, once each.
        engine_seconds_saved=Sum(
            "artifact__engine_seconds", filter=~Q(cache=Outcome.MISS)
        ),
    )
    artifacts = Artifact.objects.aggregate(
        artifacts=Count("pk", filter=Q(status=Artifact.Status.SUCCEEDED)),
        engine_runs=Sum("attempts"),
        engine_failures=Count("pk", filter=Q(status=Artifact.Status.FAILED)),
        engine_seconds=Sum("engine_seconds"),
        bytes_stored=Sum("bytes", filter=Q(status=Artifact.Status.SUCCEEDED)),
    )
    total = requests["requests"] or 0
    served = (requests["hits"] or 0) + (requests["coalesced"] or 0)
    return {
        "requests": total,
        "hits": requests["hits"],
        "misses": requests["misses"],
        "coalesced": requests["coalesced"],
        "hit_ratio": round(served / total, 4) if total else 0.0,
        "engine_runs": artifacts["engine_runs"] or 0,
        "engine_failures": artifacts["engine_failures"],
        "engine_seconds": round(artifacts["engine_seconds"] or 0.0, 3),
        "engine_seconds_saved": round(requests["engine_seconds_saved"] or 0.0, 3),
        "artifacts": artifacts["artifacts"],
        "bytes_stored": artifacts["bytes_stored"] or 0,
    }
