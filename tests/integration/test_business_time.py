"""The business calendar and the clock travel with the unit of work: two configurations served by one process
(two databases, each with its own `settings.working_hours`) count their timers in their own calendar, even when
their steps run at the same moment in two threads."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from engine.bootstrap import UowFactory, uow_factory
from engine.imports.run import _set_live, live_progress
from engine.processes.deployed import business_time
from engine.services import records
from engine.services.deployments import deploy_bundle
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD

# A Friday, far enough ahead that SpiffWorkflow (which compares with the wall clock) never finds the timer due.
FRIDAY_2PM_UTC = datetime(2036, 3, 7, 14, 0, tzinfo=UTC)  # 17:00 in Moscow, 09:00 in New York (EST)
MOSCOW_DUE = datetime(2036, 3, 10, 9, 0, tzinfo=UTC)  # 1 h on Friday + 3 h from Monday 09:00 Moscow (UTC+3)
NEW_YORK_DUE = datetime(2036, 3, 7, 18, 0, tzinfo=UTC)  # 09:00 + 4 h on the same Friday, 13:00 EST (UTC-5)
NEW_YORK = """working_hours:
  timezone: America/New_York
  days: [mon, tue, wed, thu, fri]
  start: "09:00"
  end: "17:00"
"""


def new_york_bundle(files: dict[str, str]) -> dict[str, str]:
    settings = files["crm_model/settings.yaml"]
    start = settings.index("working_hours:")
    end = settings.index('end: "18:00"') + len('end: "18:00"\n')
    return {**files, "crm_model/settings.yaml": settings[:start] + NEW_YORK + settings[end:]}


def admin_of(factory: Callable[[], UnitOfWork]) -> Actor:
    user = create_user(factory(), "root", PASSWORD, ["admin"], NOW)
    return get_actor(factory(), user.id)


def escalation_due(factory: Callable[[], UnitOfWork], lead_id: int) -> list[datetime]:
    with factory() as uow:
        [instance] = uow.instances.for_record(lead_id)
        return [
            row.due_at.replace(tzinfo=row.due_at.tzinfo or UTC) for row in uow.timers.pending_for_instance(instance.id)
        ]


def test_two_configurations_in_one_process_count_timers_in_their_own_calendars_concurrently(
    deployed: Callable[[], UnitOfWork], db_url: str, tmp_path: Path, sqlite_template: Path, bundle_files: dict[str, str]
) -> None:
    clock = lambda: FRIDAY_2PM_UTC  # noqa: E731 - the injected clock of both apps
    moscow: UowFactory = uow_factory(db_url, clock)  # the shipped bundle: Europe/Moscow, 09:00-18:00
    shutil.copy(sqlite_template, tmp_path / "new_york.sqlite")
    new_york: UowFactory = uow_factory(f"sqlite:///{tmp_path / 'new_york.sqlite'}", clock)
    try:
        admins = {"moscow": admin_of(moscow), "new_york": admin_of(new_york)}
        deploy_bundle(new_york(), admins["new_york"], new_york_bundle(bundle_files), NOW)
        factories = {"moscow": moscow, "new_york": new_york}
        assert business_time(moscow()).zone == "Europe/Moscow"
        assert business_time(new_york()).zone == "America/New_York"

        together = threading.Barrier(2)
        leads: dict[str, int] = {}
        failures: list[BaseException] = []

        def create_lead(name: str) -> None:
            try:
                for round_ in range(5):  # several rounds: the two threads' steps interleave
                    together.wait(timeout=30)
                    lead = records.create_record(
                        factories[name](),
                        admins[name],
                        "Lead",
                        {"title": f"{name} {round_}", "phone": f"+7 912 345-67-{10 + round_}"},
                        FRIDAY_2PM_UTC,
                    )
                    leads[f"{name} {round_}"] = lead.id
            except BaseException as exc:  # handed to the test thread, which fails with it
                failures.append(exc)
                together.abort()

        threads = [threading.Thread(target=create_lead, args=(name,)) for name in factories]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        assert not failures, failures
        assert len(leads) == 10

        for key, lead_id in leads.items():
            name = key.split()[0]
            expected = MOSCOW_DUE if name == "moscow" else NEW_YORK_DUE
            assert escalation_due(factories[name], lead_id) == [expected], key
    finally:
        moscow.dispose()
        new_york.dispose()


def test_import_progress_of_one_database_never_shows_for_the_same_job_id_of_another(
    tmp_path: Path, sqlite_template: Path
) -> None:
    paths = [tmp_path / "a.sqlite", tmp_path / "b.sqlite"]
    for path in paths:
        shutil.copy(sqlite_template, path)
    first, second = (uow_factory(f"sqlite:///{path}") for path in paths)
    try:
        _set_live(first, 1, 250)  # job 1 of the first database is running, 250 rows in
        assert live_progress(first(), 1) == 250
        assert live_progress(second(), 1) is None  # job 1 of the second database is another job
        _set_live(first, 1, None)
        assert live_progress(first(), 1) is None
    finally:
        first.dispose()
        second.dispose()
