"""The staff moderation endpoints (docs/api.md "Moderation"), end to end: block ->
purge -> tombstone -> no re-synthesis -> unblock restores, for artifacts, voices and
users, with every action in the audit log."""

import pytest

from synthesis import cache, storage
from synthesis.models import Artifact, AuditEntry, Block, Voice
from tests.support.api import assert_error, audio_bytes, client_for, synthesize
from tests.support.moderation import make_artifact, make_voice, worker_paused

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("celery_worker"),
]

BLOCK_FIELDS = {"id", "target", "target_id", "reason", "created_by", "created_at"}
AUDIT_FIELDS = {"id", "actor", "action", "target", "target_id", "reason", "created_at"}


def block(staff_api, target, target_id, reason="spam"):
    return staff_api.post(
        "/api/v1/moderation/blocks",
        {"target": target, "id": target_id, "reason": reason},
        format="json",
    )


def audit(staff_api, **params):
    response = staff_api.get("/api/v1/moderation/audit", params)
    assert response.status_code == 200
    return response.json()["results"]


def test_block_purges_leaves_a_tombstone_and_unblock_restores(
    api, other_api, staff_api, results_redis
):
    text = "Something a moderator will not like."
    first = synthesize(api, text=text).json()
    original = audio_bytes(api, first)
    fingerprint = first["fingerprint"]
    assert synthesize(other_api, text=text)["X-Cache"] == "HIT"
    assert results_redis.exists(cache.pointer_key(fingerprint))

    response = block(staff_api, "artifact", fingerprint, reason="hate speech")
    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) >= BLOCK_FIELDS
    assert body["target"] == "artifact"
    assert body["target_id"] == fingerprint
    assert body["reason"] == "hate speech"
    assert body["created_by"] == "mod"

    # Purged from Redis; a tombstone in Postgres; the file kept for a possible restore.
    assert not results_redis.exists(cache.pointer_key(fingerprint))
    artifact = Artifact.objects.get(fingerprint=fingerprint)
    assert artifact.status == "blocked"
    assert storage.exists(artifact.audio_name)

    # Never served again: the existing history shows why, the audio is gone.
    detail = api.get(f"/api/v1/syntheses/{first['id']}").json()
    assert detail["status"] == "blocked"
    assert detail["audio_url"] is None
    assert detail["error"]["code"] == "blocked"
    assert_error(api.get(f"/api/v1/syntheses/{first['id']}/audio"), 410, "blocked")

    # An identical request is answered by the tombstone, without re-synthesis.
    again = synthesize(other_api, text=text)
    assert again.status_code == 200
    assert again.json()["status"] == "blocked"
    assert again.json()["audio_url"] is None
    artifact.refresh_from_db()
    assert artifact.attempts == 1
    assert artifact.status == "blocked"
    assert not results_redis.exists(cache.pointer_key(fingerprint))

    listed = staff_api.get("/api/v1/moderation/blocks").json()
    assert [b["id"] for b in listed["results"]] == [body["id"]]

    lifted = staff_api.delete(f"/api/v1/moderation/blocks/{body['id']}")
    assert lifted.status_code == 204
    artifact.refresh_from_db()
    assert artifact.status == "succeeded"
    assert audio_bytes(api, first) == original
    restored = synthesize(other_api, text=text)
    assert restored["X-Cache"] == "HIT"
    assert restored.json()["status"] == "succeeded"
    assert Artifact.objects.get(fingerprint=fingerprint).attempts == 1
    assert staff_api.get("/api/v1/moderation/blocks").json()["count"] == 0
    assert_error(
        staff_api.delete(f"/api/v1/moderation/blocks/{body['id']}"), 404, "not_found"
    )

    entries = audit(staff_api)
    assert [(e["action"], e["target_id"]) for e in entries] == [
        ("unblock", fingerprint),
        ("block", fingerprint),
    ]
    assert set(entries[0]) >= AUDIT_FIELDS
    assert entries[1]["actor"] == "mod"
    assert entries[1]["reason"] == "hate speech"


def test_unblock_without_the_file_makes_the_next_request_synthesize_again(
    api, staff_api
):
    first = synthesize(api, text="Blocked and then lost.").json()
    created = block(staff_api, "artifact", first["fingerprint"]).json()
    artifact = Artifact.objects.get(fingerprint=first["fingerprint"])
    storage.delete(artifact.audio_name)

    staff_api.delete(f"/api/v1/moderation/blocks/{created['id']}")
    artifact.refresh_from_db()
    assert artifact.status == "purged"
    again = synthesize(api, text="Blocked and then lost.")
    assert again["X-Cache"] == "MISS"
    assert again.json()["status"] == "succeeded"
    artifact.refresh_from_db()
    assert artifact.attempts == 2


def test_blocking_a_voice_blocks_its_clip_and_its_audio(
    api, user, other_user, staff_api, results_redis
):
    voice = make_voice(user)
    # Someone else uploaded the very same clip: same audio, same fingerprints.
    twin = make_voice(other_user, name="copy")
    assert twin.audio_sha256 == voice.audio_sha256
    made = make_artifact("Said in the cloned voice.", voice=voice, user=user)
    also_blocked = make_artifact("An artifact blocked on its own.", voice=voice)
    unrelated = make_artifact("Said in a builtin voice.", user=user)
    for artifact in (made, also_blocked, unrelated):
        cache.pointer_set(artifact)
    block(staff_api, "artifact", also_blocked.fingerprint)

    response = block(staff_api, "voice", str(voice.pk), reason="no consent")
    assert response.status_code == 201
    assert Voice.objects.filter(blocked_at__isnull=False).count() == 2
    made.refresh_from_db()
    assert made.status == "blocked"
    assert not results_redis.exists(cache.pointer_key(made.fingerprint))
    assert results_redis.exists(cache.pointer_key(unrelated.fingerprint))
    unrelated.refresh_from_db()
    assert unrelated.status == "succeeded"

    refused = api.post(
        "/api/v1/syntheses",
        {"text": "Anything.", "voice": str(voice.pk)},
        format="json",
    )
    assert_error(refused, 400, "voice_blocked", param="voice")

    staff_api.delete(f"/api/v1/moderation/blocks/{response.json()['id']}")
    assert Voice.objects.filter(blocked_at__isnull=False).count() == 0
    made.refresh_from_db()
    also_blocked.refresh_from_db()
    assert made.status == "succeeded"
    assert also_blocked.status == "blocked"  # its own block still stands


def test_a_voice_stays_blocked_while_a_twin_block_stands(user, other_user, staff_api):
    voice = make_voice(user)
    twin = make_voice(other_user, name="copy")
    first = block(staff_api, "voice", str(voice.pk)).json()
    assert block(staff_api, "voice", str(twin.pk)).status_code == 201
    staff_api.delete(f"/api/v1/moderation/blocks/{first['id']}")
    assert Voice.objects.filter(blocked_at__isnull=False).count() == 2


def test_a_blocked_users_keys_stop_working_until_unblocked(api, staff_api):
    assert api.get("/api/v1/me").status_code == 200
    created = block(staff_api, "user", "alice", reason="abuse")
    assert created.status_code == 201
    assert_error(api.get("/api/v1/me"), 401)
    assert_error(synthesize(api, text="Let me in."), 401)

    staff_api.delete(f"/api/v1/moderation/blocks/{created.json()['id']}")
    assert api.get("/api/v1/me").status_code == 200
    actions = [(e["action"], e["target"]) for e in audit(staff_api, target="user")]
    assert actions == [("unblock", "user"), ("block", "user")]


def test_staff_cannot_block_themselves(staff_api):
    assert_error(block(staff_api, "user", "mod"), 400, "cannot_block_self", param="id")
    assert not AuditEntry.objects.exists()


@pytest.mark.parametrize(
    ("body", "code", "param"),
    [
        ({"target": "song", "id": "x"}, "invalid_choice", "target"),
        ({"target": "artifact"}, "required", "id"),
        ({"target": "user", "id": 7}, "invalid", "id"),
        ({"target": "artifact", "id": "0" * 64}, "not_found", "id"),
        ({"target": "voice", "id": "not-a-uuid"}, "not_found", "id"),
        ({"target": "user", "id": "nobody"}, "not_found", "id"),
    ],
)
def test_bad_block_requests_are_4xx_in_the_error_shape(staff_api, body, code, param):
    response = staff_api.post("/api/v1/moderation/blocks", body, format="json")
    assert response.status_code in (400, 404)
    assert_error(response, response.status_code, code, param=param)
    assert not Block.objects.exists()


def test_blocking_twice_is_a_conflict(staff_api, other_user):
    assert block(staff_api, "user", "bob").status_code == 201
    assert_error(block(staff_api, "user", "bob"), 409, "already_blocked")
    assert Block.objects.count() == 1


def test_moderation_is_staff_only(api, other_user):
    from rest_framework.test import APIClient

    for method, path in [
        ("post", "/api/v1/moderation/blocks"),
        ("get", "/api/v1/moderation/blocks"),
        ("delete", "/api/v1/moderation/blocks/1"),
        ("get", "/api/v1/moderation/audit"),
        ("post", "/api/v1/moderation/purge"),
    ]:
        body = {"target": "user", "id": "bob", "reason": "x"}
        assert_error(getattr(api, method)(path, body, format="json"), 403)
        assert_error(getattr(APIClient(), method)(path, body, format="json"), 401)
    other_user.refresh_from_db()
    assert other_user.is_active


def test_audit_is_newest_first_and_filters(staff_api, user, other_user):
    block(staff_api, "user", "alice")
    block(staff_api, "user", "bob")
    entries = audit(staff_api)
    assert [e["target_id"] for e in entries] == ["bob", "alice"]
    assert [e["target_id"] for e in audit(staff_api, target_id="alice")] == ["alice"]
    assert audit(staff_api, action="unblock") == []
    assert_error(staff_api.get("/api/v1/moderation/audit?action=erase"), 400)


def test_purge_endpoint_reports_and_deletes_unreferenced_files(staff_api, user):
    voice = make_voice(user)
    kept = make_artifact("Still in someone's history.", voice=voice, user=user)
    orphan = make_artifact("Nobody refers to this one.", voice=voice)
    body = {"target": "voice", "id": str(voice.pk), "dry_run": True}
    dry = staff_api.post("/api/v1/moderation/purge", body, format="json").json()
    assert dry["artifacts"] == 2
    assert dry["files_deleted"] == [orphan.audio_name]
    assert storage.exists(orphan.audio_name)
    assert not AuditEntry.objects.exists()

    body["dry_run"] = False
    done = staff_api.post("/api/v1/moderation/purge", body, format="json").json()
    assert done["bytes_freed"] == orphan.bytes
    assert not storage.exists(orphan.audio_name)
    assert storage.exists(kept.audio_name)
    orphan.refresh_from_db()
    assert orphan.status == "purged"
    assert AuditEntry.objects.get().details["files_deleted"] == 1


def test_a_blocked_user_is_also_refused_by_a_new_client(staff_api, user):
    block(staff_api, "user", "alice")
    assert_error(client_for(user).get("/api/v1/me"), 401)


def test_a_voice_block_can_be_lifted_after_the_voice_row_is_gone(user, staff_api):
    voice = make_voice(user)
    made = make_artifact("Made before the voice was deleted.", voice=voice)
    created = block(staff_api, "voice", str(voice.pk)).json()
    voice.delete()
    lifted = staff_api.delete(f"/api/v1/moderation/blocks/{created['id']}")
    assert lifted.status_code == 204
    made.refresh_from_db()
    assert made.status == "succeeded"


def test_a_run_in_flight_that_gets_blocked_never_becomes_audio(api, staff_api):
    text = "Blocked while it waits for the worker."
    with worker_paused():
        queued = api.post("/api/v1/syntheses", {"text": text}, format="json").json()
        assert queued["status"] == "queued"
        created = block(staff_api, "artifact", queued["fingerprint"]).json()
    detail = api.get(f"/api/v1/syntheses/{queued['id']}?wait=5").json()
    assert detail["status"] == "blocked"
    artifact = Artifact.objects.get(fingerprint=queued["fingerprint"])
    assert artifact.attempts == 0  # the worker found nothing to claim

    staff_api.delete(f"/api/v1/moderation/blocks/{created['id']}")
    artifact.refresh_from_db()
    assert artifact.status == "purged"
    again = synthesize(api, text=text)
    assert again["X-Cache"] == "MISS"
    assert again.json()["status"] == "succeeded"


def test_a_stale_pointer_to_a_tombstone_is_not_served(api, staff_api, results_redis):
    first = synthesize(api, text="A pointer that outlived its block.").json()
    block(staff_api, "artifact", first["fingerprint"])
    artifact = Artifact.objects.get(fingerprint=first["fingerprint"])
    cache.pointer_set(artifact)  # e.g. re-warmed by a request racing the block

    again = synthesize(api, text="A pointer that outlived its block.")
    assert again.json()["status"] == "blocked"
    assert again.json()["audio_url"] is None
    assert not results_redis.exists(cache.pointer_key(artifact.fingerprint))
    artifact.refresh_from_db()
    assert artifact.hit_count == 0


def test_a_blocked_clip_uploaded_again_is_still_refused(
    api, user, other_user, staff_api
):
    blocked = make_voice(other_user)
    block(staff_api, "voice", str(blocked.pk))
    # The same audio arrives again after the block, as a new voice row.
    again = make_voice(user, name="re-upload")
    assert again.audio_sha256 == blocked.audio_sha256
    assert again.blocked_at is None
    refused = api.post(
        "/api/v1/syntheses",
        {"text": "Anything.", "voice": str(again.pk)},
        format="json",
    )
    assert_error(refused, 400, "voice_blocked", param="voice")
    assert not Artifact.objects.exists()
