"""Encoding audio as it arrives, for streams: PCM, WAV with unknown sizes, MP3.

Input is 16-bit samples exactly as the stored master holds them, so a finished stream
equals the stored audio: PCM and WAV's data sample for sample; MP3 frame for frame (the
encoder is fed what formats.encode feeds it), except the first frame, the encoder's
info header whose frame count is known only at the end.
"""

from __future__ import annotations

import io
import struct

import numpy as np
import soundfile

STREAM_FORMATS = {"pcm": "audio/pcm", "wav": "audio/wav", "mp3": "audio/mpeg"}
# RIFF and data sizes of a WAV whose length is not known yet (players read to the end).
UNKNOWN_SIZE = 0xFFFFFFFF


def quantize(samples: np.ndarray) -> np.ndarray:
    """float32 -> the 16-bit samples pcm.encode_wav would store for them."""
    buffer = io.BytesIO()
    soundfile.write(
        buffer, np.clip(samples, -1.0, 1.0), 1, format="RAW", subtype="PCM_16"
    )
    return np.frombuffer(buffer.getvalue(), dtype="<i2")


def wav_header(sample_rate: int) -> bytes:
    return (
        b"RIFF"
        + struct.pack("<I", UNKNOWN_SIZE)
        + b"WAVEfmt "
        + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
        + b"data"
        + struct.pack("<I", UNKNOWN_SIZE)
    )


class StreamEncoder:
    """feed() 16-bit samples, get the bytes to send now; finish() for the rest."""

    def __init__(self, fmt: str, sample_rate: int) -> None:
        self.fmt = fmt
        self.sample_rate = sample_rate
        self.started = False
        self._mp3: soundfile.SoundFile | None = None
        self._buffer = io.BytesIO()
        self._sent = 0
        if fmt == "mp3":
            self._mp3 = soundfile.SoundFile(
                self._buffer,
                "w",
                sample_rate,
                1,
                format="MP3",
                subtype="MPEG_LAYER_III",
            )

    def feed(self, samples: np.ndarray) -> bytes:
        head = b""
        if not self.started:
            self.started = True
            head = wav_header(self.sample_rate) if self.fmt == "wav" else b""
        if self._mp3 is None:
            return head + samples.astype("<i2", copy=False).tobytes()
        # What soundfile.read(dtype="float32") gives for the stored master.
        self._mp3.write(samples.astype(np.float32) / 32768.0)
        return head + self._new_bytes()

    def finish(self) -> bytes:
        head = b"" if self.started else self.feed(np.zeros(0, dtype="<i2"))
        if self._mp3 is not None:
            self._mp3.close()
            return head + self._new_bytes()
        return head

    def _new_bytes(self) -> bytes:
        data = self._buffer.getbuffer()[self._sent :].tobytes()
        self._sent += len(data)
        return data
