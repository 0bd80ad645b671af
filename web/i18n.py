"""UI language: message catalogs (web/translations/*.yaml), the request's locale, `_()` in templates."""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import yaml
from flask import Flask, g, request, session

from engine.config.model import Label, label_text
from engine.errors import Problem
from engine.messages import Joined, Message, Templated, localized, render, stored_text
from engine.messages.reading import RUNTIME, read_back, understood

LOCALES = ("en", "ru")
DEFAULT_LOCALE = "en"
TRANSLATIONS = Path(__file__).parent / "translations"
ENGINE_MESSAGES = "engine_messages"  # English engine messages → this language; {x}, {y}, {z} mark variable parts
AUDIT_SOURCES = "audit_sources"  # where a change came from ("rule {x}") → this language, `{x}` as above
PATTERN_SECTIONS = (ENGINE_MESSAGES, AUDIT_SOURCES)
_SLOTS = ("x", "y", "z")
SHOWN_AREAS = (*RUNTIME, "value.", "config.time_zone")  # coded English the web reads back (field values, runs)


def _flatten(data: dict[str, Any], prefix: str = "") -> dict[str, str]:
    flat: dict[str, str] = {}
    for key, value in data.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        else:
            flat[name] = str(value)
    return flat


@cache
def _sources(locale: str) -> list[tuple[Path, dict[str, Any]]]:
    """The locale's main catalog `<locale>.yaml`, then one file per feature area under `<locale>/`."""
    paths = [TRANSLATIONS / f"{locale}.yaml", *sorted((TRANSLATIONS / locale).glob("*.yaml"))]
    return [(path, yaml.safe_load(path.read_text(encoding="utf-8")) or {}) for path in paths]


@cache
def catalog(locale: str) -> dict[str, str]:
    """The UI messages of a locale by dotted key; a key defined in two files is an error."""
    merged: dict[str, str] = {}
    for path, data in _sources(locale):
        flat = _flatten({k: v for k, v in data.items() if k not in PATTERN_SECTIONS})
        twice = sorted(set(flat) & set(merged))
        if twice:
            raise ValueError(f"{path}: message keys defined twice: {', '.join(twice)}")
        merged |= flat
    return merged


@cache
def engine_messages(locale: str, section: str = ENGINE_MESSAGES) -> list[tuple[re.Pattern[str], str]]:
    """Patterns matching the engine's English texts of a section, with their translation templates."""
    messages: dict[str, str] = {}
    for _, data in _sources(locale):
        messages |= data.get(section) or {}
    result = []
    for english, translated in messages.items():
        pattern = re.escape(english)
        for name in _SLOTS:
            pattern = pattern.replace(re.escape(f"{{{name}}}"), f"(?P<{name}>.+?)", 1)
        result.append((re.compile(f"^{pattern}$"), str(translated)))
    return result


def _best_accepted() -> str | None:
    best = request.accept_languages.best_match(LOCALES)
    return best if best in LOCALES else None


def get_locale() -> str:
    """?lang= (remembered in the session), else the user's locale, else Accept-Language, else English. An API
    client's Accept-Language comes before its user's locale: a browser always sends one, a program only on purpose."""
    if "locale" in g:
        return str(g.locale)
    chosen = session.get("lang")
    actor = g.get("actor")
    asked = _best_accepted() if request.path.startswith("/api/") and "Accept-Language" in request.headers else None
    if chosen in LOCALES:
        locale = str(chosen)
    elif asked is not None:
        locale = asked
    elif actor is not None and actor.locale in LOCALES:
        locale = actor.locale
    else:
        locale = _best_accepted() or DEFAULT_LOCALE
    g.locale = locale
    return locale


def t(key: str, **values: Any) -> str:
    """The UI message `key` in the request's locale (English, then the key itself, as fallbacks)."""
    text = catalog(get_locale()).get(key) or catalog(DEFAULT_LOCALE).get(key) or key
    return text.format(**values) if values else text


def _fill(template: str, slots: dict[str, str | None]) -> str:
    return re.sub(r"\{([xyz])\}", lambda slot: slots.get(slot[1]) or "", template)


def engine_message(message: str, locale: str | None = None, section: str = ENGINE_MESSAGES) -> str:
    """An engine message in `locale` (default: the request's): a coded Message from the engine's catalogs, plain
    English a coded message says ("is required", a failing script's) read back into its code, older English by
    the patterns of this catalog, else as it is."""
    said = read_back(message, SHOWN_AREAS) if section == ENGINE_MESSAGES else message
    if isinstance(said, Message | Templated | Joined):
        return localized(said, locale or get_locale())
    for pattern, translated in engine_messages(locale or get_locale(), section):
        found = pattern.match(message)
        if found:
            return _fill(translated, found.groupdict())
    return message


_CYRILLIC = re.compile("[а-яё]", re.IGNORECASE)


def error_message(message: str, locale: str | None = None) -> str:
    """An error as a page, a flash or the API shows it, in `locale` (default: the request's): a coded message or
    English the engine wrote (read back into its code, its technical detail kept), and any other English (a
    library's) behind a lead sentence in the reader's language ("The server said: …")."""
    locale = locale or get_locale()
    shown = engine_message(message, locale)
    if shown != message or locale == DEFAULT_LOCALE or understood(message, SHOWN_AREAS):
        return shown
    if _CYRILLIC.search(message):  # a configuration's own Russian text (a rule's message): nothing to lead
        return message
    return render("runtime.server_said", {"detail": message}, locale)


def problem_message(problem: Mapping[str, Any], locale: str | None = None) -> str:
    """A stored problem (`{reason, code?, params?}`: an import row's) in `locale` (default: the request's)."""
    return stored_text(problem, locale or get_locale()) or engine_message(str(problem["reason"]), locale)


def problem_line(problem: Problem) -> str:
    """A configuration problem as `file:line: [element] message`, the message in the request's language."""
    return f"{problem.place()} {engine_message(problem.message)}"


def label(value: Label | None, fallback: str = "") -> str:
    """A configuration label ({en, ru}) in the request's locale."""
    return label_text(value or {}, get_locale(), fallback)


def lang_url(locale: str) -> str:
    """The current page in another language."""
    args = {k: v for k, v in request.args.items() if k != "lang"}
    args["lang"] = locale
    return f"{request.path}?{urlencode(args)}"


def _remember_lang() -> None:
    chosen = request.args.get("lang")
    if chosen in LOCALES:
        session["lang"] = chosen


def init_app(app: Flask) -> None:
    """Remember ?lang= and give templates `_`, `t`, `locale`, `label`, `lang_url`."""
    app.before_request(_remember_lang)
    app.jinja_env.globals.update(_=t, t=t, get_locale=get_locale, label=label, lang_url=lang_url, LOCALES=LOCALES,
                                 engine_message=engine_message, problem_message=problem_message,
                                 error_message=error_message)
