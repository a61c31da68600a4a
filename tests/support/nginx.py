"""A real nginx (Debian's nginx-light, `make nginx`) in front of a test server: the
configuration of docs/deploy.md with test paths, started as a subprocess. HTTP and
LOCATIONS are that configuration; tests/test_docs_nginx.py keeps the two the same."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port, wait_listening

NGINX = "/usr/sbin/nginx"

CONFIG = """
worker_processes {workers};
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
user root;
events {{ worker_connections 1024; }}
http {{
    include /etc/nginx/mime.types;
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;
    sendfile on;
    upstream django {{ server {upstream}; keepalive 16; }}
{http}
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"""

# The configuration of docs/deploy.md, with the test's media folder, prefix and cache.
HTTP = """
    proxy_cache_path {cache}/tts-audio-checks keys_zone=tts_audio_checks:10m
                     max_size=64m inactive=10s use_temp_path=off;
    # Requests Django answers itself: conditional (304), streamed, not GET or HEAD.
    map "$http_if_none_match$http_if_range$arg_stream" $tts_audio_conditional {{
        "" 0;
        default 1;
    }}
    map $request_method $tts_audio_method {{
        GET 0;
        HEAD 0;
        default 1;
    }}
    # Downloads sent after a remembered check, per caller: RATELIMIT_USER's rate.
    limit_req_zone "$http_authorization|$http_cookie" zone=tts_audio_callers:10m
                   rate={rate};
    # The moderation marker of a synthesis audio file: blocked/<fingerprint>.
    map $uri $tts_blocked_marker {{
        "~^/_checked{prefix}/audio/[0-9a-f]{{2}}/(?<fp>[0-9a-f]{{64}})\\.[a-z0-9]+$"
            {media_root}/blocked/$fp;
        default "";
    }}
"""

LOCATIONS = """
        # Every proxied request: kept-alive connections to gunicorn, the client's host
        # and address (a location with proxy_set_header of its own repeats them).
        proxy_http_version 1.1;
        proxy_set_header Connection "";
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;  # appended
        proxy_set_header X-Forwarded-Proto $scheme;                   # overwritten

        # Only reachable through X-Accel-Redirect from Django, after its checks.
        location {prefix}/ {{
            internal;
            alias {media_root}/;
            # Django's ETag (the fingerprint), not nginx's own (mtime and size).
            etag off;
            add_header ETag $upstream_http_etag;
        }}

        # Synthesis audio: Django's check, remembered for a second per caller and URL,
        # then nginx sends the file without asking Django again.
        location ~ ^/api/v1/syntheses/[^/]+/audio$ {{
            if ($tts_audio_conditional) {{
                return 418;
            }}
            if ($tts_audio_method) {{
                return 418;
            }}
            error_page 418 = @django;
            limit_req zone=tts_audio_callers burst={burst} nodelay;
            limit_req_status 429;
            error_page 429 /_rate_limited;
            auth_request /_audio_check;
            auth_request_set $tts_audio_file $upstream_http_x_accel_redirect;
            auth_request_set $tts_audio_etag $upstream_http_etag;
            auth_request_set $tts_audio_cache_control $upstream_http_cache_control;
            auth_request_set $tts_audio_disposition $upstream_http_content_disposition;
            auth_request_set $tts_audio_check $upstream_cache_status;
            # Refused (401, 403) or anything else: Django's own answer.
            error_page 401 403 500 = @django;
            # try_files' last argument is an internal redirect; the first never exists.
            try_files /nonexistent /_checked$tts_audio_file;
        }}

        location = /_audio_check {{
            internal;
            proxy_pass http://django$request_uri;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_pass_request_body off;
            proxy_set_header Content-Length "";
            proxy_set_header Range "";
            proxy_cache tts_audio_checks;
            proxy_cache_key "$request_uri|$http_authorization|$http_cookie";
            proxy_cache_valid 200 1s;
            # One caller renews an expired check; meanwhile the others get the old
            # one (no waiting), for no longer than Django takes to answer.
            proxy_cache_use_stale updating;
            proxy_ignore_headers Cache-Control Expires Set-Cookie Vary
                                 X-Accel-Redirect X-Accel-Expires;
        }}

        # The API's answer to a caller over RATELIMIT_USER (docs/api.md, "Limits").
        location = /_rate_limited {{
            internal;
            default_type application/json;
            add_header Retry-After 1 always;
            return 429 '{{"error": {{"code": "rate_limit_exceeded", "message": "Request was throttled. Expected available in 1 second.", "param": null, "type": "rate_limit_error"}}}}';
        }}

        # The file of a remembered check.
        location /_checked{prefix}/ {{
            internal;
            alias {media_root}/;
            types {{
                audio/wav wav;
                audio/flac flac;
                audio/mpeg mp3;
                audio/ogg ogg opus;
                audio/pcm pcm;
            }}
            # Blocked (marker) or removed since the check was remembered: Django
            # answers (410).
            if (-f $tts_blocked_marker) {{
                return 418;
            }}
            error_page 404 418 = @django;
            etag off;
            add_header ETag $tts_audio_etag;
            add_header Cache-Control $tts_audio_cache_control;
            add_header Content-Disposition $tts_audio_disposition;
            # MISS: Django checked this request; HIT: a check of the last second.
            add_header X-Audio-Check $tts_audio_check;
        }}

        location @django {{
            proxy_pass http://django$request_uri;
        }}

        location / {{
            proxy_pass http://django;
            client_max_body_size 21m;  # audio uploads; others stop at TTS_MAX_BODY_BYTES
        }}
"""


def rendered(
    *,
    prefix: str,
    media_root: str,
    cache: str,
    rate: str = "600r/m",
    burst: int = 600,
) -> tuple[str, str]:
    """The http-level and the server-level parts of the configuration; `rate` and
    `burst` are RATELIMIT_USER's (600/minute: 600 at once, then 10 a second)."""
    values = {
        "prefix": prefix.rstrip("/"),
        "media_root": media_root,
        "cache": cache,
        "rate": rate,
        "burst": burst,
    }
    return HTTP.format(**values), LOCATIONS.format(**values)


@contextmanager
def nginx_in_front(
    upstream: str,
    *,
    media_root: str,
    prefix: str,
    extra_locations: str = "",
    workers: int = 1,
    rate: str = "600r/m",
    burst: int = 600,
):
    """Yields the base URL of nginx proxying to `upstream` (host:port)."""
    if not Path(NGINX).exists():
        raise RuntimeError("nginx is missing: `make nginx` installs nginx-light")
    tmp = Path(tempfile.mkdtemp(prefix="tts-nginx-"))
    port = free_port()
    http, locations = rendered(
        prefix=prefix, media_root=media_root, cache=str(tmp), rate=rate, burst=burst
    )
    (tmp / "nginx.conf").write_text(
        CONFIG.format(
            tmp=tmp,
            upstream=upstream,
            port=port,
            workers=workers,
            http=http,
            locations=extra_locations + locations,
        )
    )
    process = subprocess.Popen(
        [NGINX, "-p", str(tmp), "-c", str(tmp / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        wait_listening(port, process)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        shutil.rmtree(tmp, ignore_errors=True)
