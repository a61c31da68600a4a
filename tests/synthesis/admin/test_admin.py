"""The Django admin as moderators use it, through the test client on the real Postgres,
Redis and worker: search, filters, provenance, players, the block / unblock / purge
actions, the read-only audit log, and list pages with a bounded number of queries."""

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, CharacterUsage, User
from accounts.services import api_key_create
from synthesis import cache, storage
from synthesis.models import Artifact, AuditEntry, Block, SynthesisRequest, Voice
from synthesis.services import quota
from tests.support.api import assert_error, audio_bytes, synthesize
from tests.support.moderation import make_artifact, make_voice


@pytest.fixture
def admin_user(django_user_model):
    return django_user_model.objects.create_superuser(
        username="root", password="pw-root-1", email="root@example.com"
    )


@pytest.fixture
def admin_client(admin_user) -> Client:
    client = Client()
    client.force_login(admin_user)
    return client


def act(client, model: str, action: str, pks, reason: str = ""):
    response = client.post(
        f"/admin/{model}/",
        {
            "action": action,
            "_selected_action": [str(pk) for pk in pks],
            "reason": reason,
        },
        follow=True,
    )
    assert response.status_code == 200
    return [str(m) for m in response.context["messages"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_admin_block_purge_tombstone_unblock(
    api, other_api, admin_client, results_redis
):
    text = "A line the admin will block."
    first = synthesize(api, text=text).json()
    original = audio_bytes(api, first)
    artifact = Artifact.objects.get(fingerprint=first["fingerprint"])
    assert results_redis.exists(cache.pointer_key(artifact.fingerprint))

    messages = act(
        admin_client, "synthesis/artifact", "block_selected", [artifact.pk], "doxxing"
    )
    assert messages == ["Blocked 1 item(s)."]
    artifact.refresh_from_db()
    assert artifact.status == "blocked"
    assert not results_redis.exists(cache.pointer_key(artifact.fingerprint))
    block = Block.objects.get()
    assert (block.target, block.target_id, block.reason) == (
        "artifact",
        artifact.fingerprint,
        "doxxing",
    )
    assert block.created_by.username == "root"

    # Tombstone: not served, and an identical request does not synthesize it again.
    assert_error(api.get(first["audio_url"]), 410, "blocked")
    again = synthesize(other_api, text=text)
    assert again.json()["status"] == "blocked"
    artifact.refresh_from_db()
    assert artifact.attempts == 1

    # The moderator can still hear it, through the staff-only player.
    page = admin_client.get(f"/admin/synthesis/artifact/{artifact.pk}/change/")
    assert f'src="/admin-audio/artifact/{artifact.pk}"' in page.content.decode()
    played = admin_client.get(f"/admin-audio/artifact/{artifact.pk}")
    assert b"".join(played.streaming_content) == original

    # Blocking twice is refused with a message, not an error page.
    messages = act(admin_client, "synthesis/artifact", "block_selected", [artifact.pk])
    assert "already blocked" in messages[0]

    messages = act(
        admin_client, "synthesis/artifact", "unblock_selected", [artifact.pk], "appeal"
    )
    assert messages == ["Unblocked 1 item(s)."]
    artifact.refresh_from_db()
    assert artifact.status == "succeeded"
    assert audio_bytes(api, first) == original
    assert synthesize(other_api, text=text)["X-Cache"] == "HIT"

    log = list(AuditEntry.objects.values_list("action", "actor_username", "reason"))
    assert log == [("unblock", "root", "appeal"), ("block", "root", "doxxing")]
    listing = admin_client.get("/admin/synthesis/auditentry/").content.decode()
    assert "doxxing" in listing and "appeal" in listing


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("celery_worker")
def test_blocking_the_audio_of_a_synthesis_row(api, admin_client):
    first = synthesize(api, text="Blocked from the history list.").json()
    messages = act(
        admin_client,
        "synthesis/synthesisrequest",
        "block_artifacts_of_selected",
        [first["id"]],
        "spam",
    )
    assert messages == ["Blocked 1 artifact(s)."]
    assert Artifact.objects.get(fingerprint=first["fingerprint"]).status == "blocked"


@pytest.mark.django_db
def test_voice_and_user_actions(admin_client, user, other_user):
    voice = make_voice(user)
    act(admin_client, "synthesis/voice", "block_selected", [voice.pk], "impersonation")
    voice.refresh_from_db()
    assert voice.blocked_at is not None
    blocked = admin_client.get("/admin/synthesis/voice/?moderation=set")
    assert list(blocked.context["cl"].result_list) == [voice]
    act(admin_client, "synthesis/voice", "unblock_selected", [voice.pk])
    voice.refresh_from_db()
    assert voice.blocked_at is None

    act(admin_client, "accounts/user", "block_selected", [other_user.pk], "abuse")
    other_user.refresh_from_db()
    assert not other_user.is_active
    inactive = admin_client.get("/admin/accounts/user/?is_active__exact=0")
    assert list(inactive.context["cl"].result_list) == [other_user]
    act(admin_client, "accounts/user", "unblock_selected", [other_user.pk])
    other_user.refresh_from_db()
    assert other_user.is_active
    assert AuditEntry.objects.count() == 4


@pytest.mark.django_db(transaction=True)  # files go once the purge commits
def test_purge_action_dry_run_then_real(admin_client, user, results_redis):
    orphan = make_artifact("Nobody refers to this.")
    cache.pointer_set(orphan)
    messages = act(admin_client, "synthesis/artifact", "purge_dry_run", [orphan.pk])
    assert messages[0].startswith("Dry run: would purge the cache entries of 1")
    assert storage.exists(orphan.audio_name)
    assert results_redis.exists(cache.pointer_key(orphan.fingerprint))
    assert not AuditEntry.objects.exists()

    act(admin_client, "synthesis/artifact", "purge_selected", [orphan.pk], "cleanup")
    orphan.refresh_from_db()
    assert orphan.status == "purged"
    assert not storage.exists(storage.artifact_audio_name(orphan.fingerprint))
    assert AuditEntry.objects.get().action == "purge"


@pytest.mark.django_db
def test_search_filters_and_read_only_provenance(admin_client, user, other_user):
    mine = make_artifact("Searchable aardvark sentence.", user=user)
    theirs = make_artifact("Another plain sentence.", user=other_user)
    Artifact.objects.filter(pk=theirs.pk).update(status="blocked")

    def results(path):
        response = admin_client.get(path)
        assert response.status_code == 200
        return list(response.context["cl"].result_list)

    assert results("/admin/synthesis/artifact/?q=aardvark") == [mine]
    assert results(f"/admin/synthesis/artifact/?q={theirs.fingerprint}") == [theirs]
    assert results(f"/admin/synthesis/artifact/?q={theirs.fingerprint[:16]}") == [
        theirs
    ]
    assert results("/admin/synthesis/artifact/?status__exact=blocked") == [theirs]
    assert results("/admin/synthesis/artifact/?engine__exact=espeak") != []
    requests = "/admin/synthesis/synthesisrequest/"
    assert [r.artifact for r in results(f"{requests}?q=bob")] == [theirs]
    assert [r.artifact for r in results(f"{requests}?q=aardvark")] == [mine]
    assert [r.artifact for r in results(f"{requests}?q={mine.fingerprint}")] == [mine]
    prefix = mine.fingerprint[:16].upper()
    assert [r.artifact for r in results(f"{requests}?q={prefix}")] == [mine]
    assert [r.artifact for r in results(f"{requests}?status=blocked")] == [theirs]
    assert len(results(f"{requests}?cache__exact=miss")) == 2
    assert results(f"{requests}?cache__exact=hit") == []
    today = timezone.now().date()
    dated = f"{requests}?created_at__year={today.year}&created_at__month={today.month}"
    assert len(results(dated)) == 2

    page = admin_client.get(f"/admin/synthesis/artifact/{mine.pk}/change/")
    html = page.content.decode()
    assert "Searchable aardvark sentence." in html
    assert "&quot;sample_rate&quot;: 24000" in html  # pretty-printed inputs
    assert mine.model_version in html
    assert 'name="status"' not in html  # read-only
    assert admin_client.get("/admin/synthesis/artifact/add/").status_code == 403


@pytest.mark.django_db
def test_the_audit_log_cannot_be_edited(admin_client, user):
    make_voice(user)
    act(admin_client, "accounts/user", "block_selected", [user.pk], "abuse")
    entry = AuditEntry.objects.get()
    base = "/admin/synthesis/auditentry/"
    assert admin_client.get(base).status_code == 200
    assert admin_client.get(f"{base}{entry.pk}/change/").status_code == 200
    assert admin_client.get(f"{base}add/").status_code == 403
    edited = admin_client.post(f"{base}{entry.pk}/change/", {"reason": "rewritten"})
    assert edited.status_code == 403
    assert (
        admin_client.post(f"{base}{entry.pk}/delete/", {"post": "yes"}).status_code
        == 403
    )
    entry.refresh_from_db()
    assert entry.reason == "abuse"


@pytest.mark.django_db
def test_api_key_pages_never_show_the_secret(admin_client, user):
    api_key, plaintext = api_key_create(user=user, name="laptop")
    page = admin_client.get(f"/admin/accounts/apikey/{api_key.pk}/change/")
    html = page.content.decode()
    assert page.status_code == 200
    assert api_key.prefix in html
    assert api_key.key_hash not in html and plaintext not in html
    listing = admin_client.get("/admin/accounts/apikey/?q=alice").content.decode()
    assert api_key.key_hash not in listing


@pytest.mark.django_db
def test_the_monthly_limit_is_editable_and_usage_listed(admin_client, user):
    CharacterUsage.objects.create(
        user=user, period_start=quota.period_start(), characters=1234
    )
    listing = admin_client.get("/admin/accounts/user/").content.decode()
    assert "1234" in listing
    page = admin_client.get(f"/admin/accounts/user/{user.pk}/change/")
    assert 'name="monthly_character_limit"' in page.content.decode()


ROWS = 200


@pytest.fixture
def many_rows(user):
    """ROWS of everything the admin lists."""
    now = timezone.now()
    users = User.objects.bulk_create(
        [User(username=f"user{i:03d}", password="!") for i in range(ROWS)]
    )
    ApiKey.objects.bulk_create(
        [
            ApiKey(user=u, name="k", prefix=f"tts_{i:04d}", key_hash=f"{i:064d}")
            for i, u in enumerate(users)
        ]
    )
    CharacterUsage.objects.bulk_create(
        [
            CharacterUsage(user=u, period_start=quota.period_start(), characters=7)
            for u in users
        ]
    )
    artifacts = Artifact.objects.bulk_create(
        [
            Artifact(
                fingerprint=f"{i:064x}",
                status="succeeded",
                engine="espeak",
                model_version="m",
                inputs={"text": f"row {i}", "voice": {"kind": "builtin", "name": "x"}},
                audio_name=f"audio/{i}.wav",
                sample_rate=24000,
                duration_s=1.0,
                created_at=now,
            )
            for i in range(ROWS)
        ]
    )
    SynthesisRequest.objects.bulk_create(
        [
            SynthesisRequest(
                user=users[i],
                artifact=a,
                text=f"row {i}",
                characters=5,
                voice_ref="espeak:en-us",
                seed=42,
                sample_rate=24000,
                engine="espeak",
                cache="miss",
            )
            for i, a in enumerate(artifacts)
        ]
    )
    Voice.objects.bulk_create(
        [
            Voice(
                owner=users[i],
                name=f"voice {i}",
                audio_name="voices/x.wav",
                audio_sha256=f"{i:064x}",
                prompt_text="hi",
                duration_s=2.0,
                sample_rate=24000,
            )
            for i in range(ROWS)
        ]
    )
    Block.objects.bulk_create(
        [Block(target="user", target_id=u.username, created_by=user) for u in users]
    )
    AuditEntry.objects.bulk_create(
        [
            AuditEntry(
                actor=user,
                actor_username="alice",
                action="block",
                target="user",
                target_id=u.username,
            )
            for u in users
        ]
    )


@pytest.mark.django_db
@pytest.mark.usefixtures("many_rows")
@pytest.mark.parametrize(
    "path",
    [
        "/admin/synthesis/artifact/",
        "/admin/synthesis/synthesisrequest/",
        "/admin/synthesis/voice/",
        "/admin/synthesis/block/",
        "/admin/synthesis/auditentry/",
        "/admin/accounts/user/",
        "/admin/accounts/apikey/",
    ],
)
def test_list_pages_use_a_bounded_number_of_queries(
    admin_client, path, django_assert_max_num_queries
):
    # 100 to 200 rows on the page; per-row queries would need 100 or more.
    with django_assert_max_num_queries(10):
        response = admin_client.get(f"{path}?all=")
    assert response.status_code == 200
    assert len(response.context["cl"].result_list) >= 100


@pytest.mark.django_db
def test_a_synthesis_page_shows_its_provenance_and_player(admin_client, user):
    artifact = make_artifact("Provenance of one request.", user=user)
    request = SynthesisRequest.objects.get()
    html = admin_client.get(
        f"/admin/synthesis/synthesisrequest/{request.pk}/change/"
    ).content.decode()
    assert artifact.model_version in html
    assert "attempts 1, engine 0.01 s" in html
    assert "&quot;text&quot;: &quot;Provenance of one request.&quot;" in html
    assert f'src="/admin-audio/artifact/{artifact.pk}"' in html
    assert (
        admin_client.get(
            f"/admin/synthesis/synthesisrequest/{request.pk}/delete/"
        ).status_code
        == 403
    )
