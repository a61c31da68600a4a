"""API keys remembered for a few seconds in each process, so an authenticated request
does not pay a database look-up every time.

Only keys that exist and are active are remembered (unknown keys always reach the
database, so guessing cannot fill the memory). A revocation in this process takes
effect at once; in other processes within API_KEY_CACHE_SECONDS. The cache holds
model instances in process memory (nothing is pickled); each request gets its own
copies, so a view that changes request.user cannot leak into another request."""

from __future__ import annotations

import copy
import threading
import time

from django.conf import settings
from django.db import transaction

from .keys import hash_key
from .models import ApiKey
from .selectors import api_key_by_hash
from .services import api_key_touch

# Entries kept at most; past this the cache starts again empty (a bound, not an LRU:
# a process serves far fewer distinct keys within a few seconds).
MAX_ENTRIES = 10_000

_entries: dict[str, tuple[float, ApiKey]] = {}
_lock = threading.Lock()


def api_key_authenticate(*, key: str) -> ApiKey | None:
    """The active key (with its user) for this plaintext key, else None."""
    digest = hash_key(key)
    ttl = settings.API_KEY_CACHE_SECONDS
    now = time.monotonic()
    entry = _entries.get(digest)
    if entry is not None and entry[0] > now:
        api_key = entry[1]
    else:
        api_key = api_key_by_hash(key_hash=digest)
        with _lock:
            if api_key is None or ttl <= 0:
                _entries.pop(digest, None)
            else:
                if len(_entries) >= MAX_ENTRIES:
                    _entries.clear()
                _entries[digest] = (now + ttl, api_key)
        if api_key is None:
            return None
    # On the remembered instance: last_used_at is written at most once a minute.
    api_key_touch(api_key=api_key)
    return _copy(api_key)


def api_key_forget(*, key_hash: str) -> None:
    with _lock:
        _entries.pop(key_hash, None)


def api_key_forget_user(*, user_id: int) -> None:
    """Forgets the user's keys in this process, now and once the caller's transaction
    commits (a request in between may have remembered a key again)."""

    def forget() -> None:
        with _lock:
            for digest in [d for d, (_, k) in _entries.items() if k.user_id == user_id]:
                _entries.pop(digest, None)

    forget()
    transaction.on_commit(forget)


def api_key_forget_all() -> None:
    with _lock:
        _entries.clear()


def _copy(api_key: ApiKey) -> ApiKey:
    clone = copy.copy(api_key)
    clone.user = copy.copy(api_key.user)
    return clone
