"""List pages of records: the sort, column filters and chosen columns of `/records/<entity>`, read from the query
string into a filter document (docs/filters.md) that the filter compiler runs with keyset paging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from werkzeug.datastructures import MultiDict

from engine.config.model import Bundle, Entity
from engine.filters.values import CHOICE_TYPES
from engine.store.filter_spec import TEXT_TYPES
from web.i18n import label, t
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
    filter_kind: str  # text | choice | none
    options: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    errors: list[str] = field(default_factory=list)


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


def read_query(entity: Entity, columns: list[Column], args: MultiDict[str, str]) -> ListQuery:
    """`?sort=<column>&dir=asc|desc&f.<column>=<value>` as a filter document over the entity's records."""
    conditions: list[Column] = []
    where: list[dict[str, Any]] = []
    for column in columns:
        raw = args.get(f"f.{column.name}", "").strip()
        column.value = raw
        if raw and column.filter_kind != "none":
            conditions.append(column)
            where.append(_condition(column, entity, raw))
    document: dict[str, Any] = {"entity": entity.name}
    if where:
        document["where"] = {"all": where}
    by_name = {c.name: c for c in columns}
    unknown = [key[2:] for key in args if key.startswith("f.") and key[2:] not in by_name and args.get(key)]
    problems = [t("lists.not_a_column", column=name) for name in unknown]
    if args.get("page") and not args.get("after"):  # a link from before keyset paging: say where it lands
        problems.append(t("lists.page_replaced", page=args.get("page")))
    sort = args.get("sort") or None
    descending = args.get("dir", "asc") == "desc"
    if sort is not None and (sort not in by_name or not by_name[sort].sortable):
        problems.append(t("lists.not_sortable", column=sort))  # e.g. a link saved before the columns changed
        sort = None
    if sort is not None:
        document["sort"] = [{"field": by_name[sort].key, "dir": "desc" if descending else "asc"}]
    return ListQuery(document, sort, descending, conditions, problems)


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
