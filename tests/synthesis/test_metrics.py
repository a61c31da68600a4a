"""GET /metrics: Prometheus text aggregated over processes. The engine runs in the
Celery worker process; its counters must appear in this (web) process's /metrics."""

import pytest
from django.db import transaction
from django.test import Client, override_settings
from prometheus_client.parser import text_string_to_metric_families

from synthesis.models import Artifact
from synthesis.services import syntheses
from tests.support.api import assert_error, synthesize

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]


def scrape(client=None, **headers) -> dict:
    response = (client or Client()).get("/metrics", **headers)
    assert response.status_code == 200, response.content[:300]
    assert response["Content-Type"].startswith("text/plain")
    samples = {}
    for family in text_string_to_metric_families(response.content.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples, name, **labels) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before, after, name, **labels) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_miss_and_a_hit_are_counted_with_the_workers_engine_run(api):
    before = scrape()
    miss = synthesize(api, text="Count me in the metrics.")
    assert miss["X-Cache"] == "MISS"
    hit = synthesize(api, text="Count me in the metrics.")
    assert hit["X-Cache"] == "HIT"
    after = scrape()

    requests = "tts_requests_total"
    assert delta(before, after, requests, cache="miss", channel="api") == 1
    assert delta(before, after, requests, cache="hit", channel="api") == 1
    assert delta(before, after, requests, cache="coalesced", channel="api") == 0
    # Counted by the worker process, read here.
    runs = "tts_engine_runs_total"
    assert delta(before, after, runs, engine="espeak", outcome="succeeded") == 1
    assert delta(before, after, "tts_engine_seconds_count", engine="espeak") == 1
    engine_seconds = Artifact.objects.get().engine_seconds
    spent = delta(before, after, "tts_engine_seconds_sum", engine="espeak")
    assert spent == pytest.approx(engine_seconds, rel=1e-6)
    saved = delta(before, after, "tts_engine_seconds_saved_total", engine="espeak")
    assert saved == pytest.approx(engine_seconds, rel=1e-6)

    endpoint = "/api/v1/syntheses"
    assert delta(before, after, "tts_request_seconds_count", endpoint=endpoint) == 2
    assert (
        delta(before, after, "tts_request_seconds_bucket", endpoint=endpoint, le="+Inf")
        == 2
    )
    assert 0 < value(after, "tts_cache_hit_ratio") <= 1
    assert ("tts_queue_depth", (("queue", "gpu"),)) in after


def test_a_coalesced_request_is_counted_and_credited_when_the_run_ends(user):
    before = scrape()
    data = syntheses.SynthesisInput(text="Two requests, one run.")
    # In one transaction the second request finds the first one's queued artifact;
    # the engine run is enqueued at commit.
    with transaction.atomic():
        first = syntheses.synthesis_create(user=user, data=data)
        second = syntheses.synthesis_create(user=user, data=data)
    assert (first.cache, second.cache) == ("miss", "coalesced")
    syntheses.synthesis_wait(request=second, timeout=30)
    artifact = Artifact.objects.get()
    assert artifact.status == "succeeded"
    after = scrape()

    requests = "tts_requests_total"
    assert delta(before, after, requests, cache="miss", channel="api") == 1
    assert delta(before, after, requests, cache="coalesced", channel="api") == 1
    runs = "tts_engine_runs_total"
    assert delta(before, after, runs, engine="espeak", outcome="succeeded") == 1
    saved = delta(before, after, "tts_engine_seconds_saved_total", engine="espeak")
    assert saved == pytest.approx(artifact.engine_seconds, rel=1e-6)


def test_openai_requests_have_their_channel(api):
    before = scrape()
    body = {"model": "tts-1", "voice": "alloy", "input": "Metrics channel."}
    assert api.post("/v1/audio/speech", body, format="json").status_code == 200
    after = scrape()
    requests = "tts_requests_total"
    assert delta(before, after, requests, cache="miss", channel="openai") == 1
    endpoint = "/v1/audio/speech"
    assert delta(before, after, "tts_request_seconds_count", endpoint=endpoint) == 1


@override_settings(METRICS_TOKEN="s3cret-metrics")
def test_metrics_need_localhost_or_the_token():
    remote = Client(REMOTE_ADDR="203.0.113.9")
    assert_error(remote.get("/metrics"), 403, "permission_denied")
    assert_error(
        remote.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong"),
        403,
        "permission_denied",
    )
    assert scrape(remote, HTTP_AUTHORIZATION="Bearer s3cret-metrics")


@override_settings(METRICS_TOKEN="")
def test_without_a_token_only_localhost_is_served():
    remote = Client(REMOTE_ADDR="203.0.113.9")
    assert_error(
        remote.get("/metrics", HTTP_AUTHORIZATION="Bearer "), 403, "permission_denied"
    )
    assert scrape(Client(REMOTE_ADDR="::1"))
