"""Prometheus metrics, aggregated over every web and worker process on every host.

Counters and histogram buckets live in Redis (the broker instance: noeviction and AOF
in production, so the numbers are not evicted like cache entries), incremented with
HINCRBYFLOAT and rendered by a custom collector on `GET /metrics`. Why not
prometheus_client's multiprocess mode: it aggregates only the processes of one host
that share PROMETHEUS_MULTIPROC_DIR, needs that directory wiped before every start and
dead gunicorn/celery children marked by hand, while GPU workers run on other hosts
(docs/architecture.md "Scale-out"). A Redis hash is shared by all of them, and a crashed or
recycled process loses nothing it already counted.

The services call the small functions below, one place each; a Redis failure only
loses a sample, never fails a request. Within an HTTP request every write is held back
and sent by RequestTimingMiddleware in one pipelined call at the end (one round trip
per request); outside a request (workers, commands) each call sends at once.

Artifact hit counts travel the same way: counted here in Redis, added to the artifact
rows by a periodic task (synthesis/services/hit_counts.py), so a hit writes no row.
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from contextvars import ContextVar
from functools import cache

from django.conf import settings
from django.http import HttpResponse

from tts_platform.client_address import is_loopback
from tts_platform.errors import error_response

logger = logging.getLogger(__name__)

PREFIX = "tts:metrics:v1:"
# Hits per artifact id, and the Unix time of each artifact's latest hit.
HIT_COUNTS = "tts:hits:v1:count"
HIT_LAST = "tts:hits:v1:last"
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
ENGINE_BUCKETS = (0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)
CELERY_QUEUES = ("gpu", "cpu", "default")
# kombu's Redis transport keeps priorities 3, 6 and 9 of a queue in extra lists.
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")

# name -> (kind, help, label names, buckets)
METRICS: dict[str, tuple[str, str, tuple[str, ...], tuple[float, ...]]] = {
    "tts_requests_total": (
        "counter",
        "Synthesis requests by cache outcome (hit, miss, coalesced) and channel.",
        ("cache", "channel"),
        (),
    ),
    "tts_engine_runs_total": (
        "counter",
        "Engine runs by engine and outcome (succeeded, failed, retried, superseded).",
        ("engine", "outcome"),
        (),
    ),
    "tts_engine_seconds_saved_total": (
        "counter",
        "Engine seconds that hits and coalesced requests did not spend.",
        ("engine",),
        (),
    ),
    "tts_engine_seconds": (
        "histogram",
        "Duration of engine runs (the _sum is the engine time spent).",
        ("engine",),
        ENGINE_BUCKETS,
    ),
    "tts_request_seconds": (
        "histogram",
        "HTTP request duration by endpoint (the URL route).",
        ("endpoint",),
        REQUEST_BUCKETS,
    ),
}


@cache
def _redis():
    import redis

    url = getattr(settings, "METRICS_REDIS_URL", "") or settings.CELERY_BROKER_URL
    if url.startswith("redis+socket://"):  # kombu's spelling of a Unix socket
        url = "unix://" + url.removeprefix("redis+socket://")
    # redis-py drops inherited connections after a fork, so a pool built before the
    # Celery or gunicorn fork is safe in the children.
    return redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)


def store():
    """The Redis that holds the counters (and the artifact hit counts)."""
    return _redis()


def _labels(names: tuple[str, ...], values: dict[str, str]) -> str:
    return json.dumps([str(values[n]) for n in names], separators=(",", ":"))


def _inc(pipe, name: str, amount: float = 1.0, **labels: str) -> None:
    _, _, names, _ = METRICS[name]
    pipe.hincrbyfloat(PREFIX + name, _labels(names, labels), amount)


def _observe(pipe, name: str, value: float, **labels: str) -> None:
    _, _, names, buckets = METRICS[name]
    key, field = PREFIX + name, _labels(names, labels)
    # Stored per bucket (not cumulative): one increment per observation.
    bucket = next((str(b) for b in buckets if value <= b), "+Inf")
    pipe.hincrbyfloat(key, f"{field}|{bucket}", 1)
    pipe.hincrbyfloat(key, f"{field}|sum", value)


# The writes held back while an HTTP request runs (None outside of one).
_pending: ContextVar[list | None] = ContextVar("tts_metrics_pending", default=None)


def _send(fill) -> None:
    pending = _pending.get()
    if pending is not None:
        pending.append(fill)
        return
    _execute([fill])


def _execute(fills) -> None:
    try:
        pipe = _redis().pipeline(transaction=False)
        for fill in fills:
            fill(pipe)
        pipe.execute()
    except Exception:  # metrics must never fail the work they measure
        logger.debug("metrics not recorded", exc_info=True)


# --- What the services call ------------------------------------------------------------


def request_answered(
    *, cache: str, channel: str, engine: str, engine_seconds_saved: float = 0.0
) -> None:
    def fill(pipe):
        _inc(pipe, "tts_requests_total", cache=cache, channel=channel)
        if engine_seconds_saved:
            _inc(
                pipe,
                "tts_engine_seconds_saved_total",
                engine_seconds_saved,
                engine=engine,
            )

    _send(fill)


def engine_run(
    *, engine: str, outcome: str, seconds: float, seconds_saved: float = 0.0
) -> None:
    """One engine run; `seconds_saved` credits the requests that coalesced onto it."""

    def fill(pipe):
        _inc(pipe, "tts_engine_runs_total", engine=engine, outcome=outcome)
        _observe(pipe, "tts_engine_seconds", seconds, engine=engine)
        if seconds_saved:
            _inc(pipe, "tts_engine_seconds_saved_total", seconds_saved, engine=engine)

    _send(fill)


def artifact_hit(*, artifact_id: int) -> None:
    """One hit of an artifact (folded into Artifact.hit_count and last_hit_at)."""
    now = int(time.time())

    def fill(pipe):
        pipe.hincrby(HIT_COUNTS, str(artifact_id), 1)
        pipe.hset(HIT_LAST, str(artifact_id), now)

    _send(fill)


class RequestTimingMiddleware:
    """Times every request, labelled by its URL route (bounded cardinality), and sends
    the request's metric writes in one pipelined call."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        pending: list = []
        token = _pending.set(pending)
        try:
            response = self.get_response(request)
        finally:
            _pending.reset(token)
        match = getattr(request, "resolver_match", None)
        endpoint = "/" + match.route if match and match.route else "unmatched"
        seconds = time.perf_counter() - started
        pending.append(
            lambda pipe: _observe(
                pipe, "tts_request_seconds", seconds, endpoint=endpoint
            )
        )
        _execute(pending)
        return response


# --- Rendering -------------------------------------------------------------------------


class RedisCollector:
    def collect(self):
        from prometheus_client.core import (
            CounterMetricFamily,
            GaugeMetricFamily,
            HistogramMetricFamily,
        )

        client = _redis()
        pipe = client.pipeline(transaction=False)
        for name in METRICS:
            pipe.hgetall(PREFIX + name)
        for queue in CELERY_QUEUES:
            for suffix in _PRIORITY_SUFFIXES:
                pipe.llen(queue + suffix)
        results = pipe.execute()
        stored = dict(zip(METRICS, results[: len(METRICS)], strict=True))
        depths = results[len(METRICS) :]

        for name, (kind, help_text, names, buckets) in METRICS.items():
            raw = {k.decode(): float(v) for k, v in stored[name].items()}
            if kind == "counter":
                family = CounterMetricFamily(
                    name.removesuffix("_total"), help_text, labels=names
                )
                for field, value in sorted(raw.items()):
                    family.add_metric(json.loads(field), value)
                yield family
                continue
            family = HistogramMetricFamily(name, help_text, labels=names)
            for field in sorted({k.rsplit("|", 1)[0] for k in raw}):
                cumulative, points = 0.0, []
                for bound in [*map(str, buckets), "+Inf"]:
                    cumulative += raw.get(f"{field}|{bound}", 0.0)
                    points.append((bound, cumulative))
                family.add_metric(
                    json.loads(field), points, sum_value=raw.get(f"{field}|sum", 0.0)
                )
            yield family

        requests = stored["tts_requests_total"]
        by_cache: dict[str, float] = {}
        for field, value in requests.items():
            outcome = json.loads(field)[0]
            by_cache[outcome] = by_cache.get(outcome, 0.0) + float(value)
        total = sum(by_cache.values())
        served = by_cache.get("hit", 0.0) + by_cache.get("coalesced", 0.0)
        yield GaugeMetricFamily(
            "tts_cache_hit_ratio",
            "Requests answered without an engine run of their own (hit + coalesced) "
            "over all requests.",
            value=served / total if total else 0.0,
        )
        queue_depth = GaugeMetricFamily(
            "tts_queue_depth",
            "Messages waiting in each Celery queue (Redis LLEN).",
            labels=["queue"],
        )
        for index, queue in enumerate(CELERY_QUEUES):
            per = len(_PRIORITY_SUFFIXES)
            queue_depth.add_metric(
                [queue], float(sum(depths[index * per : (index + 1) * per]))
            )
        yield queue_depth


def _allowed(request) -> bool:
    if is_loopback(request):  # behind TRUSTED_PROXY_HOPS proxies: the real client
        return True
    token = getattr(settings, "METRICS_TOKEN", "")
    header = request.headers.get("Authorization", "")
    return bool(token) and hmac.compare_digest(header, f"Bearer {token}")


def metrics_view(request):
    """Prometheus text; from localhost, or anywhere with `Bearer <METRICS_TOKEN>`."""
    if not _allowed(request):
        return error_response(
            "permission_denied",
            "Metrics are served to localhost or with the metrics token.",
            403,
        )
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        generate_latest,
    )

    registry = CollectorRegistry(auto_describe=False)
    registry.register(RedisCollector())
    try:
        body = generate_latest(registry)
    except Exception:
        logger.exception("metrics could not be read from Redis")
        return error_response("metrics_unavailable", "Metrics store unreachable.", 503)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
