"""What evaluating a report returns: columns, rows and the chart to draw (plain data, no ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from engine.errors import ValidationError
from engine.store.report_spec import BUCKETS
from engine.store.report_sql import zone_literal

# Labels of the columns every funnel/activity report has (the configured parts carry their own labels).
FIXED_LABELS: dict[str, dict[str, str]] = {
    "split": {"en": "Type", "ru": "Тип"},
    "stage": {"en": "Stage", "ru": "Этап"},
    "reached": {"en": "Reached", "ru": "Дошли"},
    "conversion": {"en": "Conversion from previous, %", "ru": "Конверсия из предыдущего, %"},
    "median_hours": {"en": "Median time in stage, h", "ru": "Медиана времени на этапе, ч"},
    "average_hours": {"en": "Average time in stage, h", "ru": "Среднее время на этапе, ч"},
    "user": {"en": "User", "ru": "Пользователь"},
    "team": {"en": "Team", "ru": "Команда"},
    "none": {"en": "(none)", "ru": "(не указано)"},
    "login": {"en": "login", "ru": "логин"},
}
PEOPLE = ("owner", "created_by")  # system fields whose values are logins: shown by display name, login beside
PER = ("user", "team")


@dataclass(frozen=True)
class ReportParams:
    """Parameters of one evaluation: period (inclusive days), bucket size, a team, rows per user or team, and the
    time zone (IANA name) whose days and months the period and the period buckets are."""

    date_from: date | None = None
    date_to: date | None = None
    bucket: str = "month"
    team: str | None = None
    per: str = "user"
    zone: str = "UTC"

    def __post_init__(self) -> None:
        errors: dict[str, list[str]] = {}
        try:
            zone_literal(self.zone)
        except (ValueError, KeyError):  # ZoneInfoNotFoundError is a KeyError
            errors["tz"] = [f"unknown time zone {self.zone!r}; use an IANA name like Europe/Moscow"]
        if self.bucket not in BUCKETS:
            errors["bucket"] = [f"must be one of: {', '.join(BUCKETS)}"]
        if self.per not in PER:
            errors["per"] = [f"must be one of: {', '.join(PER)}"]
        if self.date_from and self.date_to and self.date_from > self.date_to:
            errors["to"] = ["must not be before from"]
        if errors:
            raise ValidationError(errors)


@dataclass(frozen=True)
class Column:
    """A result column: `format` is text (a group label), number, money, percent, duration (hours), or login (a
    person's login beside their display name, for programs: exports and the API; the page leaves it out)."""

    key: str
    label: str
    format: str


@dataclass(frozen=True)
class ChartView:
    """Chart type, the label columns (joined per row as the category) and the measure columns drawn."""

    type: str
    label_columns: tuple[int, ...]
    series: tuple[int, ...]


@dataclass(frozen=True)
class ReportInfo:
    """A report as listed: name, title, description and which parameters it takes."""

    name: str
    kind: str
    title: str
    description: str
    uses_period: bool
    uses_bucket: bool
    uses_per: bool


@dataclass(frozen=True)
class ReportResult:
    """An evaluated report."""

    info: ReportInfo
    params: ReportParams
    columns: tuple[Column, ...]
    rows: list[list[Any]] = field(default_factory=list)
    chart: ChartView | None = None
