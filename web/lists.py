"""List pages of records: the sort, column filters and chosen columns of `/records/<entity>`, read from the query
string into a filter document (docs/filters.md) that the filter compiler runs with keyset paging."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from werkzeug.datastructures import MultiDict

from engine.config.model import Bundle, Entity
from engine.filters.values import CHOICE_TYPES, BadValue, coerce_value
from engine.services.tasks import TaskFilter
from engine.services.users import logins_matching
from engine.store.filter_spec import TEXT_TYPES
from web import uow
from web.i18n import engine_message, label, t
from web.present import catalog_value_label

OFFERED_TYPES = ("string", "text", "enum", "multi_enum", "money", "decimal", "integer", "date", "datetime", "phone",
                 "email", "url", "boolean")
SHORT_TYPES = ("string", "enum", "money", "decimal", "integer", "date", "phone", "email", "boolean")
DEFAULT_COLUMNS = 5
FIXED = ("title", "owner", "updated_at")  # always shown: the record's title, its owner, when it last changed
_SORTABLE_SYSTEM = {"title": "title", "owner": "owner", "updated_at": "updated_at", "created_at": "created_at"}


@dataclass
class Column:
    """One column of a list: what it shows, whether it sorts, and its filter box (kind: text, choice or none)."""

    name: str
    label: str
    key: str  # the filter model's field name (an entity field or a system field)
    sortable: bool
    filter_kind: str  # text | choice | range (two date boxes: f.<name>.from, f.<name>.to) | none
    options: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    value_to: str = ""  # a range's end
    errors: list[str] = field(default_factory=list)

    def params(self) -> tuple[str, ...]:
        """The query-string keys of this column's filter boxes."""
        if self.filter_kind == "range":
            return (f"f.{self.name}.from", f"f.{self.name}.to")
        return (f"f.{self.name}",) if self.filter_kind != "none" else ()


def offered_columns(entity: Entity) -> list[str]:
    """Fields a user may show as columns, in the entity's order (the title is always the first column)."""
    return [n for n, f in entity.fields.items() if n != entity.title_field and f.type in OFFERED_TYPES]


def default_columns(entity: Entity) -> list[str]:
    """Columns of a user who has not chosen: fields with a default (states like status) first, then short ones."""
    names = [n for n in offered_columns(entity) if entity.fields[n].type in SHORT_TYPES]
    names.sort(key=lambda n: entity.fields[n].default is None)
    return names[:DEFAULT_COLUMNS]


def _field_column(bundle: Bundle, entity: Entity, name: str) -> Column:
    spec = entity.fields[name]
    catalog = bundle.catalogs.get(spec.catalog or "")
    if spec.type in CHOICE_TYPES and catalog is not None:
        options = [(v.code, catalog_value_label(catalog, v.code)) for v in catalog.values]
        return Column(name, label(spec.label, name), name, spec.type != "multi_enum", "choice", options)
    if spec.type == "boolean":
        return Column(name, label(spec.label, name), name, True, "choice",
                      [("true", t("lists.yes")), ("false", t("lists.no"))])
    kind = "text" if spec.type in (*TEXT_TYPES, "integer", "decimal", "money", "date") else "none"
    return Column(name, label(spec.label, name), name, True, kind)


def build_columns(bundle: Bundle, entity: Entity, chosen: list[str]) -> list[Column]:
    """The title column, the chosen field columns, then owner and last change."""
    title = entity.fields.get(entity.title_field)
    columns = [Column("title", label(title.label, "title") if title else t("find.system.title"), "title", True,
                      "text")]
    columns += [_field_column(bundle, entity, n) for n in chosen if n in entity.fields]
    columns += [Column("owner", t("records.owner"), "owner", True, "text"),
                Column("updated_at", t("records.updated"), "updated_at", True, "none")]
    return columns


def _condition(column: Column, entity: Entity, raw: str) -> dict[str, Any]:
    spec = entity.fields.get(column.key)
    kind = spec.type if spec is not None else ("owner" if column.key == "owner" else "string")
    if kind == "multi_enum":
        return {"field": column.key, "op": "has_any", "value": [raw]}
    if kind == "boolean":
        return {"field": column.key, "op": "eq", "value": raw == "true"}
    if kind == "owner":  # the column shows names: a box takes part of a name or of a login, as the inbox's does
        logins = logins_matching(uow(), raw)
        if logins:
            return {"field": column.key, "op": "in", "value": logins}
    if kind in TEXT_TYPES and kind != "user":
        return {"field": column.key, "op": "contains", "value": raw}
    return {"field": column.key, "op": "eq", "value": raw}


@dataclass
class ListQuery:
    """What the query string asks of a list: the filter document, and which column each condition came from."""

    document: dict[str, Any]
    sort: str | None
    descending: bool
    conditions: list[Column]  # columns with a value, in the order of document.where.all
    problems: list[str]  # filters or a sort naming no column of this list: said, never silently dropped


@dataclass
class ColumnArgs:
    """What the query string asks of any list's columns (entity lists, the inbox): the sort, the boxes filled in
    (their values set on the columns), and what names no column of the list."""

    sort: str | None
    descending: bool
    given: list[Column]
    problems: list[str]


def read_columns(columns: list[Column], args: MultiDict[str, str]) -> ColumnArgs:
    """`?sort=<column>&dir=asc|desc&f.<column>=<value>` (a range: `f.<column>.from`, `f.<column>.to`) read into
    the columns; a filter or sort naming no column of the list is said, never silently dropped."""
    given: list[Column] = []
    for column in columns:
        keys = column.params()
        column.value = args.get(keys[0], "").strip() if keys else ""
        column.value_to = args.get(keys[1], "").strip() if len(keys) > 1 else ""
        if column.value or column.value_to:
            given.append(column)
    known = {key for column in columns for key in column.params()}
    unknown = [key[2:] for key in args if key.startswith("f.") and key not in known and args.get(key)]
    problems = [t("lists.not_a_column", column=name) for name in unknown]
    by_name = {c.name: c for c in columns}
    sort = args.get("sort") or None
    descending = args.get("dir", "asc") == "desc"
    if sort is not None and (sort not in by_name or not by_name[sort].sortable):
        problems.append(t("lists.not_sortable", column=sort))  # e.g. a link saved before the columns changed
        sort = None
    return ColumnArgs(sort, descending, given, problems)


def read_query(entity: Entity, columns: list[Column], args: MultiDict[str, str]) -> ListQuery:
    """`?sort=<column>&dir=asc|desc&f.<column>=<value>` as a filter document over the entity's records."""
    read = read_columns(columns, args)
    where = [_condition(column, entity, column.value) for column in read.given]
    document: dict[str, Any] = {"entity": entity.name}
    if where:
        document["where"] = {"all": where}
    problems = read.problems
    if args.get("page") and not args.get("after"):  # a link from before keyset paging: say where it lands
        problems.append(t("lists.page_replaced", page=args.get("page")))
    if read.sort is not None:
        key = next(c.key for c in columns if c.name == read.sort)
        document["sort"] = [{"field": key, "dir": "desc" if read.descending else "asc"}]
    return ListQuery(document, read.sort, read.descending, read.given, problems)


def place_errors(query: ListQuery, errors: dict[str, list[str]]) -> list[str]:
    """Put the filter's errors ("where.all[1].value") next to their column boxes; the rest are returned."""
    rest: list[str] = []
    for path, messages in errors.items():
        placed = False
        if path.startswith("where.all["):
            index = path[len("where.all["):].split("]", 1)[0]
            if index.isdigit() and int(index) < len(query.conditions):
                query.conditions[int(index)].errors.extend(messages)
                placed = True
        if not placed:
            rest.extend(messages)
    return rest


def inbox_columns(processes: list[tuple[str, str]]) -> list[Column]:
    """The inbox's columns: task, record, due (a date range), process (a choice of `processes`: id, name),
    assignee, created."""
    return [Column("task", t("inbox.task"), "task", True, "text"),
            Column("record", t("inbox.record"), "record", True, "text"),
            Column("due", t("inbox.due"), "due", True, "range"),
            Column("process", t("inbox.process"), "process", True, "choice", processes),
            Column("assignee", t("inbox.assignee"), "assignee", True, "text"),
            Column("created", t("inbox.created"), "created", True, "none")]


def _day_start(column: Column, raw: str, zone: ZoneInfo, later: int = 0) -> datetime | None:
    """The UTC start of a day typed in a range box (in the reader's zone), `later` days on; errors on the column."""
    if not raw:
        return None
    try:
        day = date.fromisoformat(coerce_value("date", raw))
    except BadValue as exc:
        column.errors.append(engine_message(str(exc)))
        return None
    return datetime.combine(day + timedelta(days=later), time(), zone).astimezone(UTC)


def read_task_filter(columns: list[Column], args: MultiDict[str, str], zone: ZoneInfo,
                     element_matches: Callable[[str], tuple[str, ...]]) -> tuple[TaskFilter, ColumnArgs]:
    """The inbox's sort and column filters from the query string, the same way as an entity list's
    (`read_columns`): due days are whole days in the reader's time zone; `element_matches(text)`: the process
    elements whose name in the reader's language contains the text. Bad values are put on their columns."""
    read = read_columns(columns, args)
    by_name = {c.name: c for c in columns}
    due, process, task = by_name["due"], by_name["process"], by_name["task"]
    if process.value and process.value not in {code for code, _ in process.options}:
        process.errors.append(engine_message(f"must be one of: {', '.join(c for c, _ in process.options)}"))
    flt = TaskFilter(read.sort, read.descending, task.value, element_matches(task.value) if task.value else (),
                     by_name["record"].value, by_name["assignee"].value, "" if process.errors else process.value,
                     _day_start(due, due.value, zone), _day_start(due, due.value_to, zone, later=1))
    return flt, read
