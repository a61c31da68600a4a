"""Reference-conditioned voice selection: what engines that cannot clone do with a
prompt voice.

This is not cloning. The engine measures the median fundamental frequency (F0) of the
reference clip and speaks with the builtin voice whose `pitch_hz` is nearest to it (in
semitones), among the voices for the language of the text. The choice depends only on
the canonical clip and the text, both in the fingerprint, so it is deterministic and
a repeat is a cache hit. Changing this algorithm changes outputs for the same inputs:
bump `adapter_version` of the engines that use it.

Pure numpy; the F0 estimate is a plain autocorrelation pitch tracker:
- the clip averaged down to about 16 kHz, then 50 ms frames every 10 ms, mean removed;
- a frame is voiced when it is loud (RMS at least a tenth of the loudest frame's) and
  periodic (normalized autocorrelation peak of at least 0.5 in the 60..500 Hz lag range);
- F0 of a voiced frame = rate / lag of that peak (refined by parabolic interpolation);
- the clip's F0 is the median over voiced frames (None with fewer than 3).
"""

from __future__ import annotations

import math
import unicodedata
from collections.abc import Sequence

import numpy as np

from .base import BuiltinVoice, EngineError, VoiceInput

F0_MIN_HZ = 60.0
F0_MAX_HZ = 500.0
_FRAME_S = 0.05
_HOP_S = 0.01
_MIN_PERIODICITY = 0.5
_MIN_RELATIVE_RMS = 0.1
_MIN_VOICED_FRAMES = 3
_BATCH = 256


def median_f0(samples: np.ndarray, sample_rate: int) -> float | None:
    """The clip's median F0 in Hz over voiced frames, or None when nothing is voiced."""
    x = np.asarray(samples, dtype=np.float64)
    # F0 lives under 500 Hz: average groups of q samples down to ~16 kHz first, which
    # makes a 30 s clip at 48 kHz cost a third as much.
    q = max(1, sample_rate // 16000)
    if q > 1:
        x = x[: len(x) // q * q].reshape(-1, q).mean(axis=1)
        sample_rate = sample_rate / q
    frame = int(round(_FRAME_S * sample_rate))
    hop = int(round(_HOP_S * sample_rate))
    lag_min = max(1, int(math.floor(sample_rate / F0_MAX_HZ)))
    lag_max = int(math.ceil(sample_rate / F0_MIN_HZ))
    if len(x) < frame or lag_max + 2 >= frame:
        return None
    count = 1 + (len(x) - frame) // hop
    starts = np.arange(count) * hop
    offsets = np.arange(frame)
    rms = np.empty(count)
    estimates = np.full(count, np.nan)
    nfft = 1 << (2 * frame - 1).bit_length()
    for first in range(0, count, _BATCH):
        batch = x[starts[first : first + _BATCH, None] + offsets[None, :]]
        batch = batch - batch.mean(axis=1, keepdims=True)
        rms[first : first + len(batch)] = np.sqrt(np.mean(batch**2, axis=1))
        spectrum = np.fft.rfft(batch, n=nfft, axis=1)
        acf = np.fft.irfft(np.abs(spectrum) ** 2, n=nfft, axis=1)[:, : lag_max + 2]
        energy = acf[:, 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            normalized = acf / energy[:, None]
        window = normalized[:, lag_min : lag_max + 1]
        best = np.argmax(window, axis=1)
        peak = window[np.arange(len(batch)), best]
        lag = best + lag_min
        # Parabolic interpolation around the peak for a sub-sample period.
        left = normalized[np.arange(len(batch)), lag - 1]
        right = normalized[np.arange(len(batch)), lag + 1]
        curvature = left - 2 * peak + right
        with np.errstate(divide="ignore", invalid="ignore"):
            shift = np.where(curvature < 0, 0.5 * (left - right) / curvature, 0.0)
        periodic = (energy > 0) & (peak >= _MIN_PERIODICITY)
        f0 = sample_rate / (lag + np.clip(shift, -0.5, 0.5))
        estimates[first : first + len(batch)] = np.where(periodic, f0, np.nan)
    loud = rms >= _MIN_RELATIVE_RMS * rms.max() if rms.max() > 0 else rms > 0
    voiced = estimates[loud & np.isfinite(estimates)]
    if len(voiced) < _MIN_VOICED_FRAMES:
        return None
    return round(float(np.median(voiced)), 2)


def text_language(text: str) -> str:
    """ "zh" when the text has Han characters, "en" otherwise (the languages the CPU
    engines speak)."""
    if any(unicodedata.name(ch, "").startswith("CJK UNIFIED") for ch in text):
        return "zh"
    return "en"


def nearest_voice(
    voices: Sequence[BuiltinVoice], pitch_hz: float | None, language: str
) -> BuiltinVoice | None:
    """The voice for `language` (or a multilingual one) whose pitch is nearest to
    `pitch_hz` in semitones; ties go to the earlier voice. None without a pitch."""
    if not pitch_hz or pitch_hz <= 0:
        return None
    pitched = [v for v in voices if v.pitch_hz > 0]
    candidates = [v for v in pitched if v.language in (language, "multi")] or pitched
    if not candidates:
        return None
    return min(candidates, key=lambda v: abs(math.log2(v.pitch_hz / pitch_hz)))


def clip_pitch(audio_path: str) -> float | None:
    """Median F0 of a canonical clip on disk."""
    import soundfile

    try:
        samples, rate = soundfile.read(audio_path, dtype="float32")
    except (OSError, RuntimeError) as error:
        raise EngineError(
            f"the reference clip cannot be read: {error}", permanent=True
        ) from error
    if samples.ndim > 1:
        samples = samples.mean(axis=1)
    return median_f0(samples, rate)


def select_for_prompt(
    voices: Sequence[BuiltinVoice], default: str, voice: VoiceInput, text: str
) -> tuple[VoiceInput, dict]:
    """The builtin voice a non-cloning engine speaks a prompt voice with, and what to
    record about the choice."""
    pitch = clip_pitch(voice.audio_path)
    chosen = nearest_voice(voices, pitch, text_language(text))
    name = chosen.name if chosen else default
    info = {"selected_voice": name, "clip_pitch_hz": pitch, "cloning": False}
    return VoiceInput(kind="builtin", name=name), info


def builtin_voice_for(engine, voice: VoiceInput, text: str) -> tuple[VoiceInput, dict]:
    """The builtin voice a non-cloning `engine` speaks with: the requested builtin one,
    or for a prompt voice the nearest by pitch; and what to record about the choice.
    An unknown voice is a permanent engine error."""
    info: dict = {}
    if voice.kind == "prompt":  # no cloning: the nearest builtin voice by pitch
        voice, info = select_for_prompt(
            engine.voices(), engine.default_voice, voice, text
        )
    if voice.kind != "builtin" or engine.voice(voice.name) is None:
        raise EngineError(f"unknown {engine.name} voice {voice.name!r}", permanent=True)
    return voice, info
