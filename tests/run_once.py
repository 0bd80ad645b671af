"""A value computed once per test run and shared by its pytest-xdist workers.

Each worker is a process of its own, so a module fixture runs once in every worker that runs one of the module's
tests: under `make test` the three workers each built the route census (1-4 minutes on a loaded 2-CPU machine)."""

from __future__ import annotations

import fcntl
import json
import os
from collections.abc import Callable
from typing import Any

import pytest


def once_per_run(tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[], Any]) -> Any:
    """`build()`'s result (JSON: dicts, lists, strings, numbers), built by the first worker that asks for `name` and
    read back by the others, which wait for it rather than build it again; a failed build is tried again by the
    next worker and fails there too."""
    folder = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        folder = folder.parent  # the run's temporary folder, shared by its workers (each has a subfolder)
    result = folder / f"{name}.json"
    with (folder / f"{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if result.exists():
            return json.loads(result.read_text())
        value = build()
        text = json.dumps(value)
        result.write_text(text)
        return json.loads(text)  # the same JSON round trip as the other workers' copy
