"""Every job kind through the shared runner (engine.services.jobs): a failure of any type on one item is
recorded, retried with backoff and parked as one incident; the other items go on; a retry from the incident
runs the item again."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from cli import main
from engine.errors import ValidationError
from engine.quality import scan as scan_module
from engine.services import incidents, mail, reminders, rules
from engine.services.jobs import RetryPolicy, describe
from engine.services.views import Actor
from engine.store.incident_models import IncidentRow
from engine.store.models import OutboxRow, ReminderRow, RuleScheduleRow
from tests.conftest import NOW
from tests.integration.rules_bundle import MakeUow, deploy, make_people, rule
from tests.integration.test_mail import SmtpServer, new_lead, queue
from tests.integration.test_rules import create, scores


@pytest.fixture
def policy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FLOWCRM_JOB_RETRIES", "1")
    monkeypatch.setenv("FLOWCRM_JOB_BACKOFF_SECONDS", "60")


def rows(make_uow: MakeUow, model: Any) -> list[Any]:
    """Every row of a table as plain column values, by primary key."""
    table = model.__table__
    with make_uow() as uow:
        return list(uow.session.execute(select(table).order_by(*table.primary_key.columns)).all())


def test_retry_policy_comes_from_the_environment_and_names_a_bad_variable() -> None:
    assert RetryPolicy.from_env({}) == RetryPolicy(retries=3, first_delay=timedelta(minutes=1))
    policy = RetryPolicy.from_env({"FLOWCRM_JOB_RETRIES": "5", "FLOWCRM_JOB_BACKOFF_SECONDS": "2.5"})
    assert [policy.delay(n) for n in (1, 2, 3)] == [timedelta(seconds=s) for s in (2.5, 5, 10)]
    with pytest.raises(ValidationError) as caught:
        RetryPolicy.from_env({"FLOWCRM_JOB_RETRIES": "-1", "FLOWCRM_JOB_BACKOFF_SECONDS": "soon"})
    assert set(caught.value.errors) == {"FLOWCRM_JOB_RETRIES", "FLOWCRM_JOB_BACKOFF_SECONDS"}
    assert describe(TypeError("x")) == "TypeError: x"


def test_a_worker_with_a_mistyped_retry_setting_stops_at_start_naming_it(db_url: str) -> None:
    result = CliRunner().invoke(
        main, ["--database-url", db_url, "worker", "--once"], env={"FLOWCRM_JOB_RETRIES": "many"}
    )
    assert result.exit_code == 1
    assert "FLOWCRM_JOB_RETRIES: must be a whole number from 0 to 100, not 'many'" in result.output


def test_a_failing_reminder_is_retried_then_parked_while_the_others_fire(
    deployed: MakeUow, actors: dict[str, Actor], policy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    head = actors["head"]
    lead = new_lead(deployed, head)
    bad = reminders.set_reminder(deployed(), head, lead, NOW + timedelta(hours=1), "bad", NOW)
    good = reminders.set_reminder(deployed(), head, lead, NOW + timedelta(hours=2), "good", NOW)
    real = reminders.add_standalone_task

    def broken_for_bad(*args: Any, **kwargs: Any) -> Any:
        if "bad" in args[3]:
            raise KeyError("assignee")  # not a FlowError: any exception type is one item's failure
        return real(*args, **kwargs)

    monkeypatch.setattr(reminders, "add_standalone_task", broken_for_bad)
    at = NOW + timedelta(hours=3)
    assert reminders.fire_due_reminders(deployed, at) == 1
    first, second = rows(deployed, ReminderRow)
    assert (first.id, first.attempts, first.last_error, first.fired_at) == (bad.id, 1, "KeyError: 'assignee'", None)
    assert first.next_attempt_at == at + timedelta(seconds=60)
    assert (second.id, second.fired_at) == (good.id, at)
    assert reminders.fire_due_reminders(deployed, at + timedelta(seconds=30)) == 0  # waiting for its retry
    assert reminders.fire_due_reminders(deployed, at + timedelta(minutes=2)) == 0  # second failure: parked
    [incident] = rows(deployed, IncidentRow)
    assert (incident.kind, incident.job_key, incident.record_id, incident.attempts) == (
        "reminder",
        str(bad.id),
        lead,
        2,
    )
    assert reminders.fire_due_reminders(deployed, at + timedelta(days=9)) == 0  # parked: not due

    monkeypatch.setattr(reminders, "add_standalone_task", real)  # fixed; an admin retries it
    incidents.retry_incident(deployed(), actors["admin"], incident.id, at + timedelta(days=10))
    assert reminders.fire_due_reminders(deployed, at + timedelta(days=10)) == 1
    fired = rows(deployed, ReminderRow)[0]
    assert fired.fired_at is not None
    assert fired.task_id is not None
    assert fired.attempts == 0


def test_a_message_that_breaks_is_retried_and_parked_while_the_others_are_sent(
    deployed: MakeUow, actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    smtp = SmtpServer()
    smtp.start()
    try:
        lead = new_lead(deployed, actors["head"])
        broken = queue(deployed, lead)
        fine = queue(deployed, lead, to="second@example.com")
        real = mail._message

        def message(row: OutboxRow, settings: Any) -> Any:
            if row.id == broken:
                raise UnicodeEncodeError("ascii", "ж", 0, 1, "ordinal not in range(128)")
            return real(row, settings)

        monkeypatch.setattr(mail, "_message", message)
        assert mail.deliver_outbox(deployed, NOW, smtp.settings) == (1, 1)  # the broken one did not stop the run
        assert [m["To"] for m in smtp.inbox.messages] == ["second@example.com"]
        at = NOW
        for _ in range(mail.MAX_ATTEMPTS - 1):
            at = rows(deployed, OutboxRow)[0].next_attempt_at
            assert mail.deliver_outbox(deployed, at, smtp.settings) == (0, 1)
        first, second = rows(deployed, OutboxRow)
        assert (first.id, first.status, first.attempts) == (broken, "failed", mail.MAX_ATTEMPTS)
        assert first.last_error.startswith("UnicodeEncodeError: 'ascii' codec")
        assert (second.id, second.status) == (fine, "sent")
        [incident] = rows(deployed, IncidentRow)
        assert (incident.kind, incident.job_key, incident.record_id) == ("outbox", str(broken), lead)

        monkeypatch.setattr(mail, "_message", real)
        incidents.retry_incident(deployed(), actors["designer"], incident.id, at)
        assert mail.deliver_outbox(deployed, at, smtp.settings) == (1, 0)
        assert rows(deployed, OutboxRow)[0].status == "sent"
    finally:
        smtp.stop()


def test_a_scheduled_rule_failing_on_a_record_keeps_the_others_retries_then_parks(
    make_uow: MakeUow, policy: None
) -> None:
    deploy(make_uow, rule("ratio", "Contact", [{"schedule": "PT1H"}], [{"compute": {"score": "100 // score"}}]))
    people = make_people(make_uow)
    ada = people["admin"]
    ids = [
        create(make_uow, ada, "Contact", {"full_name": f"c{i}", "score": s}, owned=False)
        for i, s in enumerate([5, 0, 20])
    ]
    assert rules.run_scheduled_rules(make_uow, NOW) == 1
    assert scores(make_uow, ada, ids) == [20, 0, 5]  # the others' work is kept
    [schedule] = rows(make_uow, RuleScheduleRow)
    assert (schedule.rule, schedule.attempts, schedule.next_run_at) == ("ratio", 1, NOW + timedelta(hours=1))
    assert schedule.next_attempt_at == NOW + timedelta(seconds=60)  # retried before the next period
    assert schedule.last_error == (
        f"rule 'ratio' failed on 1 record(s): record #{ids[1]}: rule ratio in "
        "'100 // score': ZeroDivisionError: integer division or modulo by zero"
    )
    assert rules.run_scheduled_rules(make_uow, NOW + timedelta(minutes=2)) == 1  # the retry fails: parked
    [incident] = rows(make_uow, IncidentRow)
    assert (incident.kind, incident.job_key, incident.attempts) == ("rule", "ratio", 2)
    assert rules.run_scheduled_rules(make_uow, NOW + timedelta(days=2)) == 0  # parked: not run by itself
    incidents.retry_incident(make_uow(), ada, incident.id, NOW + timedelta(days=2))
    assert rules.run_scheduled_rules(make_uow, NOW + timedelta(days=2)) == 1


def test_a_failing_duplicate_scan_is_retried_then_parked_while_the_other_entities_are_scanned(
    deployed: MakeUow, policy: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = scan_module.scan_in

    def scan_in(uow: Any, bundle: Any, entity: str, now: Any) -> Any:
        if entity == "Contact":
            raise MemoryError("scan of Contact ran out of memory")
        return real(uow, bundle, entity, now)

    monkeypatch.setattr(scan_module, "scan_in", scan_in)
    assert sorted(r.entity for r in scan_module.run_scheduled_scans(deployed, NOW)) == ["Lead", "Organization"]
    schedules = {r.rule: r for r in rows(deployed, RuleScheduleRow)}
    assert schedules["duplicates:Contact"].attempts == 1
    assert schedules["duplicates:Contact"].last_error == "MemoryError: scan of Contact ran out of memory"
    assert schedules["duplicates:Lead"].attempts == 0
    assert scan_module.run_scheduled_scans(deployed, NOW + timedelta(minutes=2)) == []  # the retry fails too
    [incident] = rows(deployed, IncidentRow)
    assert (incident.kind, incident.job_key, incident.attempts) == ("scan", "duplicates:Contact", 2)
