"""The storage settings for an S3-compatible store named by `STORAGE_URL`
(s3://bucket[/prefix]), through django-storages' S3 backend (docs/deploy.md)."""

from __future__ import annotations

from urllib.parse import urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured


def object_storage(url: str, env: environ.Env | None = None) -> dict:
    env = env or environ.Env()
    parts = urlsplit(url)
    if parts.scheme != "s3" or not parts.netloc:
        raise ImproperlyConfigured("STORAGE_URL must look like s3://bucket[/prefix]")
    return {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": parts.netloc,
            "location": parts.path.strip("/"),
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "access_key": env.str("AWS_ACCESS_KEY_ID", default="") or None,
            "secret_key": env.str("AWS_SECRET_ACCESS_KEY", default="") or None,
            "addressing_style": env.str("AWS_S3_ADDRESSING_STYLE", default="") or None,
            "signature_version": "s3v4",
            "querystring_expire": env.int("AWS_QUERYSTRING_EXPIRE", default=300),
            # Names are content-addressed: the same name is the same bytes.
            "file_overwrite": True,
            "default_acl": None,
        },
    }
