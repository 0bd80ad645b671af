"""Engine messages as a code plus parameters: English where the engine speaks (logs, CLI), any catalog's
language where a reader is known (web, API, `--lang`). Catalogs: engine/messages/<locale>.yaml, code → template."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping
from functools import cache
from pathlib import Path
from string import Formatter
from typing import Any

import yaml

LOCALES = ("en", "ru")
ENGLISH = "en"
_HERE = Path(__file__).parent


@cache
def templates(locale: str) -> dict[str, str]:
    """The message templates of a locale by code (`import.not_number` → "{value} is not a number"), from
    `<locale>.yaml` and the area catalogs `<area>.<locale>.yaml` beside it; a code defined twice is a bug."""
    if locale not in LOCALES:
        return {}
    found: dict[str, str] = {}
    for path in [_HERE / f"{locale}.yaml", *sorted(_HERE.glob(f"*.{locale}.yaml"))]:
        if not path.exists():
            continue
        for code, text in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items():
            if str(code) in found:
                raise ValueError(f"{path.name}: message code {code} is defined twice")
            found[str(code)] = str(text)
    return found


def slots(template: str) -> set[str]:
    """The parameter names a template uses."""
    return {name for _, name, _, _ in Formatter().parse(template) if name}


class Message(str):
    """An engine message: its English text as the string (so logs, joins and comparisons keep working), and
    its `code` and `params` so the reader's language can be chosen where it is shown."""

    code: str
    params: dict[str, str]

    def __new__(cls, code: str, /, **params: Any) -> Message:
        """The message `code` with its parameters (as text; a message given as a parameter stays one, to be shown in
        the reader's language too); a code missing from the English catalog is a bug."""
        text_params = {name: value if _translatable(value) else str(value) for name, value in params.items()}
        self = super().__new__(cls, templates(ENGLISH)[code].format(**text_params))
        self.code, self.params = code, text_params
        return self

    def __reduce__(self) -> tuple[Any, ...]:  # pickled across processes (the import worker) as code + params
        return (_rebuild, (self.code, self.params))

    def as_dict(self) -> dict[str, Any]:
        """The code and parameters, for storing next to the English text (a JSON column)."""
        return {"code": self.code, "params": {name: str(value) for name, value in self.params.items()}}


class MessageError(ValueError):
    """A refusal whose reason is a Message: `str(error)` is the English text, `message` reads in any language
    (other text, like a library's reason, is kept as it is)."""

    def __init__(self, message: str | None = None) -> None:
        self.message = message
        super().__init__(*(() if message is None else (message,)))


def coded(text: str) -> dict[str, Any]:
    """`{code, params}` of a Message (to store or send beside its English text); {} for any other text."""
    return text.as_dict() if isinstance(text, Message) else {}


def _rebuild(code: str, params: dict[str, str]) -> Message:
    return Message(code, **params)


def render(code: str, params: Mapping[str, Any], locale: str | None) -> str:
    """The message `code` in `locale` (English when the locale lacks it); parameters that are messages too are
    rendered in `locale` as well."""
    template = templates(locale or ENGLISH).get(code) or templates(ENGLISH)[code]
    return template.format(**{name: localized(value, locale) if _translatable(value) else str(value)
                              for name, value in params.items()})


def fill(template: str, values: Mapping[str, Any]) -> str:
    """`template` with {name} and {name!r} replaced; other braces (like {code, label}) stay as written."""
    for name, value in values.items():
        template = template.replace(f"{{{name}!r}}", repr(value)).replace(f"{{{name}}}", str(value))
    return template


@cache
def template_translations(locale: str) -> dict[str, str]:
    """A locale's translations of the configuration schemas' English message templates (x-message, x-unknown,
    x-required), keyed by the English template as gettext keys by msgid: engine/messages/<locale>_schemas.yaml."""
    path = _HERE / f"{locale}_schemas.yaml"
    if locale == ENGLISH or not path.exists():
        return {}
    return {str(k): str(v) for k, v in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).items()}


class Templated(str):
    """A message whose English template is data (a schema's x-message) rather than a catalog code: the filled
    English text as the string, the template and values to fill a translation of the template with."""

    template: str
    values: dict[str, Any]

    def __new__(cls, template: str, /, **values: Any) -> Templated:
        """The template filled with `values`."""
        self = super().__new__(cls, fill(template, values))
        self.template, self.values = template, dict(values)
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (_templated, (self.template, self.values))


def _templated(template: str, values: dict[str, Any]) -> Templated:
    return Templated(template, **values)


class Joined(str):
    """Messages joined by a separator ("; ", ", ", or a Message such as " or "): their English texts joined as the
    string, each part and the separator shown in the reader's language where they are messages."""

    separator: str
    parts: tuple[str, ...]

    def __new__(cls, separator: str, parts: Iterable[str]) -> Joined:
        """`parts` joined by `separator`."""
        listed = tuple(parts)
        self = super().__new__(cls, separator.join(listed))
        self.separator, self.parts = separator, listed
        return self

    def __reduce__(self) -> tuple[Any, ...]:
        return (Joined, (self.separator, self.parts))


def _translatable(value: Any) -> bool:
    return isinstance(value, Message | Templated | Joined)


@cache
def _sentences(area: str) -> list[tuple[re.Pattern[str], str]]:
    """The English templates of the codes `<area>.*` as patterns of whole sentences, with their codes."""
    found = []
    for code, template in templates(ENGLISH).items():
        if code.startswith(f"{area}."):
            pattern = "".join(re.escape(literal) + (f"(?P<{name}>.+?)" if name else "")
                              for literal, name, _, _ in Formatter().parse(template))
            found.append((re.compile(pattern), code))
    return found


def sentence(text: str, area: str) -> str:
    """English written by a library (PyYAML, Python's parser) or older engine code as a Message of `area` when one
    of the area's templates says it (its English is the same text), else the text as it is."""
    if _translatable(text):
        return text
    for pattern, code in _sentences(area):
        found = pattern.fullmatch(text)
        said = Message(code, **found.groupdict()) if found else None
        if said == text:  # the English stays exactly what was written
            return said
    return text


def localized(text: str, locale: str | None) -> str:
    """`text` in `locale` when it is a Message, a Templated or Joined ones; any other text as it is."""
    if isinstance(text, Message):
        return render(text.code, text.params, locale)
    if isinstance(text, Joined):
        return localized(text.separator, locale).join(localized(part, locale) for part in text.parts)
    if isinstance(text, Templated):
        return fill(template_translations(locale or ENGLISH).get(text.template, text.template), text.values)
    return text


def stored_text(entry: Mapping[str, Any], locale: str | None, key: str = "reason") -> str | None:
    """A stored message (`{reason: English, code, params}`) in `locale`; None when it was stored without a code."""
    code = entry.get("code")
    if not isinstance(code, str) or code not in templates(ENGLISH):
        return None
    return render(code, entry.get("params") or {}, locale)


class LocalizedLog(logging.Filter):
    """A log handler's filter that writes a record whose message is a Message in `locale` (a worker run from the
    command line speaks its user's language; other records pass as they are)."""

    def __init__(self, locale: str) -> None:
        super().__init__()
        self.locale = locale

    def filter(self, record: logging.LogRecord) -> bool:
        """Render a coded record in the locale; never drops a record."""
        if _translatable(record.msg) and not record.args:
            record.msg = localized(record.msg, self.locale)
        return True
