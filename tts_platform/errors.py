"""One error shape on every endpoint (docs/api.md "Conventions"):
{"error": {"code", "message", "param", "type"}}."""

from __future__ import annotations

from django import db
from django.http import Http404, JsonResponse
from django.views import defaults
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from synthesis.services import errors as service_errors

API_PREFIXES = ("/api/", "/v1/")

_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    406: "invalid_request_error",
    409: "invalid_request_error",
    410: "not_found_error",
    413: "invalid_request_error",
    415: "invalid_request_error",
    416: "invalid_request_error",
    429: "rate_limit_error",
}


# The one mapping of the services' domain errors to HTTP.
SERVICE_ERROR_STATUS: dict[type[service_errors.ServiceError], int] = {
    service_errors.InvalidInput: 400,
    service_errors.PermissionDenied: 403,
    service_errors.NotFound: 404,
    service_errors.Conflict: 409,
    service_errors.Gone: 410,
    service_errors.TooLarge: 413,
    service_errors.LimitExceeded: 429,
    service_errors.Unavailable: 503,
}


def service_error_status(error: service_errors.ServiceError) -> int:
    for kind in type(error).__mro__:
        if kind in SERVICE_ERROR_STATUS:
            return SERVICE_ERROR_STATUS[kind]
    return 400


class ApiError(exceptions.APIException):
    """A 4xx with an explicit code, message and param."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        status_code: int = 400,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.param = param
        self.headers = headers or {}

    @classmethod
    def from_service(cls, error: service_errors.ServiceError) -> ApiError:
        headers = {}
        if error.retry_after is not None:
            headers["Retry-After"] = str(error.retry_after)
        return cls(
            error.code,
            error.message,
            status_code=service_error_status(error),
            param=error.param,
            headers=headers,
        )


def error_body(
    code: str, message: str, status_code: int, param: str | None = None
) -> dict:
    fallback = "server_error" if status_code >= 500 else "invalid_request_error"
    error_type = _TYPES.get(status_code, fallback)
    return {
        "error": {"code": code, "message": message, "param": param, "type": error_type}
    }


def error_response(
    code: str, message: str, status_code: int, param: str | None = None
) -> JsonResponse:
    return JsonResponse(
        error_body(code, message, status_code, param), status=status_code
    )


def _first_validation_error(detail, prefix: str = "") -> tuple[str | None, str, str]:
    """Walk DRF's nested ValidationError detail to its first leaf: (param, code, message)."""
    if isinstance(detail, dict):
        for key, value in detail.items():
            param = key if key != "non_field_errors" else None
            if prefix and param:
                param = f"{prefix}.{param}"
            _, code, message = _first_validation_error(value)
            return param or (prefix or None), code, message
    if isinstance(detail, list) and detail:
        return _first_validation_error(detail[0], prefix)
    code = getattr(detail, "code", None) or "invalid"
    return (prefix or None), str(code), str(detail)


_DRF_CODES = {
    "not_authenticated": "missing_api_key",
    "authentication_failed": "invalid_api_key",
    "permission_denied": "permission_denied",
    "not_found": "not_found",
    "method_not_allowed": "method_not_allowed",
    "throttled": "rate_limit_exceeded",
    "unsupported_media_type": "unsupported_media_type",
    "parse_error": "invalid_json",
    "not_acceptable": "not_acceptable",
    "database_unavailable": "database_unavailable",
}


class DatabaseUnavailable(exceptions.APIException):
    status_code = 503
    default_code = "database_unavailable"
    default_detail = "The database connection was lost; retry the request."


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, db.OperationalError | db.InterfaceError):
        # The connection dropped under a request in flight (a failover, a restart,
        # pg_terminate_backend): the next request reconnects, so this one may retry.
        exc = DatabaseUnavailable()
    elif isinstance(exc, service_errors.ServiceError):
        exc = ApiError.from_service(exc)
    response = exception_handler(exc, context)
    if isinstance(exc, DatabaseUnavailable):
        response["Retry-After"] = "1"
    if response is None:
        return None  # a real 500: Django's handler500 answers in the same shape
    status_code = response.status_code
    if isinstance(exc, ApiError):
        body = error_body(exc.error_code, str(exc.detail), status_code, exc.param)
        headers = exc.headers
    elif isinstance(exc, exceptions.ValidationError):
        param, code, message = _first_validation_error(exc.detail)
        if param and not message.lower().startswith(param.lower()):
            message = f"{param}: {message}"
        body = error_body(code, message, status_code, param)
        headers = {}
    else:
        codes = exc.get_codes() if isinstance(exc, exceptions.APIException) else None
        code = _DRF_CODES.get(codes if isinstance(codes, str) else "", "error")
        detail = getattr(exc, "detail", str(exc))
        body = error_body(code, str(detail), status_code)
        headers = {}
    new = Response(body, status=status_code, headers=headers)
    for header in ("WWW-Authenticate", "Retry-After", "Allow"):
        if header in response:
            new[header] = response[header]
    if status_code == status.HTTP_401_UNAUTHORIZED and "WWW-Authenticate" not in new:
        new["WWW-Authenticate"] = 'Bearer realm="api"'
    return new


# Django-level handlers for what never reaches DRF (unknown paths, crashes): JSON for
# the API prefixes, Django's HTML pages for the portal.
def _is_api(request) -> bool:
    return request.path.startswith(API_PREFIXES)


def handler404(request, exception=None):
    if _is_api(request):
        return error_response("not_found", f"No such path: {request.path}", 404)
    return defaults.page_not_found(request, exception)


def handler500(request):
    if _is_api(request):
        return error_response(
            "server_error", "The server failed to handle the request.", 500
        )
    return defaults.server_error(request)


def handler400(request, exception=None):
    if _is_api(request):
        return error_response(
            "bad_request", "The request could not be understood.", 400
        )
    return defaults.bad_request(request, exception)


def handler403(request, exception=None):
    if _is_api(request):
        return error_response("permission_denied", "Permission denied.", 403)
    return defaults.permission_denied(request, exception)


def api_not_found(request, *args, **kwargs):
    return error_response("not_found", f"No such path: {request.path}", 404)
