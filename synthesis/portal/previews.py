"""The builtin voices' previews on the Voices page: one short synthesis per voice,
made on first play and served from the cache after that."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.views.decorators.http import require_GET

from synthesis import storage
from synthesis.api.responses import serve_audio
from synthesis.models import Artifact
from synthesis.services import previews, syntheses
from synthesis.services.errors import NotFound, ServiceError
from tts_platform.errors import service_error_status


@login_required
@require_GET
def voice_preview(request, name):
    engine = syntheses.active_engine()
    try:
        preview = previews.voice_preview(engine=engine, name=name)
    except NotFound as error:
        raise Http404(error.message) from None
    except ServiceError as error:  # e.g. too many first plays at once: try again
        response = HttpResponse(error.message, status=service_error_status(error))
        if error.retry_after:
            response["Retry-After"] = str(error.retry_after)
        return response
    artifact = preview.artifact
    if artifact.status != Artifact.Status.SUCCEEDED:
        response = HttpResponse("The preview is not ready yet.", status=503)
        response["Retry-After"] = "5"
        return response
    if not storage.exists(artifact.audio_name):
        raise Http404("The preview audio is gone.")
    return serve_audio(
        request,
        name=artifact.audio_name,
        content_type="audio/wav",
        etag=f'"{artifact.fingerprint}.wav"',
        filename=f"preview-{engine.name}-{name}.wav",
    )
