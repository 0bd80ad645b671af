"""Read a configuration bundle and check its files into a typed Bundle."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from engine.config.automation_loader import load_pipeline, load_rule, load_templates
from engine.config.boards import BOARDS_FOLDER, Board, load_board
from engine.config.checking import CODE, SNAKE_NAME, Checker, folder, paths_in, stem, text_or_none
from engine.config.cycles import cycle_problems
from engine.config.duplicates_loader import DUPLICATES_FOLDER, load_duplicates
from engine.config.events_loader import EVENTS_FILE, load_events
from engine.config.form_loader import load_form, load_ui
from engine.config.import_loader import IMPORTS_FILE, load_imports
from engine.config.model import (
    FIELD_OPTIONS,
    FIELD_TYPES,
    OPTION_TYPES,
    Bundle,
    Catalog,
    CatalogValue,
    Entity,
    Field,
    Settings,
    WorkingHours,
)
from engine.config.report_loader import REPORTS_FOLDER, load_report
from engine.config.yaml_lines import LineList, LineMap, plain
from engine.errors import ConfigError, Problem
from engine.records.schema import check_field_values, normalize_value
from engine.store.report_spec import Report

SETTINGS_FILE = "crm_model/settings.yaml"
_PATTERNS = (
    "crm_model/**/*.yaml",
    "forms/*.json",
    "forms/*.yaml",
    "processes/*.bpmn",
    "processes/*.dmn",
    "processes/**/*.py",  # scripts a BPMN loads with camunda:resource
    "processes/bindings.yaml",  # Camunda service implementations bound to topics or actions
    "templates/*.txt",
)
_MODEL_FOLDERS = ("crm_model/entities", "crm_model/catalogs", "crm_model/pipelines", "crm_model/rules",
                  REPORTS_FOLDER, DUPLICATES_FOLDER, BOARDS_FOLDER)
_MODEL_FILES = "{settings,events,entities/*,catalogs/*,pipelines/*,rules/*,reports/*,duplicates/*,boards/*}.yaml"
_ENTITY_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
_SETTINGS_KEYS = ("default_region", "default_locale", "currency", "locales", "link_catalog", "teams", "working_hours")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_VALUE_KEYS = ("code", "label", "children")


def read_bundle_dir(root: Path) -> dict[str, str]:
    """Texts of a bundle directory's configuration files by relative POSIX path; ConfigError if not UTF-8."""
    files: dict[str, str] = {}
    problems: list[Problem] = []
    for pattern in _PATTERNS:
        for path in (found for found in root.glob(pattern) if found.is_file()):
            relative = path.relative_to(root).as_posix()
            try:
                files[relative] = path.read_bytes().decode("utf-8-sig")
            except UnicodeDecodeError as error:
                problems.append(Problem(relative, None, None, f"not UTF-8 text (bad byte at {error.start})"))
    if problems:
        raise ConfigError(problems)
    return dict(sorted(files.items()))


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


class _BundleChecker(Checker):
    """Checks settings, catalogs, entities and file paths; other modules check the rest."""

    def load_settings(self) -> None:
        data = self.mapping(SETTINGS_FILE, _SETTINGS_KEYS)
        if data is None:
            return
        base = Settings()
        locales = data.get("locales", list(base.locales))
        if not isinstance(locales, list) or not locales or not all(isinstance(x, str) and x for x in locales):
            say = self.sayer(SETTINGS_FILE, "locales")
            say(data.line_of("locales"), "locales must be a list like [en, ru]")
            locales = list(base.locales)
        region = data.get("default_region", base.default_region)
        if text_or_none(region) not in phonenumbers.SUPPORTED_REGIONS:
            say = self.sayer(SETTINGS_FILE, "default_region")
            say(data.line_of("default_region"), f"unknown region {region!r}; use a country code such as RU")
        locale = data.get("default_locale", base.default_locale)
        if locale not in locales:
            say = self.sayer(SETTINGS_FILE, "default_locale")
            say(data.line_of("default_locale"), f"{locale!r} is not one of the locales: {', '.join(locales)}")
        currency = data.get("currency", base.currency)
        if not re.fullmatch(r"[A-Z]{3}", text_or_none(currency) or ""):
            say = self.sayer(SETTINGS_FILE, "currency")
            say(data.line_of("currency"), f"currency {currency!r} must be an ISO 4217 code such as RUB")
        link_catalog = data.get("link_catalog", base.link_catalog)
        if not SNAKE_NAME.fullmatch(text_or_none(link_catalog) or ""):
            say = self.sayer(SETTINGS_FILE, "link_catalog")
            say(data.line_of("link_catalog"), f"link_catalog {link_catalog!r} must be a catalog name in snake_case")
            link_catalog = base.link_catalog
        teams = data.get("teams", [])
        if not isinstance(teams, list) or not all(isinstance(x, str) and SNAKE_NAME.fullmatch(x) for x in teams):
            say = self.sayer(SETTINGS_FILE, "teams")
            say(data.line_of("teams"), "teams must be a list of snake_case team names like [north, call_center]")
            teams = []
        self.settings = Settings(str(region), str(locale), str(currency), tuple(locales), str(link_catalog),
                                 tuple(teams), self.working_hours(data.get("working_hours"), data))

    def working_hours(self, value: Any, data: LineMap) -> WorkingHours | None:
        """The business calendar, or None (24/7) when the settings name none."""
        if value is None:
            return None
        say = self.sayer(SETTINGS_FILE, "working_hours")
        if not isinstance(value, LineMap) or set(value) - {"timezone", "days", "start", "end"}:
            say(data.line_of("working_hours"), "working_hours must be a mapping of timezone, days, start, end")
            return None
        count = len(self.problems)
        zone = value.get("timezone", "UTC")
        try:
            ZoneInfo(str(zone))
        except (ValueError, ZoneInfoNotFoundError):
            say(value.line_of("timezone"), f"unknown time zone {zone!r}; use an IANA name such as Europe/Moscow")
        days = value.get("days", list(_DAYS[:5]))
        if not isinstance(days, list) or not days or not all(d in _DAYS for d in days):
            say(value.line_of("days"), f"days must be a list of {', '.join(_DAYS)}")
            days = []
        minutes = []
        for key, default in (("start", "09:00"), ("end", "18:00")):
            raw = value.get(key, default)  # YAML 1.1 reads an unquoted 18:00 as the sexagesimal 1080
            text = f"{raw // 60:02d}:{raw % 60:02d}" if isinstance(raw, int) and not isinstance(raw, bool) else str(raw)
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
            if match is None:
                say(value.line_of(key), f"{key} {text!r} must be a time like 09:00")
            minutes.append(int(match[1]) * 60 + int(match[2]) if match else 0)
        if len(self.problems) == count and minutes[0] >= minutes[1]:
            say(value.line_of("end"), "end must be later than start")
        if len(self.problems) > count:
            return None
        return WorkingHours(str(zone), tuple(_DAYS.index(d) for d in days), minutes[0], minutes[1])

    def load_catalog(self, path: str) -> None:
        data = self.mapping(path, ("catalog", "label", "values"))
        if data is None:
            self.unreadable.add(stem(path, ".yaml"))
            return
        name, line = data.get("catalog"), data.line_of("catalog")
        if not isinstance(name, str) or not SNAKE_NAME.fullmatch(name):
            self.sayer(path, None)(line, "catalog: <name> is required, in snake_case")
            return
        say = self.sayer(path, name)
        if name != stem(path, ".yaml"):
            say(line, f"catalog '{name}' must be in crm_model/catalogs/{name}.yaml")
        if name in self.catalogs:
            say(line, f"catalog '{name}' is already defined in {self.catalogs[name].file}")
            return
        label = self.label(say, data.line_of("label"), data.get("label"))
        items = data.get("values")
        if not isinstance(items, LineList) or not items:
            say(data.line_of("values"), "values must be a non-empty list of {code, label}")
            items = LineList(data.line)
        values: list[CatalogValue] = []
        self.catalog_values(path, name, items, None, values)
        self.catalogs[name] = Catalog(name, label, tuple(values), path, data.line)

    def catalog_values(
        self, path: str, name: str, items: LineList, parent: str | None, values: list[CatalogValue]
    ) -> None:
        """Append the values of `items` and of their children (depth first) to `values`."""
        for item in items:
            code = item.get("code") if isinstance(item, LineMap) else None
            if not isinstance(item, LineMap) or not isinstance(code, str) or not CODE.fullmatch(code):
                hint = "; put it in quotes" if code is not None else ""
                line = getattr(item, "line", items.line)
                self.sayer(path, name)(line, f"a value needs a text code like client{hint}")
                continue
            say = self.sayer(path, f"{name}.{code}")
            for key in (key for key in item if key not in _VALUE_KEYS):
                say(item.line_of(key), f"unknown key '{key}'; expected: {', '.join(_VALUE_KEYS)}")
            if code in {value.code for value in values}:
                say(item.line, f"duplicate code '{code}' in catalog {name} (codes are unique in the whole tree)")
                continue
            values.append(CatalogValue(code, self.label(say, item.line, item.get("label")), parent))
            children = item.get("children")
            if children is not None and (not isinstance(children, LineList) or not children):
                say(item.line_of("children"), "children must be a non-empty list of {code, label}")
            elif children is not None:
                self.catalog_values(path, name, children, code, values)

    def entity_heads(self, paths: list[str]) -> list[tuple[str, str, LineMap]]:
        """(name, path, data) of each entity file with a usable, unique name."""
        heads: list[tuple[str, str, LineMap]] = []
        seen: dict[str, str] = {}
        for path in paths:
            data = self.mapping(path, ("entity", "label", "title_field", "fields"))
            name = data.get("entity") if data is not None else None
            if data is None or not isinstance(name, str) or not _ENTITY_NAME.fullmatch(name):
                self.unreadable.add(stem(path, ".yaml").replace("_", " ").title().replace(" ", ""))
                if data is not None:
                    self.sayer(path, None)(data.line_of("entity"), "entity: <Name> is required (PascalCase)")
                continue
            say, file_stem, line = self.sayer(path, name), stem(path, ".yaml"), data.line_of("entity")
            if file_stem.replace("_", "") != name.lower():
                snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
                say(line, f"entity {name} must be in crm_model/entities/{snake}.yaml, not {file_stem}.yaml")
            if name in seen:
                say(line, f"entity {name} is already defined in {seen[name]}")
                continue
            seen[name] = path
            heads.append((name, path, data))
        return heads

    def load_entity(self, name: str, path: str, data: LineMap, entity_names: set[str]) -> None:
        say = self.sayer(path, name)
        label = self.label(say, data.line_of("label"), data.get("label"))
        specs = data.get("fields")
        fields: dict[str, Field] = {}
        if not isinstance(specs, LineMap) or not specs:
            say(data.line_of("fields"), "fields must be a non-empty mapping of name: {type, label, ...}")
            specs = LineMap(data.line)
        for field_name, spec in specs.items():
            built = self.field(path, name, field_name, spec, specs.line_of(field_name), entity_names)
            if built is not None:
                fields[field_name] = built
        title_field = data.get("title_field")
        if text_or_none(title_field) not in specs:
            say(data.line_of("title_field"), f"title_field {title_field!r} must name a field of {name}")
        self.entities[name] = Entity(name, label, str(title_field), fields, path, data.line)

    def field(self, path: str, entity: str, name: str, spec: Any, line: int, names: set[str]) -> Field | None:
        element = f"{entity}.{name}"
        say_at = self.sayer(path, element)
        if not SNAKE_NAME.fullmatch(name):
            say_at(line, "field names must be snake_case")
        if not isinstance(spec, LineMap):
            say_at(line, "a field must be a mapping like {type: string, label: {...}}")
            return None

        def say(key: str, message: str) -> None:
            say_at(spec.line_of(key), message)

        for key in (key for key in spec if key not in FIELD_OPTIONS):
            say(key, f"unknown option '{key}'; valid options: {', '.join(FIELD_OPTIONS)}")
        kind = spec.get("type")
        if kind not in FIELD_TYPES:
            what = "type is required" if kind is None else f"unknown field type {kind!r}"
            say("type", f"{what}; valid types: {', '.join(FIELD_TYPES)}")
            return None
        for option, types in OPTION_TYPES.items():
            if option in spec and kind not in types:
                say(option, f"option '{option}' applies only to {', '.join(types)} fields")
        required = spec.get("required", False)
        if not isinstance(required, bool):
            say("required", "required must be true or false")
        max_length = spec.get("max_length")
        if max_length is not None and (type(max_length) is not int or max_length < 1):
            say("max_length", "max_length must be a positive whole number")
            max_length = None
        low, high = _decimal(spec.get("min")), _decimal(spec.get("max"))
        for option, bound in (("min", low), ("max", high)):
            if option in spec and bound is None:
                say(option, f"{option} must be a number")
        if low is not None and high is not None and low > high:
            say("max", "max must not be less than min")
        catalog, target = text_or_none(spec.get("catalog")), text_or_none(spec.get("entity"))
        if kind in OPTION_TYPES["catalog"] and catalog not in {*self.catalogs, *self.unreadable}:
            what = f"unknown catalog {catalog!r}" if catalog else f"a {kind} field needs catalog: <name>"
            say("catalog", f"{what}; known catalogs: {', '.join(sorted(self.catalogs)) or 'none'}")
        if kind == "reference" and target not in names and target not in self.unreadable:
            what = f"unknown entity {target!r}" if target else "a reference field needs entity: <Name>"
            say("entity", f"{what}; known entities: {', '.join(sorted(names))}")
        leaf_only = spec.get("leaf_only", False)
        if not isinstance(leaf_only, bool):
            say("leaf_only", "leaf_only must be true or false")
        label = self.label(say_at, spec.line_of("label"), spec.get("label"))
        built = Field(name, kind, label, required is True, None, catalog, target, max_length, low, high)
        searchable = spec.get("searchable", False)
        if not isinstance(searchable, bool):
            say("searchable", "searchable must be true or false")
        built = replace(built, file=path, line=line, leaf_only=leaf_only is True, searchable=searchable is True)
        default = plain(spec.get("default"))
        if default is None or (kind in OPTION_TYPES["catalog"] and catalog not in self.catalogs):
            return built
        errors = check_field_values({name: built}, {name: default}, self.catalogs, self.settings)
        if errors:
            say("default", f"default {default!r} is not valid: {'; '.join(errors[name])}")
            return built
        return replace(built, default=normalize_value(built, default))

    def check_paths(self) -> None:
        for path in self.files:
            say, top, directory = self.sayer(path, None), path.split("/")[0], folder(path)
            model_file = directory in _MODEL_FOLDERS and path.endswith(".yaml")
            if top == "crm_model" and not (model_file or path in (SETTINGS_FILE, EVENTS_FILE, IMPORTS_FILE)):
                say(None, f"unexpected file; expected crm_model/{_MODEL_FILES}")
            if top == "forms" and (directory != "forms" or not path.endswith((".json", ".ui.yaml"))):
                say(None, "unexpected file; expected forms/<key>.json or forms/<key>.ui.yaml")
            if top == "templates" and (directory != "templates" or not path.endswith(".txt")):
                say(None, "unexpected file; expected templates/<name>.<locale>.txt")


def load_bundle(files: dict[str, str]) -> Bundle:
    """Check every configuration file and build the Bundle; ConfigError lists every problem found."""
    checker = _BundleChecker(files)
    checker.check_paths()
    if SETTINGS_FILE in files:
        checker.load_settings()
    for path in paths_in(files, "crm_model/catalogs", ".yaml"):
        checker.load_catalog(path)
    heads = checker.entity_heads(paths_in(files, "crm_model/entities", ".yaml"))
    for name, path, data in heads:
        checker.load_entity(name, path, data, {head[0] for head in heads})
    for path in paths_in(files, "forms", ".json"):
        load_form(checker, path)
    for path in paths_in(files, "forms", ".ui.yaml"):
        load_ui(checker, path)
    load_templates(checker, paths_in(files, "templates", ".txt"))
    for path in paths_in(files, "crm_model/pipelines", ".yaml"):
        load_pipeline(checker, path)
    for path in paths_in(files, "crm_model/rules", ".yaml"):
        load_rule(checker, path)
    checker.problems.extend(cycle_problems(checker.rules))
    events = load_events(checker) if EVENTS_FILE in files else {}
    duplicates = load_duplicates(checker)
    imports = load_imports(checker) if IMPORTS_FILE in files else {}
    reports: dict[str, Report] = {}
    for path in paths_in(files, REPORTS_FOLDER, ".yaml"):
        load_report(checker, path, reports)
    boards: dict[str, Board] = {}
    for path in paths_in(files, BOARDS_FOLDER, ".yaml"):
        load_board(checker, path, boards)
    if checker.problems:
        raise ConfigError(sorted(checker.problems, key=lambda p: (p.file, p.line or 0)))
    return replace(checker.bundle(), events=events, imports=imports, reports=reports, duplicates=duplicates,
                   boards=boards)
