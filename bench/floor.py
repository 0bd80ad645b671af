"""The database's share of the lead benchmark, measured: the exact statements the services sent for some leads,
replayed through the raw driver (no ORM, no engine, no SpiffWorkflow) on a database as it was before those leads: a
copy of the SQLite file, a PostgreSQL schema set up the same way. What the services spend beyond that is the Python
above the driver (and, on PostgreSQL, the pool's pre-ping per transaction, which the replay does not send)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import Engine, event
from sqlalchemy.engine.interfaces import ExecuteStyle

from engine.store.db import make_engine


class Recorder:
    """What an Engine sends to its driver, in order: statements with their parameters, commits and rollbacks."""

    def __init__(self, engine: Engine) -> None:
        self.ops: list[tuple[str, str, Any]] = []
        self.held: set[int] = set()  # indexes of ops sent later, in a pipeline (engine/store/pipeline.py)
        self._seen: dict[int, int] = {}  # cursor id -> index of its op, until the driver executed it
        self.on = False
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "after_cursor_execute", self._sent)
        event.listen(engine, "commit", self._end("commit"))
        event.listen(engine, "rollback", self._end("rollback"))

    def _statement(self, _conn: Any, _cursor: Any, sql: str, params: Any, context: Any, many: bool) -> None:
        if self.on:
            # an executemany INSERT that SQLAlchemy sends as multi-row INSERTs ("insertmanyvalues", PostgreSQL) is
            # one execute per page of rows; a statement sent on the driver's cursor (engine.store.direct, COPY) has
            # no execution context, and its `many` says what it is
            one = not many or (context is not None and context.execute_style is ExecuteStyle.INSERTMANYVALUES)
            self._seen[id(_cursor)] = len(self.ops)
            self.ops.append(("one" if one else "many", sql, params))

    def _sent(self, _conn: Any, cursor: Any, *_args: Any) -> None:
        index = self._seen.pop(id(cursor), None)
        if self.on and index is not None and index != len(self.ops) - 1:  # others were recorded before it was sent
            self.held.add(index)

    def _end(self, kind: str) -> Callable[[Any], None]:
        def seen(_conn: Any) -> None:
            if self.on:
                self.ops.append((kind, "", None))

        return seen

    @contextmanager
    def recording(self) -> Iterator[list[tuple[str, str, Any]]]:
        """Record what is sent inside the block."""
        self.ops, self.held, self.on = [], set(), True
        try:
            yield self.ops
        finally:
            self.on = False

    def counts(self) -> tuple[int, int]:
        """(statements, transactions) recorded."""
        statements = sum(1 for kind, _, _ in self.ops if kind in ("one", "many"))
        return statements, sum(1 for kind, _, _ in self.ops if kind in ("commit", "rollback"))


def _replay(conn: Any, ops: list[tuple[str, str, Any]]) -> tuple[float, float]:
    """Send the recorded operations through a raw DBAPI connection; (seconds in all, seconds in commits and
    rollbacks)."""
    cursor = conn.cursor()
    ending = 0.0
    start = perf_counter()
    for kind, sql, params in ops:
        if kind == "one":
            cursor.execute(sql, params)
            if cursor.description is not None:  # rows are fetched, as the services fetch them
                cursor.fetchall()
        elif kind == "many":
            cursor.executemany(sql, params)
        else:
            began = perf_counter()
            if kind == "commit":
                conn.commit()
            else:
                conn.rollback()
            ending += perf_counter() - began
    seconds = perf_counter() - start
    cursor.close()
    return seconds, ending


def _replay_pipelined(conn: Any, ops: list[tuple[str, str, Any]], held: set[int]) -> tuple[float, float]:
    """`_replay` as the services send the operations on PostgreSQL (engine/store/pipeline.py): the writes they held
    go in one pipeline with the next statement whose answer is read, or with the COMMIT; (seconds in all, seconds
    in commits and rollbacks)."""
    queue: list[tuple[str, Any]] = []
    ending = 0.0
    start = perf_counter()

    def pipelined(last: Callable[[], Any]) -> None:
        cursors = []
        with conn.pipeline():
            for sql, params in queue:
                cursor = conn.cursor()
                cursor.execute(sql, params)
                cursors.append(cursor)
            last()
        for cursor in cursors:
            cursor.close()
        queue.clear()

    cursor = conn.cursor()
    for index, (kind, sql, params) in enumerate(ops):
        if index in held:
            queue.append((sql, params))
        elif kind in ("one", "many"):
            run = cursor.executemany if kind == "many" else cursor.execute
            if queue:
                pipelined(lambda run=run, sql=sql, params=params: run(sql, params))
            else:
                run(sql, params)
            if kind == "one" and cursor.description is not None:
                cursor.fetchall()
        else:
            began = perf_counter()
            if kind == "commit" and queue:
                pipelined(lambda: conn.execute(b"COMMIT"))
            elif kind == "commit":
                conn.commit()
            else:
                queue.clear()
                conn.rollback()
            ending += perf_counter() - began
    seconds = perf_counter() - start
    cursor.close()
    return seconds, ending


def replay_floor(
    engine: Engine, run_leads: Callable[[], int], replica: Engine, pipelined_replica: Engine | None = None
) -> dict[str, Any]:
    """Run `run_leads` (it returns how many leads it ran) on `engine` while recording, then replay the recording
    with the raw driver on `replica`, a database in the state `engine`'s was in before those leads (same ids)."""
    recorder = Recorder(engine)
    start = perf_counter()
    with recorder.recording() as ops:
        leads = run_leads()
    services = perf_counter() - start
    raw = replica.raw_connection()
    try:
        seconds, ending = _replay(raw.driver_connection, ops)
    finally:
        raw.close()
    statements, transactions = recorder.counts()
    pipelined = {}
    if pipelined_replica is not None:  # the same operations, the held writes pipelined as the services send them
        raw = pipelined_replica.raw_connection()
        try:
            piped, piped_ending = _replay_pipelined(raw.driver_connection, ops, recorder.held)
        finally:
            raw.close()
        pipelined = {
            "pipelined_ms_per_instance": round(piped * 1000 / leads, 3),
            "pipelined_of_which_commit_ms_per_instance": round(piped_ending * 1000 / leads, 3),
            "held_statements_per_instance": round(len(recorder.held) / leads, 1),
        }
    return {
        "leads": leads,
        "statements_per_instance": round(statements / leads, 1),
        "transactions_per_instance": round(transactions / leads, 1),
        "ms_per_instance": round(seconds * 1000 / leads, 3),
        "of_which_commit_ms_per_instance": round(ending * 1000 / leads, 3),
        "services_same_leads_ms_per_instance": round(services * 1000 / leads, 3),
        **pipelined,
    }


def sqlite_floor(engine: Engine, run_leads: Callable[[], int]) -> dict[str, Any]:
    """`replay_floor` on a copy of the SQLite file taken before the leads (same pragmas and functions)."""
    path = Path(str(engine.url.database))
    copy = path.with_name(path.stem + "-floor.sqlite")
    copy.unlink(missing_ok=True)
    source, target = sqlite3.connect(path), sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    replica = make_engine(f"sqlite:///{copy}")
    try:
        return replay_floor(engine, run_leads, replica)
    finally:
        replica.dispose()
        copy.unlink(missing_ok=True)
