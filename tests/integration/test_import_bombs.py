"""The bomb-file corpus (tests/bombs.py) through `flowcrm import`, the web wizard and the REST API: each file is
refused with a clear message naming the limit, nothing is written, and the peak memory of the process doing
the work (a child process, measured with os.wait4) stays below MEMORY_BOUND. One child sends all the files of an
interface (a child per file cost two seconds of start-up each); its peak over them all bounds each one's."""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from engine.services.records import list_records
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests import bombs
from tests.conftest import ROOT

MEMORY_BOUND_MB = 300
INTERFACES = ("cli", "web", "api")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each bomb written once to a file, by kind."""
    folder = tmp_path_factory.mktemp("bombs")
    files = {}
    for kind, make in bombs.CORPUS.items():
        name, data = make()
        files[kind] = folder / name
        files[kind].write_bytes(data)
    return files


# Linux counts a process's resident high-water mark from before its exec too, and a child forked from this
# (large) test process starts with all of it: a small launcher starts the measured command and reports its peak.
LAUNCHER = """import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def run_measured(command: list[str], database_url: str) -> tuple[int, str, int]:
    """(exit status, output, peak resident memory in MB) of a child process."""
    env = {**os.environ, "DATABASE_URL": database_url}
    with tempfile.NamedTemporaryFile("r", suffix=".peak") as peak:
        launched = subprocess.run(
            [sys.executable, "-c", LAUNCHER, peak.name, *command],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=True,
        )
        code, maxrss = (int(x) for x in Path(peak.name).read_text().split())
    return code, launched.stdout.decode(), maxrss // 1024  # ru_maxrss is in KB on Linux


def send(interface: str, files: list[Path], db_url: str, uploads: Path) -> tuple[dict[Path, tuple[int, str]], int]:
    """(the HTTP status or CLI exit code and the message shown, by file; the peak MB) of importing every file as
    sam, one after the other in one child process (tests/bomb_probe.py)."""
    command = [sys.executable, "-m", "tests.bomb_probe", interface, db_url, str(uploads), *map(str, files)]
    code, output, peak = run_measured(command, db_url)
    assert code == 0, output
    answers = {}
    for line in output.splitlines():
        if not line.startswith('{"file": '):  # what the app logged on its way
            continue
        answer = json.loads(line)
        body = answer["body"]
        if interface == "web":
            body = html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", body)))
        answers[Path(answer["file"])] = (answer["status"], body)
    assert sorted(answers) == sorted(files), output
    return answers, peak


@pytest.mark.parametrize("interface", INTERFACES)
def test_every_bomb_file_is_refused_naming_its_limit_writes_nothing_and_stays_below_the_memory_bound(
    interface: str,
    corpus: dict[str, Path],
    db_url: str,
    deployed: Callable[[], UnitOfWork],
    actors: dict[str, Actor],
    tmp_path: Path,
) -> None:
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    answers, peak = send(interface, list(corpus.values()), db_url, uploads)
    for kind, file in corpus.items():
        status, message = answers[file]
        assert status == {"cli": 1, "web": 422, "api": 422}[interface], (kind, message)
        assert f"{file.name}: " in message, (kind, message)
        assert bombs.EXPECTED[kind] in message, (kind, message)
        assert "Traceback" not in message
    with deployed() as uow:
        assert uow.imports.jobs(None, 10) == []  # refused before a job was made
    assert list_records(deployed(), actors["admin"], "Contact") == []
    assert list(uploads.iterdir()) == []  # refused uploads are not kept
    assert peak < MEMORY_BOUND_MB, peak  # the peak over all the files bounds each file's
