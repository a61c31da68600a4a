"""DRF's request-rate throttles keyed on tts_platform.client_address: DRF's own
get_ident trusts X-Forwarded-For unless NUM_PROXIES is set, so rotating that header
would reset the anonymous limit."""

from __future__ import annotations

from rest_framework import throttling

from .client_address import client_ip


class ClientAddressMixin:
    def get_ident(self, request):
        return client_ip(request)


class AnonRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    pass


class UserRateThrottle(ClientAddressMixin, throttling.UserRateThrottle):
    pass


class RegisterRateThrottle(ClientAddressMixin, throttling.AnonRateThrottle):
    """Accounts created per client address: registration is open to anyone."""

    scope = "register"
