"""The Django admin for moderators (DESIGN.md "Moderation"): lists with search and
filters that stay a fixed number of queries per page, read-only provenance, players,
and the block / unblock / purge actions of synthesis/admin_actions.py."""

from __future__ import annotations

import json
import re

from django.contrib import admin, messages
from django.utils.html import format_html

from tts_platform.errors import ApiError

from . import moderation
from .admin_actions import ModerationActionForm, ModerationAdminMixin
from .admin_audio import artifact_audio_url, voice_audio_url
from .models import (
    Artifact,
    AuditEntry,
    Block,
    EngineIdentity,
    SynthesisRequest,
    Voice,
)


def audio_player(url: str):
    # preload="none": a list page of 100 players fetches nothing until one is played.
    return format_html('<audio controls preload="none" src="{}"></audio>', url)


def pretty_json(value) -> str:
    return format_html(
        '<pre style="white-space: pre-wrap">{}</pre>',
        json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False),
    )


def short(text: str, length: int = 60) -> str:
    return text if len(text) <= length else text[: length - 1] + "…"


def timestamp_set_filter(field: str, title: str, when_set: str, when_unset: str):
    """A list filter on whether a nullable timestamp (blocked_at, lifted_at) is set."""

    class TimestampSetFilter(admin.SimpleListFilter):
        parameter_name = title

        def lookups(self, request, model_admin):
            return [("set", when_set), ("unset", when_unset)]

        def queryset(self, request, queryset):
            if self.value() in ("set", "unset"):
                return queryset.filter(**{f"{field}__isnull": self.value() == "unset"})
            return queryset

    TimestampSetFilter.title = title
    return TimestampSetFilter


BlockedFilter = timestamp_set_filter(
    "blocked_at", "moderation", "Blocked", "Not blocked"
)


_FINGERPRINT = re.compile(r"^[0-9a-f]{8,64}$")


class FingerprintSearchMixin:
    """A search term that looks like a fingerprint, or the 16-character prefix the
    lists show, also matches fingerprints: exactly (the unique index) when complete,
    by prefix otherwise."""

    fingerprint_lookup = "fingerprint"

    def get_search_results(self, request, queryset, search_term):
        results, may_have_duplicates = super().get_search_results(
            request, queryset, search_term
        )
        term = search_term.strip().lower()
        if _FINGERPRINT.match(term):
            lookup = self.fingerprint_lookup + (
                "" if len(term) == 64 else "__startswith"
            )
            results = results | queryset.filter(**{lookup: term})
        return results, may_have_duplicates


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written only by services: visible, never added or edited here."""

    show_full_result_count = False  # one COUNT per page, not two

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Artifact)
class ArtifactAdmin(ModerationAdminMixin, FingerprintSearchMixin, ReadOnlyAdmin):
    list_display = [
        "short_fingerprint",
        "status",
        "engine",
        "text_preview",
        "duration_s",
        "engine_seconds",
        "attempts",
        "hit_count",
        "created_at",
        "player",
    ]
    list_filter = ["status", "engine", "model_version", "created_at"]
    search_fields = ["inputs__text"]
    date_hierarchy = "created_at"
    fieldsets = [
        (None, {"fields": ["fingerprint", "status", "error_code", "error_message"]}),
        ("Audio", {"fields": ["player", "audio_name", "duration_s", "bytes"]}),
        (
            "Provenance",
            {
                "fields": [
                    "engine",
                    "model_version",
                    "sample_rate",
                    "provenance",
                    "attempts",
                    "engine_seconds",
                    "created_at",
                    "started_at",
                    "finished_at",
                ]
            },
        ),
        ("Use", {"fields": ["hit_count", "last_hit_at"]}),
    ]
    readonly_fields = [
        *(f.name for f in Artifact._meta.fields),
        "player",
        "provenance",
    ]

    def has_delete_permission(self, request, obj=None):
        return False  # history refers to artifacts: purge instead

    @admin.display(description="fingerprint", ordering="fingerprint")
    def short_fingerprint(self, obj):
        return obj.fingerprint[:16]

    @admin.display(description="text")
    def text_preview(self, obj):
        return short(obj.text)

    @admin.display(description="audio")
    def player(self, obj):
        if obj.pk is None or not obj.audio_name:
            return "-"
        return audio_player(artifact_audio_url(obj.pk))

    @admin.display(description="canonical fingerprint inputs")
    def provenance(self, obj):
        return pretty_json(obj.inputs)


class ArtifactStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return Artifact.Status.choices

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(artifact__status=self.value())
        return queryset


@admin.action(description="Block the audio of selected syntheses")
def block_artifacts_of_selected(modeladmin, request, queryset):
    reason = request.POST.get("reason", "").strip()
    fingerprints = set(queryset.values_list("artifact__fingerprint", flat=True))
    done = 0
    for fingerprint in sorted(fingerprints):
        try:
            moderation.block_create(
                actor=request.user,
                target=Block.Target.ARTIFACT,
                target_id=fingerprint,
                reason=reason,
            )
        except ApiError as error:
            modeladmin.message_user(request, str(error.detail), messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"Blocked {done} artifact(s).")


@admin.register(SynthesisRequest)
class SynthesisRequestAdmin(FingerprintSearchMixin, ReadOnlyAdmin):
    fingerprint_lookup = "artifact__fingerprint"
    action_form = ModerationActionForm
    actions = [block_artifacts_of_selected]
    list_display = [
        "created_at",
        "user",
        "text_preview",
        "cache",
        "artifact_status",
        "channel",
        "engine",
        "voice_ref",
        "characters",
        "latency_ms",
        "player",
    ]
    list_filter = [
        "cache",
        ArtifactStatusFilter,
        "channel",
        "engine",
        "created_at",
    ]
    list_select_related = ["user", "artifact"]
    search_fields = ["text", "user__username"]
    date_hierarchy = "created_at"
    fields = [
        "id",
        "user",
        "api_key",
        "text",
        "characters",
        "voice_ref",
        "voice",
        "seed",
        "sample_rate",
        "engine",
        "cache",
        "channel",
        "latency_ms",
        "created_at",
        "artifact",
        "artifact_status",
        "player",
        "model_version",
        "timings",
        "provenance",
    ]
    readonly_fields = fields

    def has_delete_permission(self, request, obj=None):
        return False  # deleting history purges audio: the owner's action (API)

    @admin.display(description="text")
    def text_preview(self, obj):
        return short(obj.text)

    @admin.display(description="status", ordering="artifact__status")
    def artifact_status(self, obj):
        return obj.artifact.status

    @admin.display(description="audio")
    def player(self, obj):
        if not obj.artifact.audio_name:
            return "-"
        return audio_player(artifact_audio_url(obj.artifact_id))

    @admin.display(description="model version")
    def model_version(self, obj):
        return obj.artifact.model_version

    @admin.display(description="engine run")
    def timings(self, obj):
        artifact = obj.artifact
        return format_html(
            "attempts {}, engine {} s, audio {} s; started {}, finished {}",
            artifact.attempts,
            artifact.engine_seconds if artifact.engine_seconds is not None else "-",
            artifact.duration_s if artifact.duration_s is not None else "-",
            artifact.started_at or "-",
            artifact.finished_at or "-",
        )

    @admin.display(description="canonical fingerprint inputs")
    def provenance(self, obj):
        return pretty_json(obj.artifact.inputs)


@admin.register(Voice)
class VoiceAdmin(ModerationAdminMixin, admin.ModelAdmin):
    show_full_result_count = False
    list_display = [
        "name",
        "owner",
        "kind",
        "listed",
        "duration_s",
        "short_sha",
        "created_at",
        "blocked_at",
        "player",
    ]
    list_filter = [BlockedFilter, "kind", "listed", "consent", "created_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username", "=audio_sha256", "prompt_text"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "id",
        "owner",
        "kind",
        "audio_name",
        "audio_sha256",
        "prompt_text",
        "duration_s",
        "sample_rate",
        "consent",
        "blocked_at",
        "created_at",
        "player",
    ]

    def has_add_permission(self, request):
        return False  # voices are uploaded with consent through the API or portal

    @admin.display(description="audio sha256", ordering="audio_sha256")
    def short_sha(self, obj):
        return obj.audio_sha256[:16]

    @admin.display(description="clip")
    def player(self, obj):
        if obj.pk is None:
            return "-"
        return audio_player(voice_audio_url(obj.pk))


BlockActiveFilter = timestamp_set_filter("lifted_at", "state", "Lifted", "Active")


@admin.action(description="Lift selected blocks")
def lift_selected(modeladmin, request, queryset):
    reason = request.POST.get("reason", "").strip()
    lifted = 0
    for block in queryset.filter(lifted_at__isnull=True):
        moderation.block_lift(actor=request.user, block_id=block.pk, reason=reason)
        lifted += 1
    modeladmin.message_user(request, f"Lifted {lifted} block(s).")


@admin.register(Block)
class BlockAdmin(ReadOnlyAdmin):
    """Blocks are made by the block actions and the API; here they are read and lifted."""

    action_form = ModerationActionForm
    actions = [lift_selected]
    list_display = [
        "target",
        "target_id",
        "reason",
        "created_by",
        "created_at",
        "lifted_at",
        "lifted_by",
    ]
    list_filter = [BlockActiveFilter, "target", "created_at"]
    list_select_related = ["created_by", "lifted_by"]
    search_fields = ["=target_id", "reason", "created_by__username"]

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    """The audit log: readable by admins, never edited or deleted."""

    list_display = [
        "created_at",
        "actor_username",
        "action",
        "target",
        "target_id",
        "reason",
    ]
    list_filter = ["action", "target", "created_at"]
    search_fields = ["=target_id", "actor_username", "reason"]
    date_hierarchy = "created_at"
    readonly_fields = [
        "created_at",
        "actor_username",
        "action",
        "target",
        "target_id",
        "reason",
        "pretty_details",
    ]
    fields = readonly_fields

    def has_delete_permission(self, request, obj=None):
        return False

    def get_actions(self, request):
        return {}  # not even the bulk delete

    @admin.display(description="details")
    def pretty_details(self, obj):
        return pretty_json(obj.details)


@admin.register(EngineIdentity)
class EngineIdentityAdmin(admin.ModelAdmin):
    """Which engine builds the workers registered (docs/deploy.md); written by workers."""

    list_display = ["engine", "identity", "host", "registered_at"]
    list_filter = ["engine"]
    search_fields = ["identity", "host"]
    readonly_fields = [f.name for f in EngineIdentity._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
