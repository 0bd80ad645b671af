"""Read a configuration bundle and check its files into a typed Bundle."""

from __future__ import annotations

import re
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from engine.config.automation_loader import (
    SHARED_FINALS_FOLDER,
    load_pipeline,
    load_rule,
    load_shared_final_action,
    load_templates,
)
from engine.config.boards import BOARDS_FOLDER, Board, load_board
from engine.config.checking import (
    CODE,
    Checker,
    Path_,
    folder,
    names_or_none,
    paths_in,
    stem,
    text_or_none,
    value_problems,
)
from engine.config.cycles import cycle_problems
from engine.config.duplicates_loader import DUPLICATES_FOLDER, load_duplicates
from engine.config.events_loader import EVENTS_FILE, load_events
from engine.config.form_loader import load_form, load_ui
from engine.config.import_loader import IMPORTS_FILE, load_imports
from engine.config.model import (
    FIELD_TYPES,
    OPTION_TYPES,
    Bundle,
    Catalog,
    CatalogValue,
    Entity,
    Field,
    Label,
    Settings,
    WorkingHours,
)
from engine.config.process_labels import load_process_labels
from engine.config.report_loader import REPORTS_FOLDER, load_report
from engine.config.timeline_loader import load_timeline
from engine.config.yaml_lines import LineList, LineMap, plain
from engine.errors import ConfigError, Problem
from engine.messages import Message
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
    "processes/labels.yaml",  # the names of processes and their elements in each locale
    "templates/*.txt",
)
_MODEL_FOLDERS = ("crm_model/entities", "crm_model/catalogs", "crm_model/pipelines", "crm_model/rules",
                  REPORTS_FOLDER, DUPLICATES_FOLDER, SHARED_FINALS_FOLDER, BOARDS_FOLDER)
_MODEL_FILES = ("{settings,events,entities/*,catalogs/*,pipelines/*,final_actions/*,rules/*,reports/*,duplicates/*,"
                "boards/*}.yaml")
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


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
                problems.append(Problem(relative, None, None, Message("upload.not_utf8", at=error.start)))
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




def _catalog_element(data: Any, where: list[Any]) -> str | None:
    """The element a catalog problem names: None for the name; the catalog for a value without a usable code and
    for the catalog's own keys; catalog.code for anything else inside a value."""
    name = data.get("catalog") if isinstance(data, dict) else None
    if not where or where[0] == "catalog" or not isinstance(name, str):
        return None
    if isinstance(where[-1], int) or (len(where) > 1 and where[-1] == "code" and isinstance(where[-2], int)):
        return name
    element, node = name, data
    for step in where:
        node = node.get(step) if isinstance(node, dict) else node[step] if isinstance(node, list) else None
        code = node.get("code") if isinstance(node, dict) and isinstance(step, int) else None
        if isinstance(code, str) and CODE.fullmatch(code):
            element = f"{name}.{code}"
    return element


def _entity_element(data: Any, where: list[Any]) -> str | None:
    """The element an entity problem names: None for the name, Entity.field for a field, Entity.timeline(.log) in
    the timeline section, else the entity."""
    name = data.get("entity") if isinstance(data, dict) else None
    if not where or where[0] == "entity" or not isinstance(name, str):
        return None
    if where[0] == "timeline":
        return f"{name}.timeline.log" if len(where) > 1 and where[1] == "log" else f"{name}.timeline"
    return f"{name}.{where[1]}" if where[0] == "fields" and len(where) > 1 else name


class _BundleChecker(Checker):
    """Checks settings, catalogs, entities and file paths; other modules check the rest."""

    def load_settings(self) -> None:
        data, bad = self.document(SETTINGS_FILE, lambda _, where: str(where[0]) if where else None)
        if data is None:
            return
        base = Settings()

        def good(key: str, default: Any) -> Any:
            return default if any(where[:1] == (key,) for where in bad) else data.get(key, default)

        locales = good("locales", list(base.locales))
        region = data.get("default_region", base.default_region)
        if text_or_none(region) not in phonenumbers.SUPPORTED_REGIONS:
            say = self.sayer(SETTINGS_FILE, "default_region")
            say(data.line_of("default_region"), Message("config.unknown_region", region=repr(region)))
        locale = data.get("default_locale", base.default_locale)
        if locale not in locales:
            say = self.sayer(SETTINGS_FILE, "default_locale")
            say(data.line_of("default_locale"), Message("config.locale_not_listed", locale=repr(locale),
                                                                  locales=", ".join(locales)))
        hours = self.working_hours(None if any(where[:1] == ("working_hours",) for where in bad)
                                   else data.get("working_hours"))
        teams, team_labels = self.teams(good("teams", []), tuple(locales))
        self.settings = Settings(str(region), str(locale), str(data.get("currency", base.currency)), tuple(locales),
                                 str(good("link_catalog", base.link_catalog)), teams,
                                 hours, self.time_zone(data, hours), team_labels)

    def teams(self, items: list[Any], locales: tuple[str, ...]) -> tuple[tuple[str, ...], dict[str, Label]]:
        """The team names, and the labels of teams written as {name, label} (each configured locale required)."""
        names: list[str] = []
        labels: dict[str, Label] = {}
        say = self.sayer(SETTINGS_FILE, "teams")
        for item in items:
            if not isinstance(item, dict):
                names.append(str(item))
                continue
            name = str(item["name"])
            names.append(name)
            if "label" in item:
                missing = [locale for locale in locales if not item["label"].get(locale)]
                if missing:
                    say(item.line_of("label") if isinstance(item, LineMap) else None,
                        Message("config.label_missing", locales=", ".join(missing)))
                labels[name] = {str(locale): str(text) for locale, text in item["label"].items()}
        return tuple(names), labels

    def time_zone(self, data: LineMap, hours: WorkingHours | None) -> str:
        """The zone people see dates in: `timezone`, else the business calendar's, else UTC."""
        zone = data.get("timezone", hours.timezone if hours else "UTC")
        try:
            ZoneInfo(str(zone))
        except (ValueError, ZoneInfoNotFoundError):
            say = self.sayer(SETTINGS_FILE, "timezone")
            say(data.line_of("timezone"), Message("config.time_zone", zone=repr(zone)))
            return "UTC"
        return str(zone)

    def working_hours(self, value: LineMap | None) -> WorkingHours | None:
        """The business calendar, or None (24/7) when the settings name none; its structure is checked already."""
        if value is None:
            return None
        say = self.sayer(SETTINGS_FILE, "working_hours")
        count = len(self.problems)
        zone = value.get("timezone", "UTC")
        try:
            ZoneInfo(str(zone))
        except (ValueError, ZoneInfoNotFoundError):
            say(value.line_of("timezone"), Message("config.time_zone", zone=repr(zone)))
        days = value.get("days", list(_DAYS[:5]))
        minutes = []
        for key, default in (("start", "09:00"), ("end", "18:00")):
            raw = value.get(key, default)  # YAML 1.1 reads an unquoted 18:00 as the sexagesimal 1080
            text = f"{raw // 60:02d}:{raw % 60:02d}" if isinstance(raw, int) and not isinstance(raw, bool) else str(raw)
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", text)
            if match is None:
                say(value.line_of(key), Message("config.time_of_day", key=key, value=repr(text)))
            minutes.append(int(match[1]) * 60 + int(match[2]) if match else 0)
        if len(self.problems) == count and minutes[0] >= minutes[1]:
            say(value.line_of("end"), Message("config.end_after_start"))
        if len(self.problems) > count:
            return None
        return WorkingHours(str(zone), tuple(_DAYS.index(d) for d in days), minutes[0], minutes[1])

    def load_catalog(self, path: str) -> None:
        data, bad = self.document(path, _catalog_element)
        name = data.get("catalog") if data is not None else None
        if data is None or ("catalog",) in bad or not isinstance(name, str):
            self.unreadable.add(stem(path, ".yaml"))
            return
        say, line = self.sayer(path, name), data.line_of("catalog")
        if name != stem(path, ".yaml"):
            say(line, Message("config.catalog_file", name=name))
        if name in self.catalogs:
            say(line, Message("config.catalog_twice", name=name, file=self.catalogs[name].file))
            return
        label = self.label(say, data.line_of("label"), data.get("label"))
        values: list[CatalogValue] = []
        items = data.get("values")
        self.catalog_values(path, name, items if isinstance(items, LineList) else LineList(data.line), None, values)
        self.catalogs[name] = Catalog(name, label, tuple(values), path, data.line)

    def catalog_values(
        self, path: str, name: str, items: LineList, parent: str | None, values: list[CatalogValue]
    ) -> None:
        """Append the values of `items` and of their children (depth first) to `values`; values without a usable
        code were reported by the schema and are left out."""
        for item in items:
            code = item.get("code") if isinstance(item, LineMap) else None
            if not isinstance(code, str) or not CODE.fullmatch(code):
                continue
            say = self.sayer(path, f"{name}.{code}")
            if code in {value.code for value in values}:
                say(item.line, Message("config.duplicate_code", code=code, name=name))
                continue
            values.append(CatalogValue(code, self.label(say, item.line, item.get("label")), parent))
            children = item.get("children")
            if isinstance(children, LineList):
                self.catalog_values(path, name, children, code, values)

    def entity_heads(self, paths: list[str]) -> list[tuple[str, str, LineMap, set[Path_]]]:
        """(name, path, data, bad paths) of each entity file with a usable, unique name."""
        heads: list[tuple[str, str, LineMap, set[Path_]]] = []
        seen: dict[str, str] = {}
        for path in paths:
            data, bad = self.document(path, _entity_element)
            name = data.get("entity") if data is not None else None
            if data is None or ("entity",) in bad or not isinstance(name, str):
                self.unreadable.add(stem(path, ".yaml").replace("_", " ").title().replace(" ", ""))
                continue
            say, file_stem, line = self.sayer(path, name), stem(path, ".yaml"), data.line_of("entity")
            if file_stem.replace("_", "") != name.lower():
                snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
                say(line, Message("config.entity_file", name=name, snake=snake, stem=file_stem))
            if name in seen:
                say(line, Message("config.entity_twice", name=name, file=seen[name]))
                continue
            seen[name] = path
            heads.append((name, path, data, bad))
        return heads

    def load_entity(self, name: str, path: str, data: LineMap, bad: set[Path_], entity_names: set[str]) -> None:
        say = self.sayer(path, name)
        label = self.label(say, data.line_of("label"), data.get("label"))
        specs = data.get("fields")
        fields: dict[str, Field] = {}
        if not isinstance(specs, LineMap):
            specs = LineMap(data.line)
        for field_name, spec in specs.items():
            built = self.field(path, name, field_name, spec, specs.line_of(field_name), entity_names,
                               {where[2:] for where in bad if where[:2] == ("fields", field_name)})
            if built is not None:
                fields[field_name] = built
        title_field = data.get("title_field")
        if text_or_none(title_field) not in specs:
            say(data.line_of("title_field"), Message("config.title_field", value=repr(title_field), entity=name))
        timeline = load_timeline(self, path, name, data.get("timeline"), fields,
                                 {where[1:] for where in bad if where[:1] == ("timeline",)})
        self.entities[name] = Entity(name, label, str(title_field), fields, path, data.line, timeline)

    def field(self, path: str, entity: str, name: str, spec: Any, line: int, names: set[str],
              bad: set[Path_]) -> Field | None:
        """One field; its structure (options, type, flags) was checked by the schema, whose bad paths are `bad`."""
        say_at = self.sayer(path, f"{entity}.{name}")
        kind = spec.get("type") if isinstance(spec, LineMap) else None
        if not isinstance(spec, LineMap) or kind not in FIELD_TYPES:
            return None

        def say(key: str, message: str) -> None:
            say_at(spec.line_of(key), message)

        def flag(key: str) -> bool:
            return spec.get(key) is True and (key,) not in bad

        for option, types in OPTION_TYPES.items():
            if option in spec and kind not in types:
                say(option, Message("config.option_not_for_type", option=option, types=", ".join(types)))
        max_length = None if ("max_length",) in bad else spec.get("max_length")
        low, high = _decimal(spec.get("min")), _decimal(spec.get("max"))
        for option, bound in (("min", low), ("max", high)):
            if option in spec and bound is None:
                say(option, Message("config.option_not_number", option=option))
        if low is not None and high is not None and low > high:
            say("max", Message("config.max_below_min"))
        catalog, target = text_or_none(spec.get("catalog")), text_or_none(spec.get("entity"))
        if kind in OPTION_TYPES["catalog"] and catalog not in {*self.catalogs, *self.unreadable}:
            known = names_or_none(sorted(self.catalogs))
            say("catalog", Message("config.unknown_catalog", catalog=repr(catalog), known=known) if catalog else
                Message("config.catalog_needed", kind=kind, known=known))
        if kind == "reference" and target not in names and target not in self.unreadable:
            known = ", ".join(sorted(names))
            say("entity", Message("config.unknown_entity", entity=repr(target), known=known) if target else
                Message("config.entity_needed", known=known))
        label = self.label(say_at, spec.line_of("label"), spec.get("label"))
        built = Field(name, kind, label, flag("required"), None, catalog, target, max_length, low, high)
        built = replace(built, file=path, line=line, leaf_only=flag("leaf_only"), searchable=flag("searchable"))
        default = plain(spec.get("default"))
        if default is None or (kind in OPTION_TYPES["catalog"] and catalog not in self.catalogs):
            return built
        errors = check_field_values({name: built}, {name: default}, self.catalogs, self.settings)
        if errors:
            problems = value_problems(errors[name], "; ")
            say("default", Message("config.default_invalid", value=repr(default), problems=problems))
            return built
        return replace(built, default=normalize_value(built, default))

    def check_paths(self) -> None:
        for path in self.files:
            say, top, directory = self.sayer(path, None), path.split("/")[0], folder(path)
            model_file = directory in _MODEL_FOLDERS and path.endswith(".yaml")
            if top == "crm_model" and not (model_file or path in (SETTINGS_FILE, EVENTS_FILE, IMPORTS_FILE)):
                say(None, Message("config.unexpected_model_file", files=_MODEL_FILES))
            if top == "forms" and (directory != "forms" or not path.endswith((".json", ".ui.yaml"))):
                say(None, Message("config.unexpected_form_file"))
            if top == "templates" and (directory != "templates" or not path.endswith(".txt")):
                say(None, Message("config.unexpected_template_file"))


def load_bundle(files: dict[str, str], warnings: list[Problem] | None = None) -> Bundle:
    """Check every configuration file and build the Bundle; ConfigError lists every problem found. What loads but
    is deprecated is appended to `warnings`, each at its file and line."""
    checker = _BundleChecker(files)
    checker.check_paths()
    if SETTINGS_FILE in files:
        checker.load_settings()
    for path in paths_in(files, "crm_model/catalogs", ".yaml"):
        checker.load_catalog(path)
    heads = checker.entity_heads(paths_in(files, "crm_model/entities", ".yaml"))
    for name, path, data, bad in heads:
        checker.load_entity(name, path, data, bad, {head[0] for head in heads})
    for path in paths_in(files, "forms", ".json"):
        load_form(checker, path)
    for path in paths_in(files, "forms", ".ui.yaml"):
        load_ui(checker, path)
    load_templates(checker, paths_in(files, "templates", ".txt"))
    for path in paths_in(files, SHARED_FINALS_FOLDER, ".yaml"):
        load_shared_final_action(checker, path)
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
    process_labels, label_problems = load_process_labels(files, checker.settings.locales)
    checker.problems.extend(label_problems)
    boards: dict[str, Board] = {}
    for path in paths_in(files, BOARDS_FOLDER, ".yaml"):
        load_board(checker, path, boards)
    if warnings is not None:
        warnings.extend(sorted(checker.warnings, key=lambda p: (p.file, p.line or 0)))
    if checker.problems:
        raise ConfigError(sorted(checker.problems, key=lambda p: (p.file, p.line or 0)))
    return replace(checker.bundle(), events=events, imports=imports, reports=reports, duplicates=duplicates,
                   process_labels=process_labels, boards=boards)
