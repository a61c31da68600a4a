"""The request path: the only writer of syntheses, and of artifacts until a worker
claims them.

docs/architecture.md "The request path": fingerprint -> Redis pointer -> Postgres
artifact -> INSERT ... ON CONFLICT DO NOTHING. The one request whose insert wins
enqueues the engine run; everyone else is a hit or joins the run in flight."""

from __future__ import annotations

import contextlib
import logging
import time
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction

from synthesis import cache, metrics, segments, storage
from synthesis import fingerprint as fp
from synthesis.audio import formats
from synthesis.engines import Engine, EngineUnavailable, get_engine
from synthesis.models import Artifact, SynthesisRequest

from . import quota, runs, scripts
from .artifacts import ArtifactRow, artifact_for_pointer, artifact_get_or_claim
from .errors import InvalidInput, Unavailable
from .voices import ResolvedVoice, voice_resolve

logger = logging.getLogger(__name__)

Status = Artifact.Status
Outcome = SynthesisRequest.Cache


@dataclass(frozen=True)
class SegmentInput:
    """One explicit segment; `voice` and `seed` default to the request's."""

    text: str
    voice: str | None = None
    seed: int | None = None
    # Whether a paragraph ends after it (a pause when joined); another take of one
    # segment of a split text keeps the original's pauses.
    paragraph_end: bool = True


@dataclass(frozen=True)
class SynthesisInput:
    text: str = ""
    voice: str | None = None
    seed: int = settings.TTS_DEFAULT_SEED
    sample_rate: int = settings.TTS_DEFAULT_SAMPLE_RATE
    # OpenAI's speed (0.25-4.0); 1.0 is the absence of speed, so it is not fingerprinted.
    speed: float = 1.0
    # Explicit segments instead of `text` (a dialogue between voices, another take).
    segments: tuple[SegmentInput, ...] | None = None


def active_engine() -> Engine:
    return get_engine(settings.TTS_ENGINE)


def text_validate(text: str, *, param: str = "text") -> str:
    """Returns the normalized text or raises InvalidInput."""
    text = fp.normalize_text(text)
    if not text:
        raise InvalidInput("text_empty", f"{param} must not be empty.", param=param)
    if len(text) > settings.TTS_MAX_TEXT_CHARS:
        raise InvalidInput(
            "text_too_long",
            f"{param} has {len(text)} characters; the limit is "
            f"{settings.TTS_MAX_TEXT_CHARS}.",
            param=param,
        )
    if not segments.is_speakable(text):
        raise InvalidInput(
            "text_not_speakable",
            f"{param} contains nothing that can be spoken.",
            param=param,
        )
    return text


# --- Request path -----------------------------------------------------------------------


def synthesis_create(
    *,
    user,
    data: SynthesisInput,
    channel: str = SynthesisRequest.Channel.API,
    api_key=None,
    voice: ResolvedVoice | None = None,
) -> SynthesisRequest:
    """Records one request and answers it from the cache, from runs in flight, or by
    enqueueing exactly one engine run per segment nobody has synthesized. Never runs an
    engine itself. `voice`: an already resolved request voice (an ad-hoc prompt clip)."""
    started = time.perf_counter()
    engine = active_engine()
    if data.sample_rate not in settings.TTS_SAMPLE_RATES:
        raise InvalidInput(
            "invalid_sample_rate",
            f"sample_rate must be one of {list(settings.TTS_SAMPLE_RATES)}.",
            param="sample_rate",
        )
    text, pieces = _pieces(user=user, engine=engine, data=data, voice=voice)
    plan = scripts.segments_plan(
        pieces=pieces,
        engine=engine,
        model=_engine_identity(engine),
        sample_rate=data.sample_rate,
        params=render_params(engine, data),
    )
    request_voice = voice or _request_voice(user, engine, data, plan)
    record = {
        "user": user,
        "api_key": api_key,
        "text": text,
        "characters": len(text),
        "voice_ref": request_voice.ref,
        "voice": request_voice.voice,
        "seed": data.seed,
        "sample_rate": data.sample_rate,
        "engine": engine.name,
        "channel": channel,
        "segment_count": len(plan),
    }
    if len(plan) > 1:
        return scripts.script_create(
            plan=plan,
            record=record,
            engine=engine,
            latency_ms=lambda: _ms_since(started),
        )
    return _segment_create(plan[0], record, engine, started)


def _pieces(*, user, engine, data: SynthesisInput, voice: ResolvedVoice | None):
    """(the whole text, [(segment text, its voice, its seed)])."""
    voices: dict[str | None, ResolvedVoice] = {}

    def resolved(voice_id: str | None) -> ResolvedVoice:
        if voice_id is None and voice is not None:
            return voice
        key = voice_id if voice_id is not None else data.voice
        if key not in voices:
            voices[key] = voice_resolve(user=user, engine=engine, voice_id=key)
        return voices[key]

    if data.segments is not None:
        if data.text:
            raise InvalidInput(
                "text_and_segments",
                "Send either text or segments, not both.",
                param="segments",
            )
        checked = scripts.segments_validate(list(data.segments))
        text = "\n\n".join(segment_text for segment_text, *_ in checked)
        text_validate(text, param="segments")
        return text, [
            (
                segments.SegmentText(segment_text, paragraph_end),
                resolved(voice_id),
                data.seed if seed is None else seed,
            )
            for segment_text, voice_id, seed, paragraph_end in checked
        ]
    text = text_validate(data.text)
    request_voice = resolved(None)
    return text, [
        (piece, request_voice, data.seed) for piece in scripts.text_split(text)
    ]


def _request_voice(user, engine, data, plan) -> ResolvedVoice:
    """The voice the history shows for the whole synthesis: the request's, or, for
    explicit segments that each name theirs, the first segment's."""
    if data.segments is None or data.voice is not None or engine.default_voice:
        return voice_resolve(user=user, engine=engine, voice_id=data.voice)
    return plan[0].voice


def _segment_create(segment, record: dict, engine: Engine, started: float):
    """A synthesis of one segment: the segment's artifact is the synthesis' audio."""
    fingerprint, inputs = segment.fingerprint, segment.inputs
    pointer = cache.pointer_get(fingerprint)
    request = _answer_from_pointer(pointer, fingerprint, record, started)
    if request is not None and pointer is not None:
        metrics.request_answered(
            cache=Outcome.HIT,
            channel=record["channel"],
            engine=engine.name,
            engine_seconds_saved=pointer.engine_seconds,
        )
        return request

    row = ArtifactRow(
        engine=engine.name,
        model_version=inputs["model"],
        sample_rate=inputs["sample_rate"],
    )
    with transaction.atomic():
        artifact, outcome = artifact_get_or_claim(fingerprint, inputs, row)
        if artifact.status != Status.BLOCKED:  # a tombstone delivers nothing: free
            quota.quota_charge(
                user=record["user"],
                characters=record["characters"],
                miss=outcome == Outcome.MISS,
                artifact_id=artifact.pk,
            )
        request = SynthesisRequest.objects.create(
            artifact=artifact,
            cache=outcome,
            reused_characters=0 if outcome == Outcome.MISS else record["characters"],
            latency_ms=_ms_since(started),
            **record,
        )
        if outcome == Outcome.MISS:
            artifact_id, queue = artifact.pk, engine.queue
            transaction.on_commit(lambda: runs.artifact_enqueue(artifact_id, queue))
    if outcome == Outcome.HIT and artifact.status == Status.SUCCEEDED:
        cache.pointer_set(artifact)  # re-warm after a Redis miss
    metrics.request_answered(
        cache=outcome,
        channel=record["channel"],
        engine=engine.name,
        # A coalesced request's saving is credited when the run it joined finishes.
        engine_seconds_saved=(artifact.engine_seconds or 0.0)
        if outcome == Outcome.HIT
        else 0.0,
    )
    return request


def _engine_identity(engine: Engine) -> str:
    try:
        return engine.identity()
    except EngineUnavailable as exc:
        raise Unavailable(
            "engine_unavailable",
            str(exc),
            retry_after=30,
        ) from exc


def render_params(engine: Engine, data: SynthesisInput) -> dict:
    """The engine's own output-affecting settings plus the request's speed."""
    params = engine.params()
    speed = round(float(data.speed), 3)
    if speed != 1.0:
        params = {**params, "speed": speed}
    return params


def _answer_from_pointer(pointer, fingerprint: str, record: dict, started: float):
    """A hit from the Redis pointer: one primary-key SELECT and the history INSERT.

    The pointer proves the file: it is written only after the audio is stored, and
    every path that removes audio (delete, purge, moderation) removes the pointer too;
    a file lost behind the platform's back is noticed when its audio is fetched, which
    drops the pointer. What the pointer cannot prove is that the artifact was not
    blocked or purged since (a pointer re-warmed by a request racing a block, or a
    pointer delete lost while Redis was down), so the row is read: a plain indexed
    SELECT, no lock and no write, which the answer needs anyway. The hit is counted in
    Redis, so hits of one popular text never queue on its row."""
    if pointer is None:
        return None
    artifact = artifact_for_pointer(pointer.artifact_id, fingerprint)
    if artifact is None or artifact.status != Status.SUCCEEDED:
        # A stale pointer (artifact gone, blocked, purged): drop it, ask Postgres.
        cache.pointer_delete(fingerprint)
        return None
    # Hits are free unless TTS_QUOTA_CHARGE_HITS: only then is a transaction needed.
    charged = settings.TTS_QUOTA_CHARGE_HITS
    with transaction.atomic() if charged else contextlib.nullcontext():
        quota.quota_charge(
            user=record["user"], characters=record["characters"], miss=False
        )
        request = SynthesisRequest.objects.create(
            artifact=artifact,
            cache=Outcome.HIT,
            latency_ms=_ms_since(started),
            **record,
        )
    metrics.artifact_hit(artifact_id=artifact.pk)
    return request


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 3)


def synthesis_wait(*, request: SynthesisRequest, timeout: float) -> SynthesisRequest:
    """Blocks until the request's artifact is finished or `timeout` seconds passed."""
    deadline = time.monotonic() + timeout
    delay = 0.02
    artifact = request.artifact
    while artifact.status not in Status.TERMINAL and time.monotonic() < deadline:
        time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
        delay = min(delay * 1.5, 0.25)
        artifact.refresh_from_db()
    return request


@transaction.atomic
def synthesis_delete(*, request: SynthesisRequest) -> None:
    """Removes a history row; each audio it used (a script's segments and joined audio
    included) goes once no history row refers to it."""
    ids = {request.artifact_id, *request.segments.values_list("artifact_id", flat=True)}
    artifacts = list(
        Artifact.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    )
    request.delete()
    for artifact in artifacts:
        _purge_if_unreferenced(artifact)


def _purge_if_unreferenced(artifact: Artifact) -> None:
    if artifact.status == Status.BLOCKED:
        return
    if artifact.requests.exists() or artifact.segment_uses.exists():
        return
    if artifact.status in Status.IN_FLIGHT:
        return  # the run in flight finishes; its audio is kept for later repeats
    name = artifact.audio_name
    Artifact.objects.filter(pk=artifact.pk).update(status=Status.PURGED, audio_name="")
    fingerprint = artifact.fingerprint

    def purge() -> None:
        cache.pointer_delete(fingerprint)
        storage.delete(name)
        for derived in formats.derived_names(fingerprint):
            storage.delete(derived)

    transaction.on_commit(purge)
