"""Moderation services, shared by the Django admin and the staff API: block and unblock
artifacts, voices and users, purge cached audio, and write every action to the audit log.

What a block does (docs/moderation.md):
- artifact: status `blocked`, a tombstone. Its Redis pointer is purged, its audio is
  never served again, and an identical request is answered by the tombstone instead of
  synthesizing it again. The file is kept so that lifting the block can restore it.
- voice: the clip is blocked. Every voice row with the same audio (same audio_sha256,
  hence the same fingerprints) gets blocked_at, so nobody can synthesize with it, and
  the artifacts made from it are blocked like single artifacts.
- user: is_active=False. Sessions stop at once, API keys within API_KEY_CACHE_SECONDS.

Behind nginx, audio checks are remembered for a second (docs/deploy.md "nginx in
front"); a blocked fingerprint's marker file makes nginx ask Django again at once.

Lifting a block reverses exactly what it did: an artifact stays blocked while another
active block (its own, or one of its voice) still covers it."""

from __future__ import annotations

import uuid

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.key_cache import api_key_forget_user
from accounts.models import User
from synthesis import cache, storage
from synthesis.models import Artifact, AuditEntry, Block, Voice
from synthesis.services import errors, joins
from synthesis.services.errors import Conflict, InvalidInput, NotFound, ServiceError

Target = Block.Target
Status = Artifact.Status
COMMAND_LINE_ACTOR = "(command line)"


# --- Audit log --------------------------------------------------------------------------


def audit_record(
    *, actor, action: str, target: str, target_id: str, reason: str = "", **details
) -> AuditEntry:
    return AuditEntry.objects.create(
        actor=actor,
        actor_username=actor.get_username() if actor else COMMAND_LINE_ACTOR,
        action=action,
        target=target,
        target_id=target_id,
        reason=reason,
        details=details,
    )


# --- Resolving targets ------------------------------------------------------------------


def _not_found(target: str, target_id: str) -> ServiceError:
    return NotFound("not_found", f"No {target} {target_id!r}.", param="id")


def artifact_target(fingerprint: str) -> Artifact:
    artifact = Artifact.objects.filter(fingerprint=fingerprint).first()
    if artifact is None:
        raise _not_found(Target.ARTIFACT, fingerprint)
    return artifact


def voice_target(voice_id: str) -> Voice:
    try:
        pk = uuid.UUID(voice_id)
    except ValueError:
        raise _not_found(Target.VOICE, voice_id) from None
    voice = Voice.objects.filter(pk=pk).first()
    if voice is None:
        raise _not_found(Target.VOICE, voice_id)
    return voice


def user_target(username: str) -> User:
    user = User.objects.filter(username=username).first()
    if user is None:
        raise _not_found(Target.USER, username)
    return user


def target_id_of(obj) -> tuple[str, str]:
    """(target, target_id) of a model instance, as the API names it."""
    if isinstance(obj, Artifact):
        return Target.ARTIFACT, obj.fingerprint
    if isinstance(obj, Voice):
        return Target.VOICE, str(obj.pk)
    if isinstance(obj, User):
        return Target.USER, obj.get_username()
    raise TypeError(f"cannot moderate {type(obj).__name__}")


def voice_artifacts(audio_sha256: str):
    return Artifact.objects.filter(inputs__voice__audio_sha256=audio_sha256)


def _blocked_voice_hashes() -> set[str]:
    return set(
        Block.objects.filter(target=Target.VOICE, lifted_at__isnull=True).values_list(
            "audio_sha256", flat=True
        )
    )


def clip_refuse_blocked(voice_part: dict) -> None:
    """400 `voice_blocked` when a prompt voice's clip is blocked, whichever voice row
    or upload carries it (an ad-hoc upload of a blocked clip makes a new, unblocked
    row with the same audio)."""
    sha = voice_part.get("audio_sha256")
    if (
        sha
        and Block.objects.filter(
            target=Target.VOICE, audio_sha256=sha, lifted_at__isnull=True
        ).exists()
    ):
        raise InvalidInput(
            "voice_blocked", "This voice was blocked by a moderator.", param="voice"
        )


# --- Blocking ---------------------------------------------------------------------------


def block_create(*, actor, target: str, target_id: str, reason: str = "") -> Block:
    """Blocks the target, records the Block and an audit entry, and purges the Redis
    pointers concerned once the transaction commits. 404 for an unknown target, 409
    when it is already blocked."""
    if target not in Target.values:
        raise InvalidInput(
            "invalid_target",
            f"target must be one of {Target.values}.",
            param="target",
        )
    with transaction.atomic():
        if Block.objects.filter(
            target=target, target_id=target_id, lifted_at__isnull=True
        ).exists():
            raise _already_blocked(target, target_id)
        fingerprints, audio_sha256 = _apply_block(actor, target, target_id)
        # Before the commit: no moment has a blocked artifact without its marker.
        markers_write(fingerprints)
        try:
            with transaction.atomic():
                block = Block.objects.create(
                    target=target,
                    target_id=target_id,
                    audio_sha256=audio_sha256,
                    reason=reason,
                    created_by=actor,
                )
        except IntegrityError:  # a concurrent block of the same target won
            raise _already_blocked(target, target_id) from None
        audit_record(
            actor=actor,
            action=AuditEntry.Action.BLOCK,
            target=target,
            target_id=target_id,
            reason=reason,
            block=block.pk,
            artifacts_blocked=len(fingerprints),
        )
        transaction.on_commit(lambda: pointers_delete(fingerprints))
    return block


def _already_blocked(target: str, target_id: str) -> ServiceError:
    return Conflict(
        "already_blocked",
        f"{target} {target_id!r} is already blocked.",
        param="id",
    )


def _apply_block(actor, target: str, target_id: str) -> tuple[list[str], str]:
    """The effect of a block on its target; returns the fingerprints whose pointers
    must go, and for a voice the hash of the blocked clip."""
    now = timezone.now()
    if target == Target.ARTIFACT:
        artifact = artifact_target(target_id)
        Artifact.objects.filter(pk=artifact.pk).update(status=Status.BLOCKED)
        return [artifact.fingerprint, *joins.joined_block_for([artifact.pk])], ""
    if target == Target.VOICE:
        voice = voice_target(target_id)
        Voice.objects.filter(
            audio_sha256=voice.audio_sha256, blocked_at__isnull=True
        ).update(blocked_at=now)
        artifacts = voice_artifacts(voice.audio_sha256)
        fingerprints = list(artifacts.values_list("fingerprint", flat=True))
        fingerprints += joins.joined_block_for(artifacts.values("pk"))
        artifacts.update(status=Status.BLOCKED)
        return fingerprints, voice.audio_sha256
    user = user_target(target_id)
    if actor is not None and user.pk == actor.pk:
        raise InvalidInput(
            "cannot_block_self", "Moderators cannot block themselves.", param="id"
        )
    if user.is_superuser and not getattr(actor, "is_superuser", False):
        message = "Only a superuser can block a superuser."
        raise errors.PermissionDenied("cannot_block_superuser", message, param="id")
    User.objects.filter(pk=user.pk).update(is_active=False)
    api_key_forget_user(user_id=user.pk)
    return [], ""


def block_lift(*, actor, block_id, reason: str = "") -> Block:
    """Lifts an active block (404 when there is none with that id) and reverses its
    effect, except where another active block still applies."""
    with transaction.atomic():
        block = (
            Block.objects.select_for_update()
            .filter(pk=block_id, lifted_at__isnull=True)
            .first()
            if str(block_id).isdigit()
            else None
        )
        if block is None:
            raise NotFound("not_found", f"No active block {block_id}.")
        block.lifted_at = timezone.now()
        block.lifted_by = actor
        block.save(update_fields=["lifted_at", "lifted_by"])
        restored = _reverse_block(block)
        transaction.on_commit(lambda: markers_delete(restored))
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UNBLOCK,
            target=block.target,
            target_id=block.target_id,
            reason=reason or block.reason,
            block=block.pk,
            artifacts_restored=len(restored),
        )
    return block


def block_lift_target(*, actor, target: str, target_id: str, reason: str = "") -> Block:
    block = Block.objects.filter(
        target=target, target_id=target_id, lifted_at__isnull=True
    ).first()
    if block is None:
        raise NotFound("not_blocked", f"{target} {target_id!r} is not blocked.")
    return block_lift(actor=actor, block_id=block.pk, reason=reason)


def _reverse_block(block: Block) -> list[str]:
    """Reverses what the block did; returns the fingerprints of restored artifacts."""
    if block.target == Target.USER:
        User.objects.filter(username=block.target_id).update(is_active=True)
        return []
    if block.target == Target.ARTIFACT:
        parts = Artifact.objects.filter(fingerprint=block.target_id)
    else:
        sha = block.audio_sha256
        if sha in _blocked_voice_hashes():
            return []  # the clip is still blocked through another voice row
        Voice.objects.filter(audio_sha256=sha).update(blocked_at=None)
        parts = voice_artifacts(sha)
    restored = _artifacts_restore(parts)
    return restored + joins.joined_restore_for(parts.values("pk"))


def _artifacts_restore(artifacts) -> list[str]:
    """Blocked artifacts that no active block covers any more go back to succeeded
    when their file still exists, otherwise to purged (made again on demand)."""
    blocked_fingerprints = set(
        Block.objects.filter(
            target=Target.ARTIFACT, lifted_at__isnull=True
        ).values_list("target_id", flat=True)
    )
    blocked_voices = _blocked_voice_hashes()
    restored = []
    for artifact in artifacts.select_for_update().filter(status=Status.BLOCKED):
        if artifact.fingerprint in blocked_fingerprints:
            continue
        if artifact.inputs.get("voice", {}).get("audio_sha256") in blocked_voices:
            continue
        if storage.exists(artifact.audio_name):
            artifact.status = Status.SUCCEEDED
        else:
            artifact.status = Status.PURGED
            artifact.audio_name = ""
        artifact.save(update_fields=["status", "audio_name"])
        restored.append(artifact.fingerprint)
    return restored


def pointers_delete(fingerprints) -> int:
    for fingerprint in fingerprints:
        cache.pointer_delete(fingerprint)
    return len(fingerprints)


def markers_write(fingerprints) -> None:
    """The marker files nginx looks for (storage.blocked_marker_name); only local
    storage is served by nginx."""
    if storage.is_local():
        for fingerprint in fingerprints:
            storage.write_atomic(storage.blocked_marker_name(fingerprint), b"")


def markers_delete(fingerprints) -> None:
    # A marker left behind only sends a download to Django, which serves it.
    if storage.is_local():
        for fingerprint in fingerprints:
            storage.delete(storage.blocked_marker_name(fingerprint))
