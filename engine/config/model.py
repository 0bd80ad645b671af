"""Typed, immutable view of a loaded configuration bundle."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.config.automation import Pipeline, Rule, Template
    from engine.config.boards import Board
    from engine.config.duplicates_model import DuplicateRules
    from engine.config.import_loader import ImportSettings
    from engine.store.report_spec import Report

Label = Mapping[str, str]

FIELD_TYPES: tuple[str, ...] = (
    "string",
    "text",
    "integer",
    "decimal",
    "money",
    "date",
    "datetime",
    "boolean",
    "email",
    "phone",
    "url",
    "enum",
    "multi_enum",
    "reference",
    "user",
)

FIELD_OPTIONS: tuple[str, ...] = (
    "type",
    "label",
    "required",
    "default",
    "max_length",
    "min",
    "max",
    "catalog",
    "entity",
    "leaf_only",
    "searchable",
)
_NUMERIC_TYPES = ("integer", "decimal", "money")
# Options other than type/label/required/default apply only to some field types.
OPTION_TYPES: Mapping[str, tuple[str, ...]] = {
    "max_length": ("string", "text"),
    "min": _NUMERIC_TYPES,
    "max": _NUMERIC_TYPES,
    "catalog": ("enum", "multi_enum"),
    "entity": ("reference",),
    "leaf_only": ("enum", "multi_enum"),
    # searchable: an expression index per field at deploy (long text and lists have no useful btree index)
    "searchable": ("string", "email", "phone", "url", "user", "integer", "decimal", "money", "date", "datetime",
                   "boolean", "enum", "reference"),
}
PATH_SEPARATOR = " › "
FALLBACK_LINK_KIND = "related"  # the kind of manual links when settings.link_catalog names no catalog


def label_text(label: Label, locale: str, fallback: str = "") -> str:
    """The label in `locale`, else in English, else `fallback`."""
    return label.get(locale) or label.get("en") or fallback


@dataclass(frozen=True)
class CatalogValue:
    """One code of a catalog, its label per locale and the code of its parent value (None at the top)."""

    code: str
    label: Label
    parent: str | None = None


@dataclass(frozen=True)
class Catalog:
    """A named list of codes (a reference list such as relationship types)."""

    name: str
    label: Label
    values: tuple[CatalogValue, ...]
    file: str = ""
    line: int | None = None

    def codes(self) -> tuple[str, ...]:
        """The codes of the whole tree in document order."""
        return tuple(value.code for value in self.values)

    def value(self, code: str) -> CatalogValue | None:
        """The value with this code, at any depth."""
        return next((value for value in self.values if value.code == code), None)

    def label_of(self, code: str, locale: str) -> str:
        """The label of `code` in `locale` (the code itself when unknown)."""
        value = self.value(code)
        return label_text(value.label, locale, code) if value else code

    def children(self, code: str | None = None) -> tuple[CatalogValue, ...]:
        """The direct children of `code` in document order; the top-level values when `code` is None."""
        return tuple(value for value in self.values if value.parent == code)

    def ancestors(self, code: str) -> tuple[CatalogValue, ...]:
        """The values above `code`, from the top of the tree down to its parent (empty for a top value)."""
        chain: list[CatalogValue] = []
        value = self.value(code)
        while value is not None and value.parent is not None and len(chain) < len(self.values):
            value = self.value(value.parent)
            if value is not None:
                chain.append(value)
        return tuple(reversed(chain))

    def is_leaf(self, code: str) -> bool:
        """True when `code` is a value of the catalog without children."""
        return self.value(code) is not None and not self.children(code)

    def leaves(self) -> tuple[str, ...]:
        """The codes without children, in document order."""
        parents = {value.parent for value in self.values}
        return tuple(value.code for value in self.values if value.code not in parents)

    def path_label(self, code: str, locale: str) -> str:
        """Labels from the top of the tree down to `code` joined by " › " ("Active › Periodic")."""
        chain = (*self.ancestors(code), self.value(code))
        return PATH_SEPARATOR.join(label_text(v.label, locale, v.code) for v in chain if v) or code


@dataclass(frozen=True)
class Field:
    """One field of an entity."""

    name: str
    type: str
    label: Label = field(default_factory=dict)
    required: bool = False
    default: Any = None
    catalog: str | None = None
    entity: str | None = None
    max_length: int | None = None
    min: Decimal | None = None
    max: Decimal | None = None
    file: str = ""
    line: int | None = None
    leaf_only: bool = False  # enum/multi_enum: only codes without children are valid
    searchable: bool = False  # deploy creates an expression index on this field (docs/filters.md)


@dataclass(frozen=True)
class LogForm:
    """A one-step form on the card of a record this entity references: it stores a record of this entity
    (preset values + the asked fields) and a follow-up task for the user, due on a date (entity `timeline.log`)."""

    label: Label  # the card's button and form heading
    title: Label  # the new record's title: "<title>: <card's title>"
    preset: Mapping[str, Any]  # values every logged record gets
    fields: tuple[str, ...]  # fields the form asks, each required
    task_title: str  # field holding the follow-up task's title (required)
    task_due: str  # date or datetime field: when the follow-up task is due (required)


@dataclass(frozen=True)
class TimelineSource:
    """Records of an entity shown on the timeline of each record they reference (entity `timeline`)."""

    kind_field: str | None = None  # enum field naming the entry's kind; None: the kind is the entity's name
    at: str | None = None  # date/datetime field of when it happened; None: when it was stored
    text: str | None = None  # field shown under the entry's title
    log: LogForm | None = None


@dataclass(frozen=True)
class Entity:
    """A record type: its fields and the field shown as a record's title."""

    name: str
    label: Label
    title_field: str
    fields: Mapping[str, Field]
    file: str = ""
    line: int | None = None
    timeline: TimelineSource | None = None


@dataclass(frozen=True)
class Form:
    """A user task form: a JSON Schema plus optional UI hints."""

    key: str
    schema: dict[str, Any]
    ui: dict[str, Any]
    entity: str | None
    file: str = ""


@dataclass(frozen=True)
class WorkingHours:
    """A business calendar: working days and hours in one time zone (settings `working_hours`)."""

    timezone: str = "UTC"
    days: tuple[int, ...] = (0, 1, 2, 3, 4)  # weekday numbers, Monday = 0
    start_minute: int = 9 * 60  # minutes after midnight, local time
    end_minute: int = 18 * 60


@dataclass(frozen=True)
class Settings:
    """Bundle-wide settings from crm_model/settings.yaml."""

    default_region: str = "RU"
    default_locale: str = "en"
    currency: str = "RUB"
    locales: tuple[str, ...] = ("en", "ru")
    link_catalog: str = "link_type"  # catalog of manual link kinds; without it links get kind "related"
    teams: tuple[str, ...] = ()  # teams that BPMN candidate groups and lanes may name, besides the roles
    working_hours: WorkingHours | None = None  # None: the clock runs 24/7
    timezone: str = "UTC"  # the zone dates are shown and entered in, unless a user chose their own
    team_labels: Mapping[str, Label] = field(default_factory=dict, hash=False)  # a team's label per locale, where given


@dataclass(frozen=True)
class InboundEvent:
    """An event the API accepts (crm_model/events.yaml): correlate to a waiting message, or start a record."""

    name: str
    kind: str  # "correlate" | "start"
    message: str | None = None  # correlate: the BPMN message name
    business_key: str | None = None  # correlate: a record field, or "record_id"
    entity: str | None = None  # start: the entity of the new record
    fields: Mapping[str, str] = field(default_factory=dict)  # start: record field -> payload path ("data.x")
    process: str | None = None  # start: process to start; None = the entity's startOn=create processes
    file: str = ""
    line: int | None = None


@dataclass(frozen=True)
class ProcessLabels:
    """One process's names in each locale (processes/labels.yaml), with the lines they are on."""

    label: Label = field(default_factory=dict)
    elements: Mapping[str, Label] = field(default_factory=dict)  # element id -> label
    line: int | None = None
    element_lines: Mapping[str, int | None] = field(default_factory=dict)


def files_hash(files: Mapping[str, str]) -> str:
    """SHA-256 over every file's path and text, independent of dict order (a bundle's content hash)."""
    digest = hashlib.sha256()
    for path in sorted(files):
        for part in (path, files[path]):
            data = part.encode("utf-8")
            digest.update(len(data).to_bytes(8, "big"))
            digest.update(data)
    return digest.hexdigest()


@dataclass(frozen=True)
class Bundle:
    """A checked configuration bundle: every file's text plus the parsed model."""

    files: Mapping[str, str]
    entities: Mapping[str, Entity] = field(default_factory=dict)
    catalogs: Mapping[str, Catalog] = field(default_factory=dict)
    forms: Mapping[str, Form] = field(default_factory=dict)
    settings: Settings = field(default_factory=Settings)
    rules: Mapping[str, Rule] = field(default_factory=dict)
    pipelines: Mapping[str, Pipeline] = field(default_factory=dict)
    templates: Mapping[str, Template] = field(default_factory=dict)
    events: Mapping[str, InboundEvent] = field(default_factory=dict)
    duplicates: Mapping[str, DuplicateRules] = field(default_factory=dict)  # crm_model/duplicates/*.yaml, by entity
    imports: Mapping[str, ImportSettings] = field(default_factory=dict)  # crm_model/imports.yaml, by entity
    reports: Mapping[str, Report] = field(default_factory=dict)  # crm_model/reports/*.yaml, by name
    process_labels: Mapping[str, ProcessLabels] = field(default_factory=dict)  # processes/labels.yaml, by process
    boards: Mapping[str, Board] = field(default_factory=dict)  # crm_model/boards/*.yaml, by name

    def _files_ending(self, suffix: str) -> dict[str, str]:
        return {
            path: text
            for path, text in sorted(self.files.items())
            if path.startswith("processes/") and path.endswith(suffix)
        }

    def bpmn_files(self) -> dict[str, str]:
        """BPMN files under processes/, by relative path."""
        return self._files_ending(".bpmn")

    def dmn_files(self) -> dict[str, str]:
        """DMN files under processes/, by relative path."""
        return self._files_ending(".dmn")

    @cached_property
    def content_hash(self) -> str:
        """SHA-256 over every file's path and text, independent of dict order."""
        return files_hash(self.files)
