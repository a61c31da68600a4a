"""Presentation of syntheses in the portal: how a cache outcome, a voice and a status
read to a person."""

from __future__ import annotations

from django import template
from django.conf import settings

from synthesis.engines import UnknownEngine, get_engine
from synthesis.models import Artifact, SynthesisRequest
from synthesis.run_errors import public_message

register = template.Library()

IN_FLIGHT = {Artifact.Status.QUEUED, Artifact.Status.RUNNING}
STEPS = [("queued", "Queued"), ("running", "Running"), ("done", "Done")]


@register.filter
def failure_message(artifact: Artifact) -> str:
    return public_message(artifact.error_code)


@register.filter
def outcome(synthesis: SynthesisRequest) -> str:
    if synthesis.cache == SynthesisRequest.Cache.HIT:
        return "Served from cache"
    if synthesis.cache == SynthesisRequest.Cache.COALESCED:
        return "Joined an identical request"
    if synthesis.segment_count > 1:
        new = synthesis.segments.filter(cache=SynthesisRequest.Cache.MISS).count()
        return (
            f"{new} of {synthesis.segment_count} segments synthesized, "
            f"{synthesis.segment_count - new} from the cache"
        )
    seconds = synthesis.artifact.engine_seconds
    if seconds is None:
        return "Synthesizing"
    return f"Synthesized in {seconds:.2f} s"


@register.filter
def voice_label(synthesis: SynthesisRequest) -> str:
    if synthesis.voice_id is not None:
        return synthesis.voice.name
    engine_name, sep, name = synthesis.voice_ref.partition(":")
    if not sep:
        return "A deleted voice of yours"
    try:
        builtin = get_engine(engine_name).voice(name)
    except UnknownEngine:
        builtin = None
    return builtin.label if builtin else synthesis.voice_ref


@register.filter
def in_flight(synthesis: SynthesisRequest) -> bool:
    return synthesis.artifact.status in IN_FLIGHT


@register.simple_tag
def progress_steps(synthesis: SynthesisRequest) -> list[dict]:
    """The three steps with their state: done, current or upcoming."""
    status = synthesis.artifact.status
    current = status if status in IN_FLIGHT else "done"
    order = [key for key, _ in STEPS]
    at = order.index(current)
    steps = [
        {
            "key": key,
            "label": label,
            "state": "done"
            if i < at or (key == "done" and current == "done")
            else ("current" if i == at else "upcoming"),
        }
        for i, (key, label) in enumerate(STEPS)
    ]
    if status in (Artifact.Status.FAILED, Artifact.Status.BLOCKED):
        steps[-1].update(label=Artifact.Status(status).label, state="failed")
    return steps


@register.simple_tag
def audio_formats() -> list[str]:
    """The formats the audio endpoint serves as files, WAV (the master) first: the
    portal offers a download button for each (raw PCM has no header to play)."""
    from synthesis.audio.formats import FORMATS, MASTER

    files = [name for name, spec in FORMATS.items() if spec.container != "RAW"]
    return sorted(files, key=lambda fmt: (fmt != MASTER, fmt))


@register.simple_tag
def max_text_chars() -> int:
    return settings.TTS_MAX_TEXT_CHARS
