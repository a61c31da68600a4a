"""Reads, with ownership built in: someone else's object is a 404."""

from __future__ import annotations

import uuid

from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
from django.http import Http404

from .engines import Engine
from .engines.base import BuiltinVoice
from .models import Artifact, AuditEntry, Block, SynthesisRequest, Voice
from .services import quota
from .services.voices import builtin_ref, own_prompt_voice

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
    queryset = (
        SynthesisRequest.objects.select_related("artifact")
        .prefetch_related("segments__artifact")
        .filter(user=user)
    )
    if search:
        queryset = queryset.filter(text__icontains=search)
    if status:
        queryset = queryset.filter(artifact__status=status)
    if cache:
        queryset = queryset.filter(cache=cache)
    if voice:
        queryset = queryset.filter(voice_ref=voice)
    return queryset.order_by("-created_at")


def synthesis_history(*, user, **filters):
    """The history with repeats of the same audio grouped: one row per artifact (its
    newest matching request), annotated with `requests`, how many times this user
    asked for that audio."""
    rows = synthesis_list(user=user, **filters)
    newest = rows.filter(artifact=OuterRef("artifact")).order_by("-created_at")
    asked = (
        SynthesisRequest.objects.filter(user=user, artifact=OuterRef("artifact"))
        .order_by()
        .values("artifact")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return rows.annotate(
        newest=Subquery(newest.values("pk")[:1]), requests=Subquery(asked)
    ).filter(pk=F("newest"))


def user_quota(*, user) -> dict:
    """This month's characters, read from the row quota enforcement charges
    (synthesis/services/quota.py). Cache hits are free unless TTS_QUOTA_CHARGE_HITS is set."""
    start = quota.period_start()
    return {
        "characters_limit": quota.character_limit(user),
        "characters_used": quota.characters_used(user=user, start=start),
        "period_end": quota.period_end(start).isoformat(),
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
    # A joined artifact's engine seconds are its segments' (what a hit on the whole
    # script saves); only runs count as engine work.
    run = Q(kind=Artifact.Kind.RUN)
    artifacts = Artifact.objects.aggregate(
        artifacts=Count("pk", filter=Q(status=Artifact.Status.SUCCEEDED)),
        engine_runs=Sum("attempts", filter=run),
        engine_failures=Count("pk", filter=run & Q(status=Artifact.Status.FAILED)),
        engine_seconds=Sum("engine_seconds", filter=run),
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


# --- Moderation (staff only; the API and the admin check is_staff) --------------------


def block_list(*, target: str = "", include_lifted: bool = False):
    queryset = Block.objects.select_related("created_by", "lifted_by")
    if not include_lifted:
        queryset = queryset.filter(lifted_at__isnull=True)
    if target:
        queryset = queryset.filter(target=target)
    return queryset.order_by("-created_at", "-id")


def audit_list(*, target: str = "", target_id: str = "", action: str = ""):
    queryset = AuditEntry.objects.all()
    if target:
        queryset = queryset.filter(target=target)
    if target_id:
        queryset = queryset.filter(target_id=target_id)
    if action:
        queryset = queryset.filter(action=action)
    return queryset.order_by("-created_at", "-id")


# --- Voices ---------------------------------------------------------------------------


def voice_get(*, user, voice_id: str) -> Voice:
    """One of the user's prompt voices (listed or not: history refers to both)."""
    voice = own_prompt_voice(user=user, voice_id=str(voice_id))
    if voice is None:
        raise Http404
    return voice


def voice_list(*, user):
    """The user's own listed prompt voices, newest first."""
    return Voice.objects.filter(
        owner=user, kind=Voice.Kind.PROMPT, listed=True
    ).order_by("-created_at", "pk")


def builtin_voice_get(*, engine: Engine, voice_id: str) -> BuiltinVoice | None:
    """The active engine's builtin voice named by "<engine>:<name>", else None."""
    engine_name, sep, name = str(voice_id).partition(":")
    if not sep or engine_name != engine.name:
        return None
    return engine.voice(name)


def voice_options(*, user, engine: Engine) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped (value, label) pairs for a voice picker: the engine's builtin voices,
    then the user's prompt voices (usable ones only)."""
    builtin = [(builtin_ref(engine, v.name), v.label) for v in engine.voices()]
    own = [
        (str(v.pk), v.name)
        for v in voice_list(user=user).filter(blocked_at__isnull=True)
    ]
    groups = [(f"Built-in voices ({engine.name})", builtin)]
    if own:
        groups.append(("Your voices", own))
    return groups


# --- Segments ---------------------------------------------------------------------------


def segment_get(*, user, synthesis_id, index: int) -> tuple[SynthesisRequest, Artifact]:
    """The synthesis and the artifact of its segment `index` (404 if either is not the
    caller's or does not exist). A one-segment synthesis' segment 0 is its artifact."""
    synthesis = synthesis_get(user=user, synthesis_id=synthesis_id)
    if synthesis.segment_count <= 1:
        if index != 0:
            raise Http404("No such segment.")
        return synthesis, synthesis.artifact
    segment = synthesis.segments.select_related("artifact").filter(index=index).first()
    if segment is None:
        raise Http404("No such segment.")
    return synthesis, segment.artifact
