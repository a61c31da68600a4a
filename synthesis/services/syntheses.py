"""The request path: the only writer of syntheses, and of artifacts until a worker
claims them.

docs/architecture.md "The request path": fingerprint -> Redis pointer -> Postgres
artifact -> INSERT ... ON CONFLICT DO NOTHING. The one request whose insert wins
enqueues the engine run; everyone else is a hit or joins the run in flight."""

from __future__ import annotations

import logging
import time
import unicodedata
from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from synthesis import cache, metrics, storage
from synthesis import fingerprint as fp
from synthesis.audio import formats
from synthesis.engines import Engine, EngineUnavailable, get_engine
from synthesis.models import Artifact, SynthesisRequest

from . import moderation, quota, runs
from .errors import InvalidInput, Unavailable
from .voices import ResolvedVoice, voice_resolve

logger = logging.getLogger(__name__)

Status = Artifact.Status
Outcome = SynthesisRequest.Cache


@dataclass(frozen=True)
class SynthesisInput:
    text: str
    voice: str | None = None
    seed: int = settings.TTS_DEFAULT_SEED
    sample_rate: int = settings.TTS_DEFAULT_SAMPLE_RATE
    # OpenAI's speed (0.25-4.0); 1.0 is the absence of speed, so it is not fingerprinted.
    speed: float = 1.0


def active_engine() -> Engine:
    return get_engine(settings.TTS_ENGINE)


def text_validate(text: str) -> str:
    """Returns the normalized text or raises a 400."""
    text = fp.normalize_text(text)
    if not text:
        raise InvalidInput("text_empty", "text must not be empty.", param="text")
    if len(text) > settings.TTS_MAX_TEXT_CHARS:
        raise InvalidInput(
            "text_too_long",
            f"text has {len(text)} characters; the limit is "
            f"{settings.TTS_MAX_TEXT_CHARS}.",
            param="text",
        )
    if not any(unicodedata.category(ch)[0] in "LN" for ch in text):
        raise InvalidInput(
            "text_not_speakable",
            "text contains nothing that can be spoken.",
            param="text",
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
    """Records one request and answers it from the cache, from a run in flight, or by
    enqueueing exactly one engine run. Never runs an engine itself."""
    started = time.perf_counter()
    engine = active_engine()
    text = text_validate(data.text)
    if data.sample_rate not in settings.TTS_SAMPLE_RATES:
        raise InvalidInput(
            "invalid_sample_rate",
            f"sample_rate must be one of {list(settings.TTS_SAMPLE_RATES)}.",
            param="sample_rate",
        )
    voice = voice or voice_resolve(user=user, engine=engine, voice_id=data.voice)
    moderation.clip_refuse_blocked(voice.fingerprint_part)
    inputs = fp.canonical_inputs(
        engine=engine.name,
        model=_engine_identity(engine),
        text=text,
        voice=voice.fingerprint_part,
        seed=data.seed,
        sample_rate=data.sample_rate,
        params=render_params(engine, data),
    )
    fingerprint = fp.fingerprint_of(inputs)
    record = {
        "user": user,
        "api_key": api_key,
        "text": text,
        "characters": len(text),
        "voice_ref": voice.ref,
        "voice": voice.voice,
        "seed": data.seed,
        "sample_rate": data.sample_rate,
        "engine": engine.name,
        "channel": channel,
    }

    pointer = cache.pointer_get(fingerprint)
    request = _answer_from_pointer(pointer, fingerprint, record, started)
    if request is not None:
        metrics.request_answered(
            cache=Outcome.HIT,
            channel=channel,
            engine=engine.name,
            engine_seconds_saved=pointer.engine_seconds,
        )
        return request

    with transaction.atomic():
        artifact, outcome = _artifact_get_or_claim(fingerprint, inputs, engine)
        if artifact.status != Status.BLOCKED:  # a tombstone delivers nothing: free
            quota.quota_charge(
                user=user, characters=len(text), miss=outcome == Outcome.MISS
            )
        request = SynthesisRequest.objects.create(
            artifact=artifact, cache=outcome, latency_ms=_ms_since(started), **record
        )
        if outcome == Outcome.MISS:
            artifact_id, queue = artifact.pk, engine.queue
            transaction.on_commit(lambda: runs.artifact_enqueue(artifact_id, queue))
    if outcome == Outcome.HIT and artifact.status == Status.SUCCEEDED:
        cache.pointer_set(artifact)  # re-warm after a Redis miss
    metrics.request_answered(
        cache=outcome,
        channel=channel,
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
    if pointer is None:
        return None
    if storage.exists(pointer.audio_name):
        with transaction.atomic():
            quota.quota_charge(
                user=record["user"], characters=record["characters"], miss=False
            )
            request = SynthesisRequest.objects.create(
                artifact_id=pointer.artifact_id,
                cache=Outcome.HIT,
                latency_ms=_ms_since(started),
                **record,
            )
            # Counting the hit also proves the pointer is current: the artifact still
            # exists, has this fingerprint and was not purged or blocked since. It
            # comes last so the artifact's row lock is held only until the commit,
            # not while the history row is written (repeats of one text queue on it).
            if _count_hit(
                Artifact.objects.filter(pk=pointer.artifact_id, fingerprint=fingerprint)
            ):
                return request
            transaction.set_rollback(True)
    # A stale pointer (file gone, artifact gone or changed): drop it, ask Postgres.
    cache.pointer_delete(fingerprint)
    return None


def _count_hit(queryset) -> int:
    return queryset.filter(status=Status.SUCCEEDED).update(
        hit_count=F("hit_count") + 1, last_hit_at=timezone.now()
    )


def _artifact_get_or_claim(
    fingerprint: str, inputs: dict, engine: Engine
) -> tuple[Artifact, str]:
    """Within the caller's transaction: (artifact, cache outcome)."""
    inserted = _artifact_insert(fingerprint, inputs, engine)
    if inserted is not None:
        return inserted, Outcome.MISS
    # The insert lost: the row exists and, under READ COMMITTED, is visible now that
    # the winning transaction has committed.
    artifact = Artifact.objects.get(fingerprint=fingerprint)
    if artifact.status == Status.SUCCEEDED:
        if storage.exists(artifact.audio_name):
            _count_hit(Artifact.objects.filter(pk=artifact.pk))
            return artifact, Outcome.HIT
        logger.warning(
            "audio of artifact %s is missing; producing it again", artifact.pk
        )
        return _artifact_requeue(artifact, from_statuses=[Status.SUCCEEDED])
    if artifact.status in (Status.FAILED, Status.PURGED):
        return _artifact_requeue(artifact, from_statuses=[Status.FAILED, Status.PURGED])
    if artifact.status == Status.BLOCKED:
        return artifact, Outcome.HIT  # the tombstone answers; nothing is synthesized
    return artifact, Outcome.COALESCED


def _artifact_requeue(artifact: Artifact, *, from_statuses) -> tuple[Artifact, str]:
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


def _artifact_insert(fingerprint: str, inputs: dict, engine: Engine) -> Artifact | None:
    """INSERT ... ON CONFLICT (fingerprint) DO NOTHING RETURNING id: the new artifact,
    or None when the fingerprint exists (or a concurrent insert of it committed)."""
    artifact = Artifact(
        fingerprint=fingerprint,
        status=Status.QUEUED,
        engine=engine.name,
        model_version=inputs["model"],
        inputs=inputs,
        sample_rate=inputs["sample_rate"],
        created_at=timezone.now(),
    )
    fields = [f for f in Artifact._meta.concrete_fields if not f.primary_key]
    columns = ", ".join(connection.ops.quote_name(f.column) for f in fields)
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
        row = cursor.fetchone()
    if row is None:
        return None
    artifact.pk = row[0]
    return artifact


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
    """Removes a history row; the audio goes once no history row refers to it."""
    artifact = Artifact.objects.select_for_update().get(pk=request.artifact_id)
    request.delete()
    if artifact.requests.exists() or artifact.status == Status.BLOCKED:
        return
    if artifact.status in (Status.QUEUED, Status.RUNNING):
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
