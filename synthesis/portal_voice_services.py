"""Writes for the portal's voices page: upload and delete a prompt voice.

Kept apart from services.py so that the voice services of the voices API can take
their place: the portal only relies on the signatures `voice_create(*, user, name,
prompt_text, upload, consent)` and `voice_delete(*, voice)`."""

from __future__ import annotations

import hashlib
import io

import numpy as np
import soundfile
from django.db import transaction

from tts_platform.errors import ApiError

from . import audio, storage
from . import fingerprint as fp
from .models import Artifact, Voice

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MIN_SECONDS = 1.0
MAX_SECONDS = 30.0


def _decode(data: bytes) -> tuple[np.ndarray, int]:
    try:
        samples, rate = soundfile.read(
            io.BytesIO(data), dtype="float32", always_2d=True
        )
    except (RuntimeError, soundfile.LibsndfileError, TypeError, ValueError):
        raise ApiError(
            "audio_unreadable",
            "The file is not audio we can read (use WAV, FLAC, OGG or MP3).",
            param="audio",
        ) from None
    # Downmix: the engine receives mono, so the hash must be of mono.
    return samples.mean(axis=1), rate


def voice_create(*, user, name: str, prompt_text: str, upload, consent: bool) -> Voice:
    """Validates the clip, stores its canonical mono 16-bit WAV once per SHA-256 and
    records the voice. Raises ApiError naming the problem."""
    if not consent:
        raise ApiError(
            "consent_required",
            "Confirm that you have the speaker's consent to use this voice.",
            param="consent",
        )
    name = name.strip()
    prompt_text = fp.normalize_text(prompt_text)
    if not name:
        raise ApiError("name_required", "Give the voice a name.", param="name")
    if not prompt_text:
        raise ApiError(
            "prompt_text_required",
            "Type exactly what is said in the clip.",
            param="prompt_text",
        )
    if upload is None:
        raise ApiError("audio_required", "Choose an audio file.", param="audio")
    if upload.size > MAX_UPLOAD_BYTES:
        raise ApiError(
            "audio_too_large",
            f"The file is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.",
            param="audio",
        )
    samples, rate = _decode(upload.read())
    if samples.size == 0:
        raise ApiError("audio_empty", "The file has no audio in it.", param="audio")
    duration = samples.size / rate
    if duration < MIN_SECONDS:
        raise ApiError(
            "audio_too_short",
            f"The clip is {duration:.1f} s long; it needs at least {MIN_SECONDS:.0f} s.",
            param="audio",
        )
    if duration > MAX_SECONDS:
        raise ApiError(
            "audio_too_long",
            f"The clip is {duration:.1f} s long; the limit is {MAX_SECONDS:.0f} s.",
            param="audio",
        )
    canonical = audio.encode_wav(samples, rate)
    sha = hashlib.sha256(canonical).hexdigest()
    clip_name = storage.voice_clip_name(sha)
    if not storage.exists(clip_name):
        storage.write_atomic(clip_name, canonical)
    return Voice.objects.create(
        owner=user,
        name=name[:100],
        kind=Voice.Kind.PROMPT,
        audio_name=clip_name,
        audio_sha256=sha,
        prompt_text=prompt_text,
        duration_s=duration,
        sample_rate=rate,
        consent=True,
        listed=True,
    )


@transaction.atomic
def voice_delete(*, voice: Voice) -> None:
    """Removes the voice. Its history stays playable (artifacts keep their own audio);
    the clip goes once no other voice and no run in flight needs it."""
    sha, clip_name = voice.audio_sha256, voice.audio_name
    voice.delete()
    still_used = (
        Voice.objects.filter(audio_sha256=sha).exists()
        or Artifact.objects.filter(
            inputs__voice__audio_sha256=sha,
            status__in=[Artifact.Status.QUEUED, Artifact.Status.RUNNING],
        ).exists()
    )
    if not still_used:
        transaction.on_commit(lambda: storage.delete(clip_name))
