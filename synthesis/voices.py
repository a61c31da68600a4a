"""Resolving the voice a request names into what is fingerprinted and what the engine
receives."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from tts_platform.errors import ApiError

from . import fingerprint as fp
from . import storage
from .engines import Engine
from .engines.base import VoiceInput
from .models import Voice


@dataclass(frozen=True)
class ResolvedVoice:
    ref: str  # what the history shows: "<engine>:<name>" or the voice's UUID
    fingerprint_part: dict
    voice: Voice | None = None


def builtin_ref(engine: Engine, name: str) -> str:
    return f"{engine.name}:{name}"


def voice_resolve(*, user, engine: Engine, voice_id: str | None) -> ResolvedVoice:
    """`voice_id`: None (the engine's default), "<engine>:<name>", a bare builtin name,
    or the UUID of one of the user's prompt voices."""
    if not voice_id:
        name = engine.default_voice
        if not name:
            raise ApiError(
                "voice_required",
                f"Engine {engine.name!r} clones a voice: pass voice (a prompt voice "
                "id) or prompt_audio with prompt_text.",
                param="voice",
            )
        return ResolvedVoice(builtin_ref(engine, name), fp.builtin_voice(name))
    engine_name, sep, name = voice_id.partition(":")
    if sep:
        if engine_name != engine.name:
            raise ApiError(
                "voice_not_available",
                f"Voice {voice_id!r} belongs to engine {engine_name!r}; this server "
                f"runs {engine.name!r}.",
                param="voice",
            )
    else:
        name = voice_id
    if engine.voice(name) is not None:
        return ResolvedVoice(builtin_ref(engine, name), fp.builtin_voice(name))
    voice = own_prompt_voice(user=user, voice_id=voice_id) if not sep else None
    if voice is None:
        raise ApiError("voice_not_found", f"No voice {voice_id!r}.", param="voice")
    if voice.blocked_at is not None:
        raise ApiError(
            "voice_blocked", "This voice was blocked by a moderator.", param="voice"
        )
    return prompt_resolved(voice)


def prompt_resolved(voice: Voice) -> ResolvedVoice:
    return ResolvedVoice(
        str(voice.pk),
        fp.prompt_voice(audio_sha256=voice.audio_sha256, prompt_text=voice.prompt_text),
        voice,
    )


def own_prompt_voice(*, user, voice_id: str) -> Voice | None:
    """One of the user's prompt voices by its UUID (listed or not), else None."""
    try:
        pk = uuid.UUID(voice_id)
    except ValueError:
        return None
    return Voice.objects.filter(pk=pk, owner=user).first()


def engine_voice_input(voice_part: dict) -> VoiceInput:
    """What the worker hands the engine, rebuilt from the fingerprint inputs alone: the
    prompt clip is found by its hash, so no voice row is needed (it may be deleted)."""
    if voice_part["kind"] == "builtin":
        return VoiceInput(kind="builtin", name=voice_part["name"])
    sha = voice_part["audio_sha256"]
    return VoiceInput(
        kind="prompt",
        audio_path=storage.local_path(storage.voice_clip_name(sha)),
        audio_sha256=sha,
        prompt_text=voice_part["prompt_text"],
    )
