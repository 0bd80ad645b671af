"""Repositories: every query the services need, so nothing above the store imports SQLAlchemy.

Users, configuration and records live here; process execution in work_repos, automation in automation_repos."""


import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ARRAY, Integer, Table, and_, bindparam, exists, func, insert, inspect, or_, select, true
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from engine.errors import ConflictError
from engine.store import history_buffer
from engine.store.automation_repos import (
    AssignmentRepository,
    EventRepository,
    LinkRepository,
    OutboxRepository,
    ReminderRepository,
    RuleScheduleRepository,
)
from engine.store.bulk_insert import insert_rows, insert_tuples, jsonb_order
from engine.store.db import read_memo
from engine.store.direct import Prebuilt
from engine.store.filter_sql import like_pattern, text_like
from engine.store.inserted_rows import hold_inserted, insert_held, insert_noted, note_inserted, settle
from engine.store.models import (
    ApiTokenRow,
    ConfigVersionRow,
    FieldChangeRow,
    InstanceRow,
    LinkedRecord,
    ProcessVersionRow,
    RecordLinkRow,
    RecordRow,
    TaskCandidateRow,
    TaskRow,
    UserRow,
)
from engine.store.repo_base import _candidate, _inbox_record_ids, _Repository, team_memo
from engine.store.task_titles import retitle_tasks
from engine.store.work_repos import HistoryRepository, InstanceRepository, TaskRepository, TimerRepository

__all__ = ["AssignmentRepository", "ConfigRepository", "EventRepository", "HistoryRepository", "InstanceRepository",
           "LinkRepository", "OutboxRepository", "RecordRepository", "ReminderRepository", "RuleScheduleRepository",
           "TaskRepository", "TimerRepository", "UserRepository", "_Repository", "_candidate", "_inbox_record_ids"]


class UserRepository(_Repository):
    def __init__(self, session: Session) -> None:
        super().__init__(session)
        self._named: dict[str, UserRow] = {}  # by_username: names found in this unit of work

    def get(self, user_id: int) -> UserRow | None:
        """A user by id."""
        return self._get(UserRow, user_id)

    def with_config_key(self, user_id: int) -> tuple[UserRow | None, tuple[int, str] | None]:
        """A user by id and the (id, content hash) of the deployed configuration, in one statement: a request
        reads its session's user first and asks which configuration is deployed next (the key is None when no
        configuration is deployed or the user is unknown)."""
        row = self.session.execute(_USER_WITH_CONFIG_KEY, {"user_id": user_id}).first()
        if row is None:
            return None, None
        user, config_id, content_hash = row
        return user, (config_id, content_hash) if config_id is not None else None

    def by_username(self, username: str) -> UserRow | None:
        """A user by login name (one this unit of work holds already is not read again)."""
        # a name found once is found again without a look through all the unit holds: that grows with a batch of
        # records (an import's batch looked at 20,000 objects for each new task's assignee)
        named = self._named
        found = named.get(username)
        if found is not None and self._held(found, username):
            return found
        for row in self.session.identity_map.values():
            if isinstance(row, UserRow) and self._held(row, username):
                named[username] = row
                return row
        found = self.session.scalar(select(UserRow).where(UserRow.username == username))
        if found is not None:
            named[username] = found
        return found

    def _held(self, row: UserRow, username: str) -> bool:
        """Whether this unit of work holds the user loaded (not expired, not deleted) under that name."""
        state = inspect(row)
        return (state.persistent and state.session is self.session and not state.expired_attributes
                and row.username == username)

    def display_names(self, usernames: Iterable[str]) -> dict[str, str]:
        """Display names by login name, in one statement for those this unit of work does not hold already."""
        wanted = {u for u in usernames if u}
        found: dict[str, str] = {}
        for row in self.session.identity_map.values():
            if isinstance(row, UserRow) and not inspect(row).expired_attributes and row.username in wanted:
                found[row.username] = row.display_name
        missing = wanted - found.keys()
        if missing:
            query = select(UserRow.username, UserRow.display_name).where(UserRow.username.in_(sorted(missing)))
            found.update({username: name for username, name in self.session.execute(query)})
        return found

    def logins_matching(self, text: str) -> list[str]:
        """Logins of the users whose display name or login contains `text` (any case, any script)."""
        pattern = like_pattern(text)
        query = select(UserRow.username).where(
            or_(text_like(UserRow.display_name, pattern), text_like(UserRow.username, pattern))
        ).order_by(UserRow.username)
        return list(self.session.scalars(query))

    def all(self) -> Sequence[UserRow]:
        """Every user, by login name."""
        return self.session.scalars(select(UserRow).order_by(UserRow.username)).all()

    def by_ids(self, ids: Iterable[int]) -> dict[int, UserRow]:
        """Users by id, for labelling lists."""
        found, wanted = self._loaded(UserRow, ids)
        if wanted:
            found.update({r.id: r for r in self.session.scalars(select(UserRow).where(UserRow.id.in_(wanted)))})
        return found

    def team_member_ids(self, team: str) -> list[int]:
        """Ids of the active users of a team; read once per session until it writes (every visibility check of
        a head of sales's request asks: eight times for one card)."""
        known = team_memo(self.session)
        if team not in known:
            stmt = select(UserRow.id).where(UserRow.team == team, UserRow.active.is_(True))
            known[team] = list(self.session.scalars(stmt).all())
        return list(known[team])

    def token_with_config_key(
        self, token_hash: str
    ) -> tuple[ApiTokenRow | None, UserRow | None, tuple[int, str] | None]:
        """An API token by its hash, its user and the deployed configuration's (id, content hash), in one statement
        (an API request reads all three, one after the other)."""
        row = self.session.execute(_TOKEN_WITH_CONFIG_KEY, {"token_hash": token_hash}).first()
        if row is None:
            return None, None, None
        token, user, config_id, content_hash = row
        return token, user, (config_id, content_hash) if config_id is not None else None


# built once: both are asked on every record creation and task completion, and building a statement (a subquery
# above all) costs more than SQLite takes to answer it
_LATEST_CONFIG_KEY = (
    select(ConfigVersionRow.id, ConfigVersionRow.content_hash).order_by(ConfigVersionRow.id.desc()).limit(1)
)
_NEWEST_VERSIONS = (
    select(ProcessVersionRow.process_id, func.max(ProcessVersionRow.version).label("v"))
    .group_by(ProcessVersionRow.process_id)
    .subquery()
)
_LATEST_PROCESSES = (
    select(ProcessVersionRow)
    .join(
        _NEWEST_VERSIONS,
        and_(
            ProcessVersionRow.process_id == _NEWEST_VERSIONS.c.process_id,
            ProcessVersionRow.version == _NEWEST_VERSIONS.c.v,
        ),
    )
    .order_by(ProcessVersionRow.process_id)
)
_LATEST_STARTING_ON = _LATEST_PROCESSES.where(
    ProcessVersionRow.entity == bindparam("entity"), ProcessVersionRow.start_on == bindparam("start_on")
)


_USER_WITH_CONFIG_KEY = select(
    UserRow,
    _LATEST_CONFIG_KEY.with_only_columns(ConfigVersionRow.id).scalar_subquery(),
    _LATEST_CONFIG_KEY.with_only_columns(ConfigVersionRow.content_hash).scalar_subquery(),
).where(UserRow.id == bindparam("user_id"))


_TOKEN_WITH_CONFIG_KEY = (
    select(
        ApiTokenRow,
        UserRow,
        _LATEST_CONFIG_KEY.with_only_columns(ConfigVersionRow.id).scalar_subquery(),
        _LATEST_CONFIG_KEY.with_only_columns(ConfigVersionRow.content_hash).scalar_subquery(),
    )
    .join(UserRow, UserRow.id == ApiTokenRow.user_id)
    .where(ApiTokenRow.token_hash == bindparam("token_hash"))
)


class ConfigRepository(_Repository):
    def latest(self) -> ConfigVersionRow | None:
        """The active (most recently deployed) configuration."""
        return self.session.scalar(select(ConfigVersionRow).order_by(ConfigVersionRow.id.desc()).limit(1))

    def latest_id(self) -> int | None:
        """Id of the active configuration."""
        return self.session.scalar(select(func.max(ConfigVersionRow.id)))

    def latest_key(self) -> tuple[int, str] | None:
        """(id, content hash) of the active configuration, cheap enough to ask on every request."""
        # on the connection: two plain values, nothing for the session to load (a third of the Python calls)
        row = self.session.connection().execute(_LATEST_CONFIG_KEY).first()
        return (row[0], row[1]) if row else None

    def get_config(self, config_id: int) -> ConfigVersionRow | None:
        """A deployed configuration by id."""
        return self._get(ConfigVersionRow, config_id)

    def process_version(self, version_id: int) -> ProcessVersionRow | None:
        """A process version by id."""
        return self._get(ProcessVersionRow, version_id)

    def latest_process(self, process_id: str) -> ProcessVersionRow | None:
        """The newest version of a process."""
        return self.session.scalar(
            select(ProcessVersionRow)
            .where(ProcessVersionRow.process_id == process_id)
            .order_by(ProcessVersionRow.version.desc())
            .limit(1)
        )

    def config_versions(self, limit: int) -> list[tuple[int, datetime, str, str | None, str]]:
        """(id, deployed_at, deployed_by, note, content hash) of the newest configuration versions, files not read."""
        rows = self.session.execute(
            select(ConfigVersionRow.id, ConfigVersionRow.deployed_at, ConfigVersionRow.deployed_by,
                   ConfigVersionRow.note, ConfigVersionRow.content_hash)
            .order_by(ConfigVersionRow.id.desc()).limit(limit))
        return [(row[0], row[1], row[2], row[3], row[4]) for row in rows]

    def previous_config(self, config_id: int) -> ConfigVersionRow | None:
        """The configuration deployed before `config_id`."""
        return self.session.scalar(select(ConfigVersionRow).where(ConfigVersionRow.id < config_id)
                                   .order_by(ConfigVersionRow.id.desc()).limit(1))

    def latest_processes(self) -> list[ProcessVersionRow]:
        """The newest version of every process."""
        return list(self.session.scalars(_LATEST_PROCESSES).all())

    def latest_starting_on(self, entity: str, start_on: str) -> list[ProcessVersionRow]:
        """The newest versions that start on `start_on` for records of `entity` (only those rows are read: every
        version row carries its BPMN and spec)."""
        return list(self.session.scalars(_LATEST_STARTING_ON, {"entity": entity, "start_on": start_on}).all())

    def all_process_versions(self) -> list[tuple[ProcessVersionRow, int]]:
        """Every process version with its count of running instances."""
        running = (
            select(InstanceRow.process_version_id, func.count().label("n"))
            .where(InstanceRow.status == "running")
            .group_by(InstanceRow.process_version_id)
            .subquery()
        )
        stmt = (
            select(ProcessVersionRow, func.coalesce(running.c.n, 0))
            .outerjoin(running, running.c.process_version_id == ProcessVersionRow.id)
            .order_by(ProcessVersionRow.process_id, ProcessVersionRow.version.desc())
        )
        return [(row, int(n)) for row, n in self.session.execute(stmt).all()]


_RECORDS = cast(Table, RecordRow.__table__)
_BY_IDS = select(RecordRow).where(RecordRow.id.in_(bindparam("ids", expanding=True)))
_BY_IDS_ARRAY = select(RecordRow).where(RecordRow.id == func.any(bindparam("ids", type_=ARRAY(Integer))))
RETITLED = "flowcrm.retitled"  # Session.info key: records whose title was staged (their tasks' copies follow)
# the columns a write of a stored record changes; a row changed in any other is left to the ORM's flush
_WRITTEN_COLUMNS = frozenset({"title", "data", "owner_id", "updated_at", "merged_into_id"})
_RECORD_UPDATES: dict[tuple[str, ...], Prebuilt] = {}  # prebuilt UPDATE per set of changed columns (at most 31)


def _record_update(names: tuple[str, ...]) -> Prebuilt:
    stmt = _RECORD_UPDATES.get(names)
    if stmt is None:
        stmt = _RECORD_UPDATES[names] = Prebuilt(
            _RECORDS.update()
            .where(_RECORDS.c.id == bindparam("row_id"), _RECORDS.c.revision == bindparam("old_revision"))
            .values({**{name: bindparam(f"new_{name}") for name in names}, "revision": bindparam("new_revision")}),
            guarded=True)
    return stmt


def _data_key(data: Any) -> str:
    return json.dumps(data, sort_keys=True, default=str, separators=(",", ":"))


def _stale_record(record_id: int, old: int) -> Callable[[int], None]:
    """The check of a record's revision-checked UPDATE: a revision saved elsewhere meanwhile is StaleDataError."""

    def check(matched: int) -> None:
        if matched != 1:
            raise StaleDataError(f"record {record_id} was saved by someone else in the meantime (revision {old} "
                                 "is stale)")

    return check


_RECORD_INSERT = Prebuilt(insert(_RECORDS), returning="id")
# the columns of a field history row given as a tuple (RecordRepository.add_history)
HISTORY = ("record_id", "at", "actor", "source", "field", "old_value", "new_value")


class RecordRepository(_Repository):
    def insert_new(self, row: RecordRow) -> None:
        """Insert a new record row (every column set on it) by a prebuilt statement, sent now, and hold it as a
        loaded row (engine.store.inserted_rows): no ORM flush of it or of the unit of work's other staged rows."""
        insert_held(self.session, row, _RECORD_INSERT)

    def add_changes(self, rows: Sequence[dict[str, Any]]) -> None:
        """Append field history rows (column values) in one statement (executemany)."""
        if rows and not history_buffer.hold(self.session, rows):  # a step's rows, buffered: one INSERT for all
            if self._staged_first(RecordRow, FieldChangeRow)["autoflush"]:
                self.session.flush()
            # a Core INSERT of the table: the ORM's bulk path would inspect every row for nothing (no objects);
            # prebuilt, so its cache key is made once
            insert_rows(self.session, cast(Table, FieldChangeRow.__table__), rows)

    def add_history(self, rows: Sequence[tuple[Any, ...]]) -> None:
        """add_changes for rows given as tuples of HISTORY's columns (a batch's history: no dictionary per row)."""
        if not rows:
            return
        if history_buffer.buffering_now(self.session):
            self.add_changes([dict(zip(HISTORY, row, strict=True)) for row in rows])
            return
        if self._staged_first(RecordRow, FieldChangeRow)["autoflush"]:
            self.session.flush()
        insert_tuples(self.session, cast(Table, FieldChangeRow.__table__), HISTORY, rows)

    def get(self, record_id: int) -> RecordRow | None:
        """A record by id."""
        return self._get(RecordRow, record_id)

    def save_changed(self) -> None:
        """Write the changed columns of loaded records in prebuilt UPDATEs checked by revision, as the ORM's flush
        would, without the flush's bookkeeping: the rows take the values and the next revision as stored. Only
        when nothing else is staged (no new or deleted row a write could depend on, or that must come first);
        otherwise, and for a row changed beyond its written columns, the flush does it. A revision saved
        elsewhere meanwhile raises StaleDataError, as the flush would. A new title goes to the record's tasks' copies,
        as the flush hook would send it."""
        session = self.session
        if session.new or session.deleted:
            return
        retitled: list[tuple[int, str]] = []
        for row in [row for row in session.dirty if type(row) is RecordRow]:
            state: Any = inspect(row)
            touched = state.committed_state.keys()
            if not touched or not touched <= _WRITTEN_COLUMNS:
                continue
            names = tuple(sorted(name for name in touched if state.attrs[name].history.has_changes()))
            if not names:  # given the values it had: nothing to store
                settle(session, row)
                continue
            values = {name: getattr(row, name) for name in names}
            old = row.revision
            # on PostgreSQL the UPDATE is held (engine.store.pipeline): a stale revision raises when it is sent
            _record_update(names).send(session, {
                **{f"new_{name}": value for name, value in values.items()},
                "row_id": row.id, "old_revision": old, "new_revision": old + 1}, _stale_record(row.id, old))
            for name, value in (*values.items(), ("revision", old + 1)):
                set_committed_value(row, name, value)
            settle(session, row)  # stored: the commit's flush has nothing of it left to look at
            if "title" in values:
                retitled.append((row.id, row.title))
        # what the flush hook (engine/store/task_titles.py) does for a title the flush writes: the tasks' copies
        retitle_tasks(session, retitled)

    def page(
        self, entity: str, *, owner_ids: list[int] | None, include_unowned: bool = False,
        inbox_of: tuple[int, Iterable[str], str] | None = None, limit: int = 50, offset: int = 0,
        after: int | None = None,
    ) -> list[RecordRow]:
        """Records of an entity, newest first (`after`: those older than that record — a keyset page). `owner_ids=None`
        means no ownership filter; `inbox_of` (user id, groups, username) also admits records with an open task in
        that user's inbox or pool."""
        stmt = select(RecordRow).where(RecordRow.entity == entity, RecordRow.merged_into_id.is_(None))
        if after is not None:
            stmt = stmt.where(RecordRow.id < after)
        if owner_ids is not None:
            visible = [RecordRow.owner_id.in_(owner_ids)]
            if include_unowned:
                visible.append(RecordRow.owner_id.is_(None))
            if inbox_of is not None:
                visible.append(RecordRow.id.in_(_inbox_record_ids(*inbox_of)))
            stmt = stmt.where(or_(*visible))
        stmt = stmt.order_by(RecordRow.id.desc()).limit(limit).offset(offset)
        return list(self.session.scalars(stmt).all())

    def in_inbox_of(self, record_id: int, user_id: int, groups: Iterable[str], username: str) -> bool:
        """True if the record has an open task assigned to, or claimable by, this user."""
        groups = frozenset(groups)
        memo = read_memo(self.session)  # asked once per service a card calls: once per transaction that only read
        key = ("in_inbox_of", record_id, user_id, groups, username)
        if memo is not None and key in memo:
            return bool(memo[key])
        # from the record's few tasks to their candidate rows (by primary key): joined the other way round, SQLite
        # walked every pooled candidate row of the reader's groups (tens of thousands at 100,000 tasks) to find them
        offered = select(TaskCandidateRow.task_id).where(
            TaskCandidateRow.task_id == TaskRow.id, TaskCandidateRow.pooled == true(), _candidate(groups, username)
        )
        pooled = select(TaskRow.id).where(TaskRow.record_id == record_id, exists(offered))
        mine = select(TaskRow.id).where(TaskRow.record_id == record_id, TaskRow.assignee_id == user_id,
                                        TaskRow.state == "open")
        found = bool(self.session.scalar(select(exists(pooled) | exists(mine))))
        if memo is not None:
            memo[key] = found
        return found

    def list_any(self) -> bool:
        """True if any record exists."""
        return self.session.scalar(select(RecordRow.id).limit(1)) is not None

    def titles(self, ids: Iterable[int]) -> dict[int, str]:
        """Record titles by id, in one query (none for records this unit of work holds)."""
        loaded, wanted = self._loaded(RecordRow, ids)
        titles = {record_id: row.title for record_id, row in loaded.items()}
        if wanted:
            rows = self.session.execute(select(RecordRow.id, RecordRow.title).where(RecordRow.id.in_(wanted))).all()
            titles.update({record_id: title for record_id, title in rows})
        return titles

    def changes(self, record_id: int) -> list[FieldChangeRow]:
        """Field history of a record, oldest first."""
        stmt = select(FieldChangeRow).where(FieldChangeRow.record_id == record_id).order_by(FieldChangeRow.id)
        return list(self.session.scalars(stmt).all())

    def change(self, change_id: int) -> FieldChangeRow | None:
        """One field change by id."""
        return self.session.get(FieldChangeRow, change_id)

    def changes_page(self, record_ids: Iterable[int], before: FieldChangeRow | None, limit: int
                     ) -> list[FieldChangeRow]:
        """Field history of records, newest first: `limit` changes written before `before` (keyset on time and
        id, read from the index ix_field_change_record_at however long the history)."""
        stmt = select(FieldChangeRow).where(FieldChangeRow.record_id.in_(sorted(set(record_ids))))
        if before is not None:
            stmt = stmt.where(or_(FieldChangeRow.at < before.at,
                                  and_(FieldChangeRow.at == before.at, FieldChangeRow.id < before.id)))
        stmt = stmt.order_by(FieldChangeRow.at.desc(), FieldChangeRow.id.desc()).limit(limit)
        return list(self.session.scalars(stmt).all())

    def insert_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert record rows (column values, `revision` included) in multi-row statements; their ids in order.

        RETURNING in parameter order would make SQLite insert one row per statement; the ids are matched back
        by the rows' data instead (rows with equal data are equal in every column, so either id fits). On SQLite
        by the stored JSON text (bulk_insert.inserted_ids_sqlite); on PostgreSQL the ids are taken from the
        sequence first (one statement) and the rows go through COPY; elsewhere by the data read back."""
        if not rows:
            return []
        if (fast := insert_noted(self.session, _RECORDS, RecordRow, rows, "data")) is not None:
            return fast
        stmt = insert(cast(Table, RecordRow.__table__)).returning(RecordRow.id, RecordRow.data)
        found: dict[str, list[int]] = {}
        for record_id, data in sorted(self.session.execute(stmt, list(rows)).all(), key=lambda r: int(r[0])):
            found.setdefault(_data_key(data), []).append(int(record_id))
        ids = []
        for row in rows:
            same = found.get(_data_key(row["data"]))
            if not same:
                raise RuntimeError(f"a record inserted with {row['data']!r} came back with other data")
            ids.append(same.pop(0))
        note_inserted(self.session, RecordRow, ids)  # a savepoint rolling them back takes them out of the session
        return ids

    def insert_held_many(self, rows: Sequence[dict[str, Any]]) -> list[RecordRow]:
        """Insert record rows as insert_many does and hold each as a loaded, unchanged record built from the
        values in hand (no SELECT, no ORM loading); on PostgreSQL its data has the keys in JSONB's order, as a
        record read back has them."""
        ids = self.insert_many(rows)
        if self.session.get_bind().dialect.name == "postgresql":
            rows = [{**row, "data": jsonb_order(row["data"])} for row in rows]
        return hold_inserted(self.session, RecordRow, ids, rows)

    def update_many(self, rows: Sequence[RecordRow], values: Sequence[dict[str, Any]],
                    steps: Sequence[int] | None = None) -> None:
        """Write new column values (data, title, owner_id, updated_at: the same keys for every row) to loaded
        records in one executemany UPDATE, each guarded by its revision as the ORM's own update is; the loaded
        objects take the values as committed (the session has nothing left to flush for them). ConflictError
        when another transaction changed one of them since it was read. `steps`: how many writes each row's new
        values stand for (its revision moves on by that many; 1 each without it)."""
        if not rows:
            return
        steps = steps if steps is not None else [1] * len(rows)
        if any(inspect(row).modified for row in rows):
            self.session.flush()  # a change staged before (a rule's) goes first, and bumps its revision
        table = cast(Table, RecordRow.__table__)
        names = sorted(values[0])
        stmt = (table.update().where(table.c.id == bindparam("b_id"), table.c.revision == bindparam("b_old"))
                .values({name: bindparam(f"b_{name}") for name in [*names, "revision"]}))
        params = [{"b_id": row.id, "b_old": row.revision, "b_revision": row.revision + step,
                   **{f"b_{name}": value[name] for name in names}}
                  for row, value, step in zip(rows, values, steps, strict=True)]
        staged = self.session.info.pop(RETITLED, set())
        retitled = [(row.id, value["title"]) for row, value in zip(rows, values, strict=True)
                    if "title" in value and (row.id in staged or value["title"] != row.title)]
        result = self.session.execute(stmt, params)
        if result.rowcount != len(rows):  # type: ignore[attr-defined]
            raise ConflictError("someone else changed these records in the meantime; reload and try again")
        retitle_tasks(self.session, retitled)  # the tasks' copies of the titles, in the same transaction
        for row, value, step in zip(rows, values, steps, strict=True):
            for name in names:
                set_committed_value(row, name, value[name])
            set_committed_value(row, "revision", row.revision + step)

    def stage(self, row: RecordRow, values: dict[str, Any]) -> None:
        """Give a loaded record new column values in memory only, to be written later by update_many (which guards
        the write by the revision the record was read with); nothing is flushed for them meanwhile."""
        if "title" in values and values["title"] != row.title:  # its tasks' copies: by update_many
            self.session.info.setdefault(RETITLED, set()).add(row.id)
        for name, value in values.items():
            set_committed_value(row, name, value)

    def reload(self, rows: Iterable[RecordRow]) -> None:
        """Forget what these loaded records hold (staged values included): their next use reads them again."""
        for row in rows:
            self.session.expire(row)

    def by_ids(self, ids: Iterable[int]) -> dict[int, RecordRow]:
        """Records by id, in one query."""
        wanted = set(ids)
        if not wanted:
            return {}
        arrays = self.session.get_bind().dialect.name == "postgresql"  # one array parameter, not one per id
        stmt = _BY_IDS_ARRAY if arrays else _BY_IDS
        return {r.id: r for r in self.session.scalars(stmt, {"ids": sorted(wanted)}).all()}

    def referencing(self, record_id: int, entity: str, via: str) -> list[RecordRow]:
        """Records of `entity` whose reference field `via` points at a record (through record_link), oldest first."""
        stmt = (
            select(RecordRow)
            .join(RecordLinkRow, RecordLinkRow.from_record_id == RecordRow.id)
            .where(RecordLinkRow.to_record_id == record_id, RecordLinkRow.kind == "reference",
                   RecordLinkRow.field == via, RecordRow.entity == entity)
            .order_by(RecordRow.id)
        )
        return list(self.session.scalars(stmt).all())

    def referencing_many(self, record_ids: Iterable[int], entity: str, via: str) -> dict[int, list[LinkedRecord]]:
        """referencing for many records in one query: per record id, the records of `entity` whose reference field
        `via` points at it, oldest first — as LinkedRecord values, not ORM objects: the rows of earlier batches
        grow with the table, and as objects they cost their loading and swelled the session every other look
        walks (a record this unit of work holds loaded is taken as it holds it)."""
        wanted = sorted(set(record_ids))
        found: dict[int, list[LinkedRecord]] = {record_id: [] for record_id in wanted}
        if not wanted:
            return found
        stmt = (
            select(RecordLinkRow.to_record_id, RecordRow.id, RecordRow.data, RecordRow.owner_id)
            .join(RecordLinkRow, RecordLinkRow.from_record_id == RecordRow.id)
            .where(RecordLinkRow.to_record_id.in_(wanted), RecordLinkRow.kind == "reference",
                   RecordLinkRow.field == via, RecordRow.entity == entity)
            .order_by(RecordRow.id)
        )
        for target_id, record_id, data, owner_id in self._plain_rows(stmt):
            held = self._in_map(RecordRow, record_id)
            if held is not None and not inspect(held).expired_attributes:
                data, owner_id = held.data, held.owner_id
            found[int(target_id)].append(LinkedRecord(int(record_id), data, owner_id))
        return found

    def by_field(self, entity: str, field: str, value: str) -> RecordRow | None:
        """The first record of an entity whose text field `field` equals `value`."""
        stmt = (select(RecordRow).where(RecordRow.entity == entity, RecordRow.data[field].as_string() == value)
                .order_by(RecordRow.id).limit(1))
        return self.session.scalar(stmt)

    def batch(self, entity: str, after_id: int, limit: int) -> list[RecordRow]:
        """The next `limit` records of an entity with ids above `after_id` (keyset paging for batch jobs)."""
        stmt = (select(RecordRow).where(RecordRow.entity == entity, RecordRow.id > after_id)
                .order_by(RecordRow.id).limit(limit))
        return list(self.session.scalars(stmt).all())
