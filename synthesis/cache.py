"""The hot index: fingerprint -> artifact pointer in Redis (alias "results"), under
`<TTS_CACHE_KEY_PREFIX>:v1:<fingerprint>`.

The only module that talks to that cache. Postgres is the source of truth; a pointer
only makes a repeat fast, so every failure here reads as a miss. After a failure Redis
is left alone for a few seconds, so an outage costs one time-out, not one per request."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import caches
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Seconds to skip Redis after it failed.
BACKOFF_SECONDS = 5.0
_down_until = 0.0

KEY_VERSION = "v1"


def raw_key(key: str, key_prefix: str, version: int) -> str:
    """Keys are stored as written (`tts:v1:<fingerprint>`), without Django's prefixes."""
    return key


def pointer_key(fingerprint: str) -> str:
    return f"{settings.TTS_CACHE_KEY_PREFIX}:{KEY_VERSION}:{fingerprint}"


@dataclass(frozen=True)
class Pointer:
    artifact_id: int
    audio_name: str
    engine: str
    model_version: str
    duration_s: float
    finished_at: str
    # What a hit saves (metrics); absent from pointers written before it existed.
    engine_seconds: float = 0.0


def _cache():
    return caches["results"]


def _guarded(operation, *args, default=None):
    global _down_until
    if backing_off():
        return default
    try:
        return operation(*args)
    except (RedisError, OSError) as error:
        _down_until = time.monotonic() + BACKOFF_SECONDS
        logger.warning("result cache unavailable, using the database: %s", error)
        return default


def backing_off() -> bool:
    """True while Redis is skipped after a failure."""
    return time.monotonic() < _down_until


def backoff_reset() -> None:
    """Forgets a past failure: the next operation asks Redis again."""
    global _down_until
    _down_until = 0.0


def pointer_get(fingerprint: str) -> Pointer | None:
    value = _guarded(_cache().get, pointer_key(fingerprint))
    if not isinstance(value, dict):
        return None
    try:
        return Pointer(**value)
    except TypeError:  # an entry of another shape: ignore it
        return None


def pointer_set(artifact) -> None:
    pointer = Pointer(
        artifact_id=artifact.pk,
        audio_name=artifact.audio_name,
        engine=artifact.engine,
        model_version=artifact.model_version,
        duration_s=artifact.duration_s or 0.0,
        finished_at=artifact.finished_at.isoformat() if artifact.finished_at else "",
        engine_seconds=artifact.engine_seconds or 0.0,
    )
    _guarded(
        _cache().set,
        pointer_key(artifact.fingerprint),
        asdict(pointer),
        settings.TTS_CACHE_TTL,
    )


def pointer_delete(fingerprint: str) -> None:
    _guarded(_cache().delete, pointer_key(fingerprint))


def ping() -> bool:
    from django_redis import get_redis_connection

    return bool(get_redis_connection("results").ping())


# --- "Stored" notifications for streams -------------------------------------------------
# A stream waiting for a segment subscribes to its channel; the worker publishes once
# the segment's audio is stored. A lost message costs a stream one re-check interval,
# never an error: streams also look at the database.


def stored_channel(fingerprint: str) -> str:
    return f"tts:v1:stored:{fingerprint}"


def stored_publish(fingerprint: str) -> None:
    from django_redis import get_redis_connection

    _guarded(
        lambda: get_redis_connection("results").publish(
            stored_channel(fingerprint), b"1"
        )
    )


def stored_subscribe(fingerprints: list[str]):
    """A pub/sub subscribed to the channels of `fingerprints`, or None when Redis is
    unreachable (the caller then polls the database only)."""
    from django_redis import get_redis_connection

    def subscribe():
        pubsub = get_redis_connection("results").pubsub(ignore_subscribe_messages=True)
        pubsub.subscribe(*[stored_channel(f) for f in fingerprints])
        return pubsub

    return _guarded(subscribe) if fingerprints else None


def stored_wait(pubsub, timeout: float) -> None:
    """Returns after a "stored" message or `timeout` seconds, whichever comes first."""
    if pubsub is None:
        time.sleep(timeout)
        return
    try:
        pubsub.get_message(timeout=timeout)
    except (RedisError, OSError):
        time.sleep(timeout)
