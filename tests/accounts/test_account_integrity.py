"""Accounts that stay consistent under races and moderation: one account per name
whatever its case, a bounded and paginated key list, revocation that cannot be undone
in the admin, and no staff member above a superuser."""

from __future__ import annotations

import threading

import pytest
import requests
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from tests.support.api import assert_error, client_for

PASSWORD = "a-long-Passphrase-9"
VARIANTS = [
    "casey",
    "Casey",
    "CASEY",
    "cAsey",
    "caSey",
    "casEy",
    "caseY",
    "CAsey",
    "caSEY",
    "CaSeY",
    "cAsEy",
    "CASey",
]


@pytest.mark.django_db(transaction=True)
def test_twelve_concurrent_case_variants_make_exactly_one_account(live_server):
    barrier = threading.Barrier(len(VARIANTS))
    results: list = [None] * len(VARIANTS)

    def register(index: int, name: str) -> None:
        barrier.wait()
        response = requests.post(
            f"{live_server.url}/api/v1/auth/register",
            json={"username": name, "password": PASSWORD},
            timeout=60,
        )
        results[index] = (response.status_code, response.json())

    threads = [
        threading.Thread(target=register, args=item) for item in enumerate(VARIANTS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(status for status, _ in results)
    assert statuses == [201] + [400] * 11, results
    for status, body in results:
        if status == 400:
            assert body["error"]["code"] == "username_taken", body
    assert User.objects.filter(username__iexact="casey").count() == 1


@pytest.mark.django_db
def test_the_database_refuses_a_second_case_variant(user):
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        User.objects.create_user(username=user.username.upper(), password=PASSWORD)


# --- API keys ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_key_list_is_paginated(api, user):
    for i in range(3):
        ApiKey.objects.create(
            user=user, name=f"k{i}", prefix="tts_x", key_hash=f"{i:064d}"
        )
    page = api.get("/api/v1/auth/keys", {"page_size": 2}).json()
    assert set(page) == {"count", "next", "previous", "results"}
    assert page["count"] == 4 and len(page["results"]) == 2


@pytest.mark.django_db
def test_a_user_holds_at_most_tts_max_api_keys(api, user, settings):
    settings.TTS_MAX_API_KEYS = 2  # the fixture's key is the first
    token = APIClient().post
    user.set_password(PASSWORD)
    user.save()

    def create():
        return token(
            "/api/v1/auth/token",
            {"username": user.username, "password": PASSWORD},
            format="json",
        )

    assert create().status_code == 201
    assert_error(create(), 429, "too_many_api_keys")
    # A revoked key frees its place.
    newest = ApiKey.objects.filter(user=user).order_by("-created_at").first()
    assert api.delete(f"/api/v1/auth/keys/{newest.pk}").status_code == 204
    assert create().status_code == 201
    client = Client()
    client.force_login(user)
    page = client.post("/account/", {"name": "one too many"})
    assert page.status_code == 429
    assert "the limit is 2" in page.content.decode()


@pytest.mark.django_db
def test_a_revoked_key_cannot_be_unrevoked_in_the_admin(admin_client, user):
    client = client_for(user)
    key = ApiKey.objects.get(user=user)
    assert client.delete(f"/api/v1/auth/keys/{key.pk}").status_code == 204
    key.refresh_from_db()
    revoked_at = key.revoked_at
    admin_client.post(
        f"/admin/accounts/apikey/{key.pk}/change/",
        {"name": "back to life", "revoked_at_0": "", "revoked_at_1": ""},
    )
    key.refresh_from_db()
    assert key.revoked_at == revoked_at
    assert_error(client.get("/api/v1/me"), 401)


@pytest.mark.django_db
def test_the_admin_revokes_keys_with_an_action(admin_client, user):
    key = ApiKey.objects.create(user=user, prefix="tts_y", key_hash="f" * 64)
    admin_client.post(
        "/admin/accounts/apikey/",
        {"action": "revoke_selected", "_selected_action": [key.pk]},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


# --- Moderation ----------------------------------------------------------------------------


@pytest.mark.django_db
def test_staff_cannot_block_a_superuser(staff_api, django_user_model):
    boss = django_user_model.objects.create_superuser(
        username="boss", password=PASSWORD
    )
    refused = staff_api.post(
        "/api/v1/moderation/blocks",
        {"target": "user", "id": boss.username, "reason": "coup"},
        format="json",
    )
    assert_error(refused, 403, "cannot_block_superuser")
    boss.refresh_from_db()
    assert boss.is_active
    other = django_user_model.objects.create_superuser(
        username="peer", password=PASSWORD
    )
    allowed = client_for(other).post(
        "/api/v1/moderation/blocks",
        {"target": "user", "id": boss.username, "reason": "peer review"},
        format="json",
    )
    assert allowed.status_code == 201
