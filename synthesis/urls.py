from django.urls import path

from . import api

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
]
