from django.urls import path

from . import moderation, segments, syntheses, voices

app_name = "synthesis"

urlpatterns = [
    path("syntheses", syntheses.SynthesisListCreateApi.as_view(), name="list-create"),
    path(
        "syntheses/<str:synthesis_id>",
        syntheses.SynthesisDetailApi.as_view(),
        name="detail",
    ),
    path(
        "syntheses/<str:synthesis_id>/audio",
        syntheses.SynthesisAudioApi.as_view(),
        name="audio",
    ),
    path(
        "syntheses/<str:synthesis_id>/segments/<int:index>/audio",
        segments.SynthesisSegmentAudioApi.as_view(),
        name="segment-audio",
    ),
    path("stats", syntheses.StatsApi.as_view(), name="stats"),
    path("voices", voices.VoiceListCreateApi.as_view(), name="voice-list-create"),
    path(
        "voices/<str:voice_id>",
        voices.VoiceDetailApi.as_view(),
        name="voice-detail",
    ),
    path(
        "voices/<str:voice_id>/audio",
        voices.VoiceAudioApi.as_view(),
        name="voice-audio",
    ),
    path(
        "moderation/blocks",
        moderation.BlockListCreateApi.as_view(),
        name="moderation-blocks",
    ),
    path(
        "moderation/blocks/<str:block_id>",
        moderation.BlockLiftApi.as_view(),
        name="moderation-block",
    ),
    path(
        "moderation/audit",
        moderation.AuditListApi.as_view(),
        name="moderation-audit",
    ),
    path(
        "moderation/purge",
        moderation.PurgeApi.as_view(),
        name="moderation-purge",
    ),
]
