"""Purging: deleting the cache entries of the artifacts a target concerns, and the
files of those no history row refers to (docs/moderation.md). Shared by the admin
action, the staff API and `manage.py purge`; every run is written to the audit log."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.db import transaction

from synthesis import storage
from synthesis.audio import formats
from synthesis.models import (
    Artifact,
    AuditEntry,
    SynthesisRequest,
    SynthesisSegment,
    Voice,
)

from . import joins
from .errors import InvalidInput
from .moderation import (
    Status,
    Target,
    artifact_target,
    audit_record,
    pointers_delete,
    user_target,
    voice_artifacts,
    voice_target,
)


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
        ids = [a.pk for a in rows]
        referenced = set(
            SynthesisRequest.objects.filter(artifact_id__in=ids).values_list(
                "artifact_id", flat=True
            )
        ) | set(
            SynthesisSegment.objects.filter(artifact_id__in=ids).values_list(
                "artifact_id", flat=True
            )
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
            pointers_delete(fingerprints)
            for name in names:
                storage.delete(name)

        transaction.on_commit(after_commit)
    return report


def _purge_scope(target: str, target_id: str):
    """The target's artifacts and the joined audio built from them."""
    artifacts = _purge_targets(target, target_id)
    return artifacts | joins.joined_of_parts(artifacts.values("pk"))


def _purge_targets(target: str, target_id: str):
    if target == Target.ARTIFACT:
        return Artifact.objects.filter(pk=artifact_target(target_id).pk)
    if target == Target.VOICE:
        return voice_artifacts(voice_target(target_id).audio_sha256)
    if target == Target.USER:
        user = user_target(target_id)
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
        storage.artifact_audio_name(artifact.fingerprint, fmt)
        for fmt in formats.FORMATS
    )
    return sorted(name for name in names if storage.exists(name))
