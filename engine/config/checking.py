"""State shared by the checks of one bundle: the files, the model built so far and the problems found."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import PurePosixPath
from typing import Any

from engine.config.automation import FinalAction, Pipeline, Rule, Template
from engine.config.model import Bundle, Catalog, Entity, Form, Label, Settings
from engine.config.yaml_lines import LineMap, load_mapping, load_yaml
from engine.errors import ConfigError, Problem
from engine.messages import Joined, Message, sentence

SNAKE_NAME = re.compile(r"[a-z][a-z0-9_]*")
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")

Say = Callable[[int | None, str], None]
Path_ = tuple[Any, ...]  # a path into a loaded YAML document: keys and list indexes
Element = Callable[[Any, list[Any]], str | None]  # names the element a structure problem is about


def broken(bad: set[Path_], *where: Any) -> bool:
    """Whether a schema found a problem at `where` or inside it (`bad`: the paths it found wrong)."""
    return any(path[: len(where)] == where for path in bad)


def stem(path: str, suffix: str) -> str:
    """The file name of `path` without `suffix`."""
    return PurePosixPath(path).name.removesuffix(suffix)


def folder(path: str) -> str:
    """The folder of `path` as a POSIX path."""
    return PurePosixPath(path).parent.as_posix()


def text_or_none(value: Any) -> str | None:
    """`value` when it is text, else None."""
    return value if isinstance(value, str) else None


def names_or_none(names: Iterable[str]) -> str:
    """`names` joined by commas, or "none" (in the reader's language) when there are none."""
    return ", ".join(names) or Message("config.none")


def either(names: Iterable[str]) -> str:
    """`names` joined by " or " (in the reader's language): the types a field may have."""
    return Joined(Message("config.or"), names)


def value_problems(messages: Iterable[str], separator: str) -> str:
    """What the record schema or the filter model said of a value (English), joined by `separator`, each shown in
    the reader's language where the catalog's `value.*` templates say it."""
    return Joined(separator, [sentence(message, "value") for message in messages])


def paths_in(files: dict[str, str], directory: str, suffix: str) -> list[str]:
    """Sorted paths of the files directly in `directory` whose names end with `suffix`."""
    return sorted(path for path in files if folder(path) == directory and path.endswith(suffix))


class Checker:
    """Collects every problem of a bundle while its model is built, part by part."""

    def __init__(self, files: dict[str, str]) -> None:
        self.files = files
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []  # what still loads but should be rewritten (deprecated syntax)
        self.settings = Settings()
        self.catalogs: dict[str, Catalog] = {}
        self.entities: dict[str, Entity] = {}
        self.forms: dict[str, Form] = {}
        self.templates: dict[str, Template] = {}
        self.pipelines: dict[str, Pipeline] = {}
        self.rules: dict[str, Rule] = {}
        self.final_actions: dict[str, tuple[str, FinalAction]] = {}  # shared ones: code -> (entity, action)
        self.unreadable: set[str] = set()  # names of broken files, not reported again where referenced

    def sayer(self, file: str, element: str | None) -> Say:
        """A reporter of problems about one element of one file."""
        return lambda line, message: self.problems.append(Problem(file, line, element, message))

    def mapping(self, path: str, expected: tuple[str, ...]) -> LineMap | None:
        """The top-level mapping of a YAML file, reporting syntax errors and unknown keys."""
        data, problems = load_mapping(self.files[path], path, expected)
        self.problems.extend(problems)
        return data

    def document(self, path: str, element: Element) -> tuple[LineMap | None, set[Path_]]:
        """A file's top-level mapping with its structure checked against its kind's JSON Schema
        (engine/config/schemas.py): each problem is reported at its line, named by `element(path)`. The paths found
        bad come back too, so the checks of meaning that follow skip what was already reported."""
        from engine.config.schemas import kind_of, schema_of, structure_problems  # late: schemas imports loaders

        kind = kind_of(path)
        if kind is None:
            raise ValueError(f"no schema describes {path}")
        try:
            data = load_yaml(self.files[path], path)
        except ConfigError as error:
            self.problems.extend(error.problems)
            return None, set()
        if not isinstance(data, LineMap):
            keys = ", ".join(schema_of(kind)["properties"])
            self.problems.append(Problem(path, 1, None, Message("config.expected_mapping", keys=keys)))
            return None, set()
        bad: set[Path_] = set()
        known = schema_of(kind)["properties"]
        for line, where, message in structure_problems(kind, data):
            unknown_key = len(where) == 1 and where[0] not in known  # named by itself, as load_mapping did
            self.problems.append(Problem(path, line, str(where[0]) if unknown_key else element(data, where), message))
            bad.add(tuple(where))
        return data, bad

    def label(self, say: Say, line: int | None, value: Any) -> Label:
        """A {locale: text} label; every configured locale is required."""
        if not isinstance(value, dict):
            say(line, Message("config.label_mapping", example=": ..., ".join(self.settings.locales)))
            return {}
        missing = [locale for locale in self.settings.locales if not value.get(locale)]
        if missing:
            say(line, Message("config.label_missing", locales=", ".join(missing)))
        if any(not isinstance(text, str) for text in value.values()):
            say(line, Message("config.label_not_text"))
        return {str(locale): str(text) for locale, text in value.items()}

    def bundle(self) -> Bundle:
        """The model built so far (files included once every check has run)."""
        return Bundle(
            dict(sorted(self.files.items())),
            self.entities,
            self.catalogs,
            self.forms,
            self.settings,
            self.rules,
            self.pipelines,
            self.templates,
        )
