"""The one authentication backend: Django's, behind the failed-password limiter
(accounts/ratelimit.py). Every `authenticate()` goes through it (portal log-in, admin
log-in, the token endpoint), so no place that checks a password escapes the limit."""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend
from django.core.exceptions import PermissionDenied

from .ratelimit import (
    client_ip,
    login_blocked,
    login_failure_record,
    login_failures_clear,
)


class RateLimitedModelBackend(ModelBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if username is None or password is None:
            return None
        ip = client_ip(request)
        if login_blocked(username=username, ip=ip):
            # Stops authenticate() here: not even a right password gets through.
            raise PermissionDenied("too many failed log-in attempts")
        user = super().authenticate(
            request, username=username, password=password, **kwargs
        )
        if user is None:
            login_failure_record(username=username, ip=ip)
        else:
            login_failures_clear(username=username, ip=ip)
        return user
