"""Reads of voices, with ownership built in: someone else's voice is a 404."""

from __future__ import annotations

from django.http import Http404

from .engines import Engine
from .engines.base import BuiltinVoice
from .models import Voice
from .voices import builtin_ref, own_prompt_voice


def voice_get(*, user, voice_id: str) -> Voice:
    """One of the user's prompt voices (listed or not: history refers to both)."""
    voice = own_prompt_voice(user=user, voice_id=str(voice_id))
    if voice is None:
        raise Http404
    return voice


def voice_list(*, user):
    """The user's own listed prompt voices, newest first."""
    return Voice.objects.filter(
        owner=user, kind=Voice.Kind.PROMPT, listed=True
    ).order_by("-created_at", "pk")


def builtin_voice_get(*, engine: Engine, voice_id: str) -> BuiltinVoice | None:
    """The active engine's builtin voice named by "<engine>:<name>", else None."""
    engine_name, sep, name = str(voice_id).partition(":")
    if not sep or engine_name != engine.name:
        return None
    return engine.voice(name)


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
