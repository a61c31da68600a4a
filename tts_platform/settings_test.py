"""Test defaults: the real PostgreSQL and Redis on 127.0.0.1 and the fast espeak engine.
Any of them can be overridden from the environment (e.g. to run two suites at once)."""

import os
import tempfile

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tts_platform")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/1")
os.environ.setdefault("CELERY_BROKER_URL", "redis://127.0.0.1:6379/2")
os.environ.setdefault("TTS_ENGINE", "espeak")
os.environ.setdefault("SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="tts-test-media-"))
os.environ.setdefault("RATELIMIT_ENABLE", "false")
# The live server speaks plain http.
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault(
    "PASSWORD_HASHERS", "django.contrib.auth.hashers.MD5PasswordHasher"
)

from .settings import *  # noqa: E402,F403

# Parallel test processes share one Redis database: each keeps its counters (login
# failures, throttles, waits) and its hot-index pointers under its own prefix, and
# (pytest-xdist's processes inherit one MEDIA_ROOT) its files in its own folder, so one
# process deleting a content-addressed file or clearing its pointers never touches
# another's.
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
CACHES["default"]["KEY_PREFIX"] = f"tts-test-{XDIST_WORKER or 'main'}"  # noqa: F405
if XDIST_WORKER:
    MEDIA_ROOT = os.path.join(str(MEDIA_ROOT), XDIST_WORKER)  # noqa: F405
    TTS_CACHE_KEY_PREFIX = f"tts-{XDIST_WORKER}"
