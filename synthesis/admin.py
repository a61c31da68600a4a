from django.contrib import admin

from .models import Artifact, EngineIdentity, SynthesisRequest, Voice


@admin.register(Artifact)
class ArtifactAdmin(admin.ModelAdmin):
    list_display = [
        "fingerprint",
        "status",
        "engine",
        "duration_s",
        "engine_seconds",
        "attempts",
        "hit_count",
        "created_at",
    ]
    list_filter = ["status", "engine"]
    search_fields = ["fingerprint"]
    readonly_fields = [f.name for f in Artifact._meta.fields]


@admin.register(SynthesisRequest)
class SynthesisRequestAdmin(admin.ModelAdmin):
    list_display = [
        "id",
        "user",
        "cache",
        "channel",
        "engine",
        "characters",
        "created_at",
    ]
    list_filter = ["cache", "channel", "engine"]
    list_select_related = ["user", "artifact"]
    search_fields = ["text", "user__username", "artifact__fingerprint"]
    readonly_fields = [f.name for f in SynthesisRequest._meta.fields]


@admin.register(Voice)
class VoiceAdmin(admin.ModelAdmin):
    list_display = ["name", "owner", "kind", "duration_s", "created_at", "blocked_at"]
    list_select_related = ["owner"]
    search_fields = ["name", "owner__username", "audio_sha256"]


@admin.register(EngineIdentity)
class EngineIdentityAdmin(admin.ModelAdmin):
    """Which engine builds the workers registered (docs/deploy.md); written by workers."""

    list_display = ["engine", "identity", "host", "registered_at"]
    list_filter = ["engine"]
    search_fields = ["identity", "host"]
    readonly_fields = [f.name for f in EngineIdentity._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False
