"""Exports of the records a filter (or a segment) finds: typed rows in id batches, written as CSV or XLSX.

Rows are produced batch by batch (keyset over record ids), so an export of 100,000 records never holds them all:
CSV is yielded in chunks, XLSX goes through openpyxl's write-only mode into a file object."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import IO, Any
from zoneinfo import ZoneInfo

from engine.cells import csv_safe, xlsx_cell
from engine.config.model import Bundle, Entity, label_text
from engine.errors import ValidationError
from engine.messages import render
from engine.services.access import require_permission
from engine.services.finding import iter_record_ids
from engine.services.segments import filter_target, get_segment
from engine.services.views import Actor
from engine.store.models import RecordRow, UserRow
from engine.store.uow import UnitOfWork

BATCH = 1000
FORMATS = ("csv", "xlsx")
BOM = "\ufeff"  # Excel reads a CSV as UTF-8 (Cyrillic intact) only with it
SYSTEM_COLUMNS: dict[str, dict[str, str]] = {
    "id": {"en": "ID", "ru": "ID"},
    "title": {"en": "Title", "ru": "Название"},
    "owner": {"en": "Owner", "ru": "Ответственный"},
    "owner_name": {"en": "Owner's name", "ru": "Имя ответственного"},  # beside the login, as pages show them
    "created_at": {"en": "Created", "ru": "Создано"},
    "updated_at": {"en": "Updated", "ru": "Изменено"},
}
_YES_NO = {"en": ("yes", "no"), "ru": ("да", "нет")}
_NUMBER_FORMATS = {"money": "#,##0.00", "decimal": "0.########", "integer": "0"}
_DATE_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm", "created_at": "yyyy-mm-dd hh:mm",
                 "updated_at": "yyyy-mm-dd hh:mm"}


@dataclass(frozen=True)
class Column:
    """One column of an export: a record field or a system column (id, title, owner, created_at, updated_at)."""

    key: str
    label: str
    type: str  # the field type, or the system column's name


def default_columns(entity: Entity) -> list[str]:
    """id, title, every field but the title field, owner (login and name), created and updated time."""
    fields = [n for n in entity.fields if n != entity.title_field]
    return ["id", "title", *fields, "owner", "owner_name", "created_at", "updated_at"]


MOMENT_TYPES = ("datetime", "created_at", "updated_at")  # columns of moments: written in the reader's time zone


def _zoned(columns: list[Column], zone: str) -> list[Column]:
    """The columns with each column of moments labelled with the time zone its values are written in."""
    return [Column(c.key, f"{c.label} ({zone})", c.type) if c.type in MOMENT_TYPES else c for c in columns]


def export_columns(entity: Entity, chosen: Iterable[str] | None, locale: str) -> list[Column]:
    """The columns to write, labelled in `locale`; unknown names are a ValidationError on `columns`."""
    names = [c for c in (chosen or []) if c] or default_columns(entity)
    unknown = [n for n in names if n not in SYSTEM_COLUMNS and n not in entity.fields]
    if unknown:
        raise ValidationError({"columns": [f"not a field of {entity.name}: {', '.join(unknown)}"]})
    columns = []
    for name in dict.fromkeys(names):
        field = entity.fields.get(name)
        if name == "title":  # the record's title: labelled as the field it comes from
            source = entity.fields.get(entity.title_field)
            columns.append(Column(name, label_text(source.label if source else SYSTEM_COLUMNS[name], locale, name),
                                  name))
        elif name in SYSTEM_COLUMNS and field is None:
            columns.append(Column(name, label_text(SYSTEM_COLUMNS[name], locale, name), name))
        elif field is not None:
            columns.append(Column(name, label_text(field.label, locale, name), field.type))
    return columns


def _decimal(value: Any) -> Decimal | Any:
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return value


def _parsed(kind: str, value: Any) -> Any:
    """A stored JSON value as the Python value of its type."""
    if kind in ("money", "decimal"):
        return _decimal(value)
    if kind == "date" and isinstance(value, str):
        try:
            return date.fromisoformat(value)
        except ValueError:
            return value
    if kind == "datetime" and isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


class _Renderer:
    """Turns a batch of record rows into typed cells: labels for catalog codes, titles for references."""

    def __init__(self, uow: UnitOfWork, bundle: Bundle, entity: Entity, columns: list[Column], locale: str,
                 zone: ZoneInfo):
        self.uow, self.bundle, self.entity, self.columns, self.locale = uow, bundle, entity, columns, locale
        self.zone = zone

    def rows(self, records: list[RecordRow]) -> list[list[Any]]:
        refs = {r.data.get(c.key) for r in records for c in self.columns if c.type == "reference"}
        titles = self.uow.records.titles(i for i in refs if isinstance(i, int))
        owners = self.uow.users.by_ids(r.owner_id for r in records if r.owner_id)
        return [[self.local(self.cell(record, column, titles, owners)) for column in self.columns]
                for record in records]

    def local(self, value: Any) -> Any:
        """A moment in the reader's time zone (a naive one is UTC, as stored); other values unchanged."""
        if not isinstance(value, datetime):
            return value
        return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(self.zone)

    def cell(self, record: RecordRow, column: Column, titles: dict[int, str], owners: dict[int, UserRow]) -> Any:
        if column.type == "id":
            return record.id
        if column.type == "title":
            return record.title
        if column.type in ("owner", "owner_name"):
            owner = owners.get(record.owner_id) if record.owner_id else None
            return None if owner is None else owner.username if column.type == "owner" else owner.display_name
        if column.type in ("created_at", "updated_at"):
            return getattr(record, column.type)
        value = record.data.get(column.key)
        if value is None or value == []:
            return None
        field = self.entity.fields[column.key]
        catalog = self.bundle.catalogs.get(field.catalog or "")
        if catalog is not None and field.type == "enum":
            return catalog.path_label(str(value), self.locale)
        if catalog is not None and field.type == "multi_enum" and isinstance(value, list):
            return ", ".join(catalog.path_label(str(v), self.locale) for v in value)
        if field.type == "reference":
            gone = render("export.record_gone", {}, self.locale)  # a record gone reads so in words, not as "#11"
            return titles.get(value, gone) if isinstance(value, int) else str(value)
        return _parsed(field.type, value)


def export_rows(uow: UnitOfWork, actor: Actor, filter: Any, now: datetime, *, columns: Iterable[str] | None = None,
                locale: str = "en", batch: int = BATCH,
                zone: str = "UTC") -> tuple[list[Column], Iterator[list[list[Any]]]]:
    """The columns and, lazily, batches of typed rows of the records the filter finds for the actor (id order);
    moments in the time zone `zone`, which their columns' labels name."""
    require_permission(actor, "segment.read", action="export records")
    try:
        where = ZoneInfo(zone)
    except (ValueError, KeyError) as exc:  # ZoneInfoNotFoundError is a KeyError
        raise ValidationError({"tz": [f"unknown time zone {zone!r}; use an IANA name like Europe/Moscow"]}) from exc
    bundle, entity, clean = filter_target(uow, filter)
    chosen = export_columns(entity, columns, locale)

    def batches() -> Iterator[list[list[Any]]]:
        renderer = _Renderer(uow, bundle, entity, chosen, locale, where)
        for ids in iter_record_ids(uow, actor, clean, now, batch=batch):
            with uow:
                rows = renderer.rows(uow.segments.records_in_order(ids))
            yield rows  # unmodified rows are weakly held by the session: each batch is freed after it is written

    return _zoned(chosen, zone), batches()


def segment_rows(uow: UnitOfWork, actor: Actor, segment_id: int, now: datetime, *,
                 columns: Iterable[str] | None = None, locale: str = "en", batch: int = BATCH,
                 zone: str = "UTC") -> tuple[list[Column], Iterator[list[list[Any]]]]:
    """export_rows over a segment's filter."""
    segment = get_segment(uow, actor, segment_id)
    return export_rows(uow, actor, segment.filter, now, columns=columns, locale=locale, batch=batch, zone=zone)


def _csv_text(value: Any, locale: str) -> Any:
    if isinstance(value, bool):
        yes, no = _YES_NO.get(locale, _YES_NO["en"])
        return yes if value else no
    if isinstance(value, datetime):  # with its offset: the column's label names the zone, this the exact moment
        return value.isoformat(sep=" ", timespec="seconds") if value.tzinfo else value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return "" if value is None else value


def csv_chunks(columns: list[Column], batches: Iterable[list[list[Any]]], *, locale: str = "en",
               delimiter: str = ",") -> Iterator[str]:
    """CSV text in chunks (one per batch): a BOM and the header first, then the rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([csv_safe(c.label) for c in columns])
    yield BOM + buffer.getvalue()
    for rows in batches:
        buffer.seek(0)
        buffer.truncate()
        writer.writerows([[csv_safe(_csv_text(v, locale)) for v in row] for row in rows])
        yield buffer.getvalue()


def _xlsx_value(value: Any, locale: str) -> Any:
    if isinstance(value, datetime):  # Excel has no time zones: the wall time in the zone the column's label names
        return value.replace(tzinfo=None)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


def write_xlsx(columns: list[Column], batches: Iterable[list[list[Any]]], target: IO[bytes], *,
               locale: str = "en", sheet: str = "Export") -> None:
    """An XLSX workbook with typed cells (numbers, dates) written row by row (openpyxl write-only mode)."""
    from openpyxl import Workbook  # type: ignore[import-untyped]
    from openpyxl.styles import Font  # type: ignore[import-untyped]

    book = Workbook(write_only=True)
    ws = book.create_sheet(title=sheet[:31] or "Export")
    bold = Font(bold=True)
    header = []
    for column in columns:
        cell = xlsx_cell(ws, column.label)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    formats = [_NUMBER_FORMATS.get(c.type) or _DATE_FORMATS.get(c.type) for c in columns]
    for rows in batches:
        for row in rows:
            ws.append([xlsx_cell(ws, _xlsx_value(value, locale), number_format)
                       for value, number_format in zip(row, formats, strict=True)])
    book.save(target)
