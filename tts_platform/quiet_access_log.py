"""gunicorn's access log without the lines nobody reads while trying the platform:
static files, the favicon, health checks and the portal's status polling. `make run`
uses it unless LOG_LEVEL=debug (then every request is logged)."""

from __future__ import annotations

import re

from gunicorn.glogging import Logger

QUIET_PATHS = re.compile(
    r"^/(static/|favicon\.ico|healthz|readyz|metrics|syntheses/[^/]+/status/)"
)


class QuietAccessLogger(Logger):
    def access(self, resp, req, environ, request_time) -> None:
        status = int(str(resp.status).split(None, 1)[0])
        if status < 400 and QUIET_PATHS.match(environ.get("PATH_INFO", "")):
            return
        super().access(resp, req, environ, request_time)
