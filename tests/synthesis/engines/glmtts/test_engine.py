"""The GLM-TTS adapter (synthesis/engines/glmtts/engine.py) against a stand-in of the
upstream tree (tests/support/glmtts_standin.py): synthesis, voice features, errors, and a
smoke test of the real model where CUDA, the checkout and the weights are present."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile
from django.conf import settings as django_settings

from synthesis.engines import EngineError
from synthesis.engines.base import VoiceInput
from synthesis.engines.glmtts.engine import GlmTtsEngine
from synthesis.engines.glmtts.features import VoiceFeatures, decode, encode
from tests.support.glmtts import (
    real_model_missing,
    store_voice,
    upstream,
)

TWO_CHUNKS = (
    "This first sentence is long enough to be a chunk of its own here. "
    "And this second sentence follows it as another chunk."
)


# --- Synthesis ---------------------------------------------------------------------------


def test_speaks_a_prompt_voice_deterministically_per_seed(engine, voice):
    one = engine.synthesize(text="Hello there.", voice=voice, seed=42)
    two = engine.synthesize(text="Hello there.", voice=voice, seed=42)
    other = engine.synthesize(text="Hello there.", voice=voice, seed=43)
    assert one.sample_rate == 24000
    assert one.samples.dtype == np.float32 and one.samples.ndim == 1
    assert np.abs(one.samples).max() <= 1.0
    assert one.duration_s > 0.1
    assert one.samples.tobytes() == two.samples.tobytes()
    assert one.samples.tobytes() != other.samples.tobytes()
    assert one.info["model_fingerprint"] == engine.local_identity()[0]
    assert one.info["speech_tokens"] and one.info["normalized_chunks"] == [
        "hello there."
    ]


def test_works_from_any_working_directory_and_restores_it(
    engine, voice, tmp_path, monkeypatch
):
    # The weights live outside the checkout and the process runs elsewhere: upstream's
    # relative ckpt/ and ./configs/ reads must still find their files.
    monkeypatch.chdir(tmp_path)
    audio = engine.synthesize(text="A colour test.", voice=voice, seed=1)
    assert audio.info["normalized_chunks"] == ["a color test."]
    assert Path.cwd() == tmp_path


def test_every_request_starts_from_a_fresh_history(engine, voice):
    history = upstream("_standin_calls").HISTORY
    first = engine.synthesize(text=TWO_CHUNKS, voice=voice, seed=7)
    second = engine.synthesize(text=TWO_CHUNKS, voice=voice, seed=7)
    assert len(first.info["normalized_chunks"]) == 2
    for entry in history[-2:]:
        assert entry["cache_text"] == ["the color of this prompt is plain. "]
        assert len(entry["cache_speech_token"]) == 1
        assert entry["use_cache"] is True
    # The second chunk is conditioned on the first (the history matters), yet the
    # second request sounds exactly like the first.
    assert second.samples.tobytes() == first.samples.tobytes()


def test_a_voice_is_prepared_once_then_read_from_memory_or_file(engine, standin, voice):
    first = engine.synthesize(text="One.", voice=voice, seed=3)
    calls = upstream("_standin_calls").CALLS
    before = dict(calls)
    second = engine.synthesize(text="Two.", voice=voice, seed=3)
    assert (first.info["voice_features"], second.info["voice_features"]) == (
        "prepared",
        "memory",
    )
    # A new process (another worker, a restart) reads the stored features.
    other = GlmTtsEngine(*standin, device="cpu", voice_cache_size=8)
    third = other.synthesize(text="One.", voice=voice, seed=3)
    assert third.info["voice_features"] == "file"
    for name in (
        "extract_speech_token",
        "extract_speech_feat",
        "extract_spk_embedding",
    ):
        assert calls[name] == before[name], name
    assert third.samples.tobytes() == first.samples.tobytes()
    # Another transcript is another prompt.
    changed = VoiceInput(**{**voice.__dict__, "prompt_text": "Another transcript."})
    audio = engine.synthesize(text="One.", voice=changed, seed=3)
    assert audio.info["voice_features"] == "prepared"
    assert calls["extract_speech_token"] == before["extract_speech_token"] + 1


def test_voice_features_round_trip_exactly():
    rng = np.random.default_rng(0)
    features = VoiceFeatures(
        prompt_text="你好，the prompt. ",
        speech_tokens=rng.integers(0, 32768, 250).astype(np.int32),
        speech_feat=rng.standard_normal((1, 500, 80)).astype(np.float32),
        embedding=rng.standard_normal((1, 192)).astype(np.float32),
    )
    back = decode(encode(features))
    assert back.prompt_text == features.prompt_text
    for name in ("speech_tokens", "speech_feat", "embedding"):
        assert getattr(back, name).dtype == getattr(features, name).dtype
        assert getattr(back, name).tobytes() == getattr(features, name).tobytes()


def test_the_model_loads_once_per_process(engine, voice):
    engine.synthesize(text="Load.", voice=voice, seed=1)
    calls = upstream("_standin_calls").CALLS
    loads = calls["from_pretrained"], calls["load_flow_model"]
    engine.synthesize(text="Again.", voice=voice, seed=2)
    assert (calls["from_pretrained"], calls["load_flow_model"]) == loads


# --- Errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "permanent"),
    [
        ({"kind": "builtin", "name": "tongtong"}, True),
        ({"prompt_text": "  "}, True),
        ({"audio_path": "/nonexistent/clip.wav"}, True),
    ],
)
def test_unusable_voices_are_permanent_errors(engine, voice, change, permanent):
    with pytest.raises(EngineError) as raised:
        engine.synthesize(
            text="Hi.", voice=VoiceInput(**{**voice.__dict__, **change}), seed=1
        )
    assert raised.value.permanent is permanent


def test_a_silent_prompt_is_a_permanent_error(engine):
    silent = io.BytesIO()
    soundfile.write(silent, np.zeros(32000, np.float32), 16000, format="WAV")
    with pytest.raises(EngineError, match="no speech tokens") as raised:
        engine.synthesize(text="Hi.", voice=store_voice(silent.getvalue()), seed=1)
    assert raised.value.permanent


def _oom():
    return upstream("_numpy_torch").cuda.OutOfMemoryError(
        "CUDA out of memory. Tried to allocate 2.00 GiB"
    )


@pytest.mark.parametrize(
    ("stage", "error", "permanent", "says"),
    [
        ("llm", _oom, False, "ran out of GPU memory"),
        ("flow", _oom, False, "ran out of GPU memory"),
        ("llm", lambda: ValueError("Unknown sample_method: beam"), True, "rejected"),
        ("flow", lambda: AssertionError(), True, "rejected the input"),
        ("flow", lambda: RuntimeError("CUDA error: illegal access"), False, "failed"),
    ],
)
def test_upstream_failures_map_to_transient_or_permanent(
    engine, voice, stage, error, permanent, says
):
    engine.synthesize(text="Warm up.", voice=voice, seed=1)  # loads the stand-in
    upstream("_standin_calls").FAULTS[stage] = error()
    with pytest.raises(EngineError, match=says) as raised:
        engine.synthesize(text="Fails.", voice=voice, seed=1)
    assert raised.value.permanent is permanent
    # The engine recovers: the next request works.
    assert engine.synthesize(text="Works.", voice=voice, seed=1).duration_s > 0


def test_missing_weights_are_transient_and_named(standin, voice, tmp_path):
    repo, ckpt = standin
    partial = tmp_path / "weights"
    shutil.copytree(ckpt, partial)
    (partial / "hift" / "hift.pt").unlink()
    broken = GlmTtsEngine(repo, partial, device="cpu")
    with pytest.raises(EngineError, match="hift") as raised:
        broken.synthesize(text="Hi.", voice=voice, seed=1)
    assert not raised.value.permanent
    shutil.rmtree(partial / "hift")
    assert any("hift" in problem for problem in GlmTtsEngine(repo, partial).missing())


# --- The real model ----------------------------------------------------------------------


@pytest.mark.gpu
def test_the_real_model_clones_a_voice():
    missing = real_model_missing()
    if missing:
        pytest.skip("GLM-TTS smoke test needs: " + "; ".join(missing))
    engine = GlmTtsEngine()
    repo = Path(django_settings.GLMTTS_REPO_DIR)
    example = json.loads(
        (repo / "examples" / "example_en.jsonl").read_text().splitlines()[0]
    )
    voice = store_voice(
        (repo / example["prompt_speech"]).read_bytes(), example["prompt_text"]
    )
    first = engine.synthesize(text="The cache never pays twice.", voice=voice, seed=42)
    again = engine.synthesize(text="The cache never pays twice.", voice=voice, seed=42)
    assert first.sample_rate == django_settings.GLMTTS_SAMPLE_RATE
    assert 0.8 < first.duration_s < 10
    assert float(np.sqrt(np.mean(first.samples**2))) > 0.01
    assert again.info["voice_features"] == "memory"
    assert again.info["speech_tokens"] == first.info["speech_tokens"]
