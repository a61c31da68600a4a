"""The Content-Security-Policy header on every response. The portal and the admin run
no inline script (the portal's scripts are files under static/), so scripts may come
from this origin only; no page may be framed, no form may post elsewhere."""

from __future__ import annotations

from django.conf import settings


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if settings.CONTENT_SECURITY_POLICY:
            response.headers.setdefault(
                "Content-Security-Policy", settings.CONTENT_SECURITY_POLICY
            )
        return response
