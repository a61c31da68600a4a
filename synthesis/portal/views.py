"""Portal pages for syntheses and voices. Thin: forms check input, services write,
selectors read, templates present."""

from __future__ import annotations

import secrets

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_GET

from synthesis import selectors
from synthesis.api.uploads import (
    MAX_BODY_BYTES,
    content_length,
    limited_upload_handlers,
    too_large,
)
from synthesis.models import SynthesisRequest
from synthesis.portal.forms import (
    MAX_SEED,
    HistoryFilterForm,
    SynthesisForm,
    VoiceUploadForm,
)
from synthesis.selectors import voice_get, voice_list, voice_options
from synthesis.services import syntheses
from synthesis.services import voices as voice_services
from synthesis.services.errors import ServiceError
from synthesis.services.voices import builtin_ref
from tts_platform.body_limit import accepts_uploads
from tts_platform.errors import service_error_status

HISTORY_PAGE_SIZE = 10


def _attach_error(form, error: ServiceError) -> None:
    """A service's 4xx becomes a form error on the field it names."""
    field = error.param if error.param in form.fields else None
    form.add_error(field, error.message)


def _is_htmx(request) -> bool:
    return request.headers.get("HX-Request") == "true"


@login_required
def synthesize(request):
    engine = syntheses.active_engine()
    options = voice_options(user=request.user, engine=engine)
    synthesis = None
    if request.method == "POST":
        form = SynthesisForm(request.POST, voice_options=options)
        if form.is_valid():
            data = form.cleaned_data
            try:
                synthesis = syntheses.synthesis_create(
                    user=request.user,
                    data=syntheses.SynthesisInput(
                        text=data["text"],
                        voice=data["voice"] or None,
                        seed=data["seed"],
                        sample_rate=data["sample_rate"],
                        speed=data["speed"] or 1.0,
                    ),
                    channel=SynthesisRequest.Channel.PORTAL,
                )
            except ServiceError as error:
                _attach_error(form, error)
        if synthesis is not None and not _is_htmx(request):
            # Post/redirect/get: a reload shows the result instead of posting again.
            return redirect(f"{request.path}?synthesis={synthesis.pk}")
    else:
        initial = {"voice": builtin_ref(engine, engine.default_voice)}
        if "again" in request.GET:
            earlier = selectors.synthesis_get(
                user=request.user, synthesis_id=request.GET["again"]
            )
            initial.update(
                text=earlier.text,
                voice=earlier.voice_ref,
                sample_rate=earlier.sample_rate,
                seed=secrets.randbelow(MAX_SEED + 1),
            )
        form = SynthesisForm(initial=initial, voice_options=options)
        if "synthesis" in request.GET:
            synthesis = selectors.synthesis_get(
                user=request.user, synthesis_id=request.GET["synthesis"]
            )
    context = {"form": form, "synthesis": synthesis, "engine": engine}
    template = "portal/_synthesize_panel.html" if _is_htmx(request) else None
    status = 400 if form.errors and not _is_htmx(request) else 200
    return render(request, template or "portal/synthesize.html", context, status=status)


@login_required
@require_GET
def synthesis_status(request, synthesis_id):
    """The progress fragment that htmx polls until the synthesis is finished."""
    synthesis = selectors.synthesis_get(user=request.user, synthesis_id=synthesis_id)
    # An older take beside the newest one polls with ?take=1 (one #synthesis-status).
    context = {"synthesis": synthesis, "secondary": request.GET.get("take") == "1"}
    return render(request, "portal/_synthesis_status.html", context)


@login_required
@require_GET
def history(request):
    engine = syntheses.active_engine()
    filters = HistoryFilterForm(
        request.GET, voice_options=voice_options(user=request.user, engine=engine)
    )
    criteria = filters.cleaned_data if filters.is_valid() else {}
    rows = selectors.synthesis_history(
        user=request.user,
        search=criteria.get("search", "").strip(),
        status=criteria.get("status", ""),
        cache=criteria.get("cache", ""),
        voice=criteria.get("voice", ""),
    ).select_related("voice")
    page = Paginator(rows, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "portal/history.html",
        {
            "filters": filters,
            "page": page,
            "query": query.urlencode(),
            "filtered": any(criteria.values()),
        },
    )


@login_required
def synthesis_delete(request, synthesis_id):
    """GET asks for confirmation; POST deletes."""
    synthesis = selectors.synthesis_get(user=request.user, synthesis_id=synthesis_id)
    if request.method == "POST":
        # History shows repeats of one audio as one row: deleting it deletes them all.
        for row in SynthesisRequest.objects.filter(
            user=request.user, artifact_id=synthesis.artifact_id
        ):
            syntheses.synthesis_delete(request=row)
        messages.success(request, "The synthesis was deleted from your history.")
        return redirect("portal:history")
    return render(
        request,
        "portal/confirm_delete.html",
        {
            "title": "Delete this synthesis?",
            "item": synthesis.text,
            "consequence": "It disappears from your history (with its repeats) and its audio is "
            "removed unless someone else's history still uses it.",
            "cancel_url": "portal:history",
        },
    )


@csrf_exempt  # only to install the upload limit first; _voices checks CSRF
@login_required
@accepts_uploads(MAX_BODY_BYTES)
def voices(request):
    # The size limit must be in place before anything (the CSRF check included)
    # parses the body, so a 60 MB upload is refused without being read.
    request.upload_handlers = limited_upload_handlers(request)
    try:
        if request.method == "POST" and content_length(request.META) > MAX_BODY_BYTES:
            raise too_large("audio")
        return _voices(request)
    except ServiceError as error:  # refused up front, or cut off while streaming
        messages.error(request, error.message)
        return _voices_page(
            request, VoiceUploadForm(), status=service_error_status(error)
        )


@csrf_protect
def _voices(request):
    if request.method == "POST":
        form = VoiceUploadForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                voice = voice_services.voice_create(
                    user=request.user,
                    name=data["name"],
                    prompt_text=data["prompt_text"],
                    upload=data["audio"],
                    consent=data["consent"],
                )
            except ServiceError as error:
                _attach_error(form, error)
            else:
                messages.success(request, f"Voice “{voice.name}” was added.")
                return redirect("portal:voices")
    else:
        form = VoiceUploadForm()
    return _voices_page(request, form)


def _voices_page(request, form, status: int | None = None):
    return render(
        request,
        "portal/voices.html",
        {
            "form": form,
            "voices": voice_list(user=request.user),
            "engine": syntheses.active_engine(),
            "builtin_voices": syntheses.active_engine().voices(),
        },
        status=status or (400 if form.errors else 200),
    )


@login_required
def voice_delete(request, voice_id):
    voice = voice_get(user=request.user, voice_id=voice_id)
    if request.method == "POST":
        voice_services.voice_delete(voice=voice)
        messages.success(request, f"Voice “{voice.name}” was deleted.")
        return redirect("portal:voices")
    return render(
        request,
        "portal/confirm_delete.html",
        {
            "title": "Delete this voice?",
            "item": voice.name,
            "consequence": "You can no longer pick it. Audio you already made with "
            "it stays in your history.",
            "cancel_url": "portal:voices",
        },
    )
