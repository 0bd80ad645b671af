"""Unit of work: one session and one transaction per request or job."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, event, inspect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction, UOWTransaction, sessionmaker
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import ConflictError
from engine.messages import Message
from engine.store import direct, history_buffer, pipeline, waiting_keys
from engine.store import task_titles as task_titles  # its flush hook keeps a task's record title current
from engine.store.audit_repos import AuditRepository
from engine.store.board_repos import BoardRepository
from engine.store.card_repos import CardRepository
from engine.store.db import BEGIN_LATE, READS_ONLY, sent_only_reads
from engine.store.events import Event
from engine.store.external_repos import ExternalTaskRepository
from engine.store.filter_sql import FindRepository
from engine.store.job_repos import IncidentRepository, JobRepository
from engine.store.merge_repos import MergeRepository
from engine.store.preference_repos import ListSettingRepository
from engine.store.quality_repos import ImportRepository, QualityRepository, SegmentRepository
from engine.store.report_sql import ReportRepository
from engine.store.repositories import (
    AssignmentRepository,
    ConfigRepository,
    EventRepository,
    HistoryRepository,
    InstanceRepository,
    LinkRepository,
    OutboxRepository,
    RecordRepository,
    ReminderRepository,
    RuleScheduleRepository,
    TaskRepository,
    TimerRepository,
    UserRepository,
)
from engine.store.search_repos import SearchRepository
from engine.store.security_repos import LoginRepository


def _wall_clock() -> datetime:
    return datetime.now(UTC)


_REPOSITORIES: dict[str, Callable[[Session], Any]] = {
    "users": UserRepository,
    "config": ConfigRepository,
    "records": RecordRepository,
    "instances": InstanceRepository,
    "tasks": TaskRepository,
    "history": HistoryRepository,
    "timers": TimerRepository,
    "links": LinkRepository,
    "outbox": OutboxRepository,
    "schedules": RuleScheduleRepository,
    "assignment": AssignmentRepository,
    "reminders": ReminderRepository,
    "events": EventRepository,
    "find": FindRepository,
    "quality": QualityRepository,
    "imports": ImportRepository,
    "segments": SegmentRepository,
    "merges": MergeRepository,
    "audit": AuditRepository,
    "jobs": JobRepository,
    "incidents": IncidentRepository,
    "logins": LoginRepository,
    "external_tasks": ExternalTaskRepository,
    "list_settings": ListSettingRepository,
    "reports": ReportRepository,
    "search": SearchRepository,
    "boards": BoardRepository,
    "cards": CardRepository,
}  # UnitOfWork attribute -> repository class: made on first use per session

_READS = {READS_ONLY: True}
_AUTOCOMMIT_READS = {"isolation_level": "AUTOCOMMIT", READS_ONLY: True}
_BEGIN_LATE = {"isolation_level": "AUTOCOMMIT", BEGIN_LATE: True}
Handlers = Mapping[type, Sequence[Callable[["UnitOfWork", Any], None]]]  # event class -> its handlers, in order
WROTE = "flowcrm.wrote"  # Session.info key: the session's transaction holds writes not yet committed
CONNECTED = "flowcrm.connected"  # Session.info key: the connection of the session's transaction, once it has one


@event.listens_for(Session, "after_flush")
def _flushed(session: Session, _flush: UOWTransaction) -> None:
    session.info[WROTE] = True


@event.listens_for(Session, "do_orm_execute")
def _executed(state: ORMExecuteState) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info[WROTE] = True


@direct.before_send
def _sent(session: Session, _statement: direct.Prebuilt) -> None:
    session.info[WROTE] = True  # every prebuilt statement writes


@event.listens_for(Session, "after_begin")
def _connected(session: Session, _transaction: SessionTransaction, connection: Connection) -> None:
    session.info[CONNECTED] = connection


@event.listens_for(Session, "after_transaction_end")
def _ended(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(CONNECTED, None)


class UnitOfWork:
    """`with uow:` opens a transaction; `uow.commit()` makes it durable; leaving without commit rolls back (a
    transaction that only read ends with COMMIT instead: the same for reads, and psycopg keeps its prepared statements).

    An edge (a web request, a CLI command) opens one unit with `open_edge()` and passes it down: the services'
    own `with uow:` blocks then nest in it and share its session, so the reads and the write of one request run
    in one transaction. A service block that ends in an error, or without committing what it wrote (a dry run),
    still rolls back as it did on a unit of its own; one that only read leaves the transaction open for the next.
    """

    session: Session
    users: UserRepository
    config: ConfigRepository
    records: RecordRepository
    instances: InstanceRepository
    tasks: TaskRepository
    history: HistoryRepository
    timers: TimerRepository
    links: LinkRepository
    outbox: OutboxRepository
    schedules: RuleScheduleRepository
    assignment: AssignmentRepository
    reminders: ReminderRepository
    events: EventRepository
    quality: QualityRepository
    imports: ImportRepository
    segments: SegmentRepository
    merges: MergeRepository
    audit: AuditRepository
    find: FindRepository
    jobs: JobRepository
    incidents: IncidentRepository
    logins: LoginRepository
    external_tasks: ExternalTaskRepository
    list_settings: ListSettingRepository
    reports: ReportRepository
    search: SearchRepository
    boards: BoardRepository
    cards: CardRepository

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        handlers: Handlers | None = None,
        *,
        clock: Callable[[], datetime] | None = None,
        begin_late: bool = False,
    ) -> None:
        self._factory = session_factory
        # every transaction of the unit begins at its first write on PostgreSQL (`open_edge`'s `begin_late`, for
        # each opening): a CLI command's or a worker job's unit that only reads sends neither BEGIN nor COMMIT
        self._begin_late = begin_late
        self._handlers: Handlers = handlers or {}
        self.clock: Callable[[], datetime] = clock or _wall_clock  # what "now" is for this unit's timer expressions
        self._depth = 0
        self._base = 0  # 1 while an edge holds the unit open: the depth the services' blocks return to
        self.memo: dict[str, object] = {}  # per unit of work (one request or job): values safe to reuse in it
        self._after_commit: list[Callable[[], None]] = []
        self._made: list[str] = []  # repositories made for the current session (`__getattr__`)
        self._reads_only = False  # the next opening of the unit is for reads only (`reading`)

    def __getattr__(self, name: str) -> Any:
        """A repository on the current session, made on first use: a request uses a handful of the 29, and making
        every one for every unit of work cost more than some of the statements it sent."""
        kind = _REPOSITORIES.get(name)
        if kind is None or "session" not in self.__dict__:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        repository = kind(self.session)
        setattr(self, name, repository)
        self._made.append(name)
        return repository

    def __enter__(self) -> UnitOfWork:
        if self._depth == 0:
            self.session = self._factory()
            for name in self._made:  # the repositories of the previous session
                del self.__dict__[name]
            self._made.clear()
            if self._reads_only:
                self._reads_only = False
                self._open_without_transaction()
            elif self._begin_late:
                self._open_begin_late()
        self._depth += 1
        return self

    @contextmanager
    def reading(self) -> Iterator[UnitOfWork]:
        """The unit for a block that only reads (`with uow.reading():`). When the block opens the unit, on
        PostgreSQL, its statements run without a transaction (autocommit): every statement of a READ COMMITTED
        transaction sees a snapshot of its own anyway, so a read loses nothing, and the server is spared the BEGIN
        and the COMMIT — a read of one statement is one round trip instead of three. A write in such a block
        raises before it is sent (engine.store.db `READS_ONLY`). Inside an open unit (an edge's) the block joins
        its transaction, as `with uow:` does."""
        self._reads_only = not self._depth
        try:
            with self:
                yield self
        finally:
            self._reads_only = False

    def _open_without_transaction(self) -> None:
        # SQLite gains nothing (a SELECT begins no transaction in its driver) and resetting its isolation level
        # afterwards is a PRAGMA: only PostgreSQL reads in autocommit; a write is refused on both
        bind = self._factory.kw.get("bind")
        autocommit = bind is not None and bind.dialect.name == "postgresql"
        self.session.connection(execution_options=_AUTOCOMMIT_READS if autocommit else _READS)

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._close(failed=exc is not None)
        elif self._depth == self._base and (exc is not None or self._uncommitted()):
            self._rollback()  # as leaving a unit of its own would: nothing of the failed or dry block stays
        if isinstance(exc, StaleDataError):  # an autoflush lost an optimistic-lock race
            raise ConflictError(Message("runtime.changed_meanwhile")) from exc
        if isinstance(exc, IntegrityError):  # an autoflush met a row a concurrent transaction just wrote
            raise ConflictError(Message("runtime.conflicts_concurrent", detail=str(exc.orig))) from exc

    def open_edge(self, begin_late: bool = False) -> UnitOfWork:
        """Open the unit for an edge (web request, CLI command): the services called in it share its session
        until `close_edge`. `begin_late`: on PostgreSQL the transaction begins at the unit's first write (engine.
        store.db `BEGIN_LATE`), so an edge that only reads sends neither BEGIN nor COMMIT; a later transaction of
        the unit (after a commit) begins as usual."""
        if self._depth:
            raise RuntimeError("the unit of work is already open")
        self.__enter__()
        self._base = 1
        if begin_late and not self._begin_late:  # a unit made to begin late began so in `__enter__`
            self._open_begin_late()
        return self

    def _open_begin_late(self) -> None:
        bind = self._factory.kw.get("bind")
        if isinstance(bind, Engine) and bind.dialect.driver == "psycopg":
            self.session.connection(execution_options=_BEGIN_LATE)

    def close_edge(self) -> None:
        """End the edge's unit: what was not committed rolls back, the session closes."""
        if self._depth:
            self._base = self._depth = 0
            self._close(failed=False)

    @property
    def database(self) -> str:
        """The database this unit works on (its URL, password hidden): the key of what a process keeps per
        database, since one process may serve several whose ids overlap."""
        bind = self._factory.kw.get("bind")
        return bind.url.render_as_string(hide_password=True) if bind is not None else ""

    @property
    def is_open(self) -> bool:
        """True inside `with uow:` or between `open_edge` and `close_edge`."""
        return self._depth > 0

    def forget_loaded(self) -> None:
        """Let the next reads load rows afresh: another unit of work (a thread, a worker) has written since."""
        if self._depth:
            self.session.expire_all()

    def _uncommitted(self) -> bool:
        session = self.session
        return bool(session.info.get(WROTE) or session.new or session.deleted or session.dirty)

    def _rollback(self) -> None:
        self._after_commit.clear()
        history_buffer.drop_after(self.session, 0)
        self.session.info.pop(WROTE, None)
        self.session.rollback()

    def _close(self, failed: bool) -> None:
        try:
            if not failed and self._only_read():
                self._after_commit.clear()  # promises of writes: a unit that only read has none to keep
                self.session.commit()  # the same as a rollback here, and keeps psycopg's prepared statements
            else:
                self._rollback()
        finally:
            self.session.close()

    def _only_read(self) -> bool:
        """True when the open transaction sent statements, all of them SELECTs, and holds nothing unsent."""
        session = self.session
        connection: Connection | None = session.info.get(CONNECTED)
        transaction = session.get_transaction()
        if connection is None or transaction is None or not transaction.is_active:
            return False  # nothing sent (a rollback sends nothing either), or a transaction an error broke
        if self._uncommitted() or history_buffer.mark(session) or waiting_keys.waiting(session):
            return False
        return sent_only_reads(connection)

    def publish(self, event: Event) -> None:
        """Hand a domain event to its handlers now, in this transaction: a handler's own writes publish more
        events, handled before it returns (a cascade runs depth first, as the writes happened)."""
        handlers = self._handlers.get(type(event))
        if handlers is None:  # an event nobody handles would be a write whose consequences silently never ran
            raise LookupError(
                f"no handlers are registered for {type(event).__name__}; the unit of work was made "
                "without the handler table (engine.bootstrap wires it)"
            )
        for handler in handlers:
            handler(self, event)

    def after_commit(self, hook: Callable[[], None]) -> None:
        """Call `hook` once the transaction's writes are durable (dropped if it rolls back)."""
        self._after_commit.append(hook)

    def _send_held(self) -> None:
        connection: Connection | None = self.session.info.get(CONNECTED)
        if connection is not None:
            pipeline.send_held(connection)
            if connection.info.get(pipeline.COPY_ENDING) is not None:  # a COPY's answer, also the block's
                from engine.store.copy_end import collect  # psycopg's own modules: only where a COPY ran

                collect(connection.info)

    def flush(self) -> None:
        """Send pending writes now; a lost optimistic-lock race becomes ConflictError."""
        try:
            self.session.flush()
        except StaleDataError as exc:
            self._rollback()
            raise ConflictError(Message("runtime.changed_meanwhile")) from exc

    def commit(self) -> None:
        """Commit; a lost race (stale revision, duplicate key, lock timeout) becomes ConflictError."""
        try:
            history_buffer.write(self.session)
            waiting_keys.write(self.session)
            if self.session.dirty:  # changed records in prebuilt UPDATEs, rather than by the commit's flush
                self.records.save_changed()
            self.session.commit()  # PostgreSQL: the held writes go with the COMMIT (engine.store.pipeline)
            self.session.info.pop(WROTE, None)
        except StaleDataError as exc:
            self._rollback()
            raise ConflictError(Message("runtime.changed_meanwhile")) from exc
        except IntegrityError as exc:
            self._rollback()
            raise ConflictError(Message("runtime.conflicts_existing", detail=str(exc.orig))) from exc
        except OperationalError as exc:
            self._rollback()
            if "locked" in str(exc.orig).lower():
                raise ConflictError(Message("runtime.database_busy")) from exc
            raise
        finally:
            hooks, self._after_commit = self._after_commit, []
        for hook in hooks:  # reached only when the commit succeeded
            hook()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Run a block in a savepoint, flushed at its end: an exception rolls back the block only, and the
        transaction (with its row locks) goes on."""
        hooks = len(self._after_commit)
        history_buffer.write(self.session)  # buffered history of before the savepoint is not its to undo
        try:
            with self.session.begin_nested():
                yield
                history_buffer.write(self.session)
                self.session.flush()
                self._send_held()  # a held write's error is the block's, rolled back with it
        except BaseException:
            history_buffer.drop_after(self.session, 0)  # rows the block buffered and did not send
            del self._after_commit[hooks:]  # what the block did is undone: so are its promises
            # rows the block wrote by prebuilt statements took their values as stored (`set_committed_value`), so
            # the ORM does not know to expire them with the savepoint: reload every row on its next use (what was
            # staged before the savepoint was flushed when it began, so nothing unsaved is lost)
            self.session.expire_all()
            raise

    @contextmanager
    def one_history_insert(self) -> Iterator[None]:
        """The field history the block writes goes to the database in one INSERT (engine.store.history_buffer)."""
        with history_buffer.buffering(self.session):
            yield

    @contextmanager
    def keys_together(self) -> Iterator[None]:
        """The search and match keys of the records created in the block go to the database together at its end,
        one sorted INSERT per table (engine.store.waiting_keys); earlier only where something reads them."""
        with waiting_keys.together(self.session):
            yield

    def gone(self, row: object) -> bool:
        """True when a row was deleted in this transaction."""
        state: Any = inspect(row)
        return bool(state.deleted or state.was_deleted)

    @staticmethod
    def lost_race(exc: BaseException) -> bool:
        """True when an error (or what caused it) is a lost race with a concurrent writer: a stale revision, a
        duplicate key, a busy SQLite database. Such a job item is retried as it is, not counted as failed."""
        seen: BaseException | None = exc
        for _ in range(10):  # a cause chain is short; a cycle must not hang the worker
            if seen is None:
                break
            if isinstance(seen, StaleDataError | IntegrityError):
                return True
            if isinstance(seen, OperationalError) and "locked" in str(seen.orig).lower():
                return True
            seen = seen.__cause__
        return False
