"""The business calendar: working hours added across evenings, weekends, time zones; its settings checked."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from engine.config.loader import load_bundle
from engine.config.model import WorkingHours
from engine.errors import ConfigError
from engine.processes.calendar import BusinessTime, add_working_hours

MOSCOW = WorkingHours("Europe/Moscow", (0, 1, 2, 3, 4), 9 * 60, 18 * 60)  # UTC+3, no DST


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def test_hours_inside_one_working_day_are_added_as_they_are() -> None:
    # Monday 2026-03-02 10:00 Moscow = 07:00 UTC
    assert add_working_hours(utc(2026, 3, 2, 7), 4, MOSCOW) == utc(2026, 3, 2, 11)


def test_hours_past_closing_time_continue_next_morning() -> None:
    # Monday 16:00 Moscow + 4 h: 2 h today, 2 h from 09:00 Tuesday = 11:00 Moscow = 08:00 UTC
    assert add_working_hours(utc(2026, 3, 2, 13), 4, MOSCOW) == utc(2026, 3, 3, 8)


def test_friday_evening_rolls_over_the_weekend_to_monday() -> None:
    # Friday 2026-03-06 17:00 Moscow + 4 h: 1 h Friday, 3 h Monday → Monday 12:00 Moscow
    assert add_working_hours(utc(2026, 3, 6, 14), 4, MOSCOW) == utc(2026, 3, 9, 9)


def test_a_start_at_night_or_at_the_weekend_counts_from_the_next_opening() -> None:
    assert add_working_hours(utc(2026, 3, 2, 0), 1, MOSCOW) == utc(2026, 3, 2, 7)  # 03:00 → 10:00 Moscow
    assert add_working_hours(utc(2026, 3, 7, 12), 0.5, MOSCOW) == utc(2026, 3, 9, 6, 30)  # Saturday


def test_many_hours_span_several_working_days() -> None:
    # 20 h from Monday 09:00 = 9 + 9 + 2 → Wednesday 11:00 Moscow
    assert add_working_hours(utc(2026, 3, 2, 6), 20, MOSCOW) == utc(2026, 3, 4, 8)


def test_hours_are_elapsed_time_across_a_daylight_saving_change() -> None:
    berlin = WorkingHours("Europe/Berlin", (6,), 0, 23 * 60 + 59)  # Sundays only; DST starts 2026-03-29 02:00
    # 01:00 CET (00:00 UTC) + 3 h elapsed = 03:00 UTC, which the wall clock shows as 05:00 CEST
    assert add_working_hours(utc(2026, 3, 29, 0), 3, berlin) == utc(2026, 3, 29, 3)


def test_without_a_calendar_every_hour_is_working() -> None:
    assert add_working_hours(utc(2026, 3, 7, 22), 4, None) == utc(2026, 3, 8, 2)


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="offset"):
        add_working_hours(datetime(2026, 3, 2, 9), 1, MOSCOW)
    with pytest.raises(ValueError, match="negative"):
        add_working_hours(utc(2026, 3, 2, 9), -1, MOSCOW)
    with pytest.raises(ValueError, match="no working hours"):
        add_working_hours(utc(2026, 3, 2, 9), 1, WorkingHours("UTC", (), 540, 1080))


def test_timer_function_counts_from_its_clock_in_its_calendar() -> None:
    friday_evening = utc(2026, 3, 6, 14)
    moscow = BusinessTime(MOSCOW, clock=lambda: friday_evening)
    assert moscow.working_hours_from_now()(4) == "2026-03-09T09:00:00+00:00"
    assert datetime.fromisoformat(moscow.working_hours_from_now()(0)) == friday_evening
    around_the_clock = BusinessTime(None, clock=lambda: friday_evening)
    assert datetime.fromisoformat(around_the_clock.working_hours_from_now()(4)) == friday_evening + timedelta(hours=4)
    assert (moscow.zone, around_the_clock.zone) == ("Europe/Moscow", "UTC")
    with pytest.raises(ValueError, match="number of hours"):
        moscow.working_hours_from_now()("4")  # type: ignore[arg-type]


def test_the_default_clock_is_the_wall_clock() -> None:
    with time_machine.travel(utc(2026, 3, 6, 14), tick=False):
        assert BusinessTime(MOSCOW).working_hours_from_now()(4) == "2026-03-09T09:00:00+00:00"


SETTINGS = "crm_model/settings.yaml"


def test_settings_read_the_working_hours() -> None:
    text = ("default_locale: en\nworking_hours:\n  timezone: Europe/Moscow\n  days: [mon, tue, wed, thu, fri]\n"
            "  start: \"09:00\"\n  end: 18:00\n")  # an unquoted 18:00 is YAML's sexagesimal 1080
    settings = load_bundle({SETTINGS: text}).settings
    assert settings.working_hours == MOSCOW
    assert load_bundle({SETTINGS: "default_locale: en\n"}).settings.working_hours is None


@pytest.mark.parametrize(("block", "line", "message"), [
    ("  timezone: Mars/Olympus\n", 3, "unknown time zone"),
    ("  days: [mon, funday]\n", 3, "days must be a list"),
    ("  start: \"9am\"\n", 3, "must be a time like 09:00"),
    ("  start: \"18:00\"\n  end: \"09:00\"\n", 4, "end must be later than start"),
    ("  hours: 8\n", 2, "must be a mapping of timezone"),
])
def test_bad_working_hours_are_reported_with_file_and_line(block: str, line: int, message: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_bundle({SETTINGS: "default_locale: en\nworking_hours:\n" + block})
    [problem] = err.value.problems
    assert (problem.file, problem.line, problem.element) == (SETTINGS, line, "working_hours")
    assert message in problem.message


def test_the_shown_time_zone_is_the_setting_else_the_business_calendars_else_utc() -> None:
    hours = "working_hours:\n  timezone: Europe/Moscow\n"
    assert load_bundle({SETTINGS: "default_locale: en\ntimezone: Asia/Tokyo\n" + hours}).settings.timezone \
        == "Asia/Tokyo"
    assert load_bundle({SETTINGS: "default_locale: en\n" + hours}).settings.timezone == "Europe/Moscow"
    assert load_bundle({SETTINGS: "default_locale: en\n"}).settings.timezone == "UTC"


def test_an_unknown_shown_time_zone_is_reported_with_file_and_line() -> None:
    with pytest.raises(ConfigError) as err:
        load_bundle({SETTINGS: "default_locale: en\ntimezone: Mars/Olympus\n"})
    [problem] = err.value.problems
    assert (problem.file, problem.line, problem.element) == (SETTINGS, 2, "timezone")
    assert "unknown time zone 'Mars/Olympus'" in problem.message
