import uuid
from enum import nonmember

from django.conf import settings
from django.db import models


class Voice(models.Model):
    """A user's prompt voice: a canonical reference clip and its exact transcript.
    Builtin voices belong to engines and are not stored."""

    class Kind(models.TextChoices):
        PROMPT = "prompt"
        BUILTIN = "builtin"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="voices"
    )
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.PROMPT)
    # Stored once per audio_sha256 under a content-addressed name.
    audio_name = models.CharField(max_length=255)
    audio_sha256 = models.CharField(max_length=64, db_index=True)
    prompt_text = models.TextField()
    duration_s = models.FloatField()
    sample_rate = models.PositiveIntegerField()
    # Median F0 of the canonical clip, measured once at upload (engines/selection.py).
    pitch_hz = models.FloatField(null=True, blank=True)
    consent = models.BooleanField(default=False)
    # Unlisted voices come from ad-hoc prompt_audio uploads on a synthesis request.
    listed = models.BooleanField(default=True)
    blocked_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class Artifact(models.Model):
    """One row per fingerprint: the unit of engine work and of stored audio. The UNIQUE
    fingerprint is what guarantees one engine run per distinct input."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        BLOCKED = "blocked"
        # The audio was removed (no history refers to it, or the file was lost); an
        # identical request produces it again.
        PURGED = "purged"

        IN_FLIGHT = nonmember(frozenset({"queued", "running"}))
        TERMINAL = nonmember(frozenset({"succeeded", "failed", "blocked", "purged"}))

    class Kind(models.TextChoices):
        # An engine run over one segment's inputs.
        RUN = "run"
        # The joined audio of a many-segment synthesis: its "run" concatenates the
        # finished segments (inputs: the segment fingerprints and the join settings).
        JOIN = "join"

    fingerprint = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=4, choices=Kind.choices, default=Kind.RUN)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.QUEUED
    )
    engine = models.CharField(max_length=32)
    model_version = models.CharField(max_length=64)
    # The canonical fingerprint inputs: provenance, and what the worker synthesizes.
    inputs = models.JSONField()
    audio_name = models.CharField(max_length=255, blank=True)
    sample_rate = models.PositiveIntegerField()
    duration_s = models.FloatField(null=True, blank=True)
    bytes = models.PositiveBigIntegerField(null=True, blank=True)
    engine_seconds = models.FloatField(null=True, blank=True)
    # Number of engine runs started; also the fencing token of the current run.
    attempts = models.PositiveIntegerField(default=0)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    hit_count = models.PositiveIntegerField(default=0)
    # The user whose request enqueued the current run: the per-user limit of runs in
    # flight counts these, whatever happened to that user's history since.
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    last_hit_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Running: the claim lapses at this time unless the worker's heartbeat renews it;
    # past it, any worker may take the run over. Queued: the sweeper sends the message
    # again after this time (it may have been lost with the broker).
    lease_expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["status", "started_at"]),
            models.Index(fields=["status", "lease_expires_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.fingerprint[:12]} ({self.status})"

    @property
    def text(self) -> str:
        return self.inputs.get("text", "")


class SynthesisRequest(models.Model):
    """One row per request, hits included: the history."""

    class Cache(models.TextChoices):
        HIT = "hit"
        MISS = "miss"
        COALESCED = "coalesced"

    class Channel(models.TextChoices):
        PORTAL = "portal"
        API = "api"
        OPENAI = "openai"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="syntheses"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL
    )
    artifact = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, related_name="requests"
    )
    text = models.TextField()
    characters = models.PositiveIntegerField()
    # Characters whose audio came from stored audio or from a run already in flight.
    reused_characters = models.PositiveIntegerField(default=0)
    # 1: `artifact` is the one segment's; more: `artifact` is the joined audio and the
    # segments are SynthesisSegment rows.
    segment_count = models.PositiveIntegerField(default=1)
    # "<engine>:<name>" for builtin voices, the voice's UUID for prompt voices; kept
    # when the voice itself is deleted.
    voice_ref = models.CharField(max_length=100)
    voice = models.ForeignKey(
        Voice, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    seed = models.PositiveBigIntegerField()
    sample_rate = models.PositiveIntegerField()
    engine = models.CharField(max_length=32)
    cache = models.CharField(max_length=10, choices=Cache.choices)
    channel = models.CharField(
        max_length=10, choices=Channel.choices, default=Channel.API
    )
    # Time to the first answer (not to audio for misses).
    latency_ms = models.FloatField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["user", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.id} ({self.cache})"


class SynthesisSegment(models.Model):
    """One segment of a many-segment synthesis: what this request asked for at this
    position and how it was answered. The artifact is shared by every synthesis that
    contains the same segment."""

    synthesis = models.ForeignKey(
        SynthesisRequest, on_delete=models.CASCADE, related_name="segments"
    )
    index = models.PositiveIntegerField()
    artifact = models.ForeignKey(
        Artifact, on_delete=models.PROTECT, related_name="segment_uses"
    )
    text = models.TextField()
    voice_ref = models.CharField(max_length=100)
    seed = models.PositiveBigIntegerField()
    cache = models.CharField(max_length=10, choices=SynthesisRequest.Cache.choices)

    class Meta:
        ordering = ["synthesis", "index"]
        constraints = [
            models.UniqueConstraint(
                fields=["synthesis", "index"], name="one_segment_per_index"
            )
        ]

    def __str__(self) -> str:
        return f"{self.synthesis_id} #{self.index} ({self.cache})"


class EngineIdentity(models.Model):
    """An engine build a worker serves, registered when the worker starts. Engines whose
    weights only GPU workers hold are fingerprinted on the web tier with the latest
    registered identity."""

    engine = models.CharField(max_length=32)
    identity = models.CharField(max_length=64)
    # What the identity hashes (checkpoint and code digests, library versions) plus
    # notes for humans (hf_revision), so two builds can be compared.
    manifest = models.JSONField()
    host = models.CharField(max_length=255)
    registered_at = models.DateTimeField()

    class Meta:
        verbose_name_plural = "engine identities"
        constraints = [
            models.UniqueConstraint(
                fields=["engine", "identity", "host"], name="engine_identity_per_host"
            )
        ]
        indexes = [models.Index(fields=["engine", "-registered_at"])]

    def __str__(self) -> str:
        return f"{self.engine} {self.identity[:12]} on {self.host}"


class Block(models.Model):
    """A moderator's block of an artifact, a voice or a user. The row is the record of
    why something is blocked; the effect lives on the target (Artifact status,
    Voice.blocked_at, User.is_active). Lifting keeps the row (lifted_at)."""

    class Target(models.TextChoices):
        ARTIFACT = "artifact"
        VOICE = "voice"
        USER = "user"

    target = models.CharField(max_length=10, choices=Target.choices)
    # The fingerprint, the voice's UUID or the username (docs/api.md "Moderation").
    target_id = models.CharField(max_length=150)
    # For a voice: the audio_sha256 of its clip, which is what is blocked (every voice
    # row with that clip); kept here so the block can be lifted after the row is gone.
    audio_sha256 = models.CharField(max_length=64, blank=True, db_index=True)
    reason = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    lifted_at = models.DateTimeField(null=True, blank=True)
    lifted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # At most one active block per target: blocking twice is a conflict.
            models.UniqueConstraint(
                fields=["target", "target_id"],
                condition=models.Q(lifted_at__isnull=True),
                name="one_active_block_per_target",
            )
        ]

    def __str__(self) -> str:
        return f"{self.target} {self.target_id}"

    @property
    def is_active(self) -> bool:
        return self.lifted_at is None


class AuditEntry(models.Model):
    """Append-only log of moderation actions (block, unblock, purge)."""

    class Action(models.TextChoices):
        BLOCK = "block"
        UNBLOCK = "unblock"
        PURGE = "purge"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # Kept in clear so the log still names the moderator after the account is gone.
    actor_username = models.CharField(max_length=150, blank=True)
    action = models.CharField(max_length=10, choices=Action.choices)
    target = models.CharField(max_length=10, choices=Block.Target.choices)
    target_id = models.CharField(max_length=150)
    reason = models.TextField(blank=True)
    # What the action did (e.g. the artifacts and bytes a purge removed).
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.actor_username} {self.action} {self.target} {self.target_id}"
