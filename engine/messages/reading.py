"""Reading English the engine wrote earlier (an incident's error, an exception's text) back into coded messages,
so a page shows it in its reader's language: the runtime catalog's sentences, nested, with the technical detail
(exception text, element id, line) kept as it is."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from string import Formatter

from engine.messages import Joined, Message, Templated, templates

RUNTIME = ("runtime.",)  # codes whose English a failing step writes
NESTED = ("detail", "problem", "where")  # parameters that are sentences themselves
PLACES = ("where",)  # nested parameters that must read back (a generic `{where}: {detail}` fits any text else)
_SLOT = {  # what a parameter can be, so a sentence splits where its English does
    "error": r"[A-Z][\w.]*(?:Error|Exception|Exit|Interrupt|Warning)",
    "line": r"\d+",
    "number": r"\d+",
    "count": r"\d+",
    "seconds": r"[\d.]+",
    "element": r"[A-Za-z_][\w.-]*",
    "kind": r"[a-z]+(?: [a-z]+)*",
}
_AT_ELEMENT = re.compile(r"(?P<element>[A-Za-z_][\w.-]*): (?P<detail>.+)", re.DOTALL)  # a decision task's prefix
_ERROR_NAME = re.compile(_SLOT["error"])


@cache
def _patterns(areas: tuple[str, ...]) -> list[tuple[re.Pattern[str], str, int, str, str, tuple[str, ...]]]:
    """Each reading code's English template as a whole-text pattern, its code and how much literal text it has
    (the more, the surer a match: `{error}: {detail}` fits many texts, `refused at line {line}: …` few)."""
    found = []
    for code, template in templates("en").items():
        if code.startswith(areas) and not code.startswith("runtime.kind_"):
            parts = list(Formatter().parse(template))
            pattern = "".join(
                re.escape(literal) + (f"(?P<{name}>{_SLOT.get(name, '.+?')})" if name else "")
                for literal, name, _, _ in parts
            )
            weight = sum(len(literal) for literal, *_ in parts)
            if weight:  # a template that is its parameter alone (a library's text as it is) reads nothing back
                literals = tuple(literal for literal, *_ in parts if literal)
                head = parts[0][0]  # "" when the template starts with a parameter
                tail = parts[-1][0] if parts[-1][1] is None else ""
                found.append((re.compile(pattern, re.DOTALL), code, weight, head, tail, literals))
    return found


def _kind(words: str) -> Message | None:
    code = "runtime.kind_" + words.replace(" ", "_")
    return Message(code) if code in templates("en") else None


def read_back(text: str, areas: tuple[str, ...] = RUNTIME) -> str:
    """`text` as the coded message of `areas` (code prefixes) whose English it is (parameters that are sentences
    read back too), else as it is; the result's English is `text` exactly."""
    return _reading(text, areas)[1]


def _reading(text: str, areas: tuple[str, ...]) -> tuple[int, str]:
    """The surest reading of `text` and how sure it is (literal text matched, nested readings included)."""
    if isinstance(text, Message | Templated | Joined):
        return len(text), text
    weight, said = _plain_reading(str(text), areas)
    return (weight, said) if weight else (0, text)


@lru_cache(maxsize=4096)  # a page lists the same errors again and again (one failing script, many incidents)
def _plain_reading(text: str, areas: tuple[str, ...]) -> tuple[int, str]:
    best: tuple[int, str] = (0, text)
    for pattern, code, weight, head, tail, literals in _patterns(areas):
        if not (text.startswith(head) and text.endswith(tail) and all(literal in text for literal in literals)):
            continue  # cheaper than the pattern, which tries every split of its parameters
        found = pattern.fullmatch(text)
        if found is None:
            continue
        params: dict[str, str] = {}
        for name, value in found.groupdict().items():
            kind = _kind(value) if name == "kind" else None
            if name == "kind" and kind is None:
                break  # not an element kind this catalog names: another reading, or none
            inner, params[name] = _reading(value, areas) if name in NESTED else (0, kind or value)
            if name in PLACES and not inner:
                break
            weight += inner
        else:
            said = Message(code, **params)
            if said == text and weight > best[0]:
                best = (weight, said)
    prefixed = _AT_ELEMENT.fullmatch(text)
    if prefixed and not _ERROR_NAME.fullmatch(prefixed["element"]):
        inner, detail = _reading(prefixed["detail"], areas)
        if inner and inner + 2 > best[0]:
            best = (inner + 2, Joined(": ", [prefixed["element"], detail]))
    return best


def understood(text: str, areas: tuple[str, ...] = RUNTIME) -> bool:
    """True when `text` is a coded message (or was read back into one): a page can show it in any language."""
    return isinstance(read_back(text, areas), Message | Templated | Joined)
