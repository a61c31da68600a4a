"""Reads of voices for the portal, with ownership built in."""

from __future__ import annotations

import uuid

from django.http import Http404

from .engines import Engine
from .models import Voice
from .voices import builtin_ref


def voice_list(*, user):
    """The user's own prompt voices that they uploaded (not ad-hoc request clips)."""
    return Voice.objects.filter(
        owner=user, kind=Voice.Kind.PROMPT, listed=True
    ).order_by("-created_at")


def voice_get(*, user, voice_id) -> Voice:
    try:
        pk = uuid.UUID(str(voice_id))
    except ValueError:
        raise Http404 from None
    voice = Voice.objects.filter(pk=pk, owner=user).first()
    if voice is None:
        raise Http404
    return voice


def voice_options(*, user, engine: Engine) -> list[tuple[str, list[tuple[str, str]]]]:
    """Grouped (value, label) pairs for a voice picker: the engine's builtin voices,
    then the user's prompt voices (usable ones only)."""
    builtin = [(builtin_ref(engine, v.name), v.label) for v in engine.voices()]
    own = [
        (str(v.pk), v.name)
        for v in voice_list(user=user).filter(blocked_at__isnull=True)
    ]
    groups = [(f"Built-in voices ({engine.name})", builtin)]
    if own:
        groups.append(("Your voices", own))
    return groups
