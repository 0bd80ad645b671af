"""Timer values as Camunda Modeler saves them become timer expressions the engine can schedule."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from engine.config.model import WorkingHours
from engine.processes.calendar import BusinessTime
from engine.processes.camunda_timers import (
    CronSchedule,
    LegacyCronCycleFrom,
    TimerTextIn,
    TimerValueError,
    next_cron_fire,
    timer_expression,
)
from engine.processes.spiff import Runtime, parse_definitions
from tests.conftest import ROOT


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("PT5M", "'PT5M'"),
        ("P7D", "'P7D'"),
        ("R3/PT10M", "'R3/PT10M'"),
        ("R/PT1H", "'R/PT1H'"),
        ("2026-03-01T10:00:00", "'2026-03-01T10:00:00+03:00'"),  # no offset: the bundle's zone
        ("2026-03-01T10:00:00Z", "'2026-03-01T10:00:00+00:00'"),
        ("2026-07-01T10:00:00+02:00", "'2026-07-01T10:00:00+02:00'"),
        ("R3/2026-03-01T10:00:00/PT10M", "'R3/2026-03-01T10:00:00+03:00/PT10M'"),
        ("${dueDate}", "timer_text(dueDate)"),
        ("P${days}D", "timer_text('P' + juel_text(days) + 'D')"),
        ("0 0 9 * * ?", "cron_cycle('0 0 9 * * ?', 'Europe/Moscow')"),
        ('"PT5M"', '"PT5M"'),  # quoted Python stays as it is
        ("working_hours(4)", "working_hours(4)"),
    ],
)
def test_modeler_timer_values_become_timer_expressions(text: str, expected: str) -> None:
    assert timer_expression(text, "Europe/Moscow") == expected


def test_a_date_without_offset_takes_the_zone_offset_of_that_date() -> None:
    assert timer_expression("2026-07-01T10:00:00", "Europe/Berlin") == "'2026-07-01T10:00:00+02:00'"  # summer
    assert timer_expression("2026-01-01T10:00:00", "Europe/Berlin") == "'2026-01-01T10:00:00+01:00'"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0 0 25 * * ?", "hour '25' is outside 0-23"),
        ("0 0 9 L,15 * ?", r"day of month 'L,15': L, W and # are supported only alone in their day field"),
        ("0 0 9 ? * 6#6", r"day of week '6#6': L, W and # are supported only alone"),
        ("0 0 9 L-40 * ?", "day of month 'L-40' is outside L-0..L-30"),
        ("0 0 9 * * *", "exactly one of day-of-month and day-of-week must be '?'"),
        ("0 0 9 x * ?", "day of month 'x' is not a number"),
        ("2026-13-01T10:00:00", "'2026-13-01T10:00:00' is not an ISO 8601 date and time"),
    ],
)
def test_bad_timer_values_are_refused(text: str, message: str) -> None:
    with pytest.raises(TimerValueError, match=message):
        timer_expression(text, "UTC")


def test_cron_fields_follow_quartz() -> None:
    schedule = CronSchedule("0 0/15 8-9 ? JAN-MAR SUN")  # Quartz day-of-week 1 = Sunday
    first = schedule.next_after(datetime(2026, 1, 1, 0, 0))
    assert first == datetime(2026, 1, 4, 8, 0)  # 4 January 2026 is a Sunday
    assert schedule.next_after(first) == datetime(2026, 1, 4, 8, 15)
    assert schedule.next_after(datetime(2026, 1, 4, 9, 45)) == datetime(2026, 1, 11, 8, 0)


def test_a_daily_cron_stays_at_nine_local_across_a_daylight_saving_change() -> None:
    # Berlin moves from +01:00 to +02:00 on 29 March 2026: the fire moves from 08:00 to 07:00 UTC
    fire = next_cron_fire("0 0 9 * * ?", datetime(2026, 3, 27, 12, 0, tzinfo=UTC), "Europe/Berlin")
    assert fire.isoformat() == "2026-03-28T09:00:00+01:00"
    fire = next_cron_fire("0 0 9 * * ?", fire, "Europe/Berlin")
    assert fire.isoformat() == "2026-03-29T09:00:00+02:00"
    assert fire.astimezone(UTC) == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("cron", "after", "fires"),
    [  # after a Friday 10:00 in Moscow (07:00 UTC), 2026-02-27
        (
            "0 0 9 ? * MON-FRI",
            "2026-02-27T07:00:00+00:00",
            ["2026-03-02T09:00", "2026-03-03T09:00", "2026-03-04T09:00"],
        ),
        ("0 30 8 1 * ?", "2026-02-27T07:00:00+00:00", ["2026-03-01T08:30", "2026-04-01T08:30", "2026-05-01T08:30"]),
        ("0 0 16-17 * * ?", "2026-02-27T07:00:00+00:00", ["2026-02-27T16:00", "2026-02-27T17:00", "2026-02-28T16:00"]),
    ],
)
def test_a_cron_at_irregular_intervals_fires_at_each_of_its_times(cron: str, after: str, fires: list[str]) -> None:
    moment = datetime.fromisoformat(after)
    seen = []
    for _ in fires:
        moment = next_cron_fire(cron, moment, "Europe/Moscow")
        seen.append(moment.replace(tzinfo=None).isoformat(timespec="minutes"))
    assert seen == fires


def test_a_juel_timer_value_gets_an_offset_when_it_has_none() -> None:
    timer_text = TimerTextIn(BusinessTime(WorkingHours(timezone="Europe/Moscow")).zone)
    assert timer_text(datetime(2026, 3, 1, 10, 0)) == "2026-03-01T10:00:00+03:00"
    assert timer_text("2026-03-01T10:00:00") == "2026-03-01T10:00:00+03:00"
    assert timer_text(datetime(2026, 3, 1, 10, 0, tzinfo=UTC)) == "2026-03-01T10:00:00+00:00"
    assert timer_text("PT5M") == "PT5M"


def test_a_cron_time_in_the_skipped_spring_hour_takes_the_offset_before_the_change() -> None:
    # Berlin skips 02:00-03:00 on 29 March 2026; the next day the cron is back at 02:30 local
    fire = next_cron_fire("0 30 2 * * ?", datetime(2026, 3, 28, 12, 0, tzinfo=UTC), "Europe/Berlin")
    assert fire.astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    fire = next_cron_fire("0 30 2 * * ?", fire, "Europe/Berlin")
    assert fire.isoformat() == "2026-03-30T02:30:00+02:00"


@pytest.mark.parametrize(
    ("cron", "after", "fire"),
    [
        ("0 0 9 L * ?", "2026-02-01", "2026-02-28"),  # last day of the month
        ("0 0 9 L-2 * ?", "2026-02-01", "2026-02-26"),
        ("0 0 9 LW * ?", "2026-02-01", "2026-02-27"),  # 28 February 2026 is a Saturday
        ("0 0 9 15W * ?", "2026-03-01", "2026-03-16"),  # 15 March 2026 is a Sunday
        ("0 0 9 1W * ?", "2026-02-28", "2026-03-02"),  # 1 March is a Sunday: not back into February
        ("0 0 9 31W * ?", "2026-05-02", "2026-05-29"),  # 31 May is a Sunday: not on into June
        ("0 0 9 ? * 6L", "2026-03-01", "2026-03-27"),  # the last Friday of March
        ("0 0 9 ? * FRIL", "2026-03-01", "2026-03-27"),
        ("0 0 9 ? * 6#3", "2026-03-01", "2026-03-20"),  # the third Friday
        ("0 0 9 ? * MON#1", "2026-03-01", "2026-03-02"),
        ("0 0 9 ? * L", "2026-03-01", "2026-03-07"),  # L alone in day of week: Saturday
    ],
)
def test_quartz_l_w_and_hash_days_fire_on_their_day(cron: str, after: str, fire: str) -> None:
    moment = datetime.fromisoformat(f"{after}T00:00:00+00:00")
    assert next_cron_fire(cron, moment, "UTC") == datetime.fromisoformat(f"{fire}T09:00:00+00:00")


def test_a_version_deployed_before_per_fire_crons_still_gets_its_constant_cycle() -> None:
    legacy = LegacyCronCycleFrom(datetime(2026, 3, 2, 7, 30, tzinfo=UTC), "Europe/Moscow")
    assert legacy("0 0 9 * * ?") == "R/2026-03-03T09:00:00+03:00/PT86400S"
    assert legacy("0 0/10 * * * ?") == "R/2026-03-02T10:40:00+03:00/PT600S"


def test_a_python_cron_cycle_call_as_older_versions_hold_it_still_runs_every_period() -> None:
    # a timeCycle holding the Python call, as specs deployed before per-fire crons hold it
    source = (ROOT / "tests/fixtures/camunda7/processes/timer_cron_cycle.bpmn").read_text()
    bpmn = source.replace(">0 0/10 * * * ?<", ">cron_cycle('0 0/10 * * * ?')<")
    definition = parse_definitions({"processes/legacy.bpmn": bpmn}, {}, timezone="UTC")["timer_cron_cycle"]
    with time_machine.travel(datetime(2026, 3, 2, 7, 33, tzinfo=UTC), tick=False) as clock:
        runtime, _ = Runtime.start(1, definition.blob, {})
        assert [t.due_at for t in runtime.pending_timers()] == [datetime(2026, 3, 2, 7, 40, tzinfo=UTC)]
        clock.move_to(datetime(2026, 3, 2, 7, 40, 1, tzinfo=UTC))
        runtime.fire_timers()
        assert [t.due_at for t in runtime.pending_timers()] == [datetime(2026, 3, 2, 7, 50, tzinfo=UTC)]
