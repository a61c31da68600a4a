"""The only writers of prompt voices (accepting an upload, the ad-hoc voices of
multipart syntheses, deleting) and the resolution of the voice a request names into
what is fingerprinted and what the engine receives."""

from __future__ import annotations

import logging
import os
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from synthesis import fingerprint as fp
from synthesis import storage
from synthesis.audio.intake import (
    CANONICAL_HEADER_BYTES,
    AudioInvalid,
    CanonicalClip,
    canonicalize,
)
from synthesis.engines import Engine
from synthesis.engines.base import VoiceInput
from synthesis.engines.selection import median_f0
from synthesis.models import Artifact, Voice

from . import quota
from .errors import InvalidInput, LimitExceeded, TooLarge

logger = logging.getLogger(__name__)

MAX_PROMPT_TEXT_CHARS = 1000
MAX_NAME_CHARS = 100


def prompt_text_validate(prompt_text: str | None) -> str:
    text = fp.normalize_text(prompt_text or "")
    if not text:
        raise InvalidInput(
            "prompt_text_required",
            "prompt_text must be the exact transcript of the reference clip.",
            param="prompt_text",
        )
    if len(text) > MAX_PROMPT_TEXT_CHARS:
        raise InvalidInput(
            "prompt_text_too_long",
            f"prompt_text has {len(text)} characters; the limit is "
            f"{MAX_PROMPT_TEXT_CHARS}.",
            param="prompt_text",
        )
    return text


def clip_from_upload(upload, *, param: str) -> CanonicalClip:
    """Decodes an uploaded file (at most MAX_UPLOAD_BYTES, enforced by the upload
    handler) into its canonical clip, or a 4xx naming the problem."""
    if upload is None:
        raise InvalidInput(
            "audio_required", "Attach the reference clip as a file.", param=param
        )
    upload.seek(0)
    data = upload.read()
    try:
        return canonicalize(data, filename=upload.name or "")
    except AudioInvalid as error:
        kind = TooLarge if error.code == "audio_too_large" else InvalidInput
        raise kind(error.code, error.message, param=param) from None


def _clip_store(clip: CanonicalClip) -> str:
    """Content-addressed: one file per audio_sha256, written once."""
    name = storage.voice_clip_name(clip.sha256)
    if not storage.exists(name):
        storage.write_atomic(name, clip.wav)
    return name


def _default_name(upload) -> str:
    stem = os.path.splitext(os.path.basename(getattr(upload, "name", "") or ""))[0]
    return (stem.strip() or "voice")[:MAX_NAME_CHARS]


def voice_create(
    *,
    user,
    upload,
    prompt_text: str,
    consent: bool,
    name: str = "",
    listed: bool = True,
    param: str = "audio",
) -> Voice:
    """A new prompt voice from an uploaded clip (every upload makes a voice)."""
    if not consent:
        raise InvalidInput(
            "consent_required",
            "Confirm that you have the speaker's consent to use this voice "
            "(consent=true).",
            param="consent",
        )
    prompt_text = prompt_text_validate(prompt_text)
    clip = clip_from_upload(upload, param=param)
    with transaction.atomic():
        _user_lock(user)
        storage_limits_check(user=user, clip=clip)
        return _voice_insert(
            user=user,
            clip=clip,
            prompt_text=prompt_text,
            consent=consent,
            name=(name or "").strip()[:MAX_NAME_CHARS] or _default_name(upload),
            listed=listed,
        )


def _user_lock(user) -> None:
    """Serializes one user's voice writes (a row lock on the user), so the limits
    below are checked against a count no concurrent upload can change."""
    users = get_user_model().objects
    list(users.select_for_update().filter(pk=user.pk).values("pk"))


def clip_bytes(clip_or_voice) -> int:
    """Bytes of a stored canonical clip: mono 16-bit samples plus the header."""
    return CANONICAL_HEADER_BYTES + 2 * round(
        clip_or_voice.duration_s * clip_or_voice.sample_rate
    )


def storage_limits_check(*, user, clip: CanonicalClip) -> None:
    """Before a clip is stored: at most TTS_MAX_VOICES voices and TTS_MAX_VOICE_BYTES
    of clips per user (ad-hoc voices count too). Call with the user's row locked."""
    voices = Voice.objects.filter(owner=user)
    count = voices.count()
    if count >= settings.TTS_MAX_VOICES:
        raise LimitExceeded(
            "too_many_voices",
            f"You have {count} voices; the limit is {settings.TTS_MAX_VOICES}. "
            "Delete one you no longer use.",
            param="audio",
        )
    stored = sum(clip_bytes(v) for v in voices.only("duration_s", "sample_rate"))
    if stored + clip_bytes(clip) > settings.TTS_MAX_VOICE_BYTES:
        raise LimitExceeded(
            "voice_storage_full",
            f"Your voices take {stored} bytes; this clip would pass the limit of "
            f"{settings.TTS_MAX_VOICE_BYTES}. Delete a voice you no longer use.",
            param="audio",
        )


def _voice_insert(
    *, user, clip: CanonicalClip, prompt_text: str, consent: bool, name: str, listed
) -> Voice:
    # The file goes first: a row never points at a clip that is not there yet. A
    # concurrent delete of the last other voice with this hash may remove it before
    # this row commits, so it is written again (if missing) once the row is visible.
    audio_name = _clip_store(clip)
    transaction.on_commit(lambda: _clip_store(clip))
    return Voice.objects.create(
        owner=user,
        name=name,
        kind=Voice.Kind.PROMPT,
        audio_name=audio_name,
        audio_sha256=clip.sha256,
        prompt_text=prompt_text,
        duration_s=round(clip.duration_s, 4),
        sample_rate=clip.sample_rate,
        pitch_hz=median_f0(clip.samples(), clip.sample_rate),
        consent=consent,
        listed=listed,
    )


def voice_adhoc_get_or_create(
    *, user, upload, prompt_text: str, consent: bool = False, characters: int = 0
) -> Voice:
    """The unlisted voice of a multipart synthesis. The same user sending the same clip
    (same canonical hash) with the same transcript again reuses it. A new clip is
    stored only after the storage limits and the quota for the request's `characters`
    (a new clip means a new fingerprint: a miss) agree."""
    prompt_text = prompt_text_validate(prompt_text)
    clip = clip_from_upload(upload, param="prompt_audio")  # outside the lock: slow
    with transaction.atomic():
        # Serializes one user's ad-hoc uploads, so two identical requests at the same
        # moment still make one voice (a row lock on the user; SQLite locks anyway).
        _user_lock(user)
        existing = (
            Voice.objects.filter(
                owner=user,
                listed=False,
                audio_sha256=clip.sha256,
                prompt_text=prompt_text,
            )
            .order_by("created_at")
            .first()
        )
        if existing is None:
            quota.quota_precheck(user=user, characters=characters)
            storage_limits_check(user=user, clip=clip)
            return _voice_insert(
                user=user,
                clip=clip,
                prompt_text=prompt_text,
                consent=consent,
                name=_default_name(upload),
                listed=False,
            )
    if existing.blocked_at is not None:
        raise InvalidInput(
            "voice_blocked",
            "This voice was blocked by a moderator.",
            param="prompt_audio",
        )
    if not storage.exists(existing.audio_name):
        _clip_store(clip)  # self-healing: the clip file was lost
    return existing


@transaction.atomic
def voice_delete(*, voice: Voice) -> None:
    """Removes the voice. History that used it stays playable (the request keeps its
    voice_ref and its artifact; the foreign key becomes NULL). The clip file goes once
    no other voice row has the same hash and no queued or running synthesis needs it."""
    sha, name = voice.audio_sha256, voice.audio_name
    voice.delete()

    def purge() -> None:
        if Voice.objects.filter(audio_sha256=sha).exists():
            return
        in_flight = Artifact.objects.filter(
            status__in=[Artifact.Status.QUEUED, Artifact.Status.RUNNING],
            inputs__voice__audio_sha256=sha,
        )
        if in_flight.exists():
            return
        storage.delete(name)

    transaction.on_commit(purge)


# --- Resolving the voice a request names ---------------------------------------------


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
            raise InvalidInput(
                "voice_required",
                f"Engine {engine.name!r} clones a voice: pass voice (a prompt voice "
                "id) or prompt_audio with prompt_text.",
                param="voice",
            )
        return ResolvedVoice(builtin_ref(engine, name), fp.builtin_voice(name))
    engine_name, sep, name = voice_id.partition(":")
    if sep:
        if engine_name != engine.name:
            raise InvalidInput(
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
        builtin = ", ".join(builtin_ref(engine, v.name) for v in engine.voices())
        raise InvalidInput(
            "voice_not_found",
            f"No voice {voice_id!r}. Builtin voices here: {builtin}; your own voices: "
            "GET /api/v1/voices.",
            param="voice",
        )
    if voice.blocked_at is not None:
        raise InvalidInput(
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
        # A worker may share no filesystem with the web: the clip comes through the
        # storage API into a local read-through copy.
        audio_path=storage.local_copy(storage.voice_clip_name(sha), sha256=sha),
        audio_sha256=sha,
        prompt_text=voice_part["prompt_text"],
    )
