"""A synthesis' audio while it is being made: each segment's samples, in the order and
form of the stored audio, as soon as that segment is stored (docs/api.md "Streaming").

Waiting is on the segment's "stored" notification (Redis pub/sub), with a look at the
database every second, so a lost message or a Redis outage costs a second, not the
stream. A stream that cannot progress (its synthesis failed or was blocked, or nothing
happened for TTS_STREAM_IDLE_SECONDS) ends with what it has; the synthesis object says
why.
"""

from __future__ import annotations

import io
import time
from collections.abc import Iterator

import numpy as np
import soundfile
from django.conf import settings

from synthesis import cache, storage
from synthesis.audio import join, stream
from synthesis.models import Artifact, SynthesisRequest

Status = Artifact.Status
RECHECK_SECONDS = 1.0


def _read(name: str, dtype: str) -> np.ndarray:
    with storage.open_file(name) as handle:
        samples, _ = soundfile.read(io.BytesIO(handle.read()), dtype=dtype)
    return samples


def _parts(synthesis: SynthesisRequest) -> list[tuple[int, str]]:
    """(artifact id, fingerprint) of each segment, in order."""
    if synthesis.segment_count <= 1:
        return [(synthesis.artifact_id, synthesis.artifact.fingerprint)]
    return list(
        synthesis.segments.order_by("index").values_list(
            "artifact_id", "artifact__fingerprint"
        )
    )


def _stored(artifact_id: int, pubsub, deadline: float) -> str | None:
    """The audio name once the artifact is stored; None if it never will be (failed,
    blocked, purged) or nothing happened before `deadline`."""
    while True:
        row = (
            Artifact.objects.filter(pk=artifact_id)
            .values_list("status", "audio_name")
            .first()
        )
        if row is None or row[0] not in Status.IN_FLIGHT:
            return row[1] if row and row[0] == Status.SUCCEEDED else None
        if time.monotonic() > deadline:
            return None
        cache.stored_wait(pubsub, RECHECK_SECONDS)


def synthesis_samples(synthesis: SynthesisRequest) -> Iterator[np.ndarray]:
    """16-bit samples of the synthesis' audio, one segment at a time, each as soon as
    it is stored. Concatenated, they are the stored audio's samples."""
    parts = _parts(synthesis)
    joined = synthesis.segment_count > 1
    settings_ = synthesis.artifact.inputs.get("join", {}) if joined else {}
    pubsub = cache.stored_subscribe([fingerprint for _, fingerprint in parts])
    idle = settings.TTS_STREAM_IDLE_SECONDS
    try:
        for index, (artifact_id, _) in enumerate(parts):
            name = _stored(artifact_id, pubsub, time.monotonic() + idle)
            if name is None:
                return
            if not joined:
                yield _read(name, "int16")
                continue
            # Exactly what the join does to this segment, then the master's 16 bits.
            for piece in join.joined_piece(
                _read(name, "float32"),
                synthesis.sample_rate,
                settings_["fade_ms"],
                settings_["gaps_ms"],
                index,
            ):
                yield stream.quantize(piece)
    finally:
        if pubsub is not None:
            pubsub.close()


def synthesis_stream(synthesis: SynthesisRequest, fmt: str) -> Iterator[bytes]:
    # An empty first chunk makes the server send the status and headers now: the
    # client knows its stream is on before the first segment is stored.
    yield b""
    encoder = stream.StreamEncoder(fmt, synthesis.sample_rate)
    for samples in synthesis_samples(synthesis):
        data = encoder.feed(samples)
        if data:
            yield data
    tail = encoder.finish()
    if tail:
        yield tail
