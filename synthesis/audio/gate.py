"""The content gate: the checks an engine's output must pass before it is stored and
served to anyone else."""

from __future__ import annotations

import unicodedata

import numpy as np

# Loose bounds on speech for a text: a rejection means the engine produced something
# that is not speech for this text, never that the speech is unusually fast or slow.
MIN_SECONDS = 0.05
# Upper bound: a floor plus time per character; digits expand into words ("1234" is
# "one thousand two hundred thirty-four"), so they get more.
MAX_SECONDS_FLOOR = 10.0
MAX_SECONDS_PER_CHAR = 0.5
MAX_SECONDS_PER_DIGIT = 1.0
# Lower bound, on the time with sound in it: 50 speakable characters a second is about
# three times faster than fast speech. Short texts (an initialism, "Hi") are exempt.
MIN_SECONDS_PER_SPEAKABLE_CHAR = 0.02
MIN_SPEAKABLE_CHARS = 8
SILENCE_RMS = 1e-4
# A 20 ms frame counts as sound above this RMS (about -60 dBFS).
ACTIVE_FRAME_RMS = 1e-3
FRAME_SECONDS = 0.02
# Speech sits around zero; a large mean is a broken signal chain.
MAX_DC_OFFSET = 0.1
# Share of samples at full scale above which the output is clipping, not speech.
CLIP_LEVEL = 0.999
MAX_CLIPPED_SHARE = 0.1


class AudioRejected(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def speakable_characters(text: str) -> int:
    """Letters and digits: what takes time to say."""
    return sum(1 for ch in text if unicodedata.category(ch)[0] in "LN")


def check_output(samples: np.ndarray, sample_rate: int, *, text: str) -> None:
    """The content gate before anything is stored or cached: raises AudioRejected
    unless the samples can be speech for `text`. Checks, in order: empty, non-finite,
    too short overall, too long for the text, silent, DC only, DC offset, clipping,
    too little sound for the text."""
    if samples.size == 0:
        raise AudioRejected("empty_audio", "The engine returned no audio.")
    if not np.all(np.isfinite(samples)):
        raise AudioRejected(
            "non_finite_audio", "The engine returned NaN or Inf samples."
        )
    samples = samples.astype(np.float64, copy=False)
    duration = samples.size / sample_rate
    if duration < MIN_SECONDS:
        raise AudioRejected(
            "audio_too_short", f"The engine returned only {duration:.3f} s of audio."
        )
    digits = sum(1 for ch in text if ch.isdigit())
    ceiling = (
        MAX_SECONDS_FLOOR
        + (len(text) - digits) * MAX_SECONDS_PER_CHAR
        + digits * MAX_SECONDS_PER_DIGIT
    )
    if duration > ceiling:
        raise AudioRejected(
            "audio_too_long",
            f"{duration:.1f} s of audio for {len(text)} characters is implausible "
            f"(at most {ceiling:.1f} s).",
        )
    mean = float(np.mean(samples))
    if _rms(samples) < SILENCE_RMS:
        raise AudioRejected("silent_audio", "The engine returned silence.")
    if _rms(samples - mean) < SILENCE_RMS:
        raise AudioRejected(
            "dc_only_audio", "The engine returned a constant signal, not sound."
        )
    if abs(mean) > MAX_DC_OFFSET:
        raise AudioRejected(
            "dc_offset_audio",
            f"The audio is offset by {mean:+.2f} of full scale; the engine output is "
            "broken.",
        )
    clipped = float(np.mean(np.abs(samples) >= CLIP_LEVEL))
    if clipped > MAX_CLIPPED_SHARE:
        raise AudioRejected(
            "clipped_audio",
            f"{clipped:.0%} of the samples are at full scale; the audio is clipping.",
        )
    speakable = speakable_characters(text)
    if speakable >= MIN_SPEAKABLE_CHARS:
        active = active_seconds(samples, sample_rate)
        floor = speakable * MIN_SECONDS_PER_SPEAKABLE_CHAR
        if active < floor:
            raise AudioRejected(
                "audio_too_short_for_text",
                f"{active:.2f} s of sound for {speakable} letters and digits is too "
                f"short to be speech for this text (at least {floor:.2f} s).",
            )


def _rms(samples: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.square(samples))))


def active_seconds(samples: np.ndarray, sample_rate: int) -> float:
    """Seconds of 20 ms frames louder than ACTIVE_FRAME_RMS."""
    frame = max(1, int(sample_rate * FRAME_SECONDS))
    count = samples.size // frame
    if count == 0:
        return 0.0
    frames = samples[: count * frame].reshape(count, frame)
    loud = np.sqrt(np.mean(np.square(frames), axis=1)) > ACTIVE_FRAME_RMS
    return float(np.count_nonzero(loud)) * frame / sample_rate
