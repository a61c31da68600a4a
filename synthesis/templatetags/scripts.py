"""Presentation of a script's segments in the portal: how far it is, which paragraphs
came from the cache, a player for each finished one."""

from __future__ import annotations

from django import template
from django.urls import reverse

from synthesis.models import Artifact, SynthesisRequest

register = template.Library()

Status = Artifact.Status
CACHE_LABELS = {
    SynthesisRequest.Cache.HIT: "from the cache",
    SynthesisRequest.Cache.COALESCED: "joined a run in flight",
    SynthesisRequest.Cache.MISS: "new",
}
STATUS_LABELS = {
    Status.QUEUED: "queued",
    Status.RUNNING: "running",
    Status.SUCCEEDED: "done",
    Status.FAILED: "failed",
    Status.PURGED: "removed",
    Status.BLOCKED: "blocked",
}


@register.simple_tag
def script_progress(synthesis: SynthesisRequest) -> dict:
    """Rows for each segment and the counts the progress bar shows."""
    rows = []
    for segment in synthesis.segments.select_related("artifact"):
        status = segment.artifact.status
        rows.append(
            {
                "index": segment.index,
                "number": segment.index + 1,
                "text": segment.text,
                "seed": segment.seed,
                "status": STATUS_LABELS.get(status, status),
                "state": status,
                "cache": segment.cache,
                "cache_label": CACHE_LABELS[segment.cache],
                "audio_url": reverse(
                    "synthesis:segment-audio", args=[synthesis.pk, segment.index]
                )
                if status == Status.SUCCEEDED
                else "",
            }
        )
    done = sum(1 for row in rows if row["state"] == Status.SUCCEEDED)
    return {
        "rows": rows,
        "done": done,
        "total": len(rows),
        "running": sum(1 for row in rows if row["state"] == Status.RUNNING),
        "queued": sum(1 for row in rows if row["state"] == Status.QUEUED),
        "from_cache": sum(1 for row in rows if row["cache"] != "miss"),
        "percent": round(100 * done / len(rows)) if rows else 0,
    }


@register.filter
def in_flight_script(synthesis: SynthesisRequest) -> bool:
    return synthesis.artifact.status in Status.IN_FLIGHT
