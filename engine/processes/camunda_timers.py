"""Timer values as Camunda Modeler saves them, turned into the Python timer expressions the engine runs.

Bare ISO 8601 (`PT5M`, `R3/PT10M`, `2026-03-01T10:00:00`), dates without an offset (read in the bundle's time
zone, `working_hours.timezone`), JUEL (`${dueDate}`) and Quartz cron cycles (`0 0 9 * * ?`). Quoted Python stays
as it is.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from engine.processes.juel import compile_juel, is_juel

_BARE_ISO = re.compile(r"^(?:R\d*/)?(?:P[\dT.]|\d{4}-)\S*$")
_CRON_FIELD = re.compile(r"^[0-9A-Za-z*?/,\-LW#]+$")
_FIELDS = (
    ("second", 0, 59),
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 1, 7),
    ("year", 1970, 2199),
)
_MONTHS = {
    m: i for i, m in enumerate(("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"), 1)
}
_DAYS = {d: i for i, d in enumerate(("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"), 1)}  # Quartz: 1 = Sunday


class TimerValueError(ValueError):
    """A timer value that is neither ISO 8601, cron, JUEL nor a Python expression the engine can schedule."""


def looks_like_cron(text: str) -> bool:
    """Six or seven space-separated Quartz cron fields (`0 0 9 * * ?`)."""
    fields = text.split()
    return len(fields) in (6, 7) and all(_CRON_FIELD.match(f) for f in fields)


def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def with_offset(moment: str, zone: str) -> str:
    """An ISO datetime with its offset; one without is read as wall-clock time in `zone`."""
    parsed = datetime.fromisoformat(moment)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(zone))
    return parsed.isoformat()


def _iso_with_offsets(text: str, zone: str) -> str:
    """Every datetime part of an ISO duration, date or cycle given an offset."""
    parts = text.split("/")
    for index, part in enumerate(parts):
        if re.match(r"^\d{4}-", part):
            try:
                parts[index] = with_offset(part, zone)
            except ValueError as exc:
                raise TimerValueError(f"{part!r} is not an ISO 8601 date and time") from exc
    return "/".join(parts)


def timer_expression(text: str, zone: str) -> str:
    """The Python expression to run for a timer value as Camunda writes it (unchanged if it is Python)."""
    if is_juel(text):
        return f"timer_text({compile_juel(text)})"
    if looks_like_cron(text):
        check_cron(text)  # refused here, at check, not when the timer is first scheduled
        return f"cron_cycle({text!r}, {zone!r})"  # the zone is fixed at deploy, as for a date without offset
    if _BARE_ISO.match(text):
        return repr(_iso_with_offsets(text, zone))
    return text


@dataclass(frozen=True)
class TimerTextIn:
    """`timer_text(value)` fixed to a time zone: it can be sent to a sandbox worker, which has no deployed calendar."""

    zone: str

    def __call__(self, value: Any) -> Any:
        """A JUEL timer value as SpiffWorkflow reads it: a datetime becomes ISO text; a date without an offset is
        read in the zone."""
        if isinstance(value, datetime):
            value = value.isoformat()
        if isinstance(value, str) and _BARE_ISO.match(value):
            return _iso_with_offsets(value, self.zone)
        return value


def _quartz_weekday(moment: datetime) -> int:
    return (moment.isoweekday() % 7) + 1  # Quartz numbering: Sunday 1 ... Saturday 7


def _last_day(moment: datetime) -> int:
    return calendar.monthrange(moment.year, moment.month)[1]


def _nearest_weekday(moment: datetime, day: int) -> int:
    """The day of `moment`'s month that is the Monday-Friday nearest `day`, never in another month (Quartz W)."""
    weekday, last = moment.replace(day=day).weekday(), _last_day(moment)
    if weekday == 5:  # Saturday: the Friday before, or the Monday after on the 1st
        return day - 1 if day > 1 else day + 2
    if weekday == 6:  # Sunday: the Monday after, or the Friday before on the last day
        return day + 1 if day < last else day - 2
    return day


class CronSchedule:
    """A Quartz cron expression (seconds minutes hours day-of-month month day-of-week [year])."""

    def __init__(self, text: str) -> None:
        fields = text.split()
        if len(fields) not in (6, 7):
            raise TimerValueError(f"cron {text!r} needs 6 or 7 fields (sec min hour day month weekday [year])")
        if len(fields) == 6:
            fields.append("*")
        self.text = text
        day, weekday = fields[3], fields[5]
        self.day_rule, self.weekday_rule = self._day_rule(day), self._weekday_rule(weekday)
        if self.day_rule is not None:
            fields[3] = "*"
        if self.weekday_rule is not None:
            fields[5] = "*"
        self.sets = [self._field(value, *spec) for value, spec in zip(fields, _FIELDS, strict=True)]
        if (day == "?") == (weekday == "?"):
            raise TimerValueError(f"cron {text!r}: exactly one of day-of-month and day-of-week must be '?'")
        self.any_day, self.any_weekday = day in ("?", "*"), weekday in ("?", "*")

    def _day_rule(self, value: str) -> Callable[[datetime], bool] | None:
        """Quartz's day-of-month forms `L` (last day), `L-3` (third before it), `LW` (last weekday), `15W` (the
        weekday nearest the 15th, within the month)."""
        if (found := re.fullmatch(r"L(?:-(\d+))?", value)) is not None:
            before = int(found.group(1) or 0)
            if before > 30:
                raise TimerValueError(f"cron {self.text!r}: day of month {value!r} is outside L-0..L-30")
            return lambda at: at.day == _last_day(at) - before
        if value == "LW":
            return lambda at: at.day == _nearest_weekday(at, _last_day(at))
        if (found := re.fullmatch(r"(\d+)W", value)) is not None:
            day = int(found.group(1))
            if not 1 <= day <= 31:
                raise TimerValueError(f"cron {self.text!r}: day of month {value!r} is outside 1-31")
            return lambda at: at.day == _nearest_weekday(at, min(day, _last_day(at)))
        return None

    def _weekday_rule(self, value: str) -> Callable[[datetime], bool] | None:
        """Quartz's day-of-week forms `6L` / `FRIL` (the last Friday of the month) and `6#3` / `FRI#3` (the third)."""
        if (found := re.fullmatch(r"(\w+?)(L|#([1-5]))", value)) is None or value == "L":
            return None
        weekday = self._number(found.group(1), _DAYS, "day of week")
        if not 1 <= weekday <= 7:
            raise TimerValueError(f"cron {self.text!r}: day of week {value!r} is outside 1-7")
        nth = found.group(3)
        if nth is None:
            return lambda at: _quartz_weekday(at) == weekday and at.day + 7 > _last_day(at)
        return lambda at: _quartz_weekday(at) == weekday and (at.day - 1) // 7 + 1 == int(nth)

    def _field(self, value: str, name: str, low: int, high: int) -> set[int]:
        if value == "L" and name == "day of week":
            value = "7"  # Quartz: L alone in day of week is Saturday
        if any(c in value for c in "LW#"):
            raise TimerValueError(
                f"cron {self.text!r}: {name} {value!r}: L, W and # are supported only alone in their day field "
                "(L, L-3, LW, 15W in day of month; 6L, 6#3 in day of week)"
            )
        names = _MONTHS if name == "month" else _DAYS if name == "day of week" else {}
        found: set[int] = set()
        for part in value.split(","):
            base, _, step_text = part.partition("/")
            if base in ("*", "?"):
                start, end = low, high
            else:
                first, _, last = base.partition("-")
                start = self._number(first, names, name)
                end = self._number(last, names, name) if last else (high if step_text else start)
            step = self._number(step_text, {}, name) if step_text else 1
            if not (low <= start <= high and low <= end <= high) or step < 1 or start > end:
                raise TimerValueError(f"cron {self.text!r}: {name} {part!r} is outside {low}-{high}")
            found.update(range(start, end + 1, step))
        return found

    def _number(self, text: str, names: dict[str, int], field: str) -> int:
        if text.upper() in names:
            return names[text.upper()]
        if not text.isdigit():
            raise TimerValueError(f"cron {self.text!r}: {field} {text!r} is not a number")
        return int(text)

    def _day_matches(self, moment: datetime) -> bool:
        day_ok = self.day_rule(moment) if self.day_rule is not None else moment.day in self.sets[3]
        weekday_ok = (
            self.weekday_rule(moment) if self.weekday_rule is not None else _quartz_weekday(moment) in self.sets[5]
        )
        return day_ok and weekday_ok if self.any_day or self.any_weekday else day_ok or weekday_ok

    def next_after(self, moment: datetime) -> datetime:
        """The first wall-clock time strictly after `moment` (naive, local) that the expression matches."""
        at = moment.replace(microsecond=0) + timedelta(seconds=1)
        for _ in range(200_000):
            if at.year not in self.sets[6] or at.month not in self.sets[4] or not self._day_matches(at):
                at = (at + timedelta(days=1)).replace(hour=0, minute=0, second=0)
                continue
            if at.hour not in self.sets[2]:
                at = (at + timedelta(hours=1)).replace(minute=0, second=0)
                continue
            if at.minute not in self.sets[1]:
                at = (at + timedelta(minutes=1)).replace(second=0)
                continue
            if at.second not in self.sets[0]:
                at += timedelta(seconds=1)
                continue
            return at
        raise TimerValueError(f"cron {self.text!r} never fires")


def check_cron(text: str) -> None:
    """Refuse a cron cycle this engine cannot run (TimerValueError): bad fields, or one that never fires."""
    CronSchedule(text).next_after(datetime(2026, 1, 1))


def next_cron_fire(text: str, after: datetime, zone: str) -> datetime:
    """The first time strictly after `after` (aware) at which the cron fires, read on the wall clock of `zone`: a
    daily 09:00 stays 09:00 local across a daylight-saving change."""
    tz = _zone(zone)
    local = after.astimezone(tz).replace(tzinfo=None)
    return CronSchedule(text).next_after(local).replace(tzinfo=tz)


@dataclass(frozen=True)
class LegacyCronCycleFrom:
    """`cron_cycle(text)` as versions deployed before cron timers were computed per fire call it (their specs
    hold a plain cycle timer): the ISO cycle `R/<next fire>/PT<seconds>S`. Those versions passed a check that let
    only constant-interval crons through, so one period is faithful. A dataclass: it goes to a sandbox worker."""

    start: datetime
    zone: str

    def __call__(self, text: str) -> str:
        first = next_cron_fire(text, self.start, self.zone)
        period = next_cron_fire(text, first, self.zone) - first
        return f"R/{first.isoformat()}/PT{int(period.total_seconds())}S"
