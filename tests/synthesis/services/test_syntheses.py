"""Exactly one engine run per fingerprint, whatever arrives at once (docs/architecture.md "The
request path"): real HTTP server, Postgres, Redis and Celery worker."""

from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

import pytest
import requests

from synthesis.models import Artifact, SynthesisRequest
from tests.support.api import client_for

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

CLIENTS = 32


def test_32_identical_requests_cost_one_engine_run(live_server, user, other_user):
    # Half the requests from each of two users: coalescing is across users.
    keys = [client_for(user).api_key, client_for(other_user).api_key]
    barrier = Barrier(CLIENTS)
    url = f"{live_server.url}/api/v1/syntheses?wait=60"

    def one(index: int):
        session = requests.Session()
        headers = {"Authorization": f"Bearer {keys[index % 2]}"}
        barrier.wait()
        response = session.post(
            url, json={"text": "Thirty two voices, one engine run."}, headers=headers
        )
        return response.status_code, response.headers["X-Cache"], response.json()

    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(one, range(CLIENTS)))

    statuses = [status for status, _, _ in results]
    outcomes = [cache for _, cache, _ in results]
    bodies = [body for _, _, body in results]
    assert statuses == [200] * CLIENTS
    assert outcomes.count("MISS") == 1
    assert outcomes.count("HIT") + outcomes.count("COALESCED") == CLIENTS - 1
    assert {body["fingerprint"] for body in bodies} == {bodies[0]["fingerprint"]}
    assert {body["status"] for body in bodies} == {"succeeded"}

    artifact = Artifact.objects.get()
    assert artifact.attempts == 1  # one engine run
    assert SynthesisRequest.objects.count() == CLIENTS
    assert set(SynthesisRequest.objects.values_list("artifact", flat=True)) == {
        artifact.pk
    }
    audio = {
        requests.get(
            f"{live_server.url}{body['audio_url']}",
            headers={"Authorization": f"Bearer {keys[i % 2]}"},
        ).content
        for i, body in enumerate(bodies[:4])
    }
    assert len(audio) == 1


def test_distinct_requests_at_once_each_run_once(live_server, user):
    key = client_for(user).api_key
    texts = [f"Sentence number {n}." for n in range(8)] * 3
    barrier = Barrier(len(texts))

    def one(text: str):
        barrier.wait()
        return requests.post(
            f"{live_server.url}/api/v1/syntheses?wait=60",
            json={"text": text},
            headers={"Authorization": f"Bearer {key}"},
        ).headers["X-Cache"]

    with ThreadPoolExecutor(len(texts)) as pool:
        outcomes = list(pool.map(one, texts))
    assert outcomes.count("MISS") == 8
    assert Artifact.objects.count() == 8
    assert {a.attempts for a in Artifact.objects.all()} == {1}
