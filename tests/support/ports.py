"""Ports for the servers tests start beside the test server (nginx, the S3 server)."""

from __future__ import annotations

import os
import socket
import time

FIRST_PORT, LAST_PORT = 8215, 8299


def free_port() -> int:
    # Parallel test processes (pytest-xdist gw0, gw1 ...) start from different ports,
    # so two of them do not pick the same free port at the same moment.
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    start = FIRST_PORT + 20 * (int(worker) % 4 if worker.isdigit() else 0)
    for port in [*range(start, LAST_PORT + 1), *range(FIRST_PORT, start)]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError(f"no free port in {FIRST_PORT}-{LAST_PORT}")


def wait_listening(port: int, process, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"the server on port {port} exited")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
