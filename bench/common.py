"""Shared bench helpers: the repository root, a fixed clock, timing statistics, SQL statement counting."""

from __future__ import annotations

import os
import sqlite3
import statistics
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, text
from sqlalchemy.engine import make_url

from engine.bootstrap import UowFactory, prepare_database, uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.views import Actor
from engine.store.db import make_engine, normalize_url

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DEPLOYER = Actor(id=None, username="bench", display_name="bench", roles=frozenset({"designer"}))


# a migrated, empty SQLite file per folder, made once per process: migrating took 1-4 s per database, and a quick
# bench run makes dozens (a new migration means a new process, so a template never outlives its migrations)
_MIGRATED: dict[Path, Path] = {}


def fresh_sqlite(path: Path) -> str:
    """A migrated, empty SQLite file at `path` (removed first if it exists); returns its URL."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    folder = path.parent.resolve()
    template = _MIGRATED.get(folder)
    if template is None or not template.exists():
        template = folder / f".migrated-{os.getpid()}.sqlite"
        template.unlink(missing_ok=True)
        prepare_database(f"sqlite:///{template}")
        _MIGRATED[folder] = template
    with closing(sqlite3.connect(template)) as source, closing(sqlite3.connect(path)) as target:
        source.backup(target)  # a page-by-page copy, consistent whatever the journal mode
    return f"sqlite:///{path}"


def deployed_factory(url: str) -> UowFactory:
    """A unit-of-work factory on `url` with the repository's bundle deployed."""
    factory = uow_factory(url)
    deploy_bundle(factory(), DEPLOYER, read_bundle_dir(ROOT), NOW)
    return factory


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(seconds: list[float]) -> dict[str, float]:
    """Median, p95, mean and max of durations in seconds, as milliseconds."""
    ms = [s * 1000 for s in seconds]
    return {
        "median_ms": round(statistics.median(ms), 3),
        "p95_ms": round(percentile(ms, 95), 3),
        "mean_ms": round(statistics.fmean(ms), 3),
        "max_ms": round(max(ms), 3),
        "n": len(ms),
    }


class StatementLog:
    """Counts (and optionally keeps) the SQL statements an Engine sends."""

    def __init__(self, engine: Engine) -> None:
        self.count = 0
        self.keep = False
        self.kept: list[tuple[str, Any]] = []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(
        self, _conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _executemany: bool
    ) -> None:
        self.count += 1
        if self.keep:
            self.kept.append((statement, parameters))

    @contextmanager
    def capture(self) -> Iterator[list[tuple[str, Any]]]:
        """Keep the statements sent inside the block."""
        self.kept, self.keep = [], True
        try:
            yield self.kept
        finally:
            self.keep = False


def timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    """Call `fn`; return its result and the wall time it took."""
    from time import perf_counter

    start = perf_counter()
    result = fn()
    return result, perf_counter() - start


@contextmanager
def postgres_schema(url: str, prefix: str) -> Iterator[str]:
    """A throw-away schema on the PostgreSQL server at `url`: yields a URL whose search_path is that schema."""
    schema = f"{prefix}_{os.getpid()}"
    admin = make_engine(url)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        scoped = make_url(normalize_url(url)).update_query_dict({"options": f"-csearch_path={schema}"})
        yield scoped.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def run_on_both(name: str, description: str, measure: Callable[[UowFactory, int], dict[str, Any]]) -> None:
    """The command line of a small bench part: `measure(factory, repeats)` on a fresh SQLite file, and on PostgreSQL
    (a schema dropped afterwards) when --postgres is given; the results printed as JSON."""
    import argparse
    import json
    import tempfile

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--postgres", help="a PostgreSQL URL")
    parser.add_argument("--repeats", type=int, default=30)
    args = parser.parse_args()
    factory = deployed_factory(fresh_sqlite(Path(tempfile.mkdtemp()) / f"{name}.sqlite"))
    results = {"sqlite": measure(factory, args.repeats)}
    factory.dispose()
    if args.postgres:
        with postgres_schema(args.postgres, f"flowcrm_bench_{name}") as url:
            prepare_database(url)
            factory = deployed_factory(url)
            try:
                results["postgresql"] = measure(factory, args.repeats)
            finally:
                factory.dispose()
    print(json.dumps(results, indent=1))
