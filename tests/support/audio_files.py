"""Reference clips for the voice tests, generated here: voice-like signals written
with soundfile, and a hostile corpus of malformed files built byte by byte."""

from __future__ import annotations

import io
import struct
import zipfile
from dataclasses import dataclass

import numpy as np
import soundfile

RATE = 16000


def voice_like(f0: float, seconds: float = 1.5, rate: int = RATE, seed: int = 0):
    """int16 samples that look like sustained speech: harmonics of a slightly wavering
    F0 under a syllable-rate envelope, plus a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * rate)) / rate
    wobble = f0 * (1 + 0.02 * np.sin(2 * np.pi * 5 * t))
    phase = 2 * np.pi * np.cumsum(wobble) / rate
    signal = sum(np.sin(k * phase) / k for k in range(1, 8))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 3 * t) ** 2
    signal = 0.25 * signal * envelope + 0.003 * rng.standard_normal(len(t))
    return np.round(np.clip(signal, -1, 1) * 32767).astype(np.int16)


def encode(samples, fmt: str = "WAV", rate: int = RATE, subtype=None) -> bytes:
    buffer = io.BytesIO()
    soundfile.write(buffer, samples, rate, format=fmt, subtype=subtype)
    return buffer.getvalue()


def wav(samples=None, rate: int = RATE) -> bytes:
    samples = voice_like(120) if samples is None else samples
    return encode(samples, "WAV", rate, "PCM_16")


def wav_header(
    *,
    channels: int = 1,
    rate: int = RATE,
    bits: int = 16,
    data_size: int,
    riff_size: int | None = None,
    tag: int = 1,
    block_align: int | None = None,
) -> bytes:
    """A 44-byte canonical WAV header with every field under the caller's control."""
    align = channels * bits // 8 if block_align is None else block_align
    riff = 36 + data_size if riff_size is None else riff_size
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        riff & 0xFFFFFFFF,
        b"WAVE",
        b"fmt ",
        16,
        tag,
        channels & 0xFFFF,
        rate & 0xFFFFFFFF,
        (rate * align) & 0xFFFFFFFF,
        align & 0xFFFF,
        bits,
        b"data",
        data_size & 0xFFFFFFFF,
    )


def chunk(chunk_id: bytes, body: bytes) -> bytes:
    return struct.pack("<4sI", chunk_id, len(body)) + body + b"\0" * (len(body) & 1)


def riff(*chunks: bytes) -> bytes:
    body = b"WAVE" + b"".join(chunks)
    return struct.pack("<4sI", b"RIFF", len(body)) + body


def fmt_chunk(channels=1, rate=RATE, bits=16) -> bytes:
    align = channels * bits // 8
    return chunk(
        b"fmt ", struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits)
    )


def wav_with_list_chunk(samples) -> bytes:
    """The same samples with a LIST/INFO chunk before and after the data, as editors
    write them."""
    info = b"INFO" + chunk(b"INAM", b"Reference take 3\0") + chunk(b"ISFT", b"Rec\0")
    pcm = np.asarray(samples, dtype="<i2").tobytes()
    return riff(
        fmt_chunk(), chunk(b"LIST", info), chunk(b"data", pcm), chunk(b"LIST", info)
    )


def zip_bytes() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", "<html><script>alert(1)</script></html>")
    return buffer.getvalue()


HTML = b"<!doctype html><html><body><script>alert('voice')</script></body></html>"


@dataclass(frozen=True)
class Hostile:
    name: str
    data: bytes
    status: int
    code: str


def hostile_corpus() -> list[Hostile]:
    """Malformed uploads and the answer each must get (status, error code)."""
    valid = wav()  # 1.5 s, 16 kHz, mono 16-bit: 44-byte header + 48000 bytes
    pcm = valid[44:]
    rng = np.random.default_rng(7)
    noise = rng.integers(0, 256, 4096, dtype=np.uint8).tobytes()
    flac = encode(voice_like(120), "FLAC", subtype="PCM_16")
    mp3 = encode(voice_like(120).astype(np.float32) / 32768, "MP3")
    ogg = encode(voice_like(120).astype(np.float32) / 32768, "OGG", subtype="VORBIS")
    ten_minutes = np.tile(voice_like(120, seconds=1.0), 600)
    corpus = [
        Hostile(
            f"truncated_{n:02d}.wav",
            valid[:n],
            400,
            "audio_empty" if n == 0 else "audio_truncated",
        )
        for n in range(45)
    ]
    corpus += [
        Hostile("wrong_magic_rifx.wav", b"RIFX" + valid[4:], 400, "audio_unreadable"),
        Hostile(
            "wrong_magic_wavx.wav",
            valid[:8] + b"WAVX" + valid[12:],
            400,
            "audio_unreadable",
        ),
        Hostile(
            "riff_avi.wav", valid[:8] + b"AVI " + valid[12:], 400, "audio_unreadable"
        ),
        Hostile("flac_bytes.wav", flac, 400, "audio_format_mismatch"),
        Hostile("wav_bytes.mp3", valid, 400, "audio_format_mismatch"),
        Hostile(
            "text.mp3",
            b"This is not audio, just a note.\n" * 40,
            400,
            "audio_unreadable",
        ),
        Hostile("page.wav", HTML * 50, 400, "audio_unreadable"),
        Hostile("archive.flac", zip_bytes(), 400, "audio_unreadable"),
        Hostile("random.ogg", noise, 400, "audio_unreadable"),
        Hostile("nul_filled.wav", b"\0" * 65536, 400, "audio_unreadable"),
        Hostile("nul_one_byte.wav", b"\0", 400, "audio_unreadable"),
        Hostile("empty.flac", b"", 400, "audio_empty"),
        Hostile(
            "claims_4gb_riff.wav",
            wav_header(data_size=0xFFFFFFF0, riff_size=0xFFFFFFF8) + pcm,
            400,
            "audio_truncated",
        ),
        Hostile(
            "claims_4gb_data.wav",
            riff(fmt_chunk(), struct.pack("<4sI", b"data", 0xFFFFFFF0) + pcm),
            400,
            "audio_truncated",
        ),
        Hostile(
            "claims_4gb_list.wav",
            riff(
                fmt_chunk(),
                struct.pack("<4sI", b"LIST", 0xFFFFFFF0),
                chunk(b"data", pcm),
            ),
            400,
            "audio_truncated",
        ),
        Hostile(
            "channels_65535.wav",
            wav_header(channels=65535, data_size=len(pcm), block_align=2) + pcm,
            400,
            "audio_too_many_channels",
        ),
        Hostile(
            "channels_0.wav",
            wav_header(channels=0, data_size=len(pcm), block_align=2) + pcm,
            400,
            "audio_malformed",
        ),
        Hostile(
            "rate_0hz.wav",
            wav_header(rate=0, data_size=len(pcm)) + pcm,
            400,
            "audio_invalid_rate",
        ),
        Hostile(
            "rate_1hz.wav",
            wav_header(rate=1, data_size=len(pcm)) + pcm,
            400,
            "audio_invalid_rate",
        ),
        Hostile(
            "rate_4ghz.wav",
            wav_header(rate=0xFFFFFFFF, data_size=len(pcm)) + pcm,
            400,
            "audio_invalid_rate",
        ),
        Hostile(
            "block_align_0.wav",
            wav_header(data_size=len(pcm), block_align=0) + pcm,
            400,
            "audio_malformed",
        ),
        Hostile(
            "bits_0.wav",
            wav_header(bits=0, data_size=len(pcm), block_align=2) + pcm,
            400,
            "audio_malformed",
        ),
        Hostile(
            "fmt_too_short.wav",
            riff(chunk(b"fmt ", b"\1\0\1\0"), chunk(b"data", pcm)),
            400,
            "audio_malformed",
        ),
        Hostile(
            "data_before_fmt.wav",
            riff(chunk(b"data", pcm), fmt_chunk()),
            400,
            "audio_malformed",
        ),
        Hostile("no_data_chunk.wav", riff(fmt_chunk()), 400, "audio_empty"),
        Hostile(
            "zero_data.wav", riff(fmt_chunk(), chunk(b"data", b"")), 400, "audio_empty"
        ),
        Hostile(
            "float_nan.wav",
            riff(
                chunk(b"fmt ", struct.pack("<HHIIHH", 3, 1, RATE, RATE * 4, 4, 32)),
                chunk(b"data", np.full(RATE * 2, np.nan, dtype="<f4").tobytes()),
            ),
            400,
            "audio_unreadable",
        ),
        Hostile(
            "polyglot_wav_header_then_zip.wav",
            valid[:44] + zip_bytes(),
            400,
            "audio_truncated",
        ),
        Hostile(
            "polyglot_wav_header_then_html.wav",
            wav_header(data_size=len(HTML)) + HTML,
            400,
            "audio_too_short",
        ),
        Hostile(
            "polyglot_wav_then_zip.wav", valid + zip_bytes(), 400, "audio_malformed"
        ),
        Hostile(
            "polyglot_zip_then_wav.wav", zip_bytes() + valid, 400, "audio_unreadable"
        ),
        Hostile("polyglot_html_then_wav.wav", HTML + valid, 400, "audio_unreadable"),
        Hostile(
            "id3_then_garbage.mp3",
            b"ID3\x04\0\0\0\0\0\x10" + noise,
            400,
            "audio_unreadable",
        ),
        Hostile("oggs_then_garbage.ogg", b"OggS" + noise, 400, "audio_unreadable"),
        Hostile(
            "flac_magic_then_garbage.flac", b"fLaC" + noise, 400, "audio_unreadable"
        ),
        Hostile(
            "flac_cut_in_half.flac", flac[: len(flac) // 2], 400, "audio_truncated"
        ),
        Hostile("flac_header_only.flac", flac[:42], 400, "audio_unreadable"),
        Hostile(
            "mp3_cut_to_a_tenth.mp3", mp3[: len(mp3) // 10], 400, "audio_unreadable"
        ),
        Hostile("mp3_cut_in_half.mp3", mp3[: len(mp3) // 2], 400, "audio_too_short"),
        Hostile("ogg_cut_in_half.ogg", ogg[: len(ogg) // 2], 400, "audio_empty"),
        Hostile(
            "flac_ten_minutes.flac",
            encode(ten_minutes, "FLAC", subtype="PCM_16"),
            400,
            "audio_too_long",
        ),
    ]
    return corpus


def mutations(count: int, seed: int):
    """Valid files of every format with random bytes overwritten, inserted or cut."""
    rng = np.random.default_rng(seed)
    samples = voice_like(120)
    floats = samples.astype(np.float32) / 32768
    seeds = [
        wav(samples),
        encode(samples, "FLAC", subtype="PCM_16"),
        encode(floats, "MP3"),
        encode(floats, "OGG", subtype="VORBIS"),
        encode(np.stack([samples, samples], axis=1), "WAV", subtype="PCM_24"),
    ]
    for index in range(count):
        data = bytearray(seeds[index % len(seeds)])
        for _ in range(int(rng.integers(1, 6))):
            # Mostly in the headers, where parsers make their decisions.
            span = min(len(data), 200) if rng.random() < 0.7 else len(data)
            if span < 2:
                break
            at = int(rng.integers(0, span))
            operation = int(rng.integers(0, 4))
            if operation == 0:
                data[at] = int(rng.integers(0, 256))
            elif operation == 1:
                data[at : at + 4] = rng.integers(0, 256, 4, dtype=np.uint8).tobytes()
            elif operation == 2:
                del data[at:]
            else:
                noise = rng.integers(0, 256, int(rng.integers(1, 64)), dtype=np.uint8)
                data[at:at] = noise.tobytes()
        yield bytes(data)
