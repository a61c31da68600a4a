import pytest
from rest_framework.test import APIClient

from tests.support.api import assert_error, synthesize

pytestmark = pytest.mark.django_db


def test_healthz():
    response = APIClient().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_cache_and_broker():
    response = APIClient().get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json() == {
        "status": "ok",
        "checks": {"database": "ok", "cache": "ok", "broker": "ok"},
    }


def test_readyz_names_the_failing_part(settings):
    settings.CACHES = {
        **settings.CACHES,
        "results": {**settings.CACHES["results"], "LOCATION": "redis://127.0.0.1:9/0"},
    }
    response = APIClient().get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"]["cache"] == "fail"
    assert response.json()["checks"]["database"] == "ok"


def test_openapi_schema_and_docs_are_served_locally():
    schema = APIClient().get("/api/schema/?format=json")
    assert schema.status_code == 200
    text = schema.content.decode()
    for path in ("/api/v1/syntheses", "/api/v1/auth/register", "/api/v1/me"):
        assert path in text
    docs = APIClient().get("/api/docs/")
    assert docs.status_code == 200
    assert b"swagger-ui" in docs.content
    assert b"//cdn" not in docs.content


def test_stats_is_staff_only(api):
    assert_error(api.get("/api/v1/stats"), 403)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_stats_count_from_the_database(api, staff_api):
    synthesize(api, text="Counted once.")
    synthesize(api, text="Counted once.")
    body = staff_api.get("/api/v1/stats").json()
    assert body["requests"] == 2
    assert body["hits"] == 1
    assert body["misses"] == 1
    assert body["coalesced"] == 0
    assert body["hit_ratio"] == 0.5
    assert body["engine_runs"] == 1
    assert body["engine_failures"] == 0
    assert body["artifacts"] == 1
    assert body["bytes_stored"] > 1000
    assert body["engine_seconds"] > 0
    assert body["engine_seconds_saved"] == body["engine_seconds"]


def test_openapi_schema_has_no_warnings(tmp_path):
    from django.core.management import call_command

    # --fail-on-warn turns any warning (an operationId collision, an unresolvable
    # serializer) into an error.
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "s.yaml"))


def test_favicon_is_served():
    response = APIClient().get("/favicon.ico", follow=True)
    assert response.status_code == 200
    assert b"<svg" in b"".join(response.streaming_content)
