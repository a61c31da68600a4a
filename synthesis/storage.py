"""Where audio files live, through Django's storage API: a local folder (MEDIA_ROOT) by
default, any S3-compatible object store with STORAGE_URL=s3://bucket/prefix
(django-storages). Names are content-addressed, so a re-run of the same work writes the
same name, and a name's bytes never change."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, default_storage


def artifact_audio_name(fingerprint: str, fmt: str = "wav") -> str:
    return f"audio/{fingerprint[:2]}/{fingerprint}.{fmt}"


def voice_clip_name(audio_sha256: str) -> str:
    return f"voices/{audio_sha256[:2]}/{audio_sha256}.wav"


def blocked_marker_name(fingerprint: str) -> str:
    """An empty file that tells the front proxy a fingerprint is blocked (docs/deploy.md
    "nginx in front")."""
    return f"blocked/{fingerprint}"


def is_local() -> bool:
    return isinstance(default_storage, FileSystemStorage)


def exists(name: str) -> bool:
    return bool(name) and default_storage.exists(name)


def size(name: str) -> int:
    return default_storage.size(name)


def open_file(name: str):
    return default_storage.open(name, "rb")


def local_path(name: str) -> str:
    """The file's path in MEDIA_ROOT (local storage only; see local_copy)."""
    return default_storage.path(name)


def local_copy(name: str, *, sha256: str = "") -> str:
    """A local path with the bytes of `name`, for code that needs a file (engines read
    prompt clips by path). Local storage: the file itself. Object storage: a read-through
    copy under TTS_STORAGE_CACHE_DIR, fetched once through the storage API. Names are
    content-addressed, so a copy never goes stale; with `sha256` the fetched bytes are
    checked against it before the copy is kept."""
    if is_local():
        return default_storage.path(name)
    path = Path(settings.TTS_STORAGE_CACHE_DIR) / name
    if path.exists():
        return str(path)
    with default_storage.open(name, "rb") as handle:
        data = handle.read()
    if sha256 and hashlib.sha256(data).hexdigest() != sha256:
        raise OSError(f"stored object {name} does not match its hash")
    _write_local(path, data)
    return str(path)


def presigned_url(name: str, *, content_type: str, disposition: str) -> str:
    """A time-limited URL of the object itself (object storage only), answering with
    the given Content-Type and Content-Disposition."""
    return default_storage.url(
        name,
        parameters={
            "ResponseContentType": content_type,
            "ResponseContentDisposition": disposition,
        },
    )


def write_atomic(name: str, data: bytes) -> None:
    """Readers never see a partial file. Local: a temporary file renamed over the final
    name (atomic on one filesystem). Object storage: one PUT, which is atomic (a reader
    gets the old object or the new one, never a part)."""
    if is_local():
        _write_local(Path(default_storage.path(name)), data, mode=0o644)
        return
    # file_overwrite=True (settings): save() keeps the name and overwrites in place.
    default_storage.save(name, ContentFile(data))


def _write_local(final: Path, data: bytes, mode: int | None = None) -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=final.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, final)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def delete(name: str) -> None:
    if name and default_storage.exists(name):
        default_storage.delete(name)
