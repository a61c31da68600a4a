"""The second cache level: a voice's prepared GLM-TTS prompt features.

Preparing a prompt voice runs the Whisper-VQ speech tokenizer, the prompt mel and the
CAMPPlus speaker encoder on the clip, and normalises its transcript
(docs/glmtts.md §3). That depends only on the engine build, the clip, the transcript
and the vocoder rate, so it is done once per (identity, audio_sha256, prompt_text,
sample_rate): kept in each worker's memory (LRU) and in storage as a small .npz, which
other workers and restarts read instead of preparing again.

The arrays round-trip exactly (float32 and int32 in, the same values out), so audio made
from cached features is the audio fresh features would give: the cache is invisible to
the fingerprint.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

FORMAT_VERSION = 1
STORAGE_PREFIX = "glmtts/voice-features"


@dataclass(frozen=True)
class VoiceFeatures:
    # The transcript after upstream text normalisation, with its trailing space.
    prompt_text: str
    speech_tokens: np.ndarray  # int32 [T], 25 Hz
    speech_feat: np.ndarray  # float32 [1, T_mel, 80], at the vocoder rate
    embedding: np.ndarray  # float32 [1, 192]


def feature_key(
    *, identity: str, audio_sha256: str, prompt_text: str, sample_rate: int
) -> str:
    payload = json.dumps(
        [FORMAT_VERSION, identity, audio_sha256, prompt_text, int(sample_rate)],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def storage_name(key: str) -> str:
    return f"{STORAGE_PREFIX}/{key[:2]}/{key}.npz"


def encode(features: VoiceFeatures) -> bytes:
    buffer = io.BytesIO()
    np.savez(
        buffer,
        format_version=np.array(FORMAT_VERSION),
        prompt_text=np.array(features.prompt_text),
        speech_tokens=features.speech_tokens.astype(np.int32, copy=False),
        speech_feat=features.speech_feat.astype(np.float32, copy=False),
        embedding=features.embedding.astype(np.float32, copy=False),
    )
    return buffer.getvalue()


def decode(data: bytes) -> VoiceFeatures:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        if int(npz["format_version"]) != FORMAT_VERSION:
            raise ValueError("voice features of another format version")
        return VoiceFeatures(
            prompt_text=str(npz["prompt_text"]),
            speech_tokens=npz["speech_tokens"],
            speech_feat=npz["speech_feat"],
            embedding=npz["embedding"],
        )


class VoiceFeatureCache:
    """Memory first, then storage. Thread-safe."""

    def __init__(self, *, capacity: int) -> None:
        self.capacity = max(0, capacity)
        self._memory: OrderedDict[str, VoiceFeatures] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[VoiceFeatures, str] | None:
        """(features, "memory" | "file"), or None when the voice was never prepared."""
        features = self._memory_get(key)
        if features is not None:
            return features, "memory"
        features = self._file_get(key)
        if features is None:
            return None
        self._memory_put(key, features)
        return features, "file"

    def put(self, key: str, features: VoiceFeatures) -> None:
        self._file_put(key, features)
        self._memory_put(key, features)

    def _memory_get(self, key: str) -> VoiceFeatures | None:
        with self._lock:
            features = self._memory.get(key)
            if features is not None:
                self._memory.move_to_end(key)
            return features

    def _memory_put(self, key: str, features: VoiceFeatures) -> None:
        if not self.capacity:
            return
        with self._lock:
            self._memory[key] = features
            self._memory.move_to_end(key)
            while len(self._memory) > self.capacity:
                self._memory.popitem(last=False)

    def _file_get(self, key: str) -> VoiceFeatures | None:
        from synthesis import storage

        name = storage_name(key)
        if not storage.exists(name):
            return None
        try:
            with storage.open_file(name) as handle:
                return decode(handle.read())
        except Exception as exc:  # a damaged file is a miss; preparing rewrites it
            logger.warning(
                "unreadable voice features %s (%s); preparing again", name, exc
            )
            return None

    def _file_put(self, key: str, features: VoiceFeatures) -> None:
        from synthesis import storage

        try:
            storage.write_atomic(storage_name(key), encode(features))
        except Exception as exc:  # the memory level still saves the next request
            logger.warning("could not store voice features %s: %s", key, exc)
