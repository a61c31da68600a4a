"""Log-in throttling for the portal: a counter of failed attempts per username and
client IP in the default cache. Keyed on both so that one attacker cannot lock a
user out from everywhere, and one address cannot try many passwords for one user."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.core.cache import cache


def _key(username: str, ip: str) -> str:
    digest = hashlib.sha256(f"{username.casefold()}\n{ip}".encode()).hexdigest()
    return f"login-failures:{digest[:32]}"


def client_ip(request) -> str:
    # REMOTE_ADDR only: X-Forwarded-For is client-controlled unless a trusted proxy
    # rewrites it, and this counter must not be trivially reset.
    return request.META.get("REMOTE_ADDR", "") if request is not None else ""


def login_blocked(*, username: str, ip: str) -> bool:
    if not settings.RATELIMIT_ENABLE:
        return False
    failures = cache.get(_key(username, ip)) or 0
    return failures >= settings.LOGIN_RATELIMIT_ATTEMPTS


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
