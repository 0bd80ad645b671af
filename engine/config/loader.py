"""Read a configuration bundle and check its YAML and form files into a typed Bundle."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal, InvalidOperation
from functools import partial
from pathlib import Path, PurePosixPath
from typing import Any

import phonenumbers
from jsonschema import Draft202012Validator

from engine.config.model import (
    FIELD_OPTIONS,
    FIELD_TYPES,
    OPTION_TYPES,
    Bundle,
    Catalog,
    CatalogValue,
    Entity,
    Field,
    Form,
    Label,
    Settings,
)
from engine.config.yaml_lines import LineList, LineMap, load_mapping, plain
from engine.errors import ConfigError, Problem
from engine.records.schema import check_field_values, field_schema, normalize_value

SETTINGS_FILE = "crm_model/settings.yaml"
_PATTERNS = ("crm_model/**/*.yaml", "forms/*.json", "forms/*.yaml", "processes/*.bpmn", "processes/*.dmn")
_UI_WIDGETS = ("text", "textarea", "select", "radio", "checkboxes", "date", "hidden")
_ENTITY_NAME = re.compile(r"[A-Z][A-Za-z0-9]*")
_SNAKE_NAME = re.compile(r"[a-z][a-z0-9_]*")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
_VARIABLE_HINT = 'mark it "x-variable": true if it is a process variable'

Say = Callable[[int | None, str], None]
Note = Callable[[str], None]


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


def _stem(path: str, suffix: str) -> str:
    return PurePosixPath(path).name.removesuffix(suffix)


def _folder(path: str) -> str:
    return PurePosixPath(path).parent.as_posix()


def _json_key_line(text: str, key: str) -> int | None:
    match = re.search('"' + re.escape(key) + r'"\s*:', text)
    return text.count("\n", 0, match.start()) + 1 if match else None


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


class _BundleChecker:
    """Collects every problem of a bundle while building its model."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.problems: list[Problem] = []
        self.settings = Settings()
        self.catalogs: dict[str, Catalog] = {}
        self.entities: dict[str, Entity] = {}
        self.forms: dict[str, Form] = {}
        self.unreadable: set[str] = set()  # names of broken files, not reported again where referenced

    def sayer(self, file: str, element: str | None) -> Say:
        """A reporter of problems about one element of one file."""
        return lambda line, message: self.problems.append(Problem(file, line, element, message))

    def mapping(self, path: str, expected: tuple[str, ...]) -> LineMap | None:
        data, problems = load_mapping(self.files[path], path, expected)
        self.problems.extend(problems)
        return data

    def label(self, say: Say, line: int | None, value: Any) -> Label:
        """A {locale: text} label; every configured locale is required."""
        if not isinstance(value, dict):
            say(line, f"label must be a mapping like {{{': ..., '.join(self.settings.locales)}: ...}}")
            return {}
        missing = [locale for locale in self.settings.locales if not value.get(locale)]
        if missing:
            say(line, f"label is missing {', '.join(missing)}")
        if any(not isinstance(text, str) for text in value.values()):
            say(line, "label texts must be text")
        return {str(locale): str(text) for locale, text in value.items()}

    def load_settings(self) -> None:
        data = self.mapping(SETTINGS_FILE, ("default_region", "default_locale", "currency", "locales"))
        if data is None:
            return
        base = Settings()
        locales = data.get("locales", list(base.locales))
        if not isinstance(locales, list) or not locales or not all(isinstance(x, str) and x for x in locales):
            say = self.sayer(SETTINGS_FILE, "locales")
            say(data.line_of("locales"), "locales must be a list like [en, ru]")
            locales = list(base.locales)
        region = data.get("default_region", base.default_region)
        if _text(region) not in phonenumbers.SUPPORTED_REGIONS:
            say = self.sayer(SETTINGS_FILE, "default_region")
            say(data.line_of("default_region"), f"unknown region {region!r}; use a country code such as RU")
        locale = data.get("default_locale", base.default_locale)
        if locale not in locales:
            say = self.sayer(SETTINGS_FILE, "default_locale")
            say(data.line_of("default_locale"), f"{locale!r} is not one of the locales: {', '.join(locales)}")
        currency = data.get("currency", base.currency)
        if not re.fullmatch(r"[A-Z]{3}", _text(currency) or ""):
            say = self.sayer(SETTINGS_FILE, "currency")
            say(data.line_of("currency"), f"currency {currency!r} must be an ISO 4217 code such as RUB")
        self.settings = Settings(str(region), str(locale), str(currency), tuple(locales))

    def load_catalog(self, path: str) -> None:
        data = self.mapping(path, ("catalog", "label", "values"))
        if data is None:
            self.unreadable.add(_stem(path, ".yaml"))
            return
        name, line = data.get("catalog"), data.line_of("catalog")
        if not isinstance(name, str) or not _SNAKE_NAME.fullmatch(name):
            self.sayer(path, None)(line, "catalog: <name> is required, in snake_case")
            return
        say = self.sayer(path, name)
        if name != _stem(path, ".yaml"):
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
        for item in items:
            code = item.get("code") if isinstance(item, LineMap) else None
            if not isinstance(item, LineMap) or not isinstance(code, str) or not _CODE.fullmatch(code):
                hint = "; put it in quotes" if code is not None else ""
                say(getattr(item, "line", items.line), f"a value needs a text code like client{hint}")
                continue
            say_value = self.sayer(path, f"{name}.{code}")
            for key in (key for key in item if key not in ("code", "label")):
                say_value(item.line_of(key), f"unknown key '{key}'; expected: code, label")
            if code in {value.code for value in values}:
                say_value(item.line, f"duplicate code '{code}' in catalog {name}")
                continue
            values.append(CatalogValue(code, self.label(say_value, item.line, item.get("label"))))
        self.catalogs[name] = Catalog(name, label, tuple(values), path, data.line)

    def entity_heads(self, paths: list[str]) -> list[tuple[str, str, LineMap]]:
        """(name, path, data) of each entity file with a usable, unique name."""
        heads: list[tuple[str, str, LineMap]] = []
        seen: dict[str, str] = {}
        for path in paths:
            data = self.mapping(path, ("entity", "label", "title_field", "fields"))
            name = data.get("entity") if data is not None else None
            if data is None or not isinstance(name, str) or not _ENTITY_NAME.fullmatch(name):
                self.unreadable.add(_stem(path, ".yaml").replace("_", " ").title().replace(" ", ""))
                if data is not None:
                    self.sayer(path, None)(data.line_of("entity"), "entity: <Name> is required (PascalCase)")
                continue
            say, stem, line = self.sayer(path, name), _stem(path, ".yaml"), data.line_of("entity")
            if stem.replace("_", "") != name.lower():
                snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()
                say(line, f"entity {name} must be in crm_model/entities/{snake}.yaml, not {stem}.yaml")
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
        if _text(title_field) not in specs:
            say(data.line_of("title_field"), f"title_field {title_field!r} must name a field of {name}")
        self.entities[name] = Entity(name, label, str(title_field), fields, path, data.line)

    def field(self, path: str, entity: str, name: str, spec: Any, line: int, names: set[str]) -> Field | None:
        element = f"{entity}.{name}"
        say_at = self.sayer(path, element)
        if not _SNAKE_NAME.fullmatch(name):
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
        catalog, target = _text(spec.get("catalog")), _text(spec.get("entity"))
        if kind in OPTION_TYPES["catalog"] and catalog not in {*self.catalogs, *self.unreadable}:
            what = f"unknown catalog {catalog!r}" if catalog else f"a {kind} field needs catalog: <name>"
            say("catalog", f"{what}; known catalogs: {', '.join(sorted(self.catalogs)) or 'none'}")
        if kind == "reference" and target not in names and target not in self.unreadable:
            what = f"unknown entity {target!r}" if target else "a reference field needs entity: <Name>"
            say("entity", f"{what}; known entities: {', '.join(sorted(names))}")
        label = self.label(say_at, spec.line_of("label"), spec.get("label"))
        built = Field(name, kind, label, required is True, None, catalog, target, max_length, low, high)
        built = replace(built, file=path, line=line)
        default = plain(spec.get("default"))
        if default is None or (kind in OPTION_TYPES["catalog"] and catalog not in self.catalogs):
            return built
        errors = check_field_values({name: built}, {name: default}, self.catalogs, self.settings)
        if errors:
            say("default", f"default {default!r} is not valid: {'; '.join(errors[name])}")
            return built
        return replace(built, default=normalize_value(built, default))

    def load_form(self, path: str) -> None:
        text = self.files[path]
        try:
            schema = json.loads(text)
        except json.JSONDecodeError as error:
            self.sayer(path, None)(error.lineno, f"invalid JSON: {error.msg}")
            return
        if not isinstance(schema, dict):
            self.sayer(path, None)(1, "a form must be a JSON object (a JSON Schema of type object)")
            return
        for violation in Draft202012Validator(Draft202012Validator.META_SCHEMA).iter_errors(schema):
            where = [str(part) for part in violation.absolute_path]
            prop = where[where.index("properties") + 1] if "properties" in where[:-1] else None
            line = _json_key_line(text, prop or where[-1]) if where else 1
            message = f"not a valid JSON Schema at /{'/'.join(where)}: {violation.message}"
            self.sayer(path, prop)(line, message)
        entity_name = schema.get("x-entity")
        entity = self.entities.get(entity_name) if isinstance(entity_name, str) else None
        if entity_name is not None and entity is None and entity_name not in self.unreadable:
            known = ", ".join(sorted(self.entities)) or "none"
            say = self.sayer(path, "x-entity")
            say(_json_key_line(text, "x-entity"), f"unknown entity {entity_name!r}; known entities: {known}")
        properties = schema.get("properties", {})
        if schema.get("type", "object") != "object" or not isinstance(properties, dict):
            self.sayer(path, None)(1, 'a form must be "type": "object" with "properties"')
            return
        for name, prop in properties.items():
            note = partial(self.sayer(path, name), _json_key_line(text, name))
            self.check_property(note, name, prop, entity, entity_name is not None)
        for part in (schema, schema.get("then"), schema.get("else")):
            required = part.get("required", []) if isinstance(part, dict) else []
            for name in (name for name in required if name not in properties):
                say = self.sayer(path, str(name))
                say(_json_key_line(text, "required"), f"required field '{name}' is not in properties")
        key = _stem(path, ".json")
        self.forms[key] = Form(key, schema, {}, entity.name if entity else None, path)

    def check_property(self, note: Note, name: str, prop: Any, entity: Entity | None, skip: bool) -> None:
        if not isinstance(prop, dict):
            note("a form field must be a JSON object")
            return
        marker = prop.get("x-variable")
        if marker is not None and not isinstance(marker, bool):
            note('"x-variable" must be true or false')
        catalog = prop.get("x-catalog")
        if catalog is not None and _text(catalog) not in self.catalogs:
            note(f"unknown catalog {catalog!r} in x-catalog")
        if marker is True or (skip and entity is None):  # an unknown x-entity is reported once
            return
        if entity is not None and name in entity.fields:
            expected = field_schema(entity.fields[name], self.catalogs)["type"]
            if prop.get("type", expected) != expected:
                note(f"record field '{name}' takes its type from {entity.name}; remove \"type\"")
            return
        owner = f"entity {entity.name}" if entity else "an entity (the form has no x-entity)"
        note(f"form field '{name}' is not a field of {owner}; {_VARIABLE_HINT}")

    def load_ui(self, path: str) -> None:
        key = _stem(path, ".ui.yaml")
        if f"forms/{key}.json" not in self.files:
            self.sayer(path, key)(1, f"UI hints for a missing form: forms/{key}.json does not exist")
            return
        data, form = self.mapping(path, ("order", "fields")), self.forms.get(key)
        if data is None or form is None:
            return
        properties = form.schema.get("properties", {})
        order = data.get("order", [])
        if not isinstance(order, list):
            self.sayer(path, "order")(data.line_of("order"), "order must be a list of form field names")
            order = []
        for name in (name for name in order if name not in properties):
            self.sayer(path, str(name))(data.line_of("order"), f"'{name}' is not a field of the form")
        hints = data.get("fields", LineMap(data.line))
        if not isinstance(hints, LineMap):
            self.sayer(path, "fields")(data.line_of("fields"), "fields must map names to {widget: ...}")
            hints = LineMap(data.line)
        for name, hint in hints.items():
            say = self.sayer(path, name)
            if name not in properties:
                say(hints.line_of(name), f"'{name}' is not a field of the form")
            if not isinstance(hint, dict) or hint.get("widget", "text") not in _UI_WIDGETS:
                say(hints.line_of(name), f"hints must be a mapping; widget one of: {', '.join(_UI_WIDGETS)}")
        self.forms[key] = replace(form, ui=plain(data))

    def check_paths(self) -> None:
        for path in self.files:
            say, top, folder = self.sayer(path, None), path.split("/")[0], _folder(path)
            model_file = folder in ("crm_model/entities", "crm_model/catalogs") and path.endswith(".yaml")
            if top == "crm_model" and not (model_file or path == SETTINGS_FILE):
                say(None, "unexpected file; expected crm_model/{settings,entities/*,catalogs/*}.yaml")
            if top == "forms" and (folder != "forms" or not path.endswith((".json", ".ui.yaml"))):
                say(None, "unexpected file; expected forms/<key>.json or forms/<key>.ui.yaml")


def _paths(files: dict[str, str], folder: str, suffix: str) -> list[str]:
    return sorted(path for path in files if _folder(path) == folder and path.endswith(suffix))


def load_bundle(files: dict[str, str]) -> Bundle:
    """Check every configuration file and build the Bundle; ConfigError lists every problem found."""
    checker = _BundleChecker(files)
    checker.check_paths()
    if SETTINGS_FILE in files:
        checker.load_settings()
    for path in _paths(files, "crm_model/catalogs", ".yaml"):
        checker.load_catalog(path)
    heads = checker.entity_heads(_paths(files, "crm_model/entities", ".yaml"))
    for name, path, data in heads:
        checker.load_entity(name, path, data, {head[0] for head in heads})
    for path in _paths(files, "forms", ".json"):
        checker.load_form(path)
    for path in _paths(files, "forms", ".ui.yaml"):
        checker.load_ui(path)
    if checker.problems:
        raise ConfigError(sorted(checker.problems, key=lambda p: (p.file, p.line or 0)))
    files = dict(sorted(files.items()))
    return Bundle(files, checker.entities, checker.catalogs, checker.forms, checker.settings)
