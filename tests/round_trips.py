"""Counting the round trips to PostgreSQL that a call makes, from libpq's own trace of the messages it sends (F)
and receives (B): a turn from sending to receiving is one wait for the server, however many statements a pipeline
sent before it."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from psycopg import pq
from sqlalchemy import Engine, event


@contextmanager
def round_trips(engine: Engine) -> Iterator[list[int]]:
    """A one-item list that holds, once the block ends, the round trips of the engine's connections in it."""
    counted = [0]
    traces: dict[int, tuple[Any, Path]] = {}
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))

        def trace(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            pgconn = dbapi_conn.pgconn
            if id(pgconn) in traces:
                return
            path = folder / f"{len(traces)}.trace"
            handle = stack.enter_context(path.open("w"))
            pgconn.trace(handle.fileno())
            pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
            traces[id(pgconn)] = (pgconn, path)

        event.listen(engine, "checkout", trace)
        try:
            yield counted
        finally:
            event.remove(engine, "checkout", trace)
            for pgconn, path in traces.values():
                pgconn.untrace()
                counted[0] += _turns(path.read_text())


def _turns(trace: str) -> int:
    turns, last = 0, ""
    for line in trace.splitlines():
        side = line[:2]
        if side not in ("F\t", "B\t"):  # a statement's text continued on the next lines
            continue
        if side == "B\t" and last == "F\t":
            turns += 1
        last = side
    return turns
