"""The errors services raise: plain domain errors with a code and a message that is
safe to show to the caller. The API maps them to HTTP once (tts_platform/errors.py),
the portal to form errors, the admin to messages; services never import DRF."""

from __future__ import annotations


class ServiceError(Exception):
    """A request a service refuses. `param` names the input at fault; `retry_after`
    (seconds) says when trying again can succeed."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        param: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.param = param
        self.retry_after = retry_after


class InvalidInput(ServiceError):
    """The input cannot be accepted as it is."""


class NotFound(ServiceError):
    """No such object, or not the caller's (the two read the same)."""


class PermissionDenied(ServiceError):
    """The caller may not do this."""


class Conflict(ServiceError):
    """The object is not in a state that allows this (yet)."""


class Gone(ServiceError):
    """What was asked for existed and was removed or blocked."""


class TooLarge(ServiceError):
    """The input is over a size limit."""


class LimitExceeded(ServiceError):
    """A quota or rate limit refuses the request for now."""


class Unavailable(ServiceError):
    """A part the request needs is not available now."""
