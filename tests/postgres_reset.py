"""Putting a PostgreSQL test database back between tests: emptied, or as a deployed snapshot kept in a schema of
the same database, in one round trip.

TRUNCATE makes new files for every table and index and took 0.5-1.5 s per test on the shared CI machine (32
tables): most of what a PostgreSQL test cost. DELETE on tables of a few rows takes milliseconds; a table that
has grown (a test wrote thousands of rows) is still truncated, so dead rows do not pile up and plans stay those
of a small table. The sequences restart as TRUNCATE ... RESTART IDENTITY left them: tests rely on ids from 1.
"""

# ruff: noqa: S608  (the SQL is built from the models' own table and column names, quoted; no input reaches it)
from __future__ import annotations

from sqlalchemy import Connection, Engine, Table, text
from sqlalchemy.exc import DBAPIError

from engine.store.db import make_engine
from engine.store.models import Base

SNAPSHOT_PREFIX = "flowcrm_snapshot_"
# a table bigger than this (heap, indexes and TOAST) is truncated rather than deleted from
BIG_TABLE_BYTES = 1024 * 1024
_TRUNCATE_BIG = f"""DO $$
DECLARE big text;
BEGIN
  SELECT string_agg(quote_ident(relname), ', ') INTO big FROM pg_class
   WHERE relnamespace = 'public'::regnamespace AND relkind = 'r' AND relname <> 'alembic_version'
     AND pg_total_relation_size(oid) > {BIG_TABLE_BYTES};
  IF big IS NOT NULL THEN EXECUTE 'TRUNCATE ' || big || ' CASCADE'; END IF;
END $$"""


def quoted(name: str) -> str:
    """A quoted SQL identifier."""
    return '"' + name.replace('"', '""') + '"'


def _columns(table: Table) -> str:
    return ", ".join(quoted(c.name) for c in table.columns)


def _sequences(conn: Connection) -> list[tuple[str, str, str]]:
    """(table, column, sequence) of every column of the models' tables that takes its value from a sequence."""
    names = [t.name for t in Base.metadata.sorted_tables]
    rows = conn.execute(
        text(
            "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) "
            "FROM information_schema.columns WHERE table_schema = 'public' AND table_name = ANY(:names) "
            "AND pg_get_serial_sequence(quote_ident(table_name), column_name) IS NOT NULL"
        ),
        {"names": names},
    )
    return sorted((str(t), str(c), str(s)) for t, c, s in rows)


class PostgresReset:
    """Empties one PostgreSQL test database, or restores a snapshot taken of it, for the test session."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._scripts: dict[str | None, str] = {}
        self._engine: Engine | None = None

    def _connection(self) -> Engine:
        """The engine restores run on, kept for the session: an engine and a connection made per restore (two per
        test) cost ~4 ms of the test process's CPU, a server process started for each, and ~45 ms of wall time."""
        if self._engine is None:
            self._engine = make_engine(self.url, pool_size=1)
        return self._engine

    def close(self) -> None:
        """Close the kept connection (a database copied with this one as its TEMPLATE must have no sessions)."""
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None

    def drop_snapshots(self) -> None:
        """Drop the snapshot schemas an earlier session left (the tables may have changed since)."""
        self.close()
        engine = make_engine(self.url)
        try:
            with engine.begin() as conn:
                schemas = conn.scalars(
                    text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :p)"), {"p": SNAPSHOT_PREFIX}
                ).all()
                for schema in schemas:
                    conn.exec_driver_sql(f"DROP SCHEMA {quoted(schema)} CASCADE")
        finally:
            engine.dispose()
        self._scripts.clear()

    def has(self, name: str) -> bool:
        """Whether this session took the snapshot `name`."""
        return name in self._scripts

    def take(self, name: str) -> None:
        """Keep the database's current rows as the snapshot `name` (a schema of copies of the non-empty tables)."""
        schema = quoted(SNAPSHOT_PREFIX + name)
        engine = make_engine(self.url)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
                conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
                kept = []
                for table in Base.metadata.sorted_tables:
                    if conn.exec_driver_sql(f"SELECT 1 FROM {quoted(table.name)} LIMIT 1").first() is None:
                        continue
                    conn.exec_driver_sql(
                        f"CREATE TABLE {schema}.{quoted(table.name)} AS "
                        f"SELECT {_columns(table)} FROM {quoted(table.name)}"
                    )
                    kept.append(table)
                tops = {}
                for table_name, column, sequence in _sequences(conn):
                    if any(t.name == table_name for t in kept):
                        top = conn.exec_driver_sql(
                            f"SELECT max({quoted(column)}) FROM {schema}.{quoted(table_name)}"
                        ).scalar()
                        if top is not None:
                            tops[sequence] = int(top)
                restore = [
                    f"INSERT INTO {quoted(t.name)} ({_columns(t)}) SELECT {_columns(t)} FROM {schema}.{quoted(t.name)}"
                    for t in kept
                ]
                self._scripts[name] = self._script(conn, restore, tops)
        finally:
            engine.dispose()

    def restore(self, name: str | None = None) -> None:
        """Empty the database, then (given a name) put the snapshot's rows back, in one transaction."""
        if name not in self._scripts:
            if name is not None:
                raise KeyError(f"no PostgreSQL snapshot {name!r} was taken in this session")
            engine = make_engine(self.url)
            try:
                with engine.connect() as conn:
                    self._scripts[None] = self._script(conn, [], {})
            finally:
                engine.dispose()
        try:
            with self._connection().begin() as conn:
                conn.exec_driver_sql(self._scripts[name])
        except DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
            with self._connection().begin() as conn:  # the kept connection had died (its server process ended)
                conn.exec_driver_sql(self._scripts[name])

    @staticmethod
    def _script(conn: Connection, inserts: list[str], tops: dict[str, int]) -> str:
        """The statements that empty every table, run `inserts`, and set each sequence past the rows restored."""
        deletes = [f"DELETE FROM {quoted(t.name)}" for t in reversed(Base.metadata.sorted_tables)]
        setvals = []
        for _table, _column, sequence in _sequences(conn):
            top = tops.get(sequence)
            literal = "'" + sequence.replace("'", "''") + "'"
            if top is None:
                setvals.append(f"SELECT setval({literal}, 1, false)")
            else:
                setvals.append(f"SELECT setval({literal}, {top}, true)")
        return ";\n".join([_TRUNCATE_BIG, *deletes, *inserts, *setvals])


_RESETS: dict[str, PostgresReset] = {}


def for_url(url: str) -> PostgresReset:
    """The session's reset of the database at `url` (its statements are worked out once)."""
    if url not in _RESETS:
        _RESETS[url] = PostgresReset(url)
    return _RESETS[url]


def close_all() -> None:
    """Close the connections the session's resets kept."""
    for reset in _RESETS.values():
        reset.close()
