"""The Content-Security-Policy header on every response. The portal and the admin run
no inline script (the portal's scripts are files under static/), so scripts may come
from this origin only; no page may be framed, no form may post elsewhere."""

from __future__ import annotations

from functools import wraps

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


def policy_with(policy: str, directive: str, *sources: str) -> str:
    """`policy` with `sources` added to `directive` (created from default-src if
    missing)."""
    directives: dict[str, list[str]] = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    base = directives.get(directive, directives.get("default-src", []))
    directives[directive] = base + [s for s in sources if s not in base]
    return "; ".join(" ".join([name, *values]) for name, values in directives.items())


def inline_styles_allowed(view):
    """For third-party pages that style elements inline (the Swagger UI of /api/docs/):
    inline styles pass, scripts stay as strict as everywhere."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        if settings.CONTENT_SECURITY_POLICY:
            response["Content-Security-Policy"] = policy_with(
                settings.CONTENT_SECURITY_POLICY, "style-src", "'unsafe-inline'"
            )
        return response

    return wrapped
