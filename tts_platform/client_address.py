"""The one answer to "which address did this request come from", for the failed-password
limiter, the request-rate throttles and the /metrics localhost rule.

X-Forwarded-For is written by whoever sends the request: only the entries appended by
proxies we run can be believed. With TRUSTED_PROXY_HOPS = N (the number of proxies in
front of the web processes, each appending the address it saw), the client is the N-th
entry from the right; everything left of it is the client's own claim. With 0 (no proxy)
the header is ignored and the socket's peer address is the client."""

from __future__ import annotations

from django.conf import settings


def client_ip(request) -> str:
    if request is None:
        return ""
    meta = getattr(request, "META", {})
    remote = meta.get("REMOTE_ADDR", "") or ""
    hops = settings.TRUSTED_PROXY_HOPS
    if hops <= 0:
        return remote
    forwarded = [
        part.strip()
        for part in meta.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        # Fewer entries than proxies: a request that bypassed a proxy. Its peer is the
        # only address we know to be real.
        return remote
    return forwarded[-hops]


def is_loopback(request) -> bool:
    return client_ip(request) in ("127.0.0.1", "::1")
