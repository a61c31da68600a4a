"""Staff-only audio for the admin's players: artifact outputs and voice clips, with
Range support (browsers seek in <audio> with byte ranges).

Moderators must be able to hear what they judge, so a blocked artifact still plays
here while its file exists; the user-facing endpoints never serve it."""

from __future__ import annotations

import uuid

from django.urls import path, reverse
from django.views.decorators.http import require_safe

from synthesis import storage
from synthesis.api.responses import serve_audio
from synthesis.models import Artifact, Voice
from tts_platform.errors import error_response


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


def _serve(request, name: str, etag: str, filename: str):
    if not storage.exists(name):
        return error_response("audio_missing", "There is no audio file.", 404)
    return serve_audio(
        request, name=name, content_type="audio/wav", etag=etag, filename=filename
    )


@require_safe
@_moderators_only("synthesis.view_artifact")
def artifact_audio(request, artifact_id: int):
    artifact = (
        Artifact.objects.filter(pk=artifact_id)
        .only("fingerprint", "audio_name")
        .first()
    )
    if artifact is None:
        return error_response("not_found", f"No artifact {artifact_id}.", 404)
    return _serve(
        request,
        artifact.audio_name,
        f'"{artifact.fingerprint}.wav"',
        f"{artifact.fingerprint[:16]}.wav",
    )


@require_safe
@_moderators_only("synthesis.view_voice")
def voice_audio(request, voice_id: str):
    try:
        pk = uuid.UUID(voice_id)
    except ValueError:
        pk = None
    voice = Voice.objects.filter(pk=pk).first() if pk else None
    if voice is None:
        return error_response("not_found", f"No voice {voice_id}.", 404)
    return _serve(
        request,
        voice.audio_name,
        f'"{voice.audio_sha256}.wav"',
        f"voice-{str(voice.pk)[:8]}.wav",
    )


def artifact_audio_url(artifact_id: int) -> str:
    return reverse("admin-audio:artifact", args=[artifact_id])


def voice_audio_url(voice_id) -> str:
    return reverse("admin-audio:voice", args=[str(voice_id)])


app_name = "admin-audio"
urlpatterns = [
    path("artifact/<int:artifact_id>", artifact_audio, name="artifact"),
    path("voice/<str:voice_id>", voice_audio, name="voice"),
]
