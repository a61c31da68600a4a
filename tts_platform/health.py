"""Liveness and readiness probes."""

from __future__ import annotations

import logging

from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)


@require_GET
def healthz(request):
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    from synthesis import cache

    cache.ping()


def _check_broker() -> None:
    from tts_platform.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


CHECKS = {"database": _check_database, "cache": _check_cache, "broker": _check_broker}


@require_GET
def readyz(request):
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as error:  # any failure means "not ready", never a 500
            logger.warning("readiness check %s failed: %s", name, error)
            results[name] = "fail"
    ok = all(value == "ok" for value in results.values())
    return JsonResponse(
        {"status": "ok" if ok else "fail", "checks": results},
        status=200 if ok else 503,
    )
