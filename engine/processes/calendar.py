"""Business calendar: adding working hours to a moment, and the calendar timer expressions read."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from engine.config.model import WorkingHours

_MAX_DAYS = 3660  # ten years of calendar days: a calendar with no working day must not loop forever


def add_working_hours(start: datetime, hours: float, calendar: WorkingHours | None) -> datetime:
    """The UTC moment `hours` working hours after `start` (UTC); without a calendar every hour is working."""
    if start.tzinfo is None:
        raise ValueError("start must carry a UTC offset")
    if hours < 0:
        raise ValueError("hours must not be negative")
    if calendar is None:
        return (start + timedelta(hours=hours)).astimezone(UTC)
    zone = ZoneInfo(calendar.timezone)
    left = timedelta(hours=hours)
    now = start.astimezone(UTC)  # arithmetic in UTC: elapsed time, right across DST changes
    day = start.astimezone(zone).date()
    for _ in range(_MAX_DAYS):
        if day.weekday() in calendar.days:
            opens = _at(day, calendar.start_minute, zone)
            closes = _at(day, calendar.end_minute, zone)
            begin = max(opens, now)
            if begin < closes:
                if begin + left <= closes:
                    return begin + left
                left -= closes - begin
        day += timedelta(days=1)
    raise ValueError(f"no working hours within {_MAX_DAYS} days: check working_hours.days")


def _at(day: date, minute: int, zone: ZoneInfo) -> datetime:
    """A local wall-clock time on a day, in UTC."""
    return datetime.combine(day, time(minute // 60, minute % 60), tzinfo=zone).astimezone(UTC)


@dataclass(frozen=True)
class WorkingHoursFrom:
    """`working_hours(hours)` of timer expressions, fixed to a moment and a calendar: it can be sent to a sandbox
    worker, which has neither the deployed calendar nor the caller's clock. Bounded: at most 10,000 hours, and
    add_working_hours walks at most _MAX_DAYS days."""

    start: datetime
    calendar: WorkingHours | None

    def __call__(self, hours: float) -> str:
        """ISO datetime with offset `hours` working hours after `start`."""
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 <= hours <= 10_000:
            raise ValueError(f"working_hours() takes a number of hours between 0 and 10000, not {hours!r}")
        return add_working_hours(self.start, float(hours), self.calendar).isoformat()


def wall_clock() -> datetime:
    """The current moment in UTC: the clock of a unit of work unless one is injected."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class BusinessTime:
    """The business calendar and the clock the timer expressions of one unit of work count in.

    A value carried per call (the services build it from the unit of work's deployed configuration and clock),
    never a process-wide setting: two configurations served by one process each count in their own calendar."""

    calendar: WorkingHours | None = None  # None: every hour is a working hour
    clock: Callable[[], datetime] = wall_clock

    @property
    def zone(self) -> str:
        """The calendar's time zone (`working_hours.timezone`), UTC without a calendar."""
        return self.calendar.timezone if self.calendar is not None else "UTC"

    def working_hours_from_now(self) -> WorkingHoursFrom:
        """`working_hours(n)` counted from this clock's current moment in this calendar."""
        return WorkingHoursFrom(self.clock(), self.calendar)


AROUND_THE_CLOCK = BusinessTime()  # no calendar, the wall clock: for runs without a deployed configuration (tests)
