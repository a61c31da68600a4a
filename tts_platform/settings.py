"""The one settings module. Everything that differs between machines comes from the
environment (see .env.example); with nothing set, the embedded defaults of `make run`
apply: SQLite, the embedded Redis started by `tts_platform.launcher`, the kokoro engine.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

from tts_platform import local
from tts_platform.object_storage import object_storage

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
env.read_env(BASE_DIR / ".env") if (BASE_DIR / ".env").exists() else None

DEBUG = env.bool("DEBUG", default=False)
# With none set, the key `make run` generated in var/secret_key (so manage.py works too).
SECRET_KEY = env.str("SECRET_KEY", default="") or local.secret_key()
if not SECRET_KEY:
    if not env.bool("TTS_EMBEDDED", default=False) and not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set (make run sets a local one; production must set it)"
        )
    SECRET_KEY = "embedded-insecure-key-for-local-use-only"

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "accounts",
    "synthesis",
]

MIDDLEWARE = [
    "synthesis.metrics.RequestTimingMiddleware",
    # First to see the view: refuses oversized bodies before anything reads them.
    "tts_platform.body_limit.RequestBodyLimitMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "tts_platform.security_headers.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tts_platform.urls"
WSGI_APPLICATION = "tts_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")
}
DATABASES["default"]["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web threads and the worker write to one file: wait for the lock instead of failing.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

# With none set: the embedded Redis of a running `make run`, else the local default.
_EMBEDDED_REDIS = "" if env.str("REDIS_URL", "") else local.embedded_redis_socket()
_EMBEDDED_CACHE, _EMBEDDED_BROKER = (
    local.redis_urls(_EMBEDDED_REDIS) if _EMBEDDED_REDIS else ("", "")
)
REDIS_URL = env.str("REDIS_URL", default=_EMBEDDED_CACHE or "redis://127.0.0.1:6379/0")
CACHES = {
    "default": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": "tts-default",
        "OPTIONS": {
            "IGNORE_EXCEPTIONS": True,
            "SOCKET_CONNECT_TIMEOUT": 1,
            # Not pickle: whoever can write to Redis must not run code in the web tier.
            "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
        },
    },
    # The hot index fingerprint -> artifact pointer (synthesis/cache.py is its only user,
    # and turns a Redis failure into a miss: Postgres answers instead).
    "results": {
        "BACKEND": "django_redis.cache.RedisCache",
        "LOCATION": REDIS_URL,
        "KEY_FUNCTION": "synthesis.cache.raw_key",
        "OPTIONS": {
            "SERIALIZER": "django_redis.serializers.json.JSONSerializer",
            "SOCKET_CONNECT_TIMEOUT": 0.5,
            "SOCKET_TIMEOUT": 0.5,
        },
    },
}
DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True

# Every password check goes through the failed-password limiter (accounts/ratelimit.py).
AUTHENTICATION_BACKENDS = ["accounts.backends.RateLimitedModelBackend"]

AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"
    },
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
PASSWORD_HASHERS = env.list(
    "PASSWORD_HASHERS",
    default=["django.contrib.auth.hashers.PBKDF2PasswordHasher"],
)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=VAR_DIR / "static")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_ROOT = env.path("MEDIA_ROOT", default=VAR_DIR / "media")
MEDIA_URL = "media/"
# Audio, derived formats, voice clips and GLM-TTS voice features: MEDIA_ROOT, or any
# S3-compatible object store with STORAGE_URL=s3://bucket[/prefix] (AWS_* below).
STORAGE_URL = env.str("STORAGE_URL", default="")
# Workers' read-through copies of stored objects they need as files (prompt clips).
TTS_STORAGE_CACHE_DIR = env.path(
    "TTS_STORAGE_CACHE_DIR", default=VAR_DIR / "storage-cache"
)
# Object storage only: answer audio downloads with a redirect to a presigned URL.
TTS_AUDIO_PRESIGNED_REDIRECT = env.bool("TTS_AUDIO_PRESIGNED_REDIRECT", default=False)


STORAGES = {
    "default": object_storage(STORAGE_URL, env)
    if STORAGE_URL
    else {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# Behind nginx: stored audio is answered with `X-Accel-Redirect: <prefix>/<name>` and
# nginx sends the file from an internal location (docs/deploy.md). Empty: Django sends it.
TTS_AUDIO_ACCEL_PREFIX = env.str("TTS_AUDIO_ACCEL_PREFIX", default="")
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
# Portal log-in: this many failed attempts per username and IP within the window
# (seconds) lock that pair out until the window ends (accounts/ratelimit.py).
LOGIN_RATELIMIT_ATTEMPTS = env.int("LOGIN_RATELIMIT_ATTEMPTS", default=5)
LOGIN_RATELIMIT_WINDOW = env.int("LOGIN_RATELIMIT_WINDOW", default=300)

# --- HTTP API -------------------------------------------------------------------------
# Proxies in front of the web processes that append to X-Forwarded-For (0: none, the
# header is ignored). The client address of the limiter, the throttles and /metrics
# comes from tts_platform/client_address.py.
TRUSTED_PROXY_HOPS = env.int("TRUSTED_PROXY_HOPS", default=0)
# Request bodies: refused from Content-Length before being read (upload views allow
# audio files up to 20 MB; synthesis/api/uploads.py).
TTS_MAX_BODY_BYTES = env.int("TTS_MAX_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = TTS_MAX_BODY_BYTES
# Seconds a web process remembers an API key (accounts/key_cache.py): a revocation
# reaches the other processes within this time. 0 looks every key up every time.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=5.0)
RATELIMIT_ENABLE = env.bool("RATELIMIT_ENABLE", default=True)
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON only; the views that take audio files add multipart themselves. The parser
    # answers 400 to any body it cannot take (tts_platform/parsers.py).
    "DEFAULT_PARSER_CLASSES": ["tts_platform.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "tts_platform.pagination.PageNumberPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_THROTTLE_CLASSES": (
        [
            "tts_platform.throttling.UserRateThrottle",
            "tts_platform.throttling.AnonRateThrottle",
        ]
        if RATELIMIT_ENABLE
        else []
    ),
    "DEFAULT_THROTTLE_RATES": {
        "user": env.str("RATELIMIT_USER", default="600/minute"),
        "anon": env.str("RATELIMIT_ANON", default="60/minute"),
        "register": env.str("RATELIMIT_REGISTER", default="20/hour"),
    },
    "EXCEPTION_HANDLER": "tts_platform.errors.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # `?format=` names an audio format (docs/api.md), not a DRF renderer.
    "URL_FORMAT_OVERRIDE": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Echo TTS API",
    "DESCRIPTION": "Text to speech that never pays twice for the same audio.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- Synthesis --------------------------------------------------------------------------
TTS_ENGINE = env.str("TTS_ENGINE", default="kokoro")
TTS_MAX_TEXT_CHARS = env.int("TTS_MAX_TEXT_CHARS", default=50_000)
# Long texts are split into segments of at most this many characters (a paragraph that
# fits is one segment); each is fingerprinted, run and cached on its own.
TTS_SEGMENT_CHARS = env.int("TTS_SEGMENT_CHARS", default=600)
TTS_MAX_SEGMENTS = env.int("TTS_MAX_SEGMENTS", default=500)
# A stream ends (with what it has) after this long without a new segment.
TTS_STREAM_IDLE_SECONDS = env.int("TTS_STREAM_IDLE_SECONDS", default=120)
TTS_CACHE_TTL = env.int("TTS_CACHE_TTL", default=86400)
# First part of every hot-index key (`<prefix>:v1:<fingerprint>`): installations that
# share one Redis database keep apart by it.
TTS_CACHE_KEY_PREFIX = env.str("TTS_CACHE_KEY_PREFIX", default="tts")
TTS_SYNC_TIMEOUT = env.int("TTS_SYNC_TIMEOUT", default=120)
# Requests of one user waiting for a run at once (`?wait`, /v1/audio/speech): each holds
# a web thread. Off with RATELIMIT_ENABLE=false.
TTS_MAX_CONCURRENT_WAITS = env.int("TTS_MAX_CONCURRENT_WAITS", default=2)
TTS_DEFAULT_SEED = 42
TTS_DEFAULT_SAMPLE_RATE = 24000
TTS_SAMPLE_RATES = (16000, 22050, 24000, 44100, 48000)
TTS_MAX_ATTEMPTS = env.int("TTS_MAX_ATTEMPTS", default=3)
TTS_MONTHLY_CHARACTERS = env.int("TTS_MONTHLY_CHARACTERS", default=1_000_000)
# Cache hits (and requests joining a run in flight) cost no engine time: free unless set.
TTS_QUOTA_CHARGE_HITS = env.bool("TTS_QUOTA_CHARGE_HITS", default=False)
# Misses per user whose engine run may be queued or running at once (off with
# RATELIMIT_ENABLE=false, like the other request-rate limits).
TTS_MAX_CONCURRENT_MISSES = env.int("TTS_MAX_CONCURRENT_MISSES", default=4)
TTS_REGISTRATION_OPEN = env.bool("TTS_REGISTRATION_OPEN", default=True)
# Per user: prompt voices (ad-hoc ones included) and the bytes of their stored clips.
TTS_MAX_VOICES = env.int("TTS_MAX_VOICES", default=100)
TTS_MAX_VOICE_BYTES = env.int("TTS_MAX_VOICE_BYTES", default=100 * 1024 * 1024)
# Per user: API keys that are not revoked.
TTS_MAX_API_KEYS = env.int("TTS_MAX_API_KEYS", default=20)
# Soft and hard limits of one engine run; the broker's visibility timeout must exceed
# the hard limit or a long run is delivered twice (docs/architecture.md "The worker path").
TTS_TASK_SOFT_TIME_LIMIT = env.int("TTS_TASK_SOFT_TIME_LIMIT", default=600)
TTS_TASK_TIME_LIMIT = env.int("TTS_TASK_TIME_LIMIT", default=660)
# A claimed run is a lease of this many seconds, renewed by the worker every third of
# it: a worker that dies mid-run costs its requests about one lease, then another
# worker takes the run over (docs/operations.md).
TTS_LEASE_SECONDS = env.int("TTS_LEASE_SECONDS", default=30)
# How often the sweeper looks for expired leases and queued work whose message is lost.
TTS_SWEEP_INTERVAL = env.float("TTS_SWEEP_INTERVAL", default=10.0)
# Seconds a queued artifact waits for its message before the sweeper sends it again.
TTS_QUEUED_GRACE = env.int("TTS_QUEUED_GRACE", default=30)

# --- GLM-TTS (the GPU engine; docs/deploy.md) -------------------------------------------
# Only GPU workers read the checkout and weights; web processes learn the engine identity
# from the rows those workers register (synthesis.EngineIdentity).
GLMTTS_REPO_DIR = Path(env.str("GLMTTS_REPO_DIR", default=str(VAR_DIR / "GLM-TTS")))
GLMTTS_CKPT_DIR = Path(
    env.str("GLMTTS_CKPT_DIR", default=str(GLMTTS_REPO_DIR / "ckpt"))
)
GLMTTS_DEVICE = env.str("GLMTTS_DEVICE", default="cuda:0")
# The LLM's dtype (upstream loads float32; float16/bfloat16 halve its memory).
GLMTTS_DTYPE = env.str("GLMTTS_DTYPE", default="float32")
# The vocoder rate: 24000 (HiFT) or 32000 (Vocos2D, experimental upstream).
GLMTTS_SAMPLE_RATE = env.int("GLMTTS_SAMPLE_RATE", default=24000)
GLMTTS_USE_PHONEME = env.bool("GLMTTS_USE_PHONEME", default=False)
# Prepared voice features kept in each worker's memory (the file level has no limit).
GLMTTS_VOICE_CACHE_SIZE = env.int("GLMTTS_VOICE_CACHE_SIZE", default=64)
# How long a web process trusts the registered identity before reading it again.
GLMTTS_IDENTITY_TTL = env.int("GLMTTS_IDENTITY_TTL", default=10)

# Benchmarks only: registers the "espeak-sim" engine with this real-time factor.
TTS_SIM_RTF = env.float("TTS_SIM_RTF", default=0.0)

# --- Metrics ----------------------------------------------------------------------------
# /metrics answers localhost, or anyone sending `Authorization: Bearer <METRICS_TOKEN>`.
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Where the counters are kept (default: the broker Redis, which does not evict).
METRICS_REDIS_URL = env.str("METRICS_REDIS_URL", default="")

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=_EMBEDDED_BROKER or REDIS_URL)
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_SOFT_TIME_LIMIT = TTS_TASK_SOFT_TIME_LIMIT
CELERY_TASK_TIME_LIMIT = TTS_TASK_TIME_LIMIT
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": TTS_TASK_TIME_LIMIT * 2,
    "unacked_restore_interval": 10,
    "unacked_restore_throttle": 1,
    "socket_connect_timeout": 2,
}
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
# Pool processes load their engine's model before their first task (tts_platform/
# celery.py); Celery's default of 4 s for a child to come up is too short for that.
CELERY_WORKER_PROC_ALIVE_TIMEOUT = 120
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-artifacts": {
        "task": "synthesis.tasks.artifact_sweep_task",
        "schedule": TTS_SWEEP_INTERVAL,
    },
    # Hits are counted in Redis on the hot path and added to the artifacts here.
    "fold-hit-counts": {
        "task": "synthesis.tasks.hit_counts_fold_task",
        "schedule": 30.0,
    },
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO").upper()},
    "loggers": {"django_redis": {"level": "ERROR"}},
}

# --- Production defaults ------------------------------------------------------------------
# On unless DEBUG or the embedded `make run` (plain http on localhost): HTTPS only.
PRODUCTION = not DEBUG and not env.bool("TTS_EMBEDDED", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=PRODUCTION)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=SESSION_COOKIE_SECURE)
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=PRODUCTION)
# Probes and scrapers talk plain http to the web process directly.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int(
    "SECURE_HSTS_SECONDS", default=31_536_000 if PRODUCTION else 0
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool(
    "SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True
)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
# The header the TLS-terminating proxy sets, e.g. X-Forwarded-Proto (it must overwrite
# what clients send); empty when the web process terminates TLS itself.
_PROXY_SSL_HEADER = env.str("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https")
    if _PROXY_SSL_HEADER
    else None
)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default="default-src 'self'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; media-src 'self' blob:; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'",
)
