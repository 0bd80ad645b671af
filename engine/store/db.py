"""Database connection: URL handling, SQLite pragmas, session factory, migrations."""

from __future__ import annotations

import re
from collections.abc import Hashable
from datetime import UTC, datetime
from pathlib import Path
from time import monotonic
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import Session, sessionmaker

from engine.store import pipeline

if TYPE_CHECKING:
    from alembic.config import Config

MIGRATIONS = Path(__file__).parent / "migrations"


def normalize_url(url: str) -> str:
    """Accept postgres:// and postgresql:// URLs and use the psycopg 3 driver for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _fold(method: Any) -> Any:
    """A SQL function applying a str method to text and passing other values (NULL, numbers) through."""

    def fold(value: Any) -> Any:
        return method(value) if isinstance(value, str) else value

    return fold


def _moment(value: Any) -> datetime | None:
    """A stored moment: SQLite's naive UTC timestamp text, or ISO text with an offset; None for anything else."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _local_month(value: Any, zone: str) -> int | None:
    """year * 100 + month of a stored moment in an IANA time zone."""
    moment = _moment(value)
    if moment is None:
        return None
    local = moment.astimezone(ZoneInfo(zone))
    return local.year * 100 + local.month


def _utc_moment(value: Any) -> str | None:
    """A stored moment as SQLite's UTC timestamp text (what a bound UTC datetime is compared as)."""
    moment = _moment(value)
    return None if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an Engine; SQLite gets WAL, foreign keys and a busy timeout, PostgreSQL a ping of pooled connections
    that rested (`ping_after_idle`) and multi-row INSERTs; both note which transactions sent only reads
    (`sent_only_reads`)."""
    url = normalize_url(url)
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"timeout": 30, "check_same_thread": False})
        engine = create_engine(url, **kwargs)
        _note_writes(engine)
        _checkpoint_at_default_when_returned(engine)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            # a bulk write (an import's batch) touches index pages all over tables of 100,000s of rows: with the
            # default 2 MB cache it read many of them again and spilled dirty ones mid-transaction (an import of
            # 30,000 rows: 28 → 18 s in the driver, 33 → 28 s CPU); pages are allocated only as they are used
            cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
            cursor.close()
            # SQLite's lower()/upper() fold ASCII only; Python's fold every script (Cyrillic searches)
            dbapi_conn.create_function("lower", 1, _fold(str.lower), deterministic=True)
            dbapi_conn.create_function("upper", 1, _fold(str.upper), deterministic=True)
            # what PostgreSQL's timestamptz and timezone() do for reports in a user's zone (engine/store/report_sql)
            dbapi_conn.create_function("local_month", 2, _local_month, deterministic=True)
            dbapi_conn.create_function("utc_moment", 1, _utc_moment, deterministic=True)

        return engine
    engine = create_engine(url, **kwargs)
    _note_writes(engine)
    if engine.dialect.driver == "psycopg":
        # INSERT many rows as one multi-row statement (SQLAlchemy's "insertmanyvalues", pages of 1,000 rows), as
        # SQLAlchemy does for psycopg2 by default: psycopg 3's executemany sends each row in a pipeline and waits for
        # the server twice (the rows, then the pipeline's end); one INSERT waits once. A step's events, a record's
        # keys and field history are such inserts: seven for one record moved through a short process
        engine.dialect.use_insertmanyvalues_wo_returning = True
        # rows per statement: SQLAlchemy's 1,000 split an import batch's field history (300 records × 7 fields)
        # into three; its cap of 32,700 bound parameters per statement still holds
        engine.dialect.insertmanyvalues_page_size = kwargs.get("insertmanyvalues_page_size", ROWS_PER_INSERT)

        @event.listens_for(engine, "connect")
        def _keep_prepared(dbapi_conn: Any, _record: Any) -> None:
            # psycopg prepares a statement on its 5th run and keeps the last 100 it saw: the inbox alone has 125
            # page shapes, so a process serving them all in turn kept none of its page statements prepared and the
            # server planned each again (~1 ms for a page of tasks); as many as SQLAlchemy keeps compiled
            dbapi_conn.prepared_max = PREPARED_MAX

        # prebuilt writes held for one pipeline go first, before any other statement (engine.store.pipeline)
        pipeline.send_held_first(engine, PLANNED_PER_RUN)
        # a COPY's answer is read before anything else uses its connection, even the held writes
        from engine.store import copy_end  # psycopg's own modules: imported where psycopg is the driver

        copy_end.collect_first(engine)

        @event.listens_for(engine, "do_execute")
        def _planned_per_run(cursor: Any, statement: str, parameters: Any, context: Any) -> bool | None:
            if not context.execution_options.get(PLANNED_PER_RUN):
                return None
            cursor.execute(statement, parameters, prepare=False)  # psycopg: never prepared, so planned for its values
            return True
    if not kwargs.get("pool_pre_ping"):
        ping_after_idle(engine, PING_AFTER_IDLE)
    if engine.dialect.driver == "psycopg":
        _begin_at_first_write(engine)
    return engine


def _checkpoint_at_default_when_returned(engine: Engine) -> None:
    """SQLite: a connection whose write-ahead log was let grow (`spread_checkpoints`, an import's batches) goes back
    to SQLite's 1,000 pages when it returns to the pool, however its unit of work ended: an import that failed midway
    would otherwise leave a pooled connection delaying its checkpoints for whoever got it next."""

    @event.listens_for(engine, "checkin")
    def _back_to_default(dbapi_conn: Any, record: Any) -> None:
        if dbapi_conn is not None and record.info.get(WAL_PAGES_NOTE, WAL_PAGES_DEFAULT) != WAL_PAGES_DEFAULT:
            dbapi_conn.execute(f"PRAGMA wal_autocheckpoint={WAL_PAGES_DEFAULT}")
            record.info[WAL_PAGES_NOTE] = WAL_PAGES_DEFAULT


def _begin_at_first_write(engine: Engine) -> None:
    """On a connection opened with `BEGIN_LATE` (and AUTOCOMMIT): reads run without a transaction until the first
    statement that needs one — a write, a row lock, a cursor kept on the server, any text — which psycopg then
    precedes with BEGIN; the commit or rollback ends it. Under READ COMMITTED every statement reads a snapshot of
    its own, in a transaction or not, so the reads before it see what they saw before; a request that only reads
    is spared the BEGIN and the COMMIT, two of the six round trips of an inbox page."""

    @event.listens_for(engine, "before_cursor_execute")
    def _begin_if_needed(conn: Connection, cursor: Any, sql: str, _params: Any, context: Any, _many: bool) -> None:
        if not conn.get_execution_options().get(BEGIN_LATE) or _reads_alone(context, sql):
            return
        raw = cursor.connection
        if raw.autocommit and raw.info.transaction_status == _IDLE:
            raw.autocommit = False  # psycopg sends BEGIN before this statement; the connection's return resets it


def _reads_alone(context: Any, sql: str) -> bool:
    """A compiled SELECT that locks no row and keeps no cursor on the server: it may run outside a transaction."""
    return bool(
        _is_read(context)
        and context.compiled.statement.is_select
        and not context.execution_options.get("stream_results")
        and not _LOCKS.search(sql)
    )


_LOCKS = re.compile(r"\bFOR\s+(?:NO\s+KEY\s+)?(?:UPDATE|SHARE|KEY\s+SHARE)\b", re.IGNORECASE)
_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE: no transaction open on the connection


def _note_writes(engine: Engine) -> None:
    """Mark a connection's transaction as written to by any statement that is not a compiled SELECT (text and
    driver SQL count as writes: a NOTIFY is one)."""

    @event.listens_for(engine, "begin")
    def _begun(conn: Connection) -> None:
        conn.info[_SENT_WRITES] = False
        conn.info.pop(_READ_MEMO, None)

    @event.listens_for(engine, "before_cursor_execute")
    def _sent(conn: Connection, _cursor: Any, sql: str, _params: Any, context: Any, _many: bool) -> None:
        if not _is_read(context):
            if conn.get_execution_options().get(READS_ONLY):  # autocommit: it would be durable at once
                raise RuntimeError(f"a unit of work opened to read only sent a write: {' '.join(sql.split())[:200]}")
            conn.info[_SENT_WRITES] = True


def _is_read(context: Any) -> bool:
    return bool(
        context is not None
        and context.compiled is not None
        and not context.is_text
        and not (context.isinsert or context.isupdate or context.isdelete or context.isddl)
    )


def sent_only_reads(conn: Connection) -> bool:
    """True when the connection's current transaction sent compiled SELECTs only, so ending it with COMMIT
    changes nothing a ROLLBACK would not (a SELECT of a function with effects, such as pg_notify or setval, must
    go as text to count as a write). On PostgreSQL that matters: psycopg forgets every prepared statement of the
    connection at a ROLLBACK and sends DEALLOCATE ALL, so each read-only request that rolled back cost a round
    trip and made the next statements be prepared again."""
    return conn.info.get(_SENT_WRITES) is False


def read_memo(session: Session) -> dict[Hashable, Any] | None:
    """Where to remember the answers of reads for the rest of the session's transaction, while that transaction
    has sent reads only and holds no unsent changes; None otherwise (then ask the database). A card asked nine
    services whether its reader may see the record, each with the same statement: the answer cannot change until
    the transaction writes, and a new transaction starts with an empty memo."""
    if session.new or session.dirty or session.deleted:
        return None
    conn = session.connection()
    if conn.info.get(_SENT_WRITES) is not False:  # a write was sent (or the engine does not note them)
        return None
    memo: dict[Hashable, Any] = conn.info.setdefault(_READ_MEMO, {})
    return memo


WAL_PAGES_NOTE = "flowcrm.wal_autocheckpoint"  # Connection.info: the pages a connection's log grows to (SQLite)
WAL_PAGES_DEFAULT = 1000  # SQLite's own wal_autocheckpoint
BEGIN_LATE = "flowcrm_begin_late"  # execution option: PostgreSQL begins at the first write (UnitOfWork.open_edge)
READS_ONLY = "flowcrm_reads_only"  # execution option: the connection of a read-only unit (UnitOfWork.reading)
_SENT_WRITES = "flowcrm.sent_writes"  # Connection.info: the current transaction sent a statement other than a read
_READ_MEMO = "flowcrm.read_memo"  # Connection.info: answers of reads in the current transaction (`read_memo`)
ROWS_PER_INSERT = 5000  # PostgreSQL: rows of one multi-row INSERT at most (fewer when they need > 32,700 parameters)
SQLITE_CACHE_KB = 65_536  # page cache per SQLite connection (PRAGMA cache_size)
# An execution option: PostgreSQL plans the statement for the values of each run (psycopg does not prepare it).
# A statement psycopg prepared (its sixth run) is planned once for any values — a generic plan — as soon as that plan
# looks no dearer than those made for the values; for the inbox's sorted and filtered pages the plans it kept read
# up to 289 times the rows of the plan for the values (Overdue by record under a process filter: 1,015,739 buffers
# against 3,510), so a page's time depended on how often it had been asked (engine/store/work_repos.filtered_query)
PLANNED_PER_RUN = "planned_per_run"
PREPARED_MAX = 500  # statements psycopg keeps prepared per connection (SQLAlchemy's compiled cache holds 500)
PING_AFTER_IDLE = 5.0  # seconds a pooled PostgreSQL connection may rest before its next checkout pings it


def ping_after_idle(engine: Engine, seconds: float) -> None:
    """Ping a pooled connection at checkout only when it rested `seconds` or more since its last use; a dead one is
    replaced before the caller gets it. SQLAlchemy's pool_pre_ping pings at every checkout: on PostgreSQL a round
    trip per transaction, often a tenth of a request's waits for the server. A connection used moments ago is
    trusted; if the server went away in between, its first statement fails and SQLAlchemy drops the pool's
    connections."""

    @event.listens_for(engine, "checkin")
    def _rested_from(_dbapi_conn: Any, record: Any) -> None:
        record.info[_RESTING_SINCE] = monotonic()

    @event.listens_for(engine, "checkout")
    def _ping_if_rested(dbapi_conn: Any, record: Any, _proxy: Any) -> None:
        since = record.info.get(_RESTING_SINCE)  # none on a connection just made (its info starts empty)
        if since is None or monotonic() - since < seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_conn)
        except engine.dialect.loaded_dbapi.Error as exc:
            raise DisconnectionError(f"a pooled connection died while it rested: {exc}") from exc  # pool reconnects


_RESTING_SINCE = "flowcrm.resting_since"


def hold_loaded_rows(session: Session) -> None:
    """Keep every row `session` loads or stores referenced until the session is dropped. SQLAlchemy's identity
    map holds rows weakly: a row nobody refers to any more is forgotten, and the next `get` of it reads it again.
    A web request's services each look up the same record, user and task, and a card view read its record nine
    times (31 statements; a round trip each, which on a loaded machine costs a scheduling wait). Only the first
    HOLD_LIMIT rows are held: a request that reads more is a batched one (an export of any size), whose batches
    must be freed once written, as they are in a session without this."""
    held: list[object] = session.info.setdefault(_HELD, [])

    def hold(_session: Session, row: object) -> None:
        if len(held) < HOLD_LIMIT:
            held.append(row)

    for name in ("loaded_as_persistent", "pending_to_persistent", "detached_to_persistent"):
        event.listen(session, name, hold)


_HELD = "flowcrm.held_rows"
HOLD_LIMIT = 2000  # rows a request keeps for re-use: far above a page (a card holds ~40), far below an export


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose objects stay readable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


def alembic_config(url: str) -> Config:
    """Alembic configuration pointing at the engine's migrations."""
    # imported here: every process imports this module (the import worker, the sandbox, each CLI command), and
    # alembic took ~0.19 s of a 1.7 s start of the import worker that never migrates
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", normalize_url(url).replace("%", "%%"))
    return cfg


def upgrade(url: str) -> None:
    """Bring the database schema to the newest migration."""
    from alembic import command

    command.upgrade(alembic_config(url), "head")
