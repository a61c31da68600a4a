"""Accepting a reference clip: decode, validate and canonicalize uploaded audio.

Every user of zero-shot cloning uploads audio, so this module must turn any sequence of
bytes into either a canonical clip or an `AudioInvalid` naming the problem; it never
raises anything else, and never allocates memory from a size a header claims.

The canonical form is what the fingerprint hashes (docs/architecture.md "The fingerprint"): mono
(the mean of the channels), 16-bit PCM at the clip's own rate, in a 44-byte WAV header
written here, so the bytes depend on the samples only: the same samples uploaded as
WAV, FLAC or a WAV with extra metadata chunks give the same file and the same SHA-256.

Pure Python + numpy + soundfile (+ soxr above 48 kHz); no Django import.
"""

from __future__ import annotations

import hashlib
import io
import logging
import os
import struct
from dataclasses import dataclass

import numpy as np
import soundfile

from .pcm import resample

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MIN_SECONDS = 1.0
MAX_SECONDS = 30.0
MAX_CHANNELS = 8
MIN_RATE = 8000
MAX_RATE = 192000
# Clips above this rate are stored resampled to it: at most 30 s x 48 kHz x 2 bytes.
MAX_STORED_RATE = 48000
# A clip whose loudest sample stays under -60 dBFS carries no usable voice.
SILENT_PEAK = 32
# Decoding reads this many frames at a time, downmixing each block at once, so memory
# stays bounded by the 30 s of mono output whatever the input claims.
_BLOCK_FRAMES = 4096

FORMATS = ("wav", "flac", "ogg", "mp3")
# What a file name's extension says about the container; names without one of these
# extensions (a browser's "blob", "clip.bin") are judged by their content alone.
_EXTENSIONS = {
    ".wav": "wav",
    ".wave": "wav",
    ".flac": "flac",
    ".ogg": "ogg",
    ".oga": "ogg",
    ".opus": "ogg",
    ".mp3": "mp3",
}
# The magic each format starts with, to tell a cut-off header from foreign bytes.
_MAGICS = (b"RIFF", b"fLaC", b"OggS", b"ID3")
# WAV format tags whose frame count follows from the data size (PCM, float, extensible).
_LINEAR_TAGS = {0x0001, 0x0003, 0xFFFE}


class AudioInvalid(Exception):
    """The upload is not an acceptable reference clip; `code` is the API error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class CanonicalClip:
    wav: bytes  # the canonical mono 16-bit WAV file
    sha256: str  # of `wav`
    sample_rate: int
    frames: int
    source_format: str
    source_channels: int

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def samples(self) -> np.ndarray:
        """The canonical samples as float32 in [-1, 1)."""
        pcm = np.frombuffer(self.wav, dtype="<i2", offset=_HEADER_BYTES)
        return pcm.astype(np.float32) / 32768.0


def canonicalize(data: bytes, *, filename: str = "") -> CanonicalClip:
    """Raises AudioInvalid, or returns the canonical clip of `data`."""
    if not data:
        raise AudioInvalid("audio_empty", "The audio file is empty.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise AudioInvalid(
            "audio_too_large",
            f"The audio file has {len(data)} bytes; the limit is {MAX_UPLOAD_BYTES}.",
        )
    fmt = sniff_format(data)
    claimed = _EXTENSIONS.get(os.path.splitext(filename.lower())[1])
    if claimed and claimed != fmt:
        raise AudioInvalid(
            "audio_format_mismatch",
            f"The file is named as {claimed.upper()} but contains {fmt.upper()}; "
            "rename it or export it again.",
        )
    if fmt == "wav":
        _check_wav_header(data)
    mono, rate, channels = _decode(data, fmt)
    return _canonical(mono, rate, fmt, channels)


def sniff_format(data: bytes) -> str:
    """The container, from the leading bytes alone (the file name is not trusted)."""
    if data[:4] == b"RIFF" and data[8:12] == b"WAVE":
        return "wav"
    if data[:4] == b"fLaC":
        return "flac"
    if data[:4] == b"OggS":
        return "ogg"
    if data[:3] == b"ID3" or _is_mpeg_frame(data):
        return "mp3"
    if data[:4] == b"RIFF" and len(data) < 12 and b"WAVE".startswith(data[8:12]):
        raise AudioInvalid("audio_truncated", "The WAV header is cut off.")
    if any(magic.startswith(data[:4]) for magic in _MAGICS) and len(data) < 4:
        raise AudioInvalid("audio_truncated", "The file ends inside its header.")
    raise AudioInvalid(
        "audio_unreadable",
        "This is not audio in a supported format (WAV, FLAC, Ogg, MP3).",
    )


def _is_mpeg_frame(data: bytes) -> bool:
    """An MPEG audio frame header: 11 sync bits, a defined version and layer, and a
    bitrate and sample-rate index that are not reserved."""
    if len(data) < 4 or data[0] != 0xFF or data[1] & 0xE0 != 0xE0:
        return False
    version = (data[1] >> 3) & 0b11
    layer = (data[1] >> 1) & 0b11
    bitrate = data[2] >> 4
    rate = (data[2] >> 2) & 0b11
    return version != 0b01 and layer != 0 and bitrate not in (0, 15) and rate != 3


# --- WAV: the header is checked by hand before libsndfile sees the file ---------------


def _check_wav_header(data: bytes) -> None:
    """Walks the RIFF chunks within the bytes actually present, so absurd claims (4 GB
    of data, 65535 channels, 0 Hz) are refused before any decoding, and bytes hidden
    after the RIFF data (a polyglot's second payload) are refused too."""
    size = len(data)
    if size < 12:
        raise AudioInvalid("audio_truncated", "The WAV header is cut off.")
    (riff_size,) = struct.unpack_from("<I", data, 4)
    riff_end = 8 + riff_size
    # A missing final pad byte is a common writer slip, not a truncation.
    if riff_end > size + 1:
        raise AudioInvalid(
            "audio_truncated",
            f"The WAV header announces {riff_end} bytes; the file has {size}.",
        )
    if size > riff_end + 1:
        raise AudioInvalid(
            "audio_malformed",
            f"The file has {size - riff_end} bytes after the end of its WAV data.",
        )
    fmt = None
    data_size = None
    position = 12
    while position + 8 <= min(riff_end, size):
        chunk_id, chunk_size = struct.unpack_from("<4sI", data, position)
        body = position + 8
        if body + chunk_size > size:
            what = "audio data" if chunk_id == b"data" else "header"
            raise AudioInvalid(
                "audio_truncated",
                f"The WAV {what} announces {chunk_size} bytes; only "
                f"{max(0, size - body)} are present.",
            )
        if chunk_id == b"fmt ":
            if chunk_size < 16:
                raise AudioInvalid("audio_malformed", "The WAV fmt chunk is too short.")
            fmt = struct.unpack_from("<HHIIHH", data, body)
        elif chunk_id == b"data" and data_size is None:
            if fmt is None:
                raise AudioInvalid(
                    "audio_malformed", "The WAV data comes before its format."
                )
            data_size = chunk_size
        position = body + chunk_size + (chunk_size & 1)
    if position < min(riff_end, size) - 1:
        raise AudioInvalid(
            "audio_truncated", "The WAV file ends inside a chunk header."
        )
    if fmt is None:
        raise AudioInvalid(
            "audio_truncated" if riff_end > size else "audio_malformed",
            "The WAV file has no format chunk.",
        )
    tag, channels, rate, _byte_rate, block_align, bits = fmt
    _check_layout(channels, rate)
    if data_size is None:
        raise AudioInvalid("audio_empty", "The WAV file has no audio data.")
    if data_size == 0:
        raise AudioInvalid("audio_empty", "The WAV file holds no samples.")
    if tag in _LINEAR_TAGS:
        if block_align == 0 or bits == 0 or bits > 64:
            raise AudioInvalid("audio_malformed", "The WAV sample format is invalid.")
        _check_duration(data_size // block_align, rate)


def _check_layout(channels: int, rate: int) -> None:
    if channels <= 0:
        raise AudioInvalid("audio_malformed", "The audio declares no channels.")
    if channels > MAX_CHANNELS:
        raise AudioInvalid(
            "audio_too_many_channels",
            f"The audio has {channels} channels; at most {MAX_CHANNELS} are accepted.",
        )
    if not MIN_RATE <= rate <= MAX_RATE:
        raise AudioInvalid(
            "audio_invalid_rate",
            f"The sample rate is {rate} Hz; it must be {MIN_RATE}..{MAX_RATE} Hz.",
        )


def _check_duration(frames: int, rate: int) -> None:
    seconds = frames / rate
    if frames == 0:
        raise AudioInvalid("audio_empty", "No audio samples could be decoded.")
    if seconds > MAX_SECONDS:
        # Decoding stops just past the limit, so the true length may be far greater.
        raise AudioInvalid(
            "audio_too_long",
            f"The clip is longer than {MAX_SECONDS:g} s, the most accepted.",
        )
    if seconds < MIN_SECONDS:
        raise AudioInvalid(
            "audio_too_short",
            f"The clip is {seconds:.2f} s long; at least {MIN_SECONDS:g} s is needed.",
        )


# --- Decoding ------------------------------------------------------------------------


def _decode(data: bytes, fmt: str) -> tuple[np.ndarray, int, int]:
    """(mono float64 samples, rate, source channels). libsndfile parses the container;
    whatever it or numpy raises on hostile bytes becomes `audio_unreadable`."""
    blocks: list[np.ndarray] = []
    try:
        rate, channels = _decode_blocks(data, blocks)
    except AudioInvalid:
        raise
    except MemoryError:
        raise AudioInvalid(
            "audio_unreadable", "The audio could not be decoded within limits."
        ) from None
    except Exception as error:  # libsndfile, numpy and struct all raise here
        logger.info("undecodable %s upload: %r", fmt, error)
        if blocks:  # it decoded, then broke off: a cut-off or damaged stream
            raise AudioInvalid(
                "audio_truncated",
                f"The {fmt.upper()} stream breaks off after "
                f"{sum(map(len, blocks))} samples.",
            ) from None
        raise AudioInvalid(
            "audio_unreadable", f"The {fmt.upper()} file could not be decoded."
        ) from None
    mono = np.concatenate(blocks) if blocks else np.zeros(0)
    return mono, rate, channels


def _decode_blocks(data: bytes, blocks: list[np.ndarray]) -> tuple[int, int]:
    """Appends mono blocks to `blocks`; returns (rate, channels)."""
    with soundfile.SoundFile(io.BytesIO(data)) as source:
        channels, rate = source.channels, source.samplerate
        _check_layout(channels, rate)
        limit = int(MAX_SECONDS * rate) + 1
        total = 0
        # Bounded: each read returns at least one frame or ends the loop, and the
        # loop stops once the clip is known to be too long.
        while total <= limit:
            block = source.read(
                min(_BLOCK_FRAMES, limit + 1 - total), dtype="float64", always_2d=True
            )
            if len(block) == 0:
                break
            blocks.append(block.mean(axis=1))
            total += len(block)
    return rate, channels


def _canonical(mono: np.ndarray, rate: int, fmt: str, channels: int) -> CanonicalClip:
    if not np.all(np.isfinite(mono)):
        raise AudioInvalid("audio_unreadable", "The audio contains invalid samples.")
    _check_duration(len(mono), rate)
    if rate > MAX_STORED_RATE:
        # No engine uses more; a 192 kHz clip would be stored at four times the size.
        mono = resample(mono, rate, MAX_STORED_RATE).astype(np.float64)
        rate = MAX_STORED_RATE
    # float64 holds every 8..24-bit sample exactly, so 16-bit input comes back unchanged.
    pcm = np.clip(np.round(mono * 32768.0), -32768, 32767).astype("<i2")
    if int(np.max(np.abs(pcm.astype(np.int32)))) <= SILENT_PEAK:
        raise AudioInvalid("audio_silent", "The clip is silent.")
    wav = encode_canonical_wav(pcm, rate)
    return CanonicalClip(
        wav=wav,
        sha256=hashlib.sha256(wav).hexdigest(),
        sample_rate=rate,
        frames=len(pcm),
        source_format=fmt,
        source_channels=channels,
    )


_HEADER_BYTES = 44
CANONICAL_HEADER_BYTES = _HEADER_BYTES


def encode_canonical_wav(pcm: np.ndarray, rate: int) -> bytes:
    """The one byte layout of a canonical clip: RIFF, a 16-byte PCM fmt chunk, data."""
    payload = np.asarray(pcm, dtype="<i2").tobytes()
    header = struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + len(payload),
        b"WAVE",
        b"fmt ",
        16,
        1,  # PCM
        1,  # mono
        rate,
        rate * 2,
        2,
        16,
        b"data",
        len(payload),
    )
    return header + payload
