"""The scale-out story on one PostgreSQL database: two `flowcrm run` servers (gunicorn, two worker processes each)
and three `flowcrm worker` processes. A deploy through one server is served by the other at its next request,
without a restart; the timers its new process sets fire exactly once across the three workers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bench.live import live_server
from bench.timers import PROCESS_ID, _worker_log_counts, start_worker, stop_workers, timer_events
from bench.timers import bundle_files as timer_bundle
from engine.bootstrap import UowFactory
from engine.services.users import issue_api_token
from engine.services.views import Actor
from engine.store.models import InstanceRow, ProcessVersionRow
from tests.conftest import NOW
from tests.integration.http_api import Api, open_task

LABELS = "processes/labels.yaml"
LEAD_BPMN = "processes/lead_qualification.bpmn"
PINGS = 24
BOUND_S = 30.0


@pytest.fixture
def workers() -> Iterator[list[subprocess.Popen[bytes]]]:
    """The `flowcrm worker` processes the test starts, stopped (then killed) afterwards."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    stop_workers(procs)


@pytest.mark.postgres
@pytest.mark.parametrize("db_url", ["postgres"], indirect=True)
def test_a_deploy_through_one_server_is_served_by_the_other_and_three_workers_fire_each_timer_once(
    db_url: str,
    deployed: UowFactory,
    actors: dict[str, Actor],
    tmp_path: Path,
    workers: list[subprocess.Popen[bytes]],
    bundle_files: dict[str, str],
) -> None:
    tokens = {key: issue_api_token(deployed(), actors[key], NOW) for key in ("designer", "head", "sales", "admin")}
    with ExitStack() as servers:
        base_a = servers.enter_context(live_server(db_url, tmp_path / "a.log", "--workers", "2", "--threads", "2"))
        base_b = servers.enter_context(live_server(db_url, tmp_path / "b.log", "--workers", "2", "--threads", "2"))
        head_b, sales_b, admin_b = (Api(base_b, tokens[key]) for key in ("head", "sales", "admin"))
        for n in range(4):  # both of B's worker processes have loaded and cached the running configuration
            before = head_b.post("/records/Lead", {"title": f"before the deploy {n}"})
        assert open_task(sales_b, before["id"])["title"] == "Qualify lead"

        files = {path: text for path, text in timer_bundle().items() if path != "crm_model/settings.yaml"}
        files[LEAD_BPMN] = bundle_files[LEAD_BPMN].replace('name="Qualify lead"', 'name="Qualify the lead"')
        # a step's English label wins over its BPMN name (processes/labels.yaml): the deploy renames both
        files[LABELS] = bundle_files[LABELS].replace("{en: Qualify lead,", "{en: Qualify the lead,")
        assert files[LABELS] != bundle_files[LABELS]
        report = Api(base_a, tokens["designer"]).post("/deployments", {"files": files})
        assert sorted((v["process_id"], v["version"]) for v in report["new_versions"]) == [
            ("lead_qualification", 2),
            (PROCESS_ID, 1),
        ]

        after = head_b.post("/records/Lead", {"title": "after the deploy"})  # B's next request: the new version
        assert open_task(sales_b, after["id"])["title"] == "Qualify the lead"
        due = datetime.now(UTC) + timedelta(seconds=6)  # not due while B creates them: no request fires one
        for n in range(PINGS):  # an entity and a process B had never heard of before the deploy
            admin_b.post(
                "/records/Ping", {"name": f"ping {n}", "due": (due + timedelta(milliseconds=20 * n)).isoformat()}
            )
        pings = ping_instances(deployed)
        assert len(pings) == PINGS
        assert completed(deployed, pings) == 0, "the pings were due before the workers started: raise `due`"
        workers.extend(start_worker(db_url, tmp_path / f"worker{n}.log", 0.2) for n in range(3))

        deadline = time.monotonic() + BOUND_S
        while completed(deployed, pings) < PINGS and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.0)  # a duplicate firing would land within a few more ticks
    events = timer_events(deployed)
    assert completed(deployed, pings) == PINGS
    assert sorted(len(events.get(i, [])) for i in pings) == [1] * PINGS  # each timer fired once, none twice
    assert sum(fired_in_logs(tmp_path / f"worker{n}.log") for n in range(3)) == PINGS


def ping_instances(factory: UowFactory) -> set[int]:
    """The ids of the timer process's instances."""
    with factory.engine.connect() as conn:
        return set(
            conn.scalars(
                select(InstanceRow.id)
                .join(ProcessVersionRow, InstanceRow.process_version_id == ProcessVersionRow.id)
                .where(ProcessVersionRow.process_id == PROCESS_ID)
            )
        )


def completed(factory: UowFactory, ids: set[int]) -> int:
    """How many of the instances have completed."""
    with factory.engine.connect() as conn:
        return (
            conn.scalar(
                select(func.count())
                .select_from(InstanceRow)
                .where(InstanceRow.id.in_(ids), InstanceRow.status == "completed")
            )
            or 0
        )


def fired_in_logs(path: Path) -> int:
    """Timers a worker says it fired ("fired N timer(s)" lines of its log)."""
    return _worker_log_counts(path)
