"""Profile one import of synthetic contacts with duplicate matching (cProfile), to see where its time goes:
`python -m bench.import_profile --rows 10000 [--postgres URL] [--out FILE]` prints the functions with the most
cumulative and own time and, per area (driver, SQLAlchemy, phone parsing, matching, ...), the share of own time."""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import re
import tempfile
import threading
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from time import perf_counter, process_time
from typing import Any

from sqlalchemy import event, select

from bench.common import fresh_sqlite, postgres_schema
from bench.import_rate import _engine_import, _Factory
from bench.synthetic import contact_base, write_csv
from engine.bootstrap import prepare_database
from engine.store.db import make_engine
from engine.store.models import Base

AREAS = (  # the first area whose marker is in a function's file name gets its own time
    ("phone parsing", "phonenumbers"),
    ("rapidfuzz", "rapidfuzz"),
    ("SQLite driver", "sqlite3"),
    ("psycopg", "psycopg"),
    ("SQLAlchemy", "sqlalchemy"),
    ("duplicate matching", "engine/quality"),
    ("imports", "engine/imports"),
    ("records, rules, services", "engine/"),
    ("JSON", "json"),
)


def areas(stats: pstats.Stats) -> dict[str, float]:
    """Share of the profiled own time per area, largest first."""
    own: dict[str, float] = {}
    for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        area = next((name for name, marker in AREAS if marker in filename), "other")
        own[area] = own.get(area, 0.0) + tottime
    total = sum(own.values()) or 1.0
    return {name: round(100 * seconds / total, 1) for name, seconds in sorted(own.items(), key=lambda i: -i[1])}


def _thread_clocks() -> tuple[float, float]:
    """Seconds this process's threads ran on a CPU and waited in the run queue for one (/proc schedstat)."""
    ran = waited = 0.0
    for stat in Path("/proc/self/task").glob("*/schedstat"):
        try:
            fields = stat.read_text().split()
        except OSError:  # a thread that ended meanwhile
            continue
        ran, waited = ran + int(fields[0]) / 1e9, waited + int(fields[1]) / 1e9
    return ran, waited


def where_the_wall_went(wall: float, before: tuple[float, float], io_before: dict[str, int]) -> str:
    """The wall time split into running, waiting for a CPU (other processes' load) and the rest (blocked: disk
    reads, fsync, locks), with the bytes read and written to storage (Linux only; empty elsewhere)."""
    if not Path("/proc/self/schedstat").exists():
        return ""
    ran, waited = (after - start for after, start in zip(_thread_clocks(), before, strict=True))
    times = os.times()
    io = {k: v - io_before.get(k, 0) for k, v in _io().items()}
    return (f"(process since start: user {times.user:.2f} s, system {times.system:.2f} s) "
            f"on a CPU {ran:.2f} s, waiting for a CPU {waited:.2f} s, blocked {wall - ran - waited:.2f} s; "
            f"storage read {io.get('read_bytes', 0) / 2**20:.0f} MiB, "
            f"written {io.get('write_bytes', 0) / 2**20:.0f} MiB")


def _io() -> dict[str, int]:
    try:
        return {k: int(v) for k, v in (line.split(": ") for line in Path("/proc/self/io").read_text().splitlines())}
    except OSError:
        return {}


_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")  # task ids are random


def table_digests(url: str) -> dict[str, list[Any]]:
    """Per table, its row count and a SHA-256 of its rows sorted (surrogate ids left out but record ids; the
    import job's own row, with its pid and times, and the users' salted password hashes left out), to compare
    two versions' imports of one file."""
    engine = make_engine(url)
    found: dict[str, list[Any]] = {}
    with engine.connect() as connection:
        for table in Base.metadata.sorted_tables:
            if table.name in ("import_job", "alembic_version"):
                continue
            columns = [c for c in table.columns if (c.name != "id" or table.name == "record")
                       and c.name != "password_hash"]  # salted: another each run
            rows = sorted(_UUID.sub("<uuid>", repr(tuple(row))) for row in connection.execute(select(*columns)))
            found[table.name] = [len(rows), hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]]
    engine.dispose()
    return found


class StatementClock:
    """Wall time spent inside the driver per kind of statement (its first words): on PostgreSQL, the server's
    time and the round trips an import waits for, which the client's CPU profile does not show. On a PostgreSQL
    server on this host, also the CPU seconds its backend process spent in each kind (/proc, in clock ticks of
    10 ms: a sum over many statements, not a per-statement figure)."""

    def __init__(self, engine: Any) -> None:
        self.seconds: dict[str, list[float]] = {}
        self.started = threading.local()  # per thread (the heartbeat's statements run on a thread of their own)
        self.backends: dict[int, Path] = {}  # a DB-API connection's id -> its backend's /proc stat file
        event.listen(engine, "before_cursor_execute", self.before)
        event.listen(engine, "after_cursor_execute", self.after)
        self.endings = [0, 0.0, 0.0]  # COPY answers read after their COPY: count, wall seconds, server CPU seconds
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", self.connected)
            self._time_copy_answers()

    def _time_copy_answers(self) -> None:
        """Time the reads of COPY answers left on the connection (engine/store/copy_end.py), when there is such
        a thing (not in the code before the twentieth pass)."""
        try:
            from engine.store import copy_end
        except ImportError:
            return
        collect = copy_end.collect

        def timed(info: dict[str, Any]) -> None:
            driver = info.get(copy_end.ENDING)
            if driver is None:
                collect(info)
                return
            stat = self.backends.get(id(driver))
            wall, server = perf_counter(), self._stat_cpu(stat)
            try:
                collect(info)
            finally:
                self.endings[0] += 1
                self.endings[1] += perf_counter() - wall
                self.endings[2] += self._stat_cpu(stat) - server

        copy_end.collect = timed  # the bench's own clock around it

    def connected(self, dbapi_conn: Any, _record: Any) -> None:
        stat = Path(f"/proc/{dbapi_conn.info.backend_pid}/stat")
        if stat.exists():  # the server runs on this host
            self.backends[id(dbapi_conn)] = stat

    def _server_cpu(self, conn: Any) -> float:
        return self._stat_cpu(self.backends.get(id(conn.connection.dbapi_connection)))

    @staticmethod
    def _stat_cpu(stat: Path | None) -> float:
        if stat is None:
            return 0.0
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            return 0.0
        return (int(fields[11]) + int(fields[12])) / _TICKS

    def _stack(self) -> list[tuple[float, float]]:
        stack: list[tuple[float, float]] | None = getattr(self.started, "stack", None)
        if stack is None:
            stack = self.started.stack = []
        return stack

    def before(self, conn: Any, *_: Any) -> None:
        self._stack().append((perf_counter(), self._server_cpu(conn)))

    def after(self, conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        kind = " ".join(statement.split()[:6])[:70]
        entry = self.seconds.setdefault(kind, [0, 0.0, 0.0])
        wall, server = self._stack().pop()
        entry[0] += 1
        entry[1] += perf_counter() - wall
        entry[2] += self._server_cpu(conn) - server

    def report(self, top: int) -> None:
        total = sum(seconds for _, seconds, _ in self.seconds.values())
        server = sum(cpu for _, _, cpu in self.seconds.values())
        print(f"in the driver: {total:.2f} s over {sum(n for n, _, _ in self.seconds.values())} statements"
              + (f"; the server's backend on a CPU meanwhile: {server:.2f} s" if self.backends else ""))
        if self.endings[0]:
            print(f"COPY answers read later (engine/store/copy_end.py, outside the statements above): "
                  f"{self.endings[0]} in {self.endings[1]:.2f} s, the server's backend on a CPU "
                  f"meanwhile {self.endings[2]:.2f} s")
        for kind, (count, seconds, cpu) in sorted(self.seconds.items(), key=lambda item: -item[1][1])[:top]:
            print(f"{seconds:8.2f} s {count:7d}  " + (f"server CPU {cpu:6.2f} s  " if self.backends else "") + kind)


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--postgres", help="a PostgreSQL URL (a throw-away schema in it) instead of SQLite")
    parser.add_argument("--out", type=Path, help="also write the pstats dump here")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--sqlite-cache-mb", type=int, help="SQLite: this page cache per connection (experiment)")
    parser.add_argument("--wal-autocheckpoint", type=int, help="SQLite: WAL pages before a checkpoint (experiment)")
    parser.add_argument("--no-profile", action="store_true", help="only time the import (and its statements)")
    parser.add_argument("--cpu-clock", action="store_true",
                        help="profile by this process's CPU time instead of the wall clock (waits not counted)")
    parser.add_argument("--batch-size", type=int, help="rows per batch (experiment; the default is run_import's)")
    parser.add_argument("--dump", type=Path, help="write every table's row count and digest here (JSON)")
    parser.add_argument("--in-line", action="store_true",
                        help="read every batch's rows on the import's thread, none ahead (experiment)")
    parser.add_argument("--plain-copy-end", action="store_true",
                        help="PostgreSQL: wait for each COPY's end, as before the twentieth pass (experiment)")
    args = parser.parse_args()
    if args.plain_copy_end:
        from engine.store import copy_end

        copy_end.ENABLED = False
    if args.in_line:
        from engine.imports import ahead

        ahead.readable_alone = lambda _importer: False  # type: ignore[assignment]  # the switch of the experiment
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        base = contact_base(args.rows, args.seed)
        csv_path = workdir / "contacts.csv"
        write_csv(base.rows, csv_path)
        scope: AbstractContextManager[Any] = (
            postgres_schema(args.postgres, "flowcrm_import_profile")
            if args.postgres
            else nullcontext(fresh_sqlite(workdir / "p.sqlite"))
        )
        with scope as url:
            if args.postgres:
                prepare_database(url)
            factory = _Factory(url)
            clock = StatementClock(factory.engine)
            if args.sqlite_cache_mb:
                event.listen(
                    factory.engine,
                    "connect",
                    lambda conn, _: conn.execute(f"PRAGMA cache_size=-{args.sqlite_cache_mb * 1024}"),
                )
            if args.wal_autocheckpoint:
                event.listen(
                    factory.engine,
                    "connect",
                    lambda conn, _: conn.execute(f"PRAGMA wal_autocheckpoint={args.wal_autocheckpoint}"),
                )
            profiler = cProfile.Profile(process_time) if args.cpu_clock else cProfile.Profile()
            threads, io = _thread_clocks(), _io()
            start, cpu = perf_counter(), process_time()
            if not args.no_profile:
                profiler.enable()
            result = _engine_import(factory, csv_path, dedup=True, batch_size=args.batch_size)
            profiler.disable()
            wall = perf_counter() - start
            print(f"wall {wall:.2f} s, cpu {process_time() - cpu:.2f} s", result)
            print(where_the_wall_went(wall, threads, io))
            factory.dispose()
            if args.dump:
                args.dump.write_text(json.dumps({"result": result["counts"], "tables": table_digests(url)}, indent=1))
    clock.report(25)
    if args.no_profile:
        return
    stats = pstats.Stats(profiler)
    if args.out:
        stats.dump_stats(str(args.out))
    print("own time per area (%):", areas(stats))
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
