"""A database connection that drops under a request in flight (a failover, a restart,
pg_terminate_backend) is a 503 the client may retry, in the error shape; the next
request reconnects."""

import psycopg
import pytest
from django.db import connection

from tests.support.api import assert_error
from tests.support.worker import database_url

pytestmark = pytest.mark.django_db(transaction=True)


class _TerminateBeforeStatement:
    """Terminates this connection's server process just before the n-th statement of
    the request, from another connection: the statement meets a dead connection."""

    def __init__(self, n: int) -> None:
        self.remaining = n

    def __call__(self, execute, sql, params, many, context):
        self.remaining -= 1
        if self.remaining == 0:
            pid = context["connection"].connection.info.backend_pid
            with psycopg.connect(database_url(), autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        return execute(sql, params, many, context)


@pytest.mark.parametrize("statement", [1, 2])
def test_a_connection_dropped_mid_request_is_a_503_and_the_next_request_works(
    api, statement
):
    with connection.execute_wrapper(_TerminateBeforeStatement(statement)):
        response = api.get("/api/v1/me")
    error = assert_error(response, 503, "database_unavailable")
    assert error["type"] == "server_error"
    assert response["Retry-After"] == "1"

    # What Django does at the end of every request outside the test client: a
    # connection that saw errors and no longer answers is closed, and the next request
    # opens a new one.
    connection.close_if_unusable_or_obsolete()
    assert api.get("/api/v1/me").status_code == 200
