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

from engine.messages import Message
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


_FIELD_NAMES = {  # a cron field's name in the reader's words (engine/messages/bpmn.<locale>.yaml)
    "second": "timer.field_second", "minute": "timer.field_minute", "hour": "timer.field_hour",
    "day of month": "timer.field_day_of_month", "month": "timer.field_month", "day of week": "timer.field_day_of_week",
    "year": "timer.field_year",
}


class TimerValueError(ValueError):
    """A timer value that is neither ISO 8601, cron, JUEL nor a Python expression the engine can schedule;
    `message` says why (a Message)."""

    def __init__(self, message: Message) -> None:
        self.message = message
        super().__init__(str(message))


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
                raise TimerValueError(Message("timer.not_iso_datetime", value=part)) from exc
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
            raise TimerValueError(Message("timer.cron_fields", cron=text))
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
            raise TimerValueError(Message("timer.cron_question_mark", cron=text))
        self.any_day, self.any_weekday = day in ("?", "*"), weekday in ("?", "*")

    def _day_rule(self, value: str) -> Callable[[datetime], bool] | None:
        """Quartz's day-of-month forms `L` (last day), `L-3` (third before it), `LW` (last weekday), `15W` (the
        weekday nearest the 15th, within the month)."""
        if (found := re.fullmatch(r"L(?:-(\d+))?", value)) is not None:
            before = int(found.group(1) or 0)
            if before > 30:
                raise TimerValueError(Message("timer.cron_outside", cron=self.text, field=_field_name("day of month"),
                                              value=value, low="L-0", high="L-30", sep=".."))
            return lambda at: at.day == _last_day(at) - before
        if value == "LW":
            return lambda at: at.day == _nearest_weekday(at, _last_day(at))
        if (found := re.fullmatch(r"(\d+)W", value)) is not None:
            day = int(found.group(1))
            if not 1 <= day <= 31:
                raise TimerValueError(Message("timer.cron_outside", cron=self.text, field=_field_name("day of month"),
                                              value=value, low=1, high=31, sep="-"))
            return lambda at: at.day == _nearest_weekday(at, min(day, _last_day(at)))
        return None

    def _weekday_rule(self, value: str) -> Callable[[datetime], bool] | None:
        """Quartz's day-of-week forms `6L` / `FRIL` (the last Friday of the month) and `6#3` / `FRI#3` (the third)."""
        if (found := re.fullmatch(r"(\w+?)(L|#([1-5]))", value)) is None or value == "L":
            return None
        weekday = self._number(found.group(1), _DAYS, "day of week")
        if not 1 <= weekday <= 7:
            raise TimerValueError(Message("timer.cron_outside", cron=self.text, field=_field_name("day of week"),
                                          value=value, low=1, high=7, sep="-"))
        nth = found.group(3)
        if nth is None:
            return lambda at: _quartz_weekday(at) == weekday and at.day + 7 > _last_day(at)
        return lambda at: _quartz_weekday(at) == weekday and (at.day - 1) // 7 + 1 == int(nth)

    def _field(self, value: str, name: str, low: int, high: int) -> set[int]:
        if value == "L" and name == "day of week":
            value = "7"  # Quartz: L alone in day of week is Saturday
        if any(c in value for c in "LW#"):
            raise TimerValueError(Message("timer.cron_special_alone", cron=self.text, field=_field_name(name),
                                          value=value))
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
                raise TimerValueError(Message("timer.cron_outside", cron=self.text, field=_field_name(name), value=part,
                                              low=low, high=high, sep="-"))
            found.update(range(start, end + 1, step))
        return found

    def _number(self, text: str, names: dict[str, int], field: str) -> int:
        if text.upper() in names:
            return names[text.upper()]
        if not text.isdigit():
            raise TimerValueError(Message("timer.cron_not_number", cron=self.text, field=_field_name(field),
                                          value=text))
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
        raise TimerValueError(Message("timer.cron_never", cron=self.text))


def _field_name(name: str) -> Message:
    return Message(_FIELD_NAMES[name])


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
