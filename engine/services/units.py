"""Units of work wired with the handler table: a database URL to a factory of ready units (one per request,
command or job item). Beside the handler table it wires, so an edge inside the engine (the import worker
process) can build one without importing the wiring layer above."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from engine.services.handlers import HANDLERS
from engine.store.db import make_engine, make_session_factory
from engine.store.uow import UnitOfWork


class UowFactory:
    """Makes a fresh UnitOfWork per call on one shared connection pool; each unit reads time from `clock`
    (the wall clock unless one is injected). `begin_late`: every unit's transactions begin at their first write
    on PostgreSQL, as a web request's do (`UnitOfWork.open_edge`): the units of CLI commands and worker jobs."""

    def __init__(
        self,
        url: str,
        clock: Callable[[], datetime] | None = None,
        pool_size: int | None = None,
        begin_late: bool = False,
    ) -> None:
        self.clock = clock
        self.begin_late = begin_late
        self.engine = make_engine(url, **({"pool_size": pool_size} if pool_size else {}))
        self._sessions = make_session_factory(self.engine)

    def __call__(self) -> UnitOfWork:
        return UnitOfWork(self._sessions, HANDLERS, clock=self.clock, begin_late=self.begin_late)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def uow_factory(
    url: str, clock: Callable[[], datetime] | None = None, pool_size: int | None = None, *, begin_late: bool = False
) -> UowFactory:
    """A callable that makes a fresh UnitOfWork on a shared engine; `pool_size`: connections the pool keeps (one
    per server thread; SQLAlchemy's default, 5, otherwise); `begin_late`: see UowFactory."""
    return UowFactory(url, clock, pool_size, begin_late)
