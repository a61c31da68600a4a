"""Quotas and fair use, end to end on the real Postgres, Redis and Celery worker:
monthly characters charged only for misses, a per-user limit of runs in flight, both
race-free under concurrent requests, and /api/v1/me reporting the same numbers."""

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import CharacterUsage
from synthesis.models import Artifact, SynthesisRequest
from synthesis.services import quota
from tests.support.api import assert_error, synthesize
from tests.support.moderation import worker_paused

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]


def fire(client: APIClient, texts: list[str]) -> list:
    """POSTs every text at once from its own thread (and database connection)."""
    barrier = threading.Barrier(len(texts))
    responses: list = [None] * len(texts)

    def run(index: int, text: str) -> None:
        try:
            local = APIClient()
            local.credentials(HTTP_AUTHORIZATION=f"Bearer {client.api_key}")
            barrier.wait()
            responses[index] = local.post(
                "/api/v1/syntheses", {"text": text}, format="json"
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=item) for item in enumerate(texts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return responses


def texts(prefix: str, count: int) -> list[str]:
    return [f"{prefix} number {i:03d} is distinct." for i in range(count)]


def test_fifty_concurrent_misses_against_ten_remaining_enqueue_exactly_ten(
    api, user, settings
):
    settings.TTS_MAX_CONCURRENT_MISSES = 100  # only the character quota applies here
    batch = texts("Quota race", 50)
    size = len(batch[0])
    assert all(len(text) == size for text in batch)
    user.monthly_character_limit = 15 * size
    user.save()
    CharacterUsage.objects.create(
        user=user, period_start=quota.period_start(), characters=5 * size
    )

    responses = fire(api, batch)

    accepted = [r for r in responses if r.status_code == 202]
    refused = [r for r in responses if r.status_code == 429]
    assert len(accepted) == 10, [r.status_code for r in responses]
    assert len(refused) == 40
    assert all(r["X-Cache"] == "MISS" for r in accepted)
    for response in refused:
        assert_error(response, 429, "quota_exceeded")
        assert response.json()["error"]["type"] == "rate_limit_error"
        assert int(response["Retry-After"]) > 0
    # Exactly ten artifacts, each claimed once, each run once by the worker.
    assert Artifact.objects.count() == 10
    assert SynthesisRequest.objects.filter(user=user, cache="miss").count() == 10
    assert CharacterUsage.objects.get(user=user).characters == 15 * size
    for response in accepted:
        done = api.get(f"/api/v1/syntheses/{response.json()['id']}?wait=30")
        assert done.json()["status"] == "succeeded"
    assert sorted(Artifact.objects.values_list("attempts", flat=True)) == [1] * 10
    me = api.get("/api/v1/me").json()["quota"]
    assert me["characters_used"] == me["characters_limit"] == 15 * size


def test_concurrent_misses_are_limited_per_user(api, user, settings):
    settings.RATELIMIT_ENABLE = True
    settings.TTS_MAX_CONCURRENT_MISSES = 4
    with worker_paused():
        responses = fire(api, texts("In flight", 20))
        accepted = [r for r in responses if r.status_code == 202]
        assert len(accepted) == 4, [r.status_code for r in responses]
        for response in responses:
            if response.status_code != 202:
                assert_error(response, 429, "too_many_concurrent_requests")
                assert response["Retry-After"] == str(quota.CONCURRENCY_RETRY_AFTER)
        assert Artifact.objects.filter(status="queued").count() == 4
        # Joining a run in flight costs no engine time: not limited, not charged.
        joined = api.post(
            "/api/v1/syntheses", {"text": accepted[0].json()["text"]}, format="json"
        )
        assert joined.status_code == 202
        assert joined["X-Cache"] == "COALESCED"
        # Only the four misses were charged.
        charged = sum(len(r.json()["text"]) for r in accepted)
        assert CharacterUsage.objects.get(user=user).characters == charged
    for response in accepted:
        done = api.get(f"/api/v1/syntheses/{response.json()['id']}?wait=30")
        assert done.json()["status"] == "succeeded"
    # With the runs finished there is room again.
    again = synthesize(api, text="A new miss after the others finished.")
    assert again.status_code == 200
    assert again["X-Cache"] == "MISS"


def test_other_users_are_not_limited_by_someone_elses_runs(api, other_api, settings):
    settings.RATELIMIT_ENABLE = True
    settings.TTS_MAX_CONCURRENT_MISSES = 1
    with worker_paused():
        first = api.post("/api/v1/syntheses", {"text": "Mine first."}, format="json")
        assert first.status_code == 202
        second = api.post("/api/v1/syntheses", {"text": "Mine second."}, format="json")
        assert_error(second, 429, "too_many_concurrent_requests")
        theirs = other_api.post("/api/v1/syntheses", {"text": "Theirs."}, format="json")
        assert theirs.status_code == 202


def test_load_tests_turn_the_concurrency_limit_off(api, settings):
    settings.RATELIMIT_ENABLE = False
    settings.TTS_MAX_CONCURRENT_MISSES = 1
    with worker_paused():
        responses = fire(api, texts("Load test", 5))
    assert [r.status_code for r in responses] == [202] * 5


def test_hits_are_free_and_misses_are_refused_once_the_quota_is_spent(api, user):
    text = "Exactly the whole quota."
    user.monthly_character_limit = len(text)
    user.save()
    assert synthesize(api, text=text)["X-Cache"] == "MISS"

    repeat = synthesize(api, text=text)
    assert repeat.status_code == 200
    assert repeat["X-Cache"] == "HIT"

    refused = synthesize(api, text="One more.")
    error = assert_error(refused, 429, "quota_exceeded")
    assert "0 of your" in error["message"]
    me = api.get("/api/v1/me").json()
    assert me["quota"]["characters_used"] == len(text)
    assert me["quota"]["characters_limit"] == len(text)
    assert (
        me["quota"]["period_end"] == quota.period_end(quota.period_start()).isoformat()
    )
    assert me["usage"] == {"requests": 2, "hits": 1, "misses": 1, "coalesced": 0}


def test_hits_are_charged_when_the_setting_says_so(
    api, other_api, other_user, settings
):
    text = "Charged even when cached."
    synthesize(api, text=text)
    settings.TTS_QUOTA_CHARGE_HITS = True
    other_user.monthly_character_limit = len(text) + 3
    other_user.save()
    first = synthesize(other_api, text=text)
    assert first["X-Cache"] == "HIT"
    assert other_api.get("/api/v1/me").json()["quota"]["characters_used"] == len(text)
    assert_error(synthesize(other_api, text=text), 429, "quota_exceeded")


def test_a_text_longer_than_the_whole_quota_is_refused(api, user):
    user.monthly_character_limit = 5
    user.save()
    assert_error(synthesize(api, text="Longer than five."), 429, "quota_exceeded")
    assert Artifact.objects.count() == 0
    assert not CharacterUsage.objects.filter(characters__gt=0).exists()


def test_the_default_limit_comes_from_settings(api, settings):
    settings.TTS_MONTHLY_CHARACTERS = 12
    assert api.get("/api/v1/me").json()["quota"]["characters_limit"] == 12
    assert_error(synthesize(api, text="Thirteen char"), 429, "quota_exceeded")


def test_a_failed_run_gives_its_characters_back(api, user):
    text = "This run will fail on the worker."
    with worker_paused():
        created = api.post("/api/v1/syntheses", {"text": text}, format="json")
        assert created["X-Cache"] == "MISS"
        assert api.get("/api/v1/me").json()["quota"]["characters_used"] == len(text)
        # The worker runs another engine build than the one fingerprinted: a permanent
        # failure, as after a partial deployment.
        Artifact.objects.update(model_version="another-build")
    done = api.get(f"/api/v1/syntheses/{created.json()['id']}?wait=30").json()
    assert done["status"] == "failed"
    assert done["error"]["code"] == "engine_error"
    assert api.get("/api/v1/me").json()["quota"]["characters_used"] == 0
    # Only once: a repeat is a new miss, charged again.
    with worker_paused():
        again = api.post("/api/v1/syntheses", {"text": text}, format="json")
        assert again["X-Cache"] == "MISS"
        assert api.get("/api/v1/me").json()["quota"]["characters_used"] == len(text)
