"""PostgreSQL: rows made into COPY's text format column by column, as psycopg's `write_row` would make them.

`write_row` dumps each value on its own (a JSON value through SQLAlchemy's processor, which wraps it, then through
psycopg's JSON dumper, `json.dumps`, both Python calls per value) and escapes it: for an import's 668,000 field
history rows and 620,000 search keys that was a tenth of the client's time. Here each column's values go through one
C-level pass where their types allow (`str` of integers, `json`'s own string encoder for texts, one escaping of the
column's texts joined), and every other value through the column's processor and psycopg's own text dumper, once per
distinct value. The bytes are those `write_row` sends (tests/unit/test_copy_text.py compares them, value kind by
value kind); a value this cannot make exactly (a text with a NUL, which psycopg refuses with its own error; a
character the connection's encoding cannot hold) makes `rows_as_text` give None, and the caller sends those rows
through `write_row` as before."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from json.encoder import encode_basestring_ascii
from typing import Any

from psycopg.adapt import PyFormat, Transformer
from psycopg.types.json import Jsonb
from sqlalchemy import JSON

# what COPY's text format escapes in a value, as psycopg does (it also escapes \b, \v and \f): the backslash first
_ESCAPES = (("\\", "\\\\"), ("\b", "\\b"), ("\t", "\\t"), ("\n", "\\n"), ("\v", "\\v"), ("\f", "\\f"), ("\r", "\\r"))
_NULL = "\\N"
_APART = "\x00"  # joins a column's texts to escape them at once: no text holds it (checked)
_JSON_NATIVE = frozenset({str, int, float, bool, dict, list})  # what json.dumps takes as it is
_BY_VALUE = frozenset({str, type(None)})  # equal values of these types are one value (no other is equal)


class Unplain(Exception):  # not an error to report: the caller falls back to write_row
    """A value this module cannot make into exactly what psycopg would send."""


class ColumnsText:
    """COPY text of rows of given columns: one per (connection, table, columns), the columns' SQLAlchemy bind
    processors and the connection's psycopg adapters fixed when made."""

    def __init__(
        self, driver_connection: Any, processors: Sequence[Callable[[Any], Any] | None], types: Sequence[Any]
    ) -> None:
        self.encoding = driver_connection.info.encoding
        self.transformer = Transformer(driver_connection)
        json_dumper: Any = self.transformer.get_dumper(Jsonb(None), PyFormat.TEXT)
        plain_json = getattr(json_dumper, "dumps", None) is json.dumps  # psycopg's default JSON function
        self.columns = [
            self._json
            if plain_json and isinstance(kind, JSON) and process is not None
            else self._bare
            if process is None
            else self._processed
            for process, kind in zip(processors, types, strict=True)
        ]
        self.processors = list(processors)

    def rows_as_text(self, rows: Sequence[tuple[Any, ...]]) -> bytes | None:
        """The rows in COPY's text format, encoded; None when a value must go through `write_row`."""
        if not rows:
            return b""
        try:
            columns = [
                make(index, values)
                for index, (make, values) in enumerate(zip(self.columns, zip(*rows, strict=True), strict=True))
            ]
            text = "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"
            return text.encode(self.encoding)
        except Exception:  # write_row makes these rows, or raises its own error for them
            return None

    def _bare(self, index: int, values: tuple[Any, ...]) -> list[str]:
        """A column without a processor: integers by `str`, texts escaped together, the rest by psycopg."""
        kinds = set(map(type, values))
        if kinds == {int}:
            return list(map(str, values))
        if kinds == {str}:
            return _escaped(list(values))
        return self._processed(index, values)

    def _json(self, index: int, values: tuple[Any, ...]) -> list[str]:
        """A JSON column: texts by json's own string encoder (what `json.dumps` gives for a text), other JSON
        values by `json.dumps` (what psycopg's JSON dumper calls), anything else (a null) by the processor and
        psycopg's dumper; then escaped together."""
        kinds = set(map(type, values))
        if kinds == {str}:
            return _escaped(list(map(encode_basestring_ascii, values)))
        if kinds <= _JSON_NATIVE:  # no null (SQLAlchemy may make it SQL NULL) nor a value the processor changes
            return _escaped(list(map(json.dumps, values)))
        return self._processed(index, values)

    def _processed(self, index: int, values: tuple[Any, ...]) -> list[str]:
        """Each value through the column's processor and psycopg's text dumper, once per distinct value (texts,
        integers, flags and nulls by value; anything else by identity: equal times in two zones, or 1.0 and
        1.00, are dumped apart), then escaped (a null as COPY's \\N)."""
        process = self.processors[index]
        kinds = set(map(type, values))
        if kinds <= _BY_VALUE or kinds in ({int}, {bool}):
            made = {value: self._dumped(process, value) for value in set(values)}
            texts = list(map(made.__getitem__, values))
        else:
            ids = list(map(id, values))  # the values are held by `values` meanwhile: an id is one object
            made = {key: self._dumped(process, value) for key, value in dict(zip(ids, values, strict=True)).items()}
            texts = list(map(made.__getitem__, ids))
        if None not in texts:
            return _escaped(texts)  # type: ignore[arg-type]
        nulls = [at for at, text in enumerate(texts) if text is None]
        escaped = _escaped([text or "" for text in texts])
        for at in nulls:
            escaped[at] = _NULL
        return escaped

    def _dumped(self, process: Callable[[Any], Any] | None, value: Any) -> str | None:
        bound = process(value) if process is not None else value
        if bound is None:
            return None
        dumped = self.transformer.get_dumper(bound, PyFormat.TEXT).dump(bound)
        return None if dumped is None else bytes(dumped).decode(self.encoding)


def _escaped(texts: list[str]) -> list[str]:
    """Texts escaped for COPY's text format (a backslash doubled, control characters as \\t, \\n, ...)."""
    joined = _APART.join(texts)
    if joined.count(_APART) != len(texts) - 1:
        raise Unplain  # a NUL in a text: psycopg refuses it with its own error
    escaped = joined
    for special, escape in _ESCAPES:  # str.replace runs in C; str.translate with a table looked up each character
        if special in escaped:
            escaped = escaped.replace(special, escape)
    return texts if escaped is joined else escaped.split(_APART)
