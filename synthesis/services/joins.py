"""The joined audio of many-segment syntheses: joining the finished segments on a
worker, and keeping joined artifacts in step with their segments (a segment that fails
or is blocked fails or blocks every joined audio built from it).

A joined artifact is claimed like any artifact (services/runs.py), so a duplicate or
redelivered join message is harmless, and its write is fenced by `attempts`. Its
"run" only reads the stored segment WAVs, so it goes to the CPU-side `default` queue.
"""

from __future__ import annotations

import io
import logging

import soundfile
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from synthesis import cache, storage
from synthesis.audio import join as audio_join
from synthesis.audio import pcm
from synthesis.models import Artifact

from . import runs

logger = logging.getLogger(__name__)

Status = Artifact.Status
JOIN_QUEUE = "default"


def join_enqueue(artifact_id: int) -> bool:
    """False when the broker is down: the sweeper sends it later."""
    from synthesis.tasks import artifact_join_task

    return runs.task_send(artifact_join_task, artifact_id, JOIN_QUEUE)


def parts_of(joined: Artifact) -> list[Artifact]:
    """The segment artifacts of a joined artifact, in order (a segment may repeat)."""
    fingerprints = joined.inputs["segments"]
    by_fingerprint = {
        artifact.fingerprint: artifact
        for artifact in Artifact.objects.filter(fingerprint__in=set(fingerprints))
    }
    return [by_fingerprint[f] for f in fingerprints if f in by_fingerprint]


def _joined_of(part: Artifact):
    """Joined artifacts built from `part`, found through the syntheses that contain it."""
    return joined_of_parts([part.pk])


def joined_of_parts(part_ids):
    """Joined artifacts built from any of `part_ids` (a list or a subquery of ids)."""
    return Artifact.objects.filter(
        pk__in=Artifact.objects.filter(
            kind=Artifact.Kind.JOIN, requests__segments__artifact__in=part_ids
        ).values("pk")
    )


def artifact_join(*, artifact_id: int) -> None:
    """Joins a joined artifact's segments once all are stored. Not ready yet: released
    to queued (the last segment to finish enqueues the join again). A failed or blocked
    segment fails or blocks the joined artifact, naming the segment."""
    joined = runs.artifact_claim(artifact_id)
    if joined is None:
        return
    attempt = joined.attempts
    parts = parts_of(joined)
    if len(parts) != len(joined.inputs["segments"]):
        _finish(joined, attempt, Status.FAILED, "segment_missing", None)
        return
    for index, part in enumerate(parts):
        if part.status == Status.BLOCKED:
            _finish(joined, attempt, Status.BLOCKED, "blocked", index)
            return
        if part.status in (Status.FAILED, Status.PURGED):
            _finish(joined, attempt, Status.FAILED, part.error_code, index)
            return
    if any(part.status in Status.IN_FLIGHT for part in parts):
        # Not a run: the claim is handed back as it was taken.
        Artifact.objects.filter(
            pk=joined.pk, status=Status.RUNNING, attempts=attempt
        ).update(status=Status.QUEUED, started_at=None, attempts=F("attempts") - 1)
        # A segment that finished while this run held the claim found nothing queued
        # to enqueue: look again now that the claim is released.
        if _ready(joined):
            join_enqueue(joined.pk)
        return
    try:
        name, data, duration = _render(joined, parts)
    except FileNotFoundError:
        _finish(joined, attempt, Status.FAILED, "segment_missing", None)
        return
    except Exception:
        # Never left running: a later identical request starts the join again.
        logger.exception("joining artifact %s failed", joined.pk)
        _finish(joined, attempt, Status.FAILED, "join_error", None)
        return
    with transaction.atomic():
        done = Artifact.objects.filter(
            pk=joined.pk, status=Status.RUNNING, attempts=attempt
        ).update(
            status=Status.SUCCEEDED,
            audio_name=name,
            duration_s=duration,
            bytes=len(data),
            # What the whole script cost the engines: a hit on it saves that much.
            engine_seconds=sum(part.engine_seconds or 0.0 for part in parts),
            finished_at=timezone.now(),
            error_code="",
            error_message="",
        )
        if done:
            joined.refresh_from_db()
            transaction.on_commit(lambda: cache.pointer_set(joined))


def _render(joined: Artifact, parts: list[Artifact]) -> tuple[str, bytes, float]:
    """Reads the segments, joins them and stores the result: (name, WAV, seconds)."""
    join = joined.inputs["join"]
    rate = joined.sample_rate
    samples = audio_join.join_segments(
        [_read(part) for part in parts],
        rate,
        fade_ms=join["fade_ms"],
        gaps_ms=join["gaps_ms"],
    )
    data = pcm.encode_wav(samples, rate)
    name = storage.artifact_audio_name(joined.fingerprint)
    storage.write_atomic(name, data)
    return name, data, len(samples) / rate


def _read(part: Artifact):
    with storage.open_file(part.audio_name) as handle:
        samples, _ = soundfile.read(io.BytesIO(handle.read()), dtype="float32")
    return samples


def _ready(joined: Artifact) -> bool:
    fingerprints = set(joined.inputs["segments"])
    return not (
        Artifact.objects.filter(fingerprint__in=fingerprints)
        .exclude(status=Status.SUCCEEDED)
        .exists()
    )


def _message(code: str, index: int | None) -> str:
    if index is None:
        return f"The segments could not be joined ({code}); ask again to retry."
    if code == "blocked":
        return f"Segment {index} was blocked by a moderator."
    return f"Segment {index} failed ({code}); ask again to retry it."


def _finish(joined, attempt, status, code: str, index: int | None) -> None:
    Artifact.objects.filter(
        pk=joined.pk, status=Status.RUNNING, attempts=attempt
    ).update(
        status=status,
        error_code="segment_failed" if status == Status.FAILED else "",
        error_message=_message(code, index),
        finished_at=timezone.now(),
    )


# --- Keeping joined artifacts in step with their segments -------------------------------


def after_part_succeeded(part: Artifact) -> None:
    """After a segment's success committed: enqueue each queued join it completes."""
    for joined in _joined_of(part).filter(status=Status.QUEUED):
        if _ready(joined):
            join_enqueue(joined.pk)


def after_part_failed(part: Artifact) -> None:
    """A segment failed for good: the queued joins that need it fail, naming it."""
    for joined in _joined_of(part).filter(status=Status.QUEUED):
        index = joined.inputs["segments"].index(part.fingerprint)
        Artifact.objects.filter(pk=joined.pk, status=Status.QUEUED).update(
            status=Status.FAILED,
            error_code="segment_failed",
            error_message=_message(part.error_code or "failed", index),
            finished_at=timezone.now(),
        )


def joined_block(joined: Artifact, *, index: int | None) -> None:
    """In the request's transaction: a script with a blocked segment is blocked."""
    Artifact.objects.filter(pk=joined.pk).exclude(status=Status.BLOCKED).update(
        status=Status.BLOCKED,
        error_message=_message("blocked", index) if index is not None else "",
    )
    joined.refresh_from_db()


def parts_not_run(artifact_ids: list[int]) -> None:
    """Runs a request claimed but will not start (its script is blocked) are marked
    failed, so the next request that needs one of them starts it."""
    Artifact.objects.filter(pk__in=artifact_ids, status=Status.QUEUED).update(
        status=Status.FAILED,
        error_code="not_run",
        error_message="Not synthesized: the script it belongs to is blocked.",
        finished_at=timezone.now(),
    )


# --- Moderation of scripts ---------------------------------------------------------------


def joined_block_for(part_ids) -> list[str]:
    """Blocking segments blocks every joined audio built from them (a tombstone, like
    the segment's): returns their fingerprints, whose pointers must go."""
    joined = joined_of_parts(part_ids)
    fingerprints = list(joined.values_list("fingerprint", flat=True))
    joined.update(status=Status.BLOCKED)
    return fingerprints


def joined_restore_for(part_ids) -> list[str]:
    """After segments were unblocked: joined audio none of whose segments is still
    blocked is restored (succeeded when its file exists, else purged); returns their
    fingerprints."""
    restored = []
    for joined in (
        joined_of_parts(part_ids).select_for_update().filter(status=Status.BLOCKED)
    ):
        if any(part.status == Status.BLOCKED for part in parts_of(joined)):
            continue
        if joined.audio_name and storage.exists(joined.audio_name):
            joined.status = Status.SUCCEEDED
        else:
            joined.status, joined.audio_name = Status.PURGED, ""
        joined.save(update_fields=["status", "audio_name"])
        restored.append(joined.fingerprint)
    return restored
