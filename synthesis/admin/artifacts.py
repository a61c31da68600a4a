"""Admin for artifacts (one per fingerprint) and syntheses (one per request): lists
with search and filters that stay a fixed number of queries per page, read-only
provenance, players, and the moderation actions of synthesis/admin/actions.py."""

from __future__ import annotations

from django.contrib import admin, messages
from django.utils.html import format_html

from synthesis.admin.actions import ModerationActionForm, ModerationAdminMixin
from synthesis.admin.audio import artifact_audio_url
from synthesis.admin.display import (
    CompactChangeList,
    FingerprintSearchMixin,
    ReadOnlyAdmin,
    audio_player,
    pretty_json,
    seconds,
    short,
)
from synthesis.models import (
    Artifact,
    Block,
    SynthesisRequest,
)
from synthesis.services import moderation
from synthesis.services.errors import ServiceError


@admin.register(Artifact)
class ArtifactAdmin(
    CompactChangeList, ModerationAdminMixin, FingerprintSearchMixin, ReadOnlyAdmin
):
    list_display = [
        "short_fingerprint",
        "status",
        "text_preview",
        "duration",
        "engine_time",
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

    @admin.display(description="audio length", ordering="duration_s")
    def duration(self, obj):
        return seconds(obj.duration_s)

    @admin.display(description="engine time", ordering="engine_seconds")
    def engine_time(self, obj):
        return seconds(obj.engine_seconds)

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
        except ServiceError as error:
            modeladmin.message_user(request, error.message, messages.WARNING)
        else:
            done += 1
    if done:
        modeladmin.message_user(request, f"Blocked {done} artifact(s).")


@admin.register(SynthesisRequest)
class SynthesisRequestAdmin(CompactChangeList, FingerprintSearchMixin, ReadOnlyAdmin):
    fingerprint_lookup = "artifact__fingerprint"
    action_form = ModerationActionForm
    actions = [block_artifacts_of_selected]
    list_display = [
        "created_at",
        "user",
        "text_preview",
        "cache",
        "artifact_status",
        "voice_ref",
        "characters",
        "answered_in",
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

    @admin.display(description="answered in", ordering="latency_ms")
    def answered_in(self, obj):
        # A miss answers once its engine run is queued: this is not the engine's time.
        queued = " (queued)" if obj.cache == SynthesisRequest.Cache.MISS else ""
        return f"{obj.latency_ms:.0f} ms{queued}"

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
            "attempts {}, engine {}, audio {}; started {}, finished {}",
            artifact.attempts,
            seconds(artifact.engine_seconds),
            seconds(artifact.duration_s),
            artifact.started_at or "-",
            artifact.finished_at or "-",
        )

    @admin.display(description="canonical fingerprint inputs")
    def provenance(self, obj):
        return pretty_json(obj.artifact.inputs)
