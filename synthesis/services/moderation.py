"""Moderation services, shared by the Django admin and the staff API: block and unblock
artifacts, voices and users, purge cached audio, and write every action to the audit log.

What a block does (DESIGN.md "Moderation"):
- artifact: status `blocked`, a tombstone. Its Redis pointer is purged, its audio is
  never served again, and an identical request is answered by the tombstone instead of
  synthesizing it again. The file is kept so that lifting the block can restore it.
- voice: the clip is blocked. Every voice row with the same audio (same audio_sha256,
  hence the same fingerprints) gets blocked_at, so nobody can synthesize with it, and
  the artifacts made from it are blocked like single artifacts.
- user: is_active=False. Their API keys and sessions stop working at once.

Lifting a block reverses exactly what it did: an artifact stays blocked while another
active block (its own, or one of its voice) still covers it."""

from __future__ import annotations

import uuid
from dataclasses import asdict, dataclass, field

from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import User
from synthesis import cache, storage
from synthesis.models import Artifact, AuditEntry, Block, SynthesisRequest, Voice
from synthesis.services.errors import Conflict, InvalidInput, NotFound, ServiceError

Target = Block.Target
Status = Artifact.Status
# Formats derived from the master and stored beside it (API.md "audio").
STORED_FORMATS = ("wav", "flac", "mp3", "ogg", "opus")
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


def _artifact(fingerprint: str) -> Artifact:
    artifact = Artifact.objects.filter(fingerprint=fingerprint).first()
    if artifact is None:
        raise _not_found(Target.ARTIFACT, fingerprint)
    return artifact


def _voice(voice_id: str) -> Voice:
    try:
        pk = uuid.UUID(voice_id)
    except ValueError:
        raise _not_found(Target.VOICE, voice_id) from None
    voice = Voice.objects.filter(pk=pk).first()
    if voice is None:
        raise _not_found(Target.VOICE, voice_id)
    return voice


def _user(username: str) -> User:
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


def _voice_artifacts(audio_sha256: str):
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
        transaction.on_commit(lambda: _pointers_delete(fingerprints))
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
        artifact = _artifact(target_id)
        Artifact.objects.filter(pk=artifact.pk).update(status=Status.BLOCKED)
        return [artifact.fingerprint], ""
    if target == Target.VOICE:
        voice = _voice(target_id)
        Voice.objects.filter(
            audio_sha256=voice.audio_sha256, blocked_at__isnull=True
        ).update(blocked_at=now)
        artifacts = _voice_artifacts(voice.audio_sha256)
        fingerprints = list(artifacts.values_list("fingerprint", flat=True))
        artifacts.update(status=Status.BLOCKED)
        return fingerprints, voice.audio_sha256
    user = _user(target_id)
    if actor is not None and user.pk == actor.pk:
        raise InvalidInput(
            "cannot_block_self", "Moderators cannot block themselves.", param="id"
        )
    User.objects.filter(pk=user.pk).update(is_active=False)
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
        audit_record(
            actor=actor,
            action=AuditEntry.Action.UNBLOCK,
            target=block.target,
            target_id=block.target_id,
            reason=reason or block.reason,
            block=block.pk,
            artifacts_restored=restored,
        )
    return block


def block_lift_target(*, actor, target: str, target_id: str, reason: str = "") -> Block:
    block = Block.objects.filter(
        target=target, target_id=target_id, lifted_at__isnull=True
    ).first()
    if block is None:
        raise NotFound("not_blocked", f"{target} {target_id!r} is not blocked.")
    return block_lift(actor=actor, block_id=block.pk, reason=reason)


def _reverse_block(block: Block) -> int:
    if block.target == Target.USER:
        User.objects.filter(username=block.target_id).update(is_active=True)
        return 0
    if block.target == Target.ARTIFACT:
        return _artifacts_restore(Artifact.objects.filter(fingerprint=block.target_id))
    sha = block.audio_sha256
    if sha in _blocked_voice_hashes():
        return 0  # the clip is still blocked through another voice row
    Voice.objects.filter(audio_sha256=sha).update(blocked_at=None)
    return _artifacts_restore(_voice_artifacts(sha))


def _artifacts_restore(artifacts) -> int:
    """Blocked artifacts that no active block covers any more go back to succeeded
    when their file still exists, otherwise to purged (made again on demand)."""
    blocked_fingerprints = set(
        Block.objects.filter(
            target=Target.ARTIFACT, lifted_at__isnull=True
        ).values_list("target_id", flat=True)
    )
    blocked_voices = _blocked_voice_hashes()
    restored = 0
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
        restored += 1
    return restored


def _pointers_delete(fingerprints) -> int:
    for fingerprint in fingerprints:
        cache.pointer_delete(fingerprint)
    return len(fingerprints)


# --- Purging ----------------------------------------------------------------------------


@dataclass
class PurgeReport:
    target: str
    target_id: str
    dry_run: bool
    artifacts: int = 0
    pointers_deleted: int = 0
    files_deleted: list[str] = field(default_factory=list)
    bytes_freed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


def purge(
    *, actor, target: str, target_id: str, dry_run: bool = False, reason: str = ""
) -> PurgeReport:
    """Deletes the Redis pointers of every artifact the target concerns, and the files of
    those no history row refers to (they become `purged`, or stay `blocked` tombstones).

    - artifact: that fingerprint;
    - voice: every artifact made from the voice's clip;
    - user: every artifact of the user's history or made from the user's voices.
    A dry run reports the same numbers and changes nothing."""
    artifacts = _purge_scope(target, target_id)
    report = PurgeReport(target=target, target_id=target_id, dry_run=dry_run)
    with transaction.atomic():
        # Locked, so a concurrent request cannot start referring to an artifact between
        # the check and the status change (it waits, then sees `purged`).
        rows = list(
            artifacts.select_for_update().only(
                "pk", "fingerprint", "status", "audio_name", "bytes"
            )
        )
        referenced = set(
            SynthesisRequest.objects.filter(
                artifact_id__in=[a.pk for a in rows]
            ).values_list("artifact_id", flat=True)
        )
        report.artifacts = len(rows)
        report.pointers_deleted = len(rows)
        names: list[str] = []
        purged: list[int] = []
        for artifact in rows:
            if artifact.pk in referenced or not artifact.audio_name:
                continue
            if artifact.status in (Status.QUEUED, Status.RUNNING):
                continue
            files = _stored_files(artifact)
            names.extend(files)
            report.bytes_freed += sum(storage.size(name) for name in files)
            purged.append(artifact.pk)
        report.files_deleted = names
        fingerprints = [a.fingerprint for a in rows]
        if dry_run:
            return report
        Artifact.objects.filter(pk__in=purged).exclude(status=Status.BLOCKED).update(
            status=Status.PURGED, audio_name=""
        )
        # A blocked artifact stays a tombstone; only its audio goes.
        Artifact.objects.filter(pk__in=purged, status=Status.BLOCKED).update(
            audio_name=""
        )
        audit_record(
            actor=actor,
            action=AuditEntry.Action.PURGE,
            target=target,
            target_id=target_id,
            reason=reason,
            artifacts=report.artifacts,
            pointers_deleted=report.pointers_deleted,
            files_deleted=len(names),
            bytes_freed=report.bytes_freed,
        )

        def after_commit() -> None:
            _pointers_delete(fingerprints)
            for name in names:
                storage.delete(name)

        transaction.on_commit(after_commit)
    return report


def _purge_scope(target: str, target_id: str):
    if target == Target.ARTIFACT:
        return Artifact.objects.filter(pk=_artifact(target_id).pk)
    if target == Target.VOICE:
        return _voice_artifacts(_voice(target_id).audio_sha256)
    if target == Target.USER:
        user = _user(target_id)
        hashes = list(
            Voice.objects.filter(owner=user).values_list("audio_sha256", flat=True)
        )
        history = SynthesisRequest.objects.filter(user=user).values("artifact_id")
        return Artifact.objects.filter(pk__in=history) | Artifact.objects.filter(
            inputs__voice__audio_sha256__in=hashes
        )
    raise InvalidInput(
        "invalid_target", f"target must be one of {Target.values}.", param="target"
    )


def _stored_files(artifact: Artifact) -> list[str]:
    names = {artifact.audio_name}
    names.update(
        storage.artifact_audio_name(artifact.fingerprint, fmt) for fmt in STORED_FORMATS
    )
    return sorted(name for name in names if storage.exists(name))
