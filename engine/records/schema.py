"""Entity fields as JSON Schema, and validation of record and form data with human-readable messages."""

from __future__ import annotations

import copy
import re
from collections.abc import Hashable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema import ValidationError as SchemaViolation

from engine.config.model import Bundle, Catalog, Entity, Field, Form, Label, Settings
from engine.errors import ValidationError
from engine.input_limits import MAX_ID, MAX_INT, MIN_INT, decimal_problem, json_problems, text_problem
from engine.memo import held_for
from engine.messages import Message, sentence
from engine.quality.normalize import read_phone
from engine.records.plain_checks import Check, form_check, passes

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
_DECIMAL = r"^-?\d+(\.\d+)?$"
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s.]+$"
_URL = r"^https?://[^\s/?#]+\S*$"
_USERNAME = r"^[a-z0-9_.-]{2,80}$"
_DATE = r"^\d{4}-\d{2}-\d{2}$"
_DATETIME = r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})$"
_DATE_MESSAGE = "must be a date YYYY-MM-DD"
_DATETIME_MESSAGE = "must be a date and time with offset, like 2024-05-01T10:00:00+03:00"
_DECIMAL_MESSAGE = "must be a number like 1200.50"
_TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "an object",
    "null": "empty",
}
_TRUE_WORDS = {"on", "true", "1", "yes"}
_FALSE_WORDS = {"off", "false", "0", "no"}


def _json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _label_keyword(label: Label, fallback: str) -> dict[str, Any]:
    """`x-label`, shaped as a YAML `label`: every language, English at least (the name when it has none)."""
    return {"x-label": {"en": fallback, **label}}


def field_schema(field: Field, catalogs: Mapping[str, Catalog]) -> dict[str, Any]:
    """JSON Schema (2020-12) of one field's non-empty value, with its x-label and catalog labels."""
    catalog = catalogs.get(field.catalog) if field.catalog else None
    codes = list(catalog.codes()) if catalog else []
    choice: dict[str, Any] = {"type": "string", "enum": codes}
    if catalog is not None and field.leaf_only:
        codes = list(catalog.leaves())
        message = f"must be a leaf value of {catalog.name}: {', '.join(codes)}"
        choice = {"type": "string", "enum": codes, "x-message": message}
    schema: dict[str, Any]
    match field.type:
        case "email":
            schema = {"type": "string", "format": "email", "pattern": _EMAIL}
            schema["x-message"] = "must be an email address like name@example.com"
        case "url":
            schema = {"type": "string", "format": "uri", "pattern": _URL}
            schema["x-message"] = "must be a web address starting with http:// or https://"
        case "integer":
            schema = {"type": "integer"}
        case "decimal" | "money":
            schema = {"type": ["number", "string"], "pattern": _DECIMAL, "x-message": _DECIMAL_MESSAGE}
        case "date":
            schema = {"type": "string", "format": "date", "pattern": _DATE, "x-message": _DATE_MESSAGE}
        case "datetime":
            schema = {"type": "string", "format": "date-time", "pattern": _DATETIME}
            schema["x-message"] = _DATETIME_MESSAGE
        case "boolean":
            schema = {"type": "boolean"}
        case "enum":
            schema = choice
        case "multi_enum":
            schema = {"type": "array", "items": choice, "uniqueItems": True}
        case "reference":
            schema = {"type": "integer", "minimum": 1, "x-entity": field.entity}
            schema["x-message"] = f"must be the id of a {field.entity} record"
        case "user":  # whether the user exists is checked when the record is written
            schema = {"type": "string", "pattern": _USERNAME, "x-message": "must be a username like j.smith"}
        case _:  # string, text, phone
            schema = {"type": "string"}
    if field.type == "integer":  # within 64 bits whatever the YAML says: both databases must store it
        schema["minimum"] = max(MIN_INT, _json_number(field.min)) if field.min is not None else MIN_INT
        schema["maximum"] = min(MAX_INT, _json_number(field.max)) if field.max is not None else MAX_INT
    if field.type == "reference":
        schema["maximum"] = MAX_ID
    if field.max_length is not None:
        schema["maxLength"] = field.max_length
    schema["x-field-type"] = field.type  # lets a renderer pick a widget (textarea, phone, money)
    if catalog is not None:
        schema["x-enum-labels"] = {value.code: dict(value.label) for value in catalog.values}
    return {**_label_keyword(field.label, field.name), **schema}


def entity_json_schema(entity: Entity, bundle: Bundle) -> dict[str, Any]:
    """JSON Schema (2020-12) of a record of `entity`."""
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        **_label_keyword(entity.label, entity.name),
        "x-entity": entity.name,
        "type": "object",
        "properties": {name: field_schema(f, bundle.catalogs) for name, f in entity.fields.items()},
        "required": [name for name, f in entity.fields.items() if f.required],
        "additionalProperties": False,
    }


def _message(error: SchemaViolation) -> str:
    expected: Any = error.validator_value
    match error.validator:
        case "type":
            names = [expected] if isinstance(expected, str) else list(expected)
            return "must be " + " or ".join(_TYPE_WORDS.get(name, name) for name in names)
        case "enum":
            return "must be one of: " + ", ".join(str(value) for value in expected)
        case "const":
            return f"must be {expected}"
        case "maxLength":
            return f"must be at most {expected} characters"
        case "minLength":
            return "must not be empty" if expected == 1 else f"must be at least {expected} characters"
        case "minimum":
            return f"must be at least {expected}"
        case "maximum":
            return f"must be at most {expected}"
        case "exclusiveMinimum":
            return f"must be greater than {expected}"
        case "exclusiveMaximum":
            return f"must be less than {expected}"
        case "uniqueItems":
            return "must not repeat a value"
        case "minItems":
            return f"must have at least {expected} value" + ("" if expected == 1 else "s")
        case "maxItems":
            return f"must have at most {expected} value" + ("" if expected == 1 else "s")
        case "pattern":
            return f"must match the pattern {expected}"
        case _:  # jsonschema's English: coded when a template says it, else shown after a translated "the server said"
            said = sentence(str(error.message), "jsonschema")
            return said if isinstance(said, Message) else Message("runtime.library_said", detail=said)


def _describe(error: SchemaViolation) -> list[tuple[str, str]]:
    path = [str(part) for part in error.absolute_path]
    key = path[0] if path else ""
    names: Any = error.validator_value
    if error.validator == "required" and isinstance(error.instance, dict):
        missing = [str(name) for name in names if name not in error.instance]
        return [(name, "is required") for name in missing] if not path else [(key, f"needs {missing}")]
    custom = error.schema.get("x-message") if isinstance(error.schema, dict) else None
    return [(key, str(custom) if custom else _message(error))]


def _add(errors: dict[str, list[str]], key: str, messages: list[str]) -> None:
    known = errors.setdefault(key, [])
    known.extend(message for message in messages if message not in known)


# Built once per loaded bundle's objects (engine.memo.held_for keeps each beside its value, so an id is not reused).
_VALIDATORS: dict[Hashable, tuple[tuple[object, ...], Any]] = {}  # _validator
_FORMS: dict[Hashable, tuple[tuple[object, ...], Any]] = {}  # _checked_form
_FAST: dict[Hashable, tuple[tuple[object, ...], Any]] = {}


def _fast_checks(fields: Mapping[str, Field], catalogs: Mapping[str, Catalog]) -> dict[str, Check | None]:
    """The plain-Python check of every field's schema, built once per loaded bundle (engine.records.plain_checks)."""
    checks: dict[str, Check | None] = held_for(
        _FAST, (id(fields), id(catalogs)), (fields, catalogs),
        lambda: {name: passes(field_schema(field, catalogs)) for name, field in fields.items()}, 64)
    return checks


def _valid_phone(value: str, region: str) -> bool:
    return read_phone(value, region)[2]  # one cached parse serves the check, the match keys and the search keys


def _validator(fields: Mapping[str, Field], catalogs: Mapping[str, Catalog],
               names: tuple[str, ...]) -> Draft202012Validator:
    """The validator of these fields' values, built once per set of fields of a loaded bundle (an import checks
    the same fields on every row)."""
    def build() -> Draft202012Validator:
        return Draft202012Validator(
            {"type": "object", "properties": {name: field_schema(fields[name], catalogs) for name in names}})

    validator: Draft202012Validator = held_for(
        _VALIDATORS, (id(fields), id(catalogs), names), (fields, catalogs), build, 256)
    return validator


def _schema_errors(schema: Mapping[str, Any] | Draft202012Validator, instance: Any) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    validator = schema if isinstance(schema, Draft202012Validator) else Draft202012Validator(schema)
    for error in validator.iter_errors(instance):
        for key, message in _describe(error):
            _add(errors, key, [message])
    return errors


def _extra_errors(field: Field, value: Any, settings: Settings) -> list[str]:
    """Checks JSON Schema cannot express; `value` already matches the field's schema."""
    texts = value if isinstance(value, list) else [value]
    bad_text = next((problem for text in texts if isinstance(text, str) and (problem := text_problem(text))), None)
    if bad_text:
        return [bad_text]
    if field.type == "phone":
        return [] if _valid_phone(str(value), settings.default_region) else ["is not a valid phone number"]
    if field.type in ("date", "datetime"):
        parse = date.fromisoformat if field.type == "date" else datetime.fromisoformat
        try:
            parse(value)
        except (TypeError, ValueError):
            return [_DATE_MESSAGE if field.type == "date" else _DATETIME_MESSAGE]
        return []
    if field.type in ("decimal", "money"):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            return [_DECIMAL_MESSAGE]
        if not number.is_finite():
            return [_DECIMAL_MESSAGE]
        too_long = decimal_problem(number)
        if too_long:
            return [too_long]
        if field.min is not None and number < field.min:
            return [f"must be at least {field.min}"]
        if field.max is not None and number > field.max:
            return [f"must be at most {field.max}"]
    return []


def check_field_values(
    fields: Mapping[str, Field],
    values: Mapping[str, Any],
    catalogs: Mapping[str, Catalog],
    settings: Settings,
) -> dict[str, list[str]]:
    """Messages per field for non-empty `values` of known `fields` (empty dict when all are valid)."""
    fast = _fast_checks(fields, catalogs)
    if all(name not in fields or ((check := fast[name]) is not None and check(value))
           for name, value in values.items()):
        errors: dict[str, list[str]] = {}  # every value passes its schema (engine.records.plain_checks)
    else:
        errors = _schema_errors(_validator(fields, catalogs, tuple(name for name in values if name in fields)),
                                dict(values))
    for name, value in values.items():
        if name in fields and name not in errors:
            extra = _extra_errors(fields[name], value, settings)
            if extra:
                errors[name] = extra
    return errors


def _canonical_decimal(value: Any) -> str:
    number = Decimal(str(value)) if isinstance(value, float) else Decimal(value)
    return format(number, "f")


def normalize_value(field: Field, value: Any) -> Any:
    """The stored form of a valid value: decimals as canonical strings, whole numbers as int."""
    if value is None:
        return None
    if field.type in ("decimal", "money"):
        return _canonical_decimal(value)
    if field.type in ("integer", "reference"):
        return int(value)
    if field.type == "multi_enum":
        return list(value)
    return value


def is_empty(value: Any) -> bool:
    """True for None, blank text and an empty list: the field has no value."""
    return value is None or (isinstance(value, str) and not value.strip()) or value == []


_PLANS: dict[Hashable, tuple[tuple[object, ...], Any]] = {}


def _plan(fields: Mapping[str, Field]) -> tuple[tuple[str, Any, bool], ...]:
    """Each field's name, default and whether it is required, in order: read once per loaded bundle, not for
    every field of every record validated (an import validates each of its rows)."""
    plan: tuple[tuple[str, Any, bool], ...] = held_for(
        _PLANS, id(fields), (fields,),
        lambda: tuple((name, field.default, field.required) for name, field in fields.items()), 64)
    return plan


def validate_record(
    entity: Entity, bundle: Bundle, data: Mapping[str, Any], *, partial: bool = False
) -> dict[str, Any]:
    """Checked, normalized data: defaults fill a new record; a partial update turns empties into None."""
    if not isinstance(data, Mapping):
        raise ValidationError({"": ["must be an object"]})
    errors = {str(name): [f"is not a field of {entity.name}"] for name in data if name not in entity.fields}
    values: dict[str, Any] = {}
    for name, default, required in _plan(entity.fields):
        if partial and name not in data:
            continue
        value = data.get(name)
        empty = value is None or (isinstance(value, str) and not value.strip()) or value == []  # is_empty, inline
        if empty and not partial and default is not None:
            value = copy.deepcopy(default)
            empty = is_empty(value)
        if not empty:
            values[name] = value
        elif required:
            errors[name] = ["is required"]
        elif partial:
            values[name] = None
    present = {name: value for name, value in values.items() if value is not None}
    for name, messages in check_field_values(
        entity.fields, present, bundle.catalogs, bundle.settings
    ).items():
        _add(errors, name, messages)
    if errors:
        raise ValidationError(errors)
    return {name: normalize_value(entity.fields[name], value) for name, value in values.items()}


def form_record_fields(form: Form, bundle: Bundle) -> dict[str, Field]:
    """The form's properties that are fields of its entity (not marked x-variable), by name."""
    entity = bundle.entities.get(form.entity) if form.entity else None
    properties = form.schema.get("properties", {})
    if entity is None or not isinstance(properties, dict):
        return {}
    return {
        name: entity.fields[name]
        for name, prop in properties.items()
        if name in entity.fields and not (isinstance(prop, dict) and prop.get("x-variable") is True)
    }


def _fill_catalog(prop: dict[str, Any], catalog: Catalog) -> None:
    codes = list(catalog.codes())
    if prop.get("type") == "array":
        items = prop.setdefault("items", {})
        items.setdefault("type", "string")
        items.setdefault("enum", codes)
    else:
        prop.setdefault("type", "string")
        prop.setdefault("enum", codes)
    prop.setdefault("x-enum-labels", {value.code: dict(value.label) for value in catalog.values})


def resolve_form_schema(form: Form, bundle: Bundle) -> dict[str, Any]:
    """The form's schema with record fields completed from the entity and x-catalog expanded."""
    schema = copy.deepcopy(form.schema)
    schema.setdefault("$schema", JSON_SCHEMA_DIALECT)
    fields = form_record_fields(form, bundle)
    for name, prop in schema.get("properties", {}).items():
        if not isinstance(prop, dict):
            continue
        catalog = bundle.catalogs.get(str(prop.get("x-catalog")))
        if catalog is not None:
            _fill_catalog(prop, catalog)
        field = fields.get(name)
        if field is None:
            continue
        completed = field_schema(field, bundle.catalogs)
        if {"x-label", "title", "x-title"} & prop.keys():  # the form's own label wins over the field's
            completed.pop("x-label")
        for key, value in completed.items():
            prop.setdefault(key, value)
    return schema


def _types_of(prop: Mapping[str, Any]) -> list[str]:
    declared = prop.get("type", [])
    return [declared] if isinstance(declared, str) else list(declared)


def _coerce(raw: Any, prop: Mapping[str, Any]) -> Any:
    """Turn what an HTML form posts (strings, lists of strings) into JSON values."""
    types = _types_of(prop)
    if isinstance(raw, list) and "array" not in types:
        raw = raw[0] if len(raw) == 1 else (raw or None)
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if "array" in types:
        return [raw] if text else []
    if not text:
        return None
    if "boolean" in types and text.lower() in _TRUE_WORDS | _FALSE_WORDS:
        return text.lower() in _TRUE_WORDS
    if "integer" in types and re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    if "number" in types:
        candidate = re.sub(r"[\s\u00a0]", "", text).replace(",", ".")
        if re.fullmatch(_DECIMAL, candidate):
            if "string" in types:
                return candidate
            number = Decimal(candidate)
            return _json_number(number)
    return raw


def value_from_text(field: Field, catalogs: Mapping[str, Catalog], text: str) -> Any:
    """The JSON value a literal text means for `field`, as a form posting it would (`100` for an integer field,
    `true` for a boolean); validate_record checks it."""
    return _coerce(text, field_schema(field, catalogs))


def _checked_form(form: Form, bundle: Bundle) -> tuple[dict[str, Any], Draft202012Validator, Check | None]:
    """The resolved schema of a form of a loaded bundle, its validator and its plain check (engine.records.
    plain_checks: None when the schema needs the validator), built once per form (not per submission: the deep
    copy and the validator cost more than checking the values). Only the bundle's own forms are kept: a form with
    run-time choices (a pipeline's next stages) is made for one record, and checked by the validator alone."""
    if bundle.forms.get(form.key) is not form:
        schema = resolve_form_schema(form, bundle)
        return schema, Draft202012Validator(schema), None

    def build() -> tuple[dict[str, Any], Draft202012Validator, Check | None]:
        schema = resolve_form_schema(form, bundle)
        return schema, Draft202012Validator(schema), form_check(schema)

    checked: tuple[dict[str, Any], Draft202012Validator, Check | None] = held_for(
        _FORMS, (id(form), id(bundle)), (form, bundle), build, 256)
    return checked


def validate_form(form: Form, bundle: Bundle, data: Mapping[str, Any]) -> dict[str, Any]:
    """Checked, normalized form data (record fields and process variables) or ValidationError."""
    if not isinstance(data, Mapping):
        raise ValidationError({"": ["must be an object"]})
    schema, validator, plain = _checked_form(form, bundle)
    properties: dict[str, Any] = schema.get("properties", {})
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    for name, raw in data.items():
        prop = properties.get(name)
        if not isinstance(prop, dict):
            errors[str(name)] = ["is not a field of this form"]
            continue
        value = _coerce(raw, prop)
        if not is_empty(value):
            values[name] = value
    if plain is None or not plain(values):  # values a plain check admits, the validator admits too
        for key, messages in _schema_errors(validator, values).items():
            _add(errors, key, messages)
    fields = form_record_fields(form, bundle)
    for name, value in values.items():
        if name in fields and name not in errors:
            _add(errors, name, _extra_errors(fields[name], value, bundle.settings))
        elif name not in fields:  # a process variable: stored in the instance's JSON, so stored alike
            for path, message in json_problems(value, str(name)):
                _add(errors, path, [message])
    errors = {key: messages for key, messages in errors.items() if messages}
    if errors:
        raise ValidationError(errors)
    return {name: normalize_value(fields[name], v) if name in fields else v for name, v in values.items()}


def split_form_data(
    form: Form, bundle: Bundle, data: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split validated form data into (record field values, process variables)."""
    fields = form_record_fields(form, bundle)
    record = {name: value for name, value in data.items() if name in fields}
    variables = {name: value for name, value in data.items() if name not in fields}
    return record, variables
