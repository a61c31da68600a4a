"""Fixtures of the GLM-TTS tests: the stand-in upstream tree (built once per process),
an engine on it, and a prompt clip of its own per test."""

from __future__ import annotations

import zlib

import pytest

from synthesis.engines.base import VoiceInput
from synthesis.engines.glmtts.engine import GlmTtsEngine
from tests.support import glmtts_standin
from tests.support.glmtts import (
    clip_bytes,
    store_voice,
)


@pytest.fixture(scope="session")
def standin(tmp_path_factory):
    repo, ckpt = glmtts_standin.build(tmp_path_factory.mktemp("glmtts"))
    return repo, ckpt


@pytest.fixture
def engine(standin) -> GlmTtsEngine:
    repo, ckpt = standin
    return GlmTtsEngine(repo, ckpt, device="cpu", voice_cache_size=8)


@pytest.fixture
def voice(request) -> VoiceInput:
    # A clip of its own per test: the feature file cache outlives a test.
    pitch = 110 + zlib.crc32(request.node.nodeid.encode()) % 2000 / 10
    return store_voice(clip_bytes(pitch))
