"""Staff-only audio for the admin's players: artifact outputs and voice clips, served
by the one audio path (synthesis/api/responses.py) with the same status, ETag and
headers as the user-facing endpoints.

The one difference, explicit in `allow_blocked=True`: moderators must hear what they
judge, so blocked audio and blocked clips still play here while their files exist;
the user-facing endpoints never serve them."""

from __future__ import annotations

import uuid

from django.http import HttpResponse
from django.http.response import HttpResponseBase
from django.urls import path, reverse
from django.views.decorators.http import require_safe

from synthesis.api import responses
from synthesis.models import Artifact, Voice
from synthesis.services.errors import ServiceError
from tts_platform.errors import error_response, service_error_status


def _moderators_only(permission: str):
    """Staff with the permission to view what the audio belongs to in the admin: being
    staff alone (e.g. to manage API keys) does not give access to users' recordings."""

    def decorate(view):
        def wrapped(request, *args, **kwargs):
            user = request.user
            if not (user.is_authenticated and user.is_active and user.is_staff):
                return error_response(
                    "permission_denied", "Staff only: sign in to the admin.", 403
                )
            if not user.has_perm(permission):
                return error_response(
                    "permission_denied",
                    f"This needs the {permission} permission.",
                    403,
                )
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _refusal(error: ServiceError) -> HttpResponse:
    return error_response(error.code, error.message, service_error_status(error))


@require_safe
@_moderators_only("synthesis.view_artifact")
def artifact_audio(request, artifact_id: int) -> HttpResponseBase:
    artifact = Artifact.objects.filter(pk=artifact_id).first()
    if artifact is None:
        return error_response("not_found", f"No artifact {artifact_id}.", 404)
    try:
        return responses.artifact_audio(request, artifact, allow_blocked=True)
    except ServiceError as error:
        return _refusal(error)


@require_safe
@_moderators_only("synthesis.view_voice")
def voice_audio(request, voice_id: str) -> HttpResponseBase:
    try:
        pk = uuid.UUID(voice_id)
    except ValueError:
        pk = None
    voice = Voice.objects.filter(pk=pk).first() if pk else None
    if voice is None:
        return error_response("not_found", f"No voice {voice_id}.", 404)
    try:
        return responses.voice_clip_audio(request, voice, allow_blocked=True)
    except ServiceError as error:
        return _refusal(error)


def artifact_audio_url(artifact_id: int) -> str:
    return reverse("admin-audio:artifact", args=[artifact_id])


def voice_audio_url(voice_id) -> str:
    return reverse("admin-audio:voice", args=[str(voice_id)])


app_name = "admin-audio"
urlpatterns = [
    path("artifact/<int:artifact_id>", artifact_audio, name="artifact"),
    path("voice/<str:voice_id>", voice_audio, name="voice"),
]
