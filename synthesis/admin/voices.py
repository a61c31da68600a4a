"""Admin for prompt voices: players, moderation state, block and unblock."""

from __future__ import annotations

from django.contrib import admin

from synthesis.admin.actions import ModerationAdminMixin
from synthesis.admin.audio import voice_audio_url
from synthesis.admin.display import (
    BlockedFilter,
    CompactChangeList,
    audio_player,
    seconds,
)
from synthesis.models import (
    Voice,
)


@admin.register(Voice)
class VoiceAdmin(CompactChangeList, ModerationAdminMixin, admin.ModelAdmin):
    show_full_result_count = False
    list_display = [
        "name",
        "owner",
        "kind",
        "listed",
        "duration",
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

    @admin.display(description="length", ordering="duration_s")
    def duration(self, obj):
        return seconds(obj.duration_s)

    @admin.display(description="audio sha256", ordering="audio_sha256")
    def short_sha(self, obj):
        return obj.audio_sha256[:16]

    @admin.display(description="clip")
    def player(self, obj):
        if obj.pk is None:
            return "-"
        return audio_player(voice_audio_url(obj.pk))
