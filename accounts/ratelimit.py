"""The failed-password limiter, for every place that checks a password: the portal's
log-in, the admin's log-in, `POST /api/v1/auth/token` (all through
accounts.backends.RateLimitedModelBackend) and the password-change form.

A counter of failed attempts per username and client address in the default cache,
keyed on both so that one attacker cannot lock a user out from everywhere, and one
address cannot try many passwords for one user. The address comes from
tts_platform.client_address, which believes X-Forwarded-For only as far as
TRUSTED_PROXY_HOPS says, so rotating that header does not reset the counter."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache

from tts_platform.client_address import client_ip

__all__ = [
    "client_ip",
    "login_blocked",
    "login_failure_record",
    "login_failures_clear",
    "login_retry_after",
]


def _key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.casefold()}\n{ip}".encode()).hexdigest()
    return f"login-failures:{digest[:32]}"


def login_blocked(*, username: str, ip: str) -> bool:
    if not settings.RATELIMIT_ENABLE:
        return False
    failures = cache.get(_key(username, ip)) or 0
    return failures >= settings.LOGIN_RATELIMIT_ATTEMPTS


def login_retry_after(*, username: str, ip: str) -> int:
    """Seconds until the window of this username and address ends."""
    try:
        ttl = cache.ttl(_key(username, ip))
    except AttributeError:  # a cache without ttl()
        ttl = None
    return max(1, int(ttl or settings.LOGIN_RATELIMIT_WINDOW))


def login_failure_record(*, username: str, ip: str) -> None:
    if not settings.RATELIMIT_ENABLE:
        return
    key = _key(username, ip)
    # add() starts the window; incr() keeps its expiry. A cache outage lets logins
    # through unthrottled rather than locking everyone out.
    cache.add(key, 0, timeout=settings.LOGIN_RATELIMIT_WINDOW)
    try:
        cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=settings.LOGIN_RATELIMIT_WINDOW)


def login_failures_clear(*, username: str, ip: str) -> None:
    cache.delete(_key(username, ip))
