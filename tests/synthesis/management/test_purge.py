"""manage.py purge: by fingerprint, voice or user, with a dry run. Cache entries of
every artifact concerned go; files go only where no history refers to them."""

import io

import pytest
from django.core.management import CommandError, call_command

from synthesis import cache, storage
from synthesis.models import Artifact, AuditEntry, Block
from tests.support.moderation import make_artifact, make_voice

pytestmark = pytest.mark.django_db(transaction=True)  # files go on commit


def purge(*args) -> str:
    out = io.StringIO()
    call_command("purge", *args, stdout=out)
    return out.getvalue()


def test_dry_run_reports_and_changes_nothing(user, results_redis):
    orphan = make_artifact("Nobody refers to me.")
    cache.pointer_set(orphan)
    output = purge("--fingerprint", orphan.fingerprint, "--dry-run")
    assert f"Would delete {orphan.audio_name}" in output
    assert "Dry run: 1 artifact(s), 1 cache entry, 1 unreferenced file(s)" in output
    assert storage.exists(orphan.audio_name)
    assert results_redis.exists(cache.pointer_key(orphan.fingerprint))
    orphan.refresh_from_db()
    assert orphan.status == "succeeded"
    assert not AuditEntry.objects.exists()


def test_purge_by_fingerprint_removes_the_entry_and_the_unreferenced_file(
    user, results_redis
):
    orphan = make_artifact("Nobody refers to me.")
    cache.pointer_set(orphan)
    output = purge("--fingerprint", orphan.fingerprint, "--reason", "takedown")
    assert f"Deleted {orphan.audio_name}" in output
    assert not storage.exists(orphan.audio_name)
    assert not results_redis.exists(cache.pointer_key(orphan.fingerprint))
    orphan.refresh_from_db()
    assert orphan.status == "purged"
    assert orphan.audio_name == ""
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.target, entry.target_id, entry.reason) == (
        "purge",
        "artifact",
        orphan.fingerprint,
        "takedown",
    )
    assert entry.actor_username == "(command line)"
    assert entry.details["bytes_freed"] == orphan.bytes


def test_referenced_audio_keeps_its_file_but_loses_its_cache_entry(user, results_redis):
    kept = make_artifact("In alice's history.", user=user)
    cache.pointer_set(kept)
    purge("--user", "alice")
    assert storage.exists(kept.audio_name)
    assert not results_redis.exists(cache.pointer_key(kept.fingerprint))
    kept.refresh_from_db()
    assert kept.status == "succeeded"


def test_purge_by_voice_covers_every_artifact_of_its_clip(user, other_user):
    voice = make_voice(user)
    referenced = make_artifact("Used by bob.", voice=voice, user=other_user)
    orphans = [make_artifact(f"Orphan {i}.", voice=voice) for i in range(2)]
    unrelated = make_artifact("Another voice entirely.")
    output = purge("--voice", str(voice.pk))
    assert "3 artifact(s), 3 cache entries, 2 unreferenced file(s)" in output
    statuses = dict(Artifact.objects.values_list("pk", "status"))
    assert statuses[referenced.pk] == "succeeded"
    assert [statuses[a.pk] for a in orphans] == ["purged", "purged"]
    assert statuses[unrelated.pk] == "succeeded"
    assert storage.exists(unrelated.audio_name)


def test_a_purged_tombstone_stays_blocked(user, staff_user):
    from synthesis.services import moderation

    orphan = make_artifact("Blocked and unreferenced.")
    moderation.block_create(
        actor=staff_user, target="artifact", target_id=orphan.fingerprint
    )
    purge("--fingerprint", orphan.fingerprint)
    orphan.refresh_from_db()
    assert orphan.status == "blocked"
    assert not storage.exists(storage.artifact_audio_name(orphan.fingerprint))
    # Lifting the block now cannot restore audio that is gone.
    moderation.block_lift(actor=staff_user, block_id=Block.objects.get().pk)
    orphan.refresh_from_db()
    assert orphan.status == "purged"


@pytest.mark.parametrize(
    "args",
    [
        ["--fingerprint", "0" * 64],
        ["--voice", "nope"],
        ["--user", "nobody"],
    ],
)
def test_unknown_targets_are_command_errors(args):
    with pytest.raises(CommandError, match="No "):
        purge(*args)


def test_exactly_one_target_is_required():
    with pytest.raises(CommandError):
        purge("--dry-run")
