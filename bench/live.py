"""A live `flowcrm run` on a free loopback port, and signing in to it over HTTP (the load test and the serving
tests use both)."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from bench.timers import worker_command

HOST = "127.0.0.1"  # only loopback: nothing here ever talks to another machine
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def csrf_token(page: str) -> str:
    """The CSRF token of the first form on an HTML page."""
    found = _CSRF.search(page)
    if found is None:
        raise AssertionError("no csrf_token field on the page")
    return found.group(1)


def sign_in(session: Any, username: str, password: str, base: str = "") -> None:
    """Sign in through the login form (a requests or Locust session); raises unless the server redirects."""
    page = session.get(f"{base}/login")
    response = session.post(
        f"{base}/login",
        data={"username": username, "password": password, "csrf_token": csrf_token(page.text)},
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise AssertionError(f"signing in as {username} answered {response.status_code}")


@contextmanager
def live_server(url: str, log: Path, *args: str, ready_s: float = 90.0) -> Iterator[str]:
    """`flowcrm --database-url URL run --port P ARGS` until the block ends (SIGTERM: gunicorn stops gracefully);
    yields its base URL once /login answers."""
    port = free_port()
    env = {
        **os.environ,
        "FLOWCRM_SECRET_KEY": os.environ.get("FLOWCRM_SECRET_KEY", "bench-" + os.urandom(8).hex()),
        "FLOWCRM_COOKIE_SECURE": "0",
    }  # plain http on loopback
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [worker_command(), "--database-url", url, "run", "--host", HOST, "--port", str(port), *args],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    base = f"http://{HOST}:{port}"
    try:
        deadline = time.monotonic() + ready_s
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"flowcrm run exited with {proc.returncode}: {log.read_text(errors='replace')}")
            try:
                if requests.get(f"{base}/login", timeout=10).status_code == 200:
                    break
            except (requests.ConnectionError, requests.Timeout):  # not listening yet, or busy starting
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"flowcrm run did not answer within {ready_s} s: {log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base
    finally:
        stop(proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process has not ended within 30 s."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
