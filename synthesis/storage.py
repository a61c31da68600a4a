"""Where audio files live, through Django's storage API (a local folder by default,
object storage with django-storages). Names are content-addressed, so a re-run of the
same work writes the same name."""

from __future__ import annotations

import os
import tempfile

from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage


def artifact_audio_name(fingerprint: str, fmt: str = "wav") -> str:
    return f"audio/{fingerprint[:2]}/{fingerprint}.{fmt}"


def voice_clip_name(audio_sha256: str) -> str:
    return f"voices/{audio_sha256[:2]}/{audio_sha256}.wav"


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def size(name: str) -> int:
    return default_storage.size(name)


def open_file(name: str):
    return default_storage.open(name, "rb")


def local_path(name: str) -> str:
    return default_storage.path(name)


def write_atomic(name: str, data: bytes) -> None:
    """Readers never see a partial file: write a temporary file, then rename it over
    the final name (atomic on one filesystem)."""
    if isinstance(default_storage, FileSystemStorage):
        final = default_storage.path(name)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=os.path.dirname(final), prefix=".tmp-")
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, final)
        except BaseException:
            if os.path.exists(tmp):
                os.unlink(tmp)
            raise
        return
    # Object stores write whole objects; delete first so the name is kept exactly.
    if default_storage.exists(name):
        default_storage.delete(name)
    default_storage.save(name, ContentFile(data))


def delete(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)
