"""Upload size limits enforced while the body streams in, for the views that accept
reference clips: a 60 MB body is refused from its Content-Length before a byte is
read, and a body that lies about its length is cut off after MAX_UPLOAD_BYTES of file
data, so neither is ever held in memory (past 2.5 MB Django spools files to disk)."""

from __future__ import annotations

from django.core.files.uploadhandler import (
    FileUploadHandler,
    MemoryFileUploadHandler,
    TemporaryFileUploadHandler,
)
from rest_framework.parsers import MultiPartParser

from synthesis.audio.intake import MAX_UPLOAD_BYTES
from synthesis.services.errors import TooLarge
from tts_platform.parsers import JSONParser

# Room for the other form fields and the multipart framing around the file.
FORM_OVERHEAD_BYTES = 256 * 1024
MAX_BODY_BYTES = MAX_UPLOAD_BYTES + FORM_OVERHEAD_BYTES


def too_large(param: str | None = None) -> TooLarge:
    return TooLarge(
        "audio_too_large",
        f"Uploads are limited to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB of audio.",
        param=param,
    )


def content_length(meta) -> int:
    try:
        return int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


class LimitedUploadHandler(FileUploadHandler):
    """First in the handler chain: refuses an oversized body up front and counts the
    bytes of each file as they arrive. It stores nothing; the next handlers do."""

    def handle_raw_input(
        self, input_data, META, content_length, boundary, encoding=None
    ):
        if content_length > MAX_BODY_BYTES:
            raise too_large()
        return None

    def new_file(self, field_name, *args, **kwargs):
        super().new_file(field_name, *args, **kwargs)
        self.received = 0

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > MAX_UPLOAD_BYTES:
            raise too_large(self.field_name)
        return raw_data

    def file_complete(self, file_size):
        return None


def limited_upload_handlers(request) -> list[FileUploadHandler]:
    return [
        LimitedUploadHandler(request),
        MemoryFileUploadHandler(request),
        TemporaryFileUploadHandler(request),
    ]


class UploadLimitMixin:
    """For APIViews that accept audio files: installs the limited handler chain before
    anything (authentication's CSRF check included) can parse the body, and checks
    Content-Length before the view runs. The only API views that parse multipart."""

    parser_classes = [JSONParser, MultiPartParser]
    max_body_bytes = MAX_BODY_BYTES  # tts_platform/body_limit.py

    def initialize_request(self, request, *args, **kwargs):
        request.upload_handlers = limited_upload_handlers(request)
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if content_length(request.META) > MAX_BODY_BYTES:
            raise too_large()
