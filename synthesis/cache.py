"""The hot index: fingerprint -> artifact pointer in Redis (alias "results").

The only module that talks to that cache. Postgres is the source of truth; a pointer
only makes a repeat fast, so every failure here reads as a miss."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import caches

KEY_VERSION = "v1"


def raw_key(key: str, key_prefix: str, version: int) -> str:
    """Keys are stored as written (`tts:v1:<fingerprint>`), without Django's prefixes."""
    return key


def pointer_key(fingerprint: str) -> str:
    return f"tts:{KEY_VERSION}:{fingerprint}"


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


def pointer_get(fingerprint: str) -> Pointer | None:
    value = _cache().get(pointer_key(fingerprint))
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
    _cache().set(
        pointer_key(artifact.fingerprint), asdict(pointer), settings.TTS_CACHE_TTL
    )


def pointer_delete(fingerprint: str) -> None:
    _cache().delete(pointer_key(fingerprint))


def ping() -> bool:
    from django_redis import get_redis_connection

    return bool(get_redis_connection("results").ping())
