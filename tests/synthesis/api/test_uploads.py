"""The upload limit (synthesis/api/uploads.py): an oversized body is refused before it
is read, and a file over the limit is cut off while streaming, through the real
multipart stack."""

import tracemalloc

import pytest

from synthesis.audio.intake import MAX_UPLOAD_BYTES
from synthesis.models import SynthesisRequest, Voice
from tests.support.api import assert_error
from tests.support.voices import PROMPT

db = pytest.mark.django_db


class CountingBody:
    """A multipart body produced on demand: a file part of `file_bytes` bytes that are
    never held in memory here either. Counts what the server reads."""

    BOUNDARY = "voiceboundary"

    def __init__(self, file_bytes: int) -> None:
        b = self.BOUNDARY
        fields = "".join(
            f'--{b}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
            for k, v in {"prompt_text": PROMPT, "consent": "true"}.items()
        )
        self.head = (
            fields + f'--{b}\r\nContent-Disposition: form-data; name="audio"; '
            'filename="huge.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
        self.tail = f"\r\n--{b}--\r\n".encode()
        self.file_bytes = file_bytes
        self.length = len(self.head) + file_bytes + len(self.tail)
        self.position = 0

    def _byte_at(self, start: int, size: int) -> bytes:
        out = bytearray()
        end = min(self.length, start + size)
        head_end = len(self.head)
        file_end = head_end + self.file_bytes
        while start < end:
            if start < head_end:
                piece = self.head[start : min(end, head_end)]
            elif start < file_end:
                piece = b"\x11" * (min(end, file_end) - start)
            else:
                piece = self.tail[start - file_end : end - file_end]
            out += piece
            start += len(piece)
        return bytes(out)

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.length - self.position
        data = self._byte_at(self.position, size)
        self.position += len(data)
        return data

    def readline(self, size: int = -1) -> bytes:
        return self.read(size if size and size > 0 else 1024)

    def post(self, client, path="/api/v1/voices"):
        return client.generic(
            "POST",
            path,
            content_type=f"multipart/form-data; boundary={self.BOUNDARY}",
            **{"wsgi.input": self, "CONTENT_LENGTH": str(self.length)},
        )


@db
@pytest.mark.parametrize("path", ["/api/v1/voices", "/api/v1/syntheses"])
def test_a_60_mb_upload_is_refused_before_its_body_is_read(api, path):
    body = CountingBody(60 * 1024 * 1024)
    tracemalloc.start()
    try:
        response = body.post(api, path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert_error(response, 413, "audio_too_large")
    assert body.position == 0
    assert peak < 5 * 1024 * 1024
    assert not Voice.objects.exists()
    assert not SynthesisRequest.objects.exists()


@db
def test_a_file_over_20_mb_within_the_body_allowance_is_cut_off_while_streaming(api):
    body = CountingBody(MAX_UPLOAD_BYTES + 200 * 1024)
    tracemalloc.start()
    try:
        response = body.post(api)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    error = assert_error(response, 413, "audio_too_large")
    assert error["param"] == "audio"
    # Reading stopped shortly after the limit, and never held the file in memory
    # (Django spools files over 2.5 MB to disk).
    assert MAX_UPLOAD_BYTES < body.position < MAX_UPLOAD_BYTES + 150 * 1024
    assert peak < 8 * 1024 * 1024
