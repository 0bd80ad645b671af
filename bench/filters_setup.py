"""Databases for the filter benchmark: a SQLite file, or a PostgreSQL schema that can be kept between runs
(generating 1,000,000 contacts and 3,000,000 deals takes minutes; a marker row says the schema is complete)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from bench.common import fresh_sqlite
from bench.filters_data import Layout, copy_postgres, insert_sqlite
from engine.bootstrap import prepare_database
from engine.store.db import make_engine, normalize_url

GENERATOR_VERSION = 2
BULK_TABLES = ("record", "record_link")


def _secondary_indexes(conn: Connection) -> list[tuple[str, str]]:
    rows = conn.execute(text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(:tables) AND i.indexname NOT IN "
        "(SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))"), {"tables": list(BULK_TABLES)})
    return [(r[0], r[1]) for r in rows]


def load_postgres(url: str, lay: Layout, seed: int) -> dict[str, Any]:
    """Migrate and fill the (empty) schema `url` points at: secondary indexes are dropped for the COPY and
    rebuilt afterwards, then ANALYZE. Timings in seconds."""
    started = perf_counter()
    prepare_database(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            indexes = _secondary_indexes(conn)
            for name, _ddl in indexes:
                conn.execute(text(f'DROP INDEX "{name}"'))
            copy_start = perf_counter()
            counts = copy_postgres(conn, lay, seed)
            copy_s = perf_counter() - copy_start
            index_start = perf_counter()
            for _name, ddl in indexes:
                conn.execute(text(ddl))
            index_s = perf_counter() - index_start
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            analyze_start = perf_counter()
            for table in BULK_TABLES:
                conn.execute(text(f"VACUUM ANALYZE {table}"))
            analyze_s = perf_counter() - analyze_start
    finally:
        engine.dispose()
    return {**counts, "copy_s": round(copy_s, 1), "index_rebuild_s": round(index_s, 1),
            "vacuum_analyze_s": round(analyze_s, 1), "generate_total_s": round(perf_counter() - started, 1)}


def load_sqlite(path: Path, lay: Layout, seed: int) -> tuple[str, dict[str, Any]]:
    """A fresh SQLite file filled by executemany; its URL and timings."""
    started = perf_counter()
    url = fresh_sqlite(path)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            counts = insert_sqlite(conn, lay, seed)
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    finally:
        engine.dispose()
    return url, {**counts, "generate_total_s": round(perf_counter() - started, 1)}


def _scoped(url: str, schema: str) -> str:
    scoped = make_url(normalize_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
    return scoped.render_as_string(hide_password=False)


@contextmanager
def postgres_dataset(url: str, lay: Layout, seed: int, *, keep: bool) -> Iterator[tuple[str, dict[str, Any]]]:
    """A schema holding the dataset: reused when a complete one of the same shape exists, generated otherwise;
    dropped afterwards unless `keep`. Yields its URL and the generation figures (with `reused`)."""
    schema = f"flowcrm_bench_filters_{lay.contacts}_{lay.deals}"
    shape = {"version": GENERATOR_VERSION, "seed": seed, "contacts": lay.contacts, "deals": lay.deals,
             "activities": lay.activities}
    admin = make_engine(url)
    try:
        with admin.begin() as conn:
            marker = conn.execute(text(
                "SELECT 1 FROM information_schema.tables WHERE table_schema = :s AND table_name = 'bench_dataset'"),
                {"s": schema}).first()
            found = None
            if marker:
                row = conn.execute(text(f'SELECT shape, figures FROM "{schema}".bench_dataset')).first()  # noqa: S608
                found = row if row and json.loads(row[0]) == shape else None
            if found is None:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        scoped = _scoped(url, schema)
        if found is None:
            figures = load_postgres(scoped, lay, seed)
            with admin.begin() as conn:
                conn.execute(text(f'CREATE TABLE "{schema}".bench_dataset (shape text, figures text)'))
                conn.execute(text(f'INSERT INTO "{schema}".bench_dataset VALUES (:s, :f)'),  # noqa: S608
                             {"s": json.dumps(shape), "f": json.dumps(figures)})
            figures["reused"] = False
        else:
            prepare_database(scoped)
            figures = {**json.loads(found[1]), "reused": True}
        yield scoped, figures
    finally:
        if not keep:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
