"""Serving the app like production: gunicorn with several worker processes (threads in each), or Werkzeug's
development server for `flowcrm run --debug` only.

The app is built once in gunicorn's master before it forks its workers (`preload_app`), so every worker shares
one SECRET_KEY (a random one when FLOWCRM_SECRET_KEY is unset: a session signed by one worker is read by
another) and a mistake found while building the app stops the start at once instead of a loop of failing workers.
What must not cross a fork is recreated in each worker: the database pool is dropped after the fork (a
connection shared by two processes interleaves their statements), and the sandbox pool (engine/limits) starts
its worker processes lazily in the process that first evaluates code. What the master built (modules, the app,
the parsed configuration) is frozen out of the garbage collector's reach before the fork (`freeze_before_fork`)."""

from __future__ import annotations

import gc
import os
from dataclasses import dataclass
from typing import Any

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from engine.bootstrap import UowFactory
from engine.errors import NotFound
from engine.processes.deployed import active_bundle

# Long requests are imports and exports of up to MAX_CONTENT_LENGTH (16 MB) on a loaded machine; gunicorn's
# 30 s default would kill the worker mid-request.
TIMEOUT_S = 120
THREADS = 4
# Longer than a load balancer's idle timeout (60 s on common ones) and than a user's pause between clicks: a
# server closing an idle connection the instant a client reuses it makes that request fail
# (with gunicorn's 2 s default, 41 of 473 requests of a 100-user load test failed so).
KEEPALIVE_S = 75


def default_workers(cpus: int | None = None) -> int:
    """Worker processes: gunicorn's rule of thumb, two per core plus one (a worker waits on the database as
    often as it computes)."""
    count = cpus if cpus is not None else len(os.sched_getaffinity(0))
    return 2 * max(1, count) + 1


@dataclass(frozen=True)
class ServeOptions:
    """How `flowcrm run` serves: addresses, worker processes, threads per process, request timeout."""

    bind: tuple[str, ...] = ("127.0.0.1:5000",)
    workers: int = 0  # 0: default_workers()
    threads: int = THREADS
    timeout: int = TIMEOUT_S

    def gunicorn_settings(self) -> dict[str, Any]:
        """gunicorn's settings for these options."""
        return {
            "bind": list(self.bind),
            "workers": self.workers or default_workers(),
            "threads": self.threads,
            "worker_class": "gthread",
            "timeout": self.timeout,
            "keepalive": KEEPALIVE_S,
            "graceful_timeout": 30,
            "preload_app": True,
            "accesslog": None,
            "errorlog": "-",
            "control_socket_disable": True,  # unused, and two servers of one user would share its one path
        }


def behind_proxies(app: Flask, hops: int) -> Flask:
    """Trust `hops` reverse proxies' X-Forwarded-For/-Proto/-Host/-Port: the sign-in throttle then counts the
    client's address, not the proxy's, and redirects keep https. Never set it without a proxy in front: a client
    could then claim any address."""
    if hops > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)  # type: ignore[method-assign]
    return app


def forget_parent_connections(app: Flask) -> None:
    """Drops the pooled database connections inherited through fork without closing them for the parent."""
    factory = app.extensions.get("flowcrm.uow")
    if isinstance(factory, UowFactory):
        factory.engine.dispose(close=False)


def parse_configuration(app: Flask) -> None:
    """Parse the deployed configuration in gunicorn's master, before it forks: every worker inherits it parsed
    (a cache per process, keyed by content) instead of each parsing it at its first request, all at once on the
    same cores (~2 s each on a loaded two-core machine, the first users' pages waiting). The master's connection
    is closed again: the workers open their own."""
    factory = app.extensions.get("flowcrm.uow")
    if not isinstance(factory, UowFactory):
        return
    try:
        active_bundle(factory())
    except NotFound:
        pass  # nothing deployed yet: the first request after a deploy parses it
    finally:
        factory.engine.dispose()


def freeze_before_fork() -> None:
    """Move every object the master holds now into the garbage collector's permanent generation, as Python's docs
    advise before a fork: a worker's full collection then walks only what the worker made. After the app and the
    configuration are built, a full collection walked ~158,000 objects, 67–83 ms of CPU (measured at load 8; under
    ~0.01 ms frozen) — a request that set one off waited that long (about once per 300 requests of the inbox bench,
    ~0.2 s at its load). Collecting the frozen objects' pages also touched them, which undid the fork's shared
    copy-on-write memory."""
    gc.freeze()


def serve(app: Flask, options: ServeOptions) -> None:
    """Serve `app` with gunicorn until it is stopped (SIGINT/SIGTERM: graceful, SIGQUIT: at once)."""
    from gunicorn.app.base import BaseApplication

    parse_configuration(app)
    freeze_before_fork()

    def after_fork(_server: Any, _worker: Any) -> None:
        forget_parent_connections(app)  # the worker opens connections of its own

    class _Gunicorn(BaseApplication):  # type: ignore[misc]  # gunicorn ships no type hints
        def load_config(self) -> None:
            for key, value in options.gunicorn_settings().items():
                self.cfg.set(key, value)
            self.cfg.set("post_fork", after_fork)

        def load(self) -> Flask:
            return app

    _Gunicorn().run()
