"""The per-user limit of requests waiting for a run at once (`?wait`,
`/v1/audio/speech`): each wait holds a web thread, so one user on one long run could
otherwise hold them all.

A counter per user in Redis (the default cache's server): INCR on entry, DECR on exit.
Its expiry outlives the longest wait, so a counter left by a killed process clears
itself. Redis down: waits are not limited (the request path itself works without it)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings

from .errors import LimitExceeded

logger = logging.getLogger(__name__)

RETRY_AFTER = 2


def _redis():
    from django_redis import get_redis_connection

    return get_redis_connection("default")


def _key(user_id) -> str:
    from django.core.cache import cache

    return cache.make_key(f"waits:{user_id}")


@contextmanager
def wait_slot(*, user, timeout: float) -> Iterator[None]:
    """Holds one of the user's TTS_MAX_CONCURRENT_WAITS slots for the block, or raises
    LimitExceeded (`too_many_waits`, Retry-After) when all are taken."""
    if not settings.RATELIMIT_ENABLE:
        yield
        return
    key = _key(user.pk)
    try:
        connection = _redis()
        pipe = connection.pipeline()
        pipe.incr(key)
        pipe.expire(key, int(max(timeout, settings.TTS_SYNC_TIMEOUT)) + 60)
        held = pipe.execute()[0]
    except Exception:  # Redis is down: wait unlimited rather than fail the request
        logger.warning("wait limit unavailable (Redis)", exc_info=True)
        yield
        return
    try:
        if held > settings.TTS_MAX_CONCURRENT_WAITS:
            raise LimitExceeded(
                "too_many_waits",
                f"You already wait for {held - 1} syntheses; the limit is "
                f"{settings.TTS_MAX_CONCURRENT_WAITS}. Poll the synthesis instead "
                "of waiting, or retry shortly.",
                param="wait",
                retry_after=RETRY_AFTER,
            )
        yield
    finally:
        try:
            connection.decr(key)
        except Exception:
            logger.warning("wait slot not released (Redis)", exc_info=True)
