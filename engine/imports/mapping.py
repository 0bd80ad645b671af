"""Which file column goes to which entity field: guessed from headers (field names, en/ru labels, aliases)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from engine.config.import_loader import ImportSettings
from engine.config.model import Entity
from engine.errors import ValidationError

SKIP = "skip"


def fold(text: str) -> str:
    """A header reduced for comparison: lower case, ё as е, punctuation and underscores as single spaces."""
    lowered = text.casefold().replace("ё", "е").replace("_", " ")
    return " ".join(re.sub(r"[^\w]+", " ", lowered).split())


def header_words(entity: Entity, settings: ImportSettings | None) -> dict[str, str]:
    """Folded header word -> field: the field's name, its labels in every locale, then configured aliases."""
    words: dict[str, str] = {}
    for name, field in entity.fields.items():
        for word in (name, *field.label.values()):
            words.setdefault(fold(word), name)
    for name, aliases in (settings.aliases if settings else {}).items():
        for word in aliases:
            words.setdefault(fold(word), name)
    return words


def guess_mapping(entity: Entity, settings: ImportSettings | None, headers: Sequence[str]) -> dict[str, str]:
    """Header -> field for each column, SKIP where nothing matches; a field is taken by its first column."""
    words = header_words(entity, settings)
    taken: set[str] = set()
    mapping: dict[str, str] = {}
    for header in headers:
        field = words.get(fold(header))
        if field is None or field in taken:
            mapping[header] = SKIP
        else:
            mapping[header] = field
            taken.add(field)
    return mapping


def merge_mapping(entity: Entity, settings: ImportSettings | None, headers: Sequence[str],
                  *layers: Mapping[str, str]) -> dict[str, str]:
    """The guessed mapping overridden by each layer in turn (a saved profile, then explicit choices); checked."""
    chosen = guess_mapping(entity, settings, headers)
    explicit: set[str] = set()
    for layer in layers:
        for header, field in layer.items():
            if header in chosen:
                chosen[header] = field or SKIP
                explicit.add(header)
    for header in [h for h in headers if h not in explicit]:  # a guess yields to a field picked explicitly
        if chosen[header] != SKIP and any(chosen[h] == chosen[header] for h in explicit):
            chosen[header] = SKIP
    check_mapping(entity, chosen)
    return chosen


def check_mapping(entity: Entity, mapping: Mapping[str, str]) -> None:
    """ValidationError when a column names an unknown field or two columns name the same field."""
    errors: dict[str, list[str]] = {}
    seen: dict[str, str] = {}
    for header, field in mapping.items():
        if field == SKIP:
            continue
        if field not in entity.fields:
            errors.setdefault(header, []).append(f"{field!r} is not a field of {entity.name}; "
                                                 f"fields: {', '.join(entity.fields)}")
        elif field in seen:
            errors.setdefault(header, []).append(f"column {seen[field]!r} is already mapped to {field}")
        else:
            seen[field] = header
    if errors:
        raise ValidationError(errors)


def parse_pairs(pairs: Sequence[str], option: str = "map", shape: str = "column=field (or column=skip)",
                empty: str = SKIP) -> dict[str, str]:
    """`column=value` strings (a CLI's --map, --date-format) as a mapping; ValidationError naming the option on a
    pair without '='."""
    result: dict[str, str] = {}
    for pair in pairs:
        column, sep, value = pair.partition("=")
        if not sep or not column.strip():
            raise ValidationError({option: [f"{pair!r} must look like {shape}"]})
        result[column.strip()] = value.strip() or empty
    return result
