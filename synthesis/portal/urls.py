"""Portal (HTML) routes for syntheses and voices; the JSON API lives in urls.py."""

from django.urls import path

from synthesis.portal import landing, previews, scripts, takes, views

app_name = "portal"

urlpatterns = [
    path("", landing.home, name="synthesize"),
    path(
        "syntheses/<str:synthesis_id>/another-take/",
        takes.another_take,
        name="another-take",
    ),
    path("syntheses/<str:synthesis_id>/keep/", takes.keep_take, name="keep-take"),
    path(
        "syntheses/<str:synthesis_id>/status/",
        views.synthesis_status,
        name="synthesis-status",
    ),
    path(
        "syntheses/<str:synthesis_id>/segments/<int:index>/take/",
        scripts.segment_take,
        name="segment-take",
    ),
    path("history/", views.history, name="history"),
    path(
        "history/<str:synthesis_id>/delete/",
        views.synthesis_delete,
        name="synthesis-delete",
    ),
    path("voices/", views.voices, name="voices"),
    path(
        "voices/builtin/<str:name>/preview/",
        previews.voice_preview,
        name="voice-preview",
    ),
    path("voices/<str:voice_id>/delete/", views.voice_delete, name="voice-delete"),
]
