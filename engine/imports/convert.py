"""Cell values (text from CSV, typed cells from XLSX) converted to record values per field type."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from engine.config.model import Bundle, Catalog, Entity, Field
from engine.messages import Message
from engine.quality.normalize import read_phone

RECORD_ID = re.compile(r"#?\d+")  # a reference cell naming a record by its id

_EXCEL_EPOCH = date(1899, 12, 30)
_EXCEL_MAX = 2958465  # 9999-12-31
_DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y", "%Y/%m/%d", "%d-%m-%Y", "%d %B %Y", "%d %b %Y",
                 "%B %d, %Y", "%b %d, %Y", "%b %d %Y")
_TIME_FORMATS = ("%H:%M", "%H:%M:%S")
_TRUE = {"1", "yes", "y", "true", "t", "on", "да", "д", "истина", "+", "x", "✓"}
_FALSE = {"0", "no", "n", "false", "f", "off", "нет", "н", "ложь", "-"}
_MONEY_NOISE = re.compile(r"[\s\u00a0\u202f'’]|руб\.?|р\.|₽|rub|usd|eur|\$|€", re.IGNORECASE)
_SPLIT = re.compile(r"[;,]")


class Lookup(Protocol):
    """What conversion asks the database: records by id or title, users by name (answers are cached)."""

    def record_entity(self, record_id: int) -> str | None:
        """The entity of a record (None when there is none)."""

    def ids_by_title(self, entity: str, title: str) -> list[int]:
        """Ids of the records of `entity` with this title."""

    def user_active(self, username: str) -> bool:
        """Whether an active user has this login name."""


class BadValue(ValueError):
    """A cell that cannot be read as its field's type; its messages say why (one per unreadable part)."""

    def __init__(self, *messages: Message) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


def plain_text(value: Any) -> str:
    """A cell as text: whole floats without '.0', dates as ISO, everything trimmed."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ") if value.time() != datetime.min.time() else value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def is_blank(value: Any) -> bool:
    """True for an empty cell."""
    return value is None or (isinstance(value, str) and not value.strip())


def _number(value: Any, code: str) -> Decimal:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return Decimal(str(value))
    text = _MONEY_NOISE.sub("", str(value)).strip()
    if "," in text and "." in text:  # the later mark is the decimal one: 1,234.50 or 1.234,50
        text = text.replace(",", "") if text.rfind(".") > text.rfind(",") else text.replace(".", "").replace(",", ".")
    elif text.count(",") == 1:
        text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except InvalidOperation as exc:
        raise BadValue(Message(code, value=plain_text(value))) from exc
    if not number.is_finite():
        raise BadValue(Message(code, value=plain_text(value)))
    return number


def to_integer(value: Any) -> int:
    """A whole number; "1 200" and 1200.0 are accepted."""
    number = _number(value, "import.not_whole_number")
    if number != number.to_integral_value():
        raise BadValue(Message("import.not_whole_number", value=plain_text(value)))
    return int(number)


def to_decimal(value: Any) -> str:
    """A decimal as canonical text: "1 200,50" and "1,200.50" both give "1200.50"."""
    return format(_number(value, "import.not_decimal"), "f")


def to_date(value: Any) -> str:
    """An ISO date from a date cell, an Excel serial number, or dd.mm.yyyy / yyyy-mm-dd / dd/mm/yyyy text."""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value <= _EXCEL_MAX:
        return (_EXCEL_EPOCH + timedelta(days=int(value))).isoformat()
    text = " ".join(str(value).split())
    for pattern in _DATE_FORMATS:
        try:
            return datetime.strptime(text, pattern).date().isoformat()
        except ValueError:
            continue
    raise BadValue(Message("import.not_date", value=text))


def by_format(value: Any, fmt: str) -> datetime:
    """A cell read by a column's own date format (`19560409` by `%Y%m%d`); BadValue naming the format."""
    text = plain_text(value)
    try:
        return datetime.strptime(text, fmt)
    except ValueError:
        sample = datetime(2026, 3, 1, 9, 30).strftime(fmt)
        raise BadValue(Message("import.not_date_in_format", value=text, format=fmt, sample=sample)) from None


def to_datetime(value: Any, zone: str) -> str:
    """An ISO datetime with offset; a time without offset is read in `zone`; a bare date is midnight there."""
    local = ZoneInfo(zone)
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=local)).isoformat()
    moment = _parse_moment(" ".join(str(value).split())) or datetime.fromisoformat(to_date(value))
    return (moment if moment.tzinfo else moment.replace(tzinfo=local)).astimezone(UTC).isoformat()


def _parse_moment(text: str) -> datetime | None:
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    for day in _DATE_FORMATS[:6]:
        for clock in _TIME_FORMATS:
            try:
                return datetime.strptime(text, f"{day} {clock}")
            except ValueError:
                continue
    return None


def to_boolean(value: Any) -> bool:
    """True/false from yes/no, да/нет, 1/0, true/false."""
    if isinstance(value, bool):
        return value
    text = plain_text(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise BadValue(Message("import.not_boolean", value=plain_text(value)))


def to_phone(value: Any, region: str) -> str:
    """The phone as written; bare digits that are no number of `region` but one with a leading + (a spreadsheet
    drops the +: 14155552671) get the +."""
    text = plain_text(value)
    if not text.isdigit():
        return text
    for candidate in (text, "+" + text):  # with its "+" a number is read without the region
        if read_phone(candidate, region)[2]:  # the parse the validation and the keys of the value read again
            return candidate
    return text


def to_code(catalog: Catalog, value: Any, names: Mapping[str, str] | None = None) -> str:
    """The catalog code a cell names: the code itself, or a label in any locale (case-insensitive); `names`:
    catalog_names(catalog), made once for the cells of a file."""
    text = " ".join(plain_text(value).split())
    code = (names if names is not None else catalog_names(catalog)).get(text.casefold())
    if code is not None:
        return code
    shown = ", ".join(catalog.codes()[:12]) + (" …" if len(catalog.values) > 12 else "")
    raise BadValue(Message("import.not_in_catalog", value=text, catalog=catalog.name, values=shown))


def catalog_names(catalog: Catalog) -> dict[str, str]:
    """Each code and label of a catalog, case-folded, to the code of the first value (in catalog order) it
    names."""
    names: dict[str, str] = {}
    for item in catalog.values:
        for name in (item.code, *item.label.values()):
            names.setdefault(name.casefold(), item.code)
    return names


class Converter:
    """Converts the cells of one row to field values of one entity."""

    def __init__(self, bundle: Bundle, entity: Entity, lookup: Lookup,
                 date_formats: Mapping[str, str] | None = None) -> None:
        self.bundle, self.entity, self.lookup = bundle, entity, lookup
        self.date_formats = dict(date_formats or {})  # date/datetime field -> the strptime format of its cells
        self._catalog_names: dict[str, dict[str, str]] = {}  # catalog -> its folded codes and labels (catalog_names)
        hours = bundle.settings.working_hours
        self.zone = hours.timezone if hours else "UTC"
        self._by_type: Mapping[str, Callable[[Field, Any], Any]] = {
            "integer": lambda f, v: to_integer(v), "decimal": lambda f, v: to_decimal(v),
            "money": lambda f, v: to_decimal(v), "date": lambda f, v: to_date(v),
            "datetime": lambda f, v: to_datetime(v, self.zone), "boolean": lambda f, v: to_boolean(v),
            "enum": self._enum, "multi_enum": self._multi_enum, "reference": self._reference, "user": self._user,
            "email": lambda f, v: plain_text(v).lower(),
            "phone": lambda f, v: to_phone(v, bundle.settings.default_region),
        }

    def value(self, field: Field, cell: Any) -> Any:
        """The field value of a non-blank cell; BadValue with the reason otherwise."""
        fmt = self.date_formats.get(field.name)
        if fmt is not None and not isinstance(cell, date):
            moment = by_format(cell, fmt)
            return moment.date().isoformat() if field.type == "date" else to_datetime(moment, self.zone)
        convert = self._by_type.get(field.type)
        return convert(field, cell) if convert is not None else plain_text(cell)

    def _catalog(self, field: Field) -> Catalog:
        catalog = self.bundle.catalogs.get(field.catalog or "")
        if catalog is None:
            raise BadValue(Message("import.catalog_missing", catalog=field.catalog, field=field.name))
        return catalog

    def _names(self, catalog: Catalog) -> dict[str, str]:
        names = self._catalog_names.get(catalog.name)
        if names is None:
            names = self._catalog_names[catalog.name] = catalog_names(catalog)
        return names

    def _enum(self, field: Field, cell: Any) -> str:
        catalog = self._catalog(field)
        return to_code(catalog, cell, self._names(catalog))

    def _multi_enum(self, field: Field, cell: Any) -> list[str]:
        catalog = self._catalog(field)
        codes: list[str] = []
        problems: list[Message] = []
        for part in (p.strip() for p in _SPLIT.split(plain_text(cell)) if p.strip()):
            try:
                code = to_code(catalog, part, self._names(catalog))
            except BadValue as exc:
                problems.extend(exc.messages)
                continue
            if code not in codes:
                codes.append(code)
        if problems:
            raise BadValue(*problems)
        return codes

    def _reference(self, field: Field, cell: Any) -> int:
        target = field.entity or ""
        text = plain_text(cell)
        if RECORD_ID.fullmatch(text):
            record_id = int(text.lstrip("#"))
            if self.lookup.record_entity(record_id) == target:
                return record_id
        ids = self.lookup.ids_by_title(target, text)
        if len(ids) == 1:
            return ids[0]
        if ids:
            raise BadValue(Message("import.ambiguous_title", count=len(ids), entity=target, value=text))
        raise BadValue(Message("import.no_record", entity=target, value=text))

    def _user(self, field: Field, cell: Any) -> str:
        username = plain_text(cell).lower()
        if not self.lookup.user_active(username):
            raise BadValue(Message("import.no_user", value=username))
        return username
