"""Cost of accepting a reference clip: canonicalization and the pitch estimate per
format and length, the hostile corpus, and peak Python memory of the largest case.

    .venv/bin/python bench/voice_intake.py
"""

from __future__ import annotations

import contextlib
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from synthesis.audio.intake import AudioInvalid, canonicalize  # noqa: E402
from synthesis.engines.selection import median_f0  # noqa: E402
from tests.support.audio_files import encode, hostile_corpus, voice_like  # noqa: E402

REPEATS = 5


def timed(function) -> float:
    runs = []
    for _ in range(REPEATS):
        started = time.perf_counter()
        function()
        runs.append(time.perf_counter() - started)
    return statistics.median(runs) * 1000


def main() -> None:
    cases = []
    for seconds, rate, channels in [
        (1.5, 16000, 1),
        (29.5, 48000, 1),
        (29.5, 48000, 2),
    ]:
        mono = voice_like(140, seconds=seconds, rate=rate)
        samples = np.stack([mono] * channels, axis=1) if channels > 1 else mono
        floats = samples.astype(np.float32) / 32768
        for fmt, subtype, data_samples in [
            ("WAV", "PCM_16", samples),
            ("FLAC", "PCM_16", samples),
            ("MP3", None, floats),
            ("OGG", "VORBIS", floats),
        ]:
            data = encode(data_samples, fmt, rate, subtype)
            label = f"{fmt:4} {seconds:>4} s {rate} Hz {channels} ch {len(data) // 1024:>5} KB"
            cases.append((label, data))
    print(f"{'input':45} {'canonicalize ms':>16} {'median_f0 ms':>13}")
    for label, data in cases:
        clip = canonicalize(data)
        samples = clip.samples()
        decode_ms = timed(lambda data=data: canonicalize(data))
        f0_ms = timed(lambda s=samples, r=clip.sample_rate: median_f0(s, r))
        print(f"{label:45} {decode_ms:16.1f} {f0_ms:13.1f}")

    corpus = hostile_corpus()
    times = []
    for hostile in corpus:
        started = time.perf_counter()
        with contextlib.suppress(AudioInvalid):
            canonicalize(hostile.data, filename=hostile.name)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"\nhostile corpus: {len(corpus)} files, median {statistics.median(times):.2f} ms,"
        f" max {max(times):.1f} ms"
    )

    largest = cases[-3][1]  # 29.5 s stereo 48 kHz FLAC
    tracemalloc.start()
    canonicalize(largest)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"peak Python memory, 29.5 s stereo 48 kHz FLAC: {peak / 2**20:.1f} MB")


if __name__ == "__main__":
    main()
