"""Long texts: a synthesis as segments, each an artifact of its own, so a script costs
only what changed (docs/architecture.md "Segments").

`segments_plan` turns a request into its segments (split from `text`, or the explicit
`segments` list) with each one's canonical inputs and fingerprint. A synthesis of one
segment is answered exactly as a short text always was (services/syntheses.py); one of
several is answered here: each segment goes through the same single flight as any
artifact, and the joined audio is an artifact too, whose fingerprint covers the segment
fingerprints and how they are joined, so a repeat of the whole script is one pointer
read. The join runs on a worker once the last segment is stored (services/joins.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.db import transaction

from synthesis import cache, metrics, segments, storage
from synthesis import fingerprint as fp
from synthesis.engines import Engine
from synthesis.models import Artifact, SynthesisRequest, SynthesisSegment

from . import joins, moderation, quota, runs
from .artifacts import ArtifactRow, artifact_get_or_claim, count_hit
from .errors import InvalidInput
from .voices import ResolvedVoice

Status = Artifact.Status
Outcome = SynthesisRequest.Cache


@dataclass(frozen=True)
class PlannedSegment:
    index: int
    text: str
    voice: ResolvedVoice
    seed: int
    inputs: dict
    fingerprint: str
    paragraph_end: bool


def segments_validate(raw: list) -> list[tuple[str, str | None, int | None, bool]]:
    """Explicit segments: (normalized text, voice id or None, seed or None, whether a
    paragraph ends after it) each."""
    if not raw:
        raise InvalidInput(
            "segments_empty",
            "segments must hold at least one segment.",
            param="segments",
        )
    if len(raw) > settings.TTS_MAX_SEGMENTS:
        raise InvalidInput(
            "too_many_segments",
            f"{len(raw)} segments; the limit is {settings.TTS_MAX_SEGMENTS}.",
            param="segments",
        )
    checked = []
    for index, segment in enumerate(raw):
        param = f"segments[{index}].text"
        text = fp.normalize_text(segment.text)
        if not text:
            raise InvalidInput("text_empty", f"{param} must not be empty.", param=param)
        if len(text) > settings.TTS_SEGMENT_CHARS:
            raise InvalidInput(
                "segment_too_long",
                f"{param} has {len(text)} characters; a segment holds at most "
                f"{settings.TTS_SEGMENT_CHARS} (send a longer text as `text`, which is "
                "split for you).",
                param=param,
            )
        if not segments.is_speakable(text):
            raise InvalidInput(
                "text_not_speakable",
                f"{param} contains nothing that can be spoken.",
                param=param,
            )
        checked.append((text, segment.voice, segment.seed, segment.paragraph_end))
    return checked


def text_split(text: str) -> list[segments.SegmentText]:
    pieces = segments.split_text(text, settings.TTS_SEGMENT_CHARS)
    if len(pieces) > settings.TTS_MAX_SEGMENTS:
        raise InvalidInput(
            "too_many_segments",
            f"text splits into {len(pieces)} segments; the limit is "
            f"{settings.TTS_MAX_SEGMENTS}. Join short paragraphs.",
            param="text",
        )
    return pieces


def segments_plan(
    *,
    pieces: list[tuple[segments.SegmentText, ResolvedVoice, int]],
    engine: Engine,
    model: str,
    sample_rate: int,
    params: dict,
) -> list[PlannedSegment]:
    planned = []
    refused: set[str] = set()
    for index, (piece, voice, seed) in enumerate(pieces):
        if voice.ref not in refused:  # one moderation check per distinct voice
            moderation.clip_refuse_blocked(voice.fingerprint_part)
            refused.add(voice.ref)
        inputs = fp.canonical_inputs(
            engine=engine.name,
            model=model,
            text=piece.text,
            voice=voice.fingerprint_part,
            seed=seed,
            sample_rate=sample_rate,
            params=params,
        )
        planned.append(
            PlannedSegment(
                index=index,
                text=inputs["text"],
                voice=voice,
                seed=seed,
                inputs=inputs,
                fingerprint=fp.fingerprint_of(inputs),
                paragraph_end=piece.paragraph_end,
            )
        )
    return planned


def segment_priority(index: int) -> int:
    """Broker priority of a segment's run (0 first): every synthesis' first segment goes
    ahead of any script's later ones, so a long script neither starves other users'
    requests nor delays its own first audio. Steps match kombu's Redis lists."""
    if index == 0:
        return 0
    if index < 3:
        return 3
    return 6 if index < 10 else 9


def script_create(
    *,
    plan: list[PlannedSegment],
    record: dict,
    engine: Engine,
    latency_ms,
) -> SynthesisRequest:
    """Answers a synthesis of several segments; see the module docstring."""
    fingerprints = [segment.fingerprint for segment in plan]
    join = segments.join_settings(
        [segments.SegmentText(s.text, s.paragraph_end) for s in plan]
    )
    inputs = segments.joined_inputs(fingerprints, join)
    fingerprint = fp.fingerprint_of(inputs)
    pointer = cache.pointer_get(fingerprint)
    if pointer is not None:
        synthesis = _answer_from_joined(
            plan,
            record,
            pointer.artifact_id,
            fingerprint,
            pointer.audio_name,
            latency_ms,
        )
        if synthesis is not None:
            metrics.request_answered(
                cache=Outcome.HIT,
                channel=record["channel"],
                engine=engine.name,
                engine_seconds_saved=pointer.engine_seconds,
            )
            return synthesis
        cache.pointer_delete(fingerprint)
    joined_row = ArtifactRow(
        engine=engine.name,
        model_version=plan[0].inputs["model"],
        sample_rate=plan[0].inputs["sample_rate"],
        kind=Artifact.Kind.JOIN,
    )
    with transaction.atomic():
        joined = Artifact.objects.filter(fingerprint=fingerprint).first()
        if joined is not None and joined.status == Status.SUCCEEDED:
            synthesis = _answer_from_joined(
                plan, record, joined.pk, fingerprint, joined.audio_name, latency_ms
            )
            if synthesis is not None:
                transaction.on_commit(lambda: cache.pointer_set(joined))
                return synthesis
        synthesis, misses, joined_miss = _claim_all(
            plan, record, inputs, fingerprint, joined_row, latency_ms
        )
        queue = engine.queue
        for artifact_id, index in misses:
            transaction.on_commit(
                partial(
                    runs.artifact_enqueue,
                    artifact_id,
                    queue,
                    priority=segment_priority(index),
                )
            )
        if joined_miss:
            # The join task waits for the segments; enqueued after the commit it cannot
            # miss a segment that finished while this transaction was open.
            joined_id = synthesis.artifact_id
            transaction.on_commit(lambda: joins.join_enqueue(joined_id))
    metrics.request_answered(
        cache=synthesis.cache,
        channel=record["channel"],
        engine=engine.name,
        engine_seconds_saved=0.0,
    )
    return synthesis


def _answer_from_joined(
    plan, record, joined_id: int, fingerprint: str, audio_name: str, latency_ms
) -> SynthesisRequest | None:
    """The whole script is stored: a hit recorded with its segments, or None when the
    stored audio is gone (the caller then produces it again)."""
    if not storage.exists(audio_name):
        return None
    parts = dict(
        Artifact.objects.filter(
            fingerprint__in={s.fingerprint for s in plan}
        ).values_list("fingerprint", "pk")
    )
    if len(parts) != len({s.fingerprint for s in plan}):
        return None
    with transaction.atomic():
        quota.quota_charge(
            user=record["user"], characters=record["characters"], miss=False
        )
        synthesis = SynthesisRequest.objects.create(
            artifact_id=joined_id,
            cache=Outcome.HIT,
            reused_characters=record["characters"],
            latency_ms=latency_ms(),
            **record,
        )
        _segments_record(synthesis, plan, parts, [Outcome.HIT] * len(plan))
        # Counting the hit proves the joined audio is still current (not purged or
        # blocked since the pointer was written).
        if count_hit(Artifact.objects.filter(pk=joined_id, fingerprint=fingerprint)):
            return synthesis
        transaction.set_rollback(True)
    return None


def _claim_all(plan, record, inputs, fingerprint, joined_row, latency_ms):
    """In the caller's transaction: every segment through single flight (in fingerprint
    order, so two scripts that share segments lock them in the same order and never
    deadlock), then the joined artifact; records the synthesis."""
    claimed: dict[str, tuple[Artifact, str]] = {}
    outcomes: list[str] = [""] * len(plan)
    for segment in sorted(plan, key=lambda s: s.fingerprint):
        if segment.fingerprint not in claimed:
            row = ArtifactRow(
                engine=record["engine"],
                model_version=segment.inputs["model"],
                sample_rate=segment.inputs["sample_rate"],
            )
            claimed[segment.fingerprint] = artifact_get_or_claim(
                segment.fingerprint, segment.inputs, row
            )
            outcomes[segment.index] = claimed[segment.fingerprint][1]
        else:  # the same segment twice in one script: the second joins the first
            outcomes[segment.index] = Outcome.COALESCED
    blocked = [
        s.index for s in plan if claimed[s.fingerprint][0].status == Status.BLOCKED
    ]
    joined, joined_outcome = artifact_get_or_claim(fingerprint, inputs, joined_row)
    misses = [
        (claimed[s.fingerprint][0].pk, s.index)
        for s in plan
        if outcomes[s.index] == Outcome.MISS
    ]
    if blocked or joined.status == Status.BLOCKED:
        # A tombstone delivers nothing: no run, no charge; the runs this request would
        # have started are marked not run, so the next request that needs them starts
        # them.
        joins.joined_block(joined, index=blocked[0] if blocked else None)
        joins.parts_not_run([artifact_id for artifact_id, _ in misses])
        misses, joined_outcome = [], Outcome.HIT
        outcomes = [Outcome.HIT if o == Outcome.MISS else o for o in outcomes]
    if any(o == Outcome.MISS for o in outcomes):
        whole = Outcome.MISS
    elif any(o == Outcome.COALESCED for o in outcomes):
        whole = Outcome.COALESCED
    else:
        whole = Outcome.HIT
    charged = sum(len(s.text) for s in plan if outcomes[s.index] == Outcome.MISS)
    # The joined artifact stands for the whole script in the limit of runs in flight
    # (a 40-paragraph script is one synthesis, not 40 runs).
    quota.quota_charge(
        user=record["user"],
        characters=charged,
        miss=bool(charged),
        artifact_id=joined.pk,
    )
    synthesis = SynthesisRequest.objects.create(
        artifact=joined,
        cache=whole,
        # Separators between segments have no audio: a script that needs a run reuses
        # only its stored segments' characters; one that needs none reuses them all.
        reused_characters=sum(
            len(s.text) for s in plan if outcomes[s.index] != Outcome.MISS
        )
        if charged
        else record["characters"],
        latency_ms=latency_ms(),
        **record,
    )
    parts = {key: value[0].pk for key, value in claimed.items()}
    _segments_record(synthesis, plan, parts, outcomes)
    return synthesis, misses, joined_outcome == Outcome.MISS


def _segments_record(synthesis, plan, parts: dict[str, int], outcomes) -> None:
    SynthesisSegment.objects.bulk_create(
        [
            SynthesisSegment(
                synthesis=synthesis,
                index=s.index,
                artifact_id=parts[s.fingerprint],
                text=s.text,
                voice_ref=s.voice.ref,
                seed=s.seed,
                cache=outcomes[s.index],
            )
            for s in plan
        ]
    )


def segment_take(*, synthesis: SynthesisRequest, index: int, seed: int, channel: str):
    """Another take of one segment of a script: the same segments, voices and pauses,
    segment `index` with `seed`; every other segment is reused from the cache."""
    from .syntheses import SegmentInput, SynthesisInput, synthesis_create

    rows = list(synthesis.segments.select_related("artifact"))
    if not 0 <= index < len(rows):
        raise InvalidInput("segment_not_found", f"No segment {index}.", param="index")
    joined = synthesis.artifact
    gaps = joined.inputs.get("join", {}).get("gaps_ms", [])
    params = rows[0].artifact.inputs.get("params", {})
    data = SynthesisInput(
        voice=synthesis.voice_ref,
        seed=synthesis.seed,
        sample_rate=synthesis.sample_rate,
        speed=params.get("speed", 1.0),
        segments=tuple(
            SegmentInput(
                text=row.text,
                voice=row.voice_ref,
                seed=seed if row.index == index else row.seed,
                paragraph_end=row.index >= len(gaps) or gaps[row.index] > 0,
            )
            for row in rows
        ),
    )
    return synthesis_create(user=synthesis.user, data=data, channel=channel)
