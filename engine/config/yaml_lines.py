"""Safe YAML loading that remembers the 1-based source line of every mapping, key and list."""

from __future__ import annotations

import re
from typing import Any

import yaml
from yaml._yaml import CParser
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from engine.errors import ConfigError, Problem
from engine.input_limits import MAX_YAML_CHARS, MAX_YAML_DEPTH, MAX_YAML_NODES
from engine.messages import Joined, Message, sentence

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_BOOL_TAG = "tag:yaml.org,2002:bool"
# what PyYAML's reader refuses (it raises before any line is known): everything but tab, line breaks, printable
_NOT_PRINTABLE = re.compile("[^\x09\x0a\x0d\x20-\x7e\x85\xa0-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


class LineMap(dict[str, Any]):
    """A YAML mapping with the line it starts on and the line of each key."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.key_lines: dict[str, int] = {}

    def line_of(self, key: str) -> int:
        """Line of `key` if present, else the line of the mapping itself."""
        return self.key_lines.get(key, self.line)


class LineList(list[Any]):
    """A YAML sequence with the line it starts on and the line of each item."""

    def __init__(self, line: int) -> None:
        super().__init__()
        self.line = line
        self.item_lines: list[int] = []

    def line_at(self, index: int) -> int:
        """Line of the item at `index` if known, else the line of the sequence itself."""
        return self.item_lines[index] if 0 <= index < len(self.item_lines) else self.line


class _TooLarge(yaml.MarkedYAMLError):
    """A file nested too deeply or expanding through aliases past the limits."""


class _Lines:
    """What both loaders add to PyYAML's: LineMap/LineList nodes (the constructors below), duplicate keys collected
    as problems, and documents refused when nested deeper than MAX_YAML_DEPTH (the composer recurses) or larger
    than MAX_YAML_NODES once aliases are expanded."""

    file: str
    problems: list[Problem]
    depth: int

    def _start(self, file: str) -> None:
        self.file = file
        self.problems = []
        self.depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self.depth += 1
        try:
            if self.depth > MAX_YAML_DEPTH:
                raise _TooLarge(problem=Message("config.yaml_too_deep", limit=MAX_YAML_DEPTH),
                                problem_mark=self.peek_event().start_mark)  # type: ignore[attr-defined]
            return super().compose_node(parent, index)  # type: ignore[misc,no-any-return]
        finally:
            self.depth -= 1

    def get_single_node(self) -> yaml.Node | None:
        node: yaml.Node | None = super().get_single_node()  # type: ignore[misc]
        if node is not None:
            _expanded_size(node, {})
        return node


class _LineLoader(_Lines, yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader with line numbers: its wording names a syntax error (the catalogs translate
    its sentences)."""

    def __init__(self, text: str, file: str) -> None:
        yaml.SafeLoader.__init__(self, text)
        self._start(file)


class _FastLineLoader(_Lines, Composer, CParser, SafeConstructor, Resolver):
    """The same loader reading its events from libyaml's parser (C), about ten times faster on the bundle's files;
    composing and constructing stay PyYAML's Python, so the nodes, lines, limits and problems are the same. A
    document libyaml refuses is read again by _LineLoader, whose wording the message keeps."""

    def __init__(self, text: str, file: str) -> None:
        CParser.__init__(self, text)
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._start(file)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """Nodes under `node` counting every alias as a copy; each shared node is weighed once (memo by id)."""
    known = sizes.get(id(node))
    if known is not None:
        return known
    size = 1
    if isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    elif isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    if size > MAX_YAML_NODES:
        raise _TooLarge(problem=Message("config.yaml_too_many", limit=MAX_YAML_NODES),
                        problem_mark=node.start_mark)
    sizes[id(node)] = size
    return size


# Dates stay strings ("2024-05-01"), as they would in JSON; the field type decides what they mean.
_RESOLVERS = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_LineLoader.yaml_implicit_resolvers = _RESOLVERS
_FastLineLoader.yaml_implicit_resolvers = _RESOLVERS


def _key(loader: Any, node: yaml.Node) -> Any:
    # YAML 1.1 reads a bare `on:`/`yes:` key as a boolean; as a key it is always meant as the word (a plain scalar's
    # style is None from PyYAML, "" from libyaml)
    if isinstance(node, yaml.ScalarNode) and node.tag == _BOOL_TAG and not node.style:
        return node.value
    return loader.construct_object(node, deep=True)


def _construct_mapping(loader: Any, node: yaml.MappingNode) -> LineMap:
    own_keys = {id(key_node) for key_node, _ in node.value}
    loader.flatten_mapping(node)
    result = LineMap(node.start_mark.line + 1)
    key_nodes: dict[str, yaml.Node] = {}
    for key_node, value_node in node.value:
        line = key_node.start_mark.line + 1
        key = _key(loader, key_node)
        if not isinstance(key, str):
            loader.problems.append(
                Problem(loader.file, line, None, Message("config.key_not_text", key=repr(key)))
            )
            key = str(key)
        earlier = key_nodes.get(key)
        if earlier is not None and id(earlier) in own_keys and id(key_node) in own_keys:
            loader.problems.append(
                Problem(
                    loader.file,
                    line,
                    key,
                    Message("config.duplicate_key", key=key, line=earlier.start_mark.line + 1),
                )
            )
        key_nodes[key] = key_node
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: Any, node: yaml.SequenceNode) -> LineList:
    result = LineList(node.start_mark.line + 1)
    result.extend(loader.construct_object(child, deep=True) for child in node.value)
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


for _loader in (_LineLoader, _FastLineLoader):
    _loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
    _loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


def _pyyaml_sentence(text: str) -> str:
    """A sentence of PyYAML's as a Message where the catalog says it, the token it names ('<block end>') too."""
    said = sentence(text, "pyyaml")
    if isinstance(said, Message) and "token" in said.params:
        return Message(said.code, **{**said.params, "token": sentence(said.params["token"], "yamltoken")})
    return said


def _syntax_problem(file: str, error: yaml.YAMLError) -> Problem:
    if isinstance(error, yaml.MarkedYAMLError):
        mark = error.problem_mark or error.context_mark
        parts = [_pyyaml_sentence(part) for part in (error.context, error.problem) if part]
        detail = Joined("; ", parts) if parts else str(error)
        if isinstance(error, _TooLarge):
            message = Message("config.yaml_too_large", detail=detail)
        elif mark is not None:  # the English stays PyYAML's wording; other languages name the column too
            message = Message("config.yaml_syntax_at", detail=detail, column=mark.column + 1)
        else:
            message = Message("config.yaml_syntax", detail=detail)
        return Problem(file, mark.line + 1 if mark else None, None, message)
    return Problem(file, None, None, Message("config.yaml_error", detail=error))


def _text_problems(text: str, file: str) -> list[Problem]:
    """A file too large, or holding characters YAML refuses (control characters, lone surrogates), by line."""
    if len(text) > MAX_YAML_CHARS:
        return [Problem(file, None, None, Message("config.file_too_long", size=len(text), limit=MAX_YAML_CHARS))]
    problems = []
    for found in _NOT_PRINTABLE.finditer(text):
        line = text.count("\n", 0, found.start()) + 1
        column = found.start() - text.rfind("\n", 0, found.start())
        problems.append(Problem(file, line, None, Message("config.control_character",
                                                          character=f"U+{ord(found.group()):04X}", column=column)))
        if len(problems) == 10:
            break
    return problems


def load_yaml(text: str, file: str) -> Any:
    """Parse one YAML document into LineMap/LineList/scalars; raise ConfigError on any problem (size, depth,
    alias expansion and control characters bounded, each named by line)."""
    problems = _text_problems(text, file)
    if problems:
        raise ConfigError(problems)
    try:
        data, problems = _read(_FastLineLoader(text, file))
    except yaml.YAMLError:
        try:
            data, problems = _read(_LineLoader(text, file))
        except yaml.YAMLError as error:
            raise ConfigError([_syntax_problem(file, error)]) from error
    if problems:
        raise ConfigError(problems)
    return data


def _read(loader: _Lines) -> tuple[Any, list[Problem]]:
    """The loader's one document and the problems it collected."""
    try:
        return loader.get_single_data(), loader.problems  # type: ignore[attr-defined]
    finally:
        loader.dispose()  # type: ignore[attr-defined]


def load_mapping(text: str, file: str, expected: tuple[str, ...]) -> tuple[LineMap | None, list[Problem]]:
    """Parse a YAML file whose top level must be a mapping with only `expected` keys."""
    try:
        data = load_yaml(text, file)
    except ConfigError as error:
        return None, error.problems
    if not isinstance(data, LineMap):
        return None, [Problem(file, 1, None, Message("config.expected_mapping", keys=", ".join(expected)))]
    problems = [
        Problem(file, data.line_of(key), key, Message("config.unknown_key", key=key, expected=", ".join(expected)))
        for key in data
        if key not in expected
    ]
    return data, problems


def plain(value: Any) -> Any:
    """Copy of a loaded value with LineMap/LineList replaced by plain dicts and lists."""
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def line_of_path(node: Any, steps: list[Any], line: int | None = None) -> int | None:
    """The line of the value at `steps` inside a loaded YAML node: a mapping member's key line, a list item's line
    (the nearest enclosing one when a step is missing; `line` for a scalar node, which does not know its own)."""
    line = getattr(node, "line", line)
    for step in steps:
        if isinstance(node, LineMap) and step in node:
            line, node = node.line_of(step), node[step]
        elif isinstance(node, LineList) and isinstance(step, int) and step < len(node):
            line, node = node.line_at(step), node[step]
        else:
            break
    return line


def safe_load(text: str) -> Any:
    """`yaml.safe_load` through libyaml's loader (C, several times faster on a large seed file); a document libyaml
    refuses is read again by PyYAML, whose error (and wording) the caller gets."""
    try:
        return yaml.load(text, Loader=yaml.CSafeLoader)
    except yaml.YAMLError:
        return yaml.safe_load(text)
