"""A real nginx (Debian's nginx-light, `make nginx`) in front of a test server: the
configuration of docs/deploy.md with test paths, started as a subprocess."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path

from tests.support.ports import free_port, wait_listening

NGINX = "/usr/sbin/nginx"

CONFIG = """
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log warn;
user root;
events {{ worker_connections 256; }}
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
    server {{
        listen 127.0.0.1:{port};
{locations}
    }}
}}
"""

# The two locations of docs/deploy.md, with the test's media folder and prefix.
LOCATIONS = """
        location {prefix}/ {{
            internal;
            alias {media_root}/;
            # Django's ETag (the fingerprint), not nginx's own (mtime and size).
            etag off;
            add_header ETag $upstream_http_etag;
        }}
        location / {{
            proxy_pass http://django;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
"""


@contextmanager
def nginx_in_front(
    upstream: str, *, media_root: str, prefix: str, extra_locations: str = ""
):
    """Yields the base URL of nginx proxying to `upstream` (host:port)."""
    if not Path(NGINX).exists():
        raise RuntimeError("nginx is missing: `make nginx` installs nginx-light")
    tmp = Path(tempfile.mkdtemp(prefix="tts-nginx-"))
    port = free_port()
    locations = extra_locations + LOCATIONS.format(
        prefix=prefix.rstrip("/"), media_root=media_root
    )
    (tmp / "nginx.conf").write_text(
        CONFIG.format(tmp=tmp, upstream=upstream, port=port, locations=locations)
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
