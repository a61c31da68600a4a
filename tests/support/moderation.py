"""Support for the moderation and quota tests: prompt voices with a stored clip,
artifacts made from them, and pausing the test worker. The espeak test engine cannot
clone, so the audio of a prompt-voice artifact is real espeak speech stored under the
artifact's fingerprint, as the worker would store it."""

from __future__ import annotations

import hashlib
import os
from contextlib import contextmanager

from django.utils import timezone

from synthesis import fingerprint as fp
from synthesis import storage
from synthesis.audio import pcm
from synthesis.engines import get_engine
from synthesis.engines.base import VoiceInput
from synthesis.models import Artifact, SynthesisRequest, Voice

RATE = 24000


def speech_wav(text: str) -> tuple[bytes, float]:
    engine = get_engine("espeak")
    result = engine.synthesize(
        text=text, voice=VoiceInput(kind="builtin", name="en-us"), seed=42
    )
    samples = pcm.resample(result.samples, result.sample_rate, RATE)
    return pcm.encode_wav(samples, RATE), len(samples) / RATE


def make_voice(
    owner, *, name: str = "narrator", clip_text: str = "Reference clip."
) -> Voice:
    data, duration = speech_wav(clip_text)
    sha = hashlib.sha256(data).hexdigest()
    name_on_disk = storage.voice_clip_name(sha)
    storage.write_atomic(name_on_disk, data)
    return Voice.objects.create(
        owner=owner,
        name=name,
        audio_name=name_on_disk,
        audio_sha256=sha,
        prompt_text=clip_text,
        duration_s=duration,
        sample_rate=RATE,
        consent=True,
    )


def make_artifact(text: str, *, voice: Voice | None = None, user=None) -> Artifact:
    """A succeeded artifact with its audio file; with `user`, also a history row."""
    engine = get_engine("espeak")
    voice_part = (
        fp.prompt_voice(audio_sha256=voice.audio_sha256, prompt_text=voice.prompt_text)
        if voice
        else fp.builtin_voice(engine.default_voice)
    )
    inputs = fp.canonical_inputs(
        engine=engine.name,
        model=engine.identity(),
        text=text,
        voice=voice_part,
        seed=42,
        sample_rate=RATE,
        params=engine.params(),
    )
    fingerprint = fp.fingerprint_of(inputs)
    data, duration = speech_wav(text)
    name = storage.artifact_audio_name(fingerprint)
    storage.write_atomic(name, data)
    now = timezone.now()
    artifact = Artifact.objects.create(
        fingerprint=fingerprint,
        status=Artifact.Status.SUCCEEDED,
        engine=engine.name,
        model_version=inputs["model"],
        inputs=inputs,
        audio_name=name,
        sample_rate=RATE,
        duration_s=duration,
        bytes=len(data),
        engine_seconds=0.01,
        attempts=1,
        created_at=now,
        started_at=now,
        finished_at=now,
    )
    if user is not None:
        SynthesisRequest.objects.create(
            user=user,
            artifact=artifact,
            text=text,
            characters=len(text),
            voice_ref=str(voice.pk) if voice else f"espeak:{engine.default_voice}",
            voice=voice,
            seed=42,
            sample_rate=RATE,
            engine=engine.name,
            cache=SynthesisRequest.Cache.MISS,
        )
    return artifact


@contextmanager
def worker_paused(queue: str = "cpu"):
    """Stops the test worker from taking new runs, so misses stay queued; every
    message sent meanwhile is delivered once it resumes."""
    from tts_platform.celery import app

    node = f"test-{os.getpid()}@localhost"
    assert app.control.cancel_consumer(queue, destination=[node], reply=True)
    try:
        yield
    finally:
        app.control.add_consumer(queue, destination=[node], reply=True)
