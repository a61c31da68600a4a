"""Derived audio formats: encoded from the stored master WAV on first request, stored
beside it under a content-addressed name, then served like the master.

The output format is not part of the fingerprint (docs/architecture.md "The fingerprint"): one engine run, any
number of encodings. Encodings are deterministic, so a concurrent second encoder writes
the same bytes and a repeat download is byte-identical whichever copy won the rename.
"""

from __future__ import annotations

import io
import struct
import time
from dataclasses import dataclass

import soundfile
from django.core.cache import caches

from synthesis import storage
from synthesis.audio import pcm


@dataclass(frozen=True)
class Format:
    name: str
    content_type: str
    container: str  # libsndfile major format
    subtype: str
    # Sample rates the codec accepts; others are resampled to `fallback_rate`.
    rates: tuple[int, ...] = ()
    fallback_rate: int = 0


MASTER = "wav"
# How long a request waits for another process's encoding before encoding itself.
ENCODE_WAIT_S = 30
# The encoder's claim expires by itself: a process killed while encoding holds up the
# waiters for this long at most, then one of them claims and encodes. A slow encoding
# that outlives it only means a second, identical encoding.
ENCODE_CLAIM_S = 10
FORMATS: dict[str, Format] = {
    "wav": Format("wav", "audio/wav", "WAV", "PCM_16"),
    "flac": Format("flac", "audio/flac", "FLAC", "PCM_16"),
    "mp3": Format("mp3", "audio/mpeg", "MP3", "MPEG_LAYER_III"),
    "ogg": Format("ogg", "audio/ogg", "OGG", "VORBIS"),
    # Opus runs at 8/12/16/24/48 kHz only; 22.05 and 44.1 kHz masters go up to 48 kHz.
    "opus": Format(
        "opus",
        "audio/ogg",
        "OGG",
        "OPUS",
        rates=(8000, 12000, 16000, 24000, 48000),
        fallback_rate=48000,
    ),
    # Raw 16-bit little-endian mono samples at the synthesis rate (OpenAI's `pcm`).
    "pcm": Format("pcm", "audio/pcm", "RAW", "PCM_16"),
}
DERIVED = tuple(name for name in FORMATS if name != MASTER)


def stored_name(artifact, fmt: str) -> str:
    """The storage name of `fmt` for a succeeded artifact, encoding it on first use.

    Concurrency: two requests may both find the file missing and both encode; each
    writes atomically (temporary file + rename) and the bytes are the same, so either
    result is the stored one."""
    if fmt == MASTER:
        return artifact.audio_name
    name = storage.artifact_audio_name(artifact.fingerprint, fmt)
    deadline = time.monotonic() + ENCODE_WAIT_S
    # A herd of first requests would otherwise all encode at once: one claims the
    # encoding, the others wait for its file (and encode themselves past the deadline,
    # or once a crashed encoder's claim has expired). The file appears whole or not at
    # all (write_atomic), so a crash mid-encoding leaves nothing half-written.
    while not storage.exists(name):
        if _claim(name) or time.monotonic() > deadline:
            try:
                with storage.open_file(artifact.audio_name) as handle:
                    master = handle.read()
                data = encode(master, fmt, serial=_serial(artifact))
                storage.write_atomic(name, data)
            finally:
                _release(name)
            break
        time.sleep(0.02)
    return name


def _claim(name: str) -> bool:
    # add() is False when another process holds the claim; None when Redis is
    # unreachable (exceptions are ignored), and then everyone encodes.
    return caches["default"].add(claim_key(name), 1, ENCODE_CLAIM_S) is not False


def claim_key(name: str) -> str:
    return f"tts:encoding:{name}"


def _release(name: str) -> None:
    caches["default"].delete(claim_key(name))


def derived_names(fingerprint: str) -> list[str]:
    """Where every derived format of a fingerprint is (or would be) stored: a format
    added to FORMATS is removed with the others by a delete or a purge."""
    return [storage.artifact_audio_name(fingerprint, fmt) for fmt in DERIVED]


def stored_names(fingerprint: str) -> list[str]:
    """The master and every derived format of a fingerprint."""
    return [storage.artifact_audio_name(fingerprint, fmt) for fmt in FORMATS]


def encode(master_wav: bytes, fmt: str, *, serial: int = 1) -> bytes:
    """Encodes a master WAV into `fmt`; `serial` fixes the Ogg stream serial number,
    which libsndfile otherwise draws from the clock."""
    spec = FORMATS[fmt]
    if spec.container == "RAW":
        return pcm_s16le(master_wav)
    samples, rate = soundfile.read(io.BytesIO(master_wav), dtype="float32")
    if spec.rates and rate not in spec.rates:
        samples = pcm.resample(samples, rate, spec.fallback_rate)
        rate = spec.fallback_rate
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=spec.container, subtype=spec.subtype)
    data = buffer.getvalue()
    if spec.container == "OGG":
        data = ogg_set_serial(data, serial)
    return data


def pcm_s16le(master_wav: bytes) -> bytes:
    """Raw 16-bit little-endian mono samples of the master (OpenAI's `pcm`)."""
    samples, _ = soundfile.read(io.BytesIO(master_wav), dtype="int16")
    return samples.astype("<i2", copy=False).tobytes()


def _serial(artifact) -> int:
    return int(artifact.fingerprint[:8], 16) & 0x7FFFFFFF


# --- Ogg pages (RFC 3533) ---------------------------------------------------------------
def _crc_table() -> list[int]:
    """Ogg's CRC-32: polynomial 0x04C11DB7, not reflected (so not zlib's)."""
    table = []
    for i in range(256):
        r = i << 24
        for _ in range(8):
            r = ((r << 1) ^ 0x04C11DB7) if r & 0x80000000 else (r << 1)
        table.append(r & 0xFFFFFFFF)
    return table


_CRC = _crc_table()


def _ogg_crc(page: bytes) -> int:
    crc = 0
    for byte in page:
        crc = ((crc << 8) & 0xFFFFFFFF) ^ _CRC[((crc >> 24) & 0xFF) ^ byte]
    return crc


def ogg_set_serial(data: bytes, serial: int) -> bytes:
    """Rewrites the stream serial number of every page and recomputes its checksum."""
    out = bytearray(data)
    offset = 0
    while offset < len(out):
        if out[offset : offset + 4] != b"OggS":
            raise ValueError(f"not an Ogg page at byte {offset}")
        segments = out[offset + 26]
        table = out[offset + 27 : offset + 27 + segments]
        length = 27 + segments + sum(table)
        struct.pack_into("<I", out, offset + 14, serial)
        struct.pack_into("<I", out, offset + 22, 0)
        crc = _ogg_crc(bytes(out[offset : offset + length]))
        struct.pack_into("<I", out, offset + 22, crc)
        offset += length
    return bytes(out)
