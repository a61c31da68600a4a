from django.urls import path

from . import api, api_moderation, api_voices

app_name = "synthesis"

urlpatterns = [
    path("syntheses", api.SynthesisListCreateApi.as_view(), name="list-create"),
    path(
        "syntheses/<str:synthesis_id>", api.SynthesisDetailApi.as_view(), name="detail"
    ),
    path(
        "syntheses/<str:synthesis_id>/audio",
        api.SynthesisAudioApi.as_view(),
        name="audio",
    ),
    path("stats", api.StatsApi.as_view(), name="stats"),
    path("voices", api_voices.VoiceListCreateApi.as_view(), name="voice-list-create"),
    path(
        "voices/<str:voice_id>",
        api_voices.VoiceDetailApi.as_view(),
        name="voice-detail",
    ),
    path(
        "voices/<str:voice_id>/audio",
        api_voices.VoiceAudioApi.as_view(),
        name="voice-audio",
    ),
    path(
        "moderation/blocks",
        api_moderation.BlockListCreateApi.as_view(),
        name="moderation-blocks",
    ),
    path(
        "moderation/blocks/<str:block_id>",
        api_moderation.BlockLiftApi.as_view(),
        name="moderation-block",
    ),
    path(
        "moderation/audit",
        api_moderation.AuditListApi.as_view(),
        name="moderation-audit",
    ),
    path(
        "moderation/purge",
        api_moderation.PurgeApi.as_view(),
        name="moderation-purge",
    ),
]
