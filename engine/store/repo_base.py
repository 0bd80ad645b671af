"""Repository base and the task-candidate predicates several repositories share."""

from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, cast

from sqlalchemy import ARRAY, Executable, and_, bindparam, event, func, or_, select, true, union_all
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.util import identity_key

from engine.store.models import (
    TaskCandidateRow,
    TaskRow,
)

_TEAMS = "flowcrm.team_member_ids"


def team_memo(session: Session) -> dict[str, list[int]]:
    """The ids of each team's active users this session has read, forgotten at its next flush (a write may change
    who is in a team)."""
    known: dict[str, list[int]] | None = session.info.get(_TEAMS)
    if known is None:
        known = session.info[_TEAMS] = {}
        event.listen(session, "after_flush", lambda flushed, _context: flushed.info[_TEAMS].clear())
    return known


def _candidate(groups: Iterable[str], username: str) -> Any:
    """Candidate rows naming one of these groups or this user."""
    return or_(
        and_(TaskCandidateRow.kind == "group", TaskCandidateRow.name.in_(sorted(set(groups)))),
        and_(TaskCandidateRow.kind == "user", TaskCandidateRow.name == username),
    )


def _inbox_record_ids(user_id: int, groups: Iterable[str], username: str) -> Any:
    """Select of record ids with an open task assigned to, or claimable by, a user."""
    pooled = (
        select(TaskRow.record_id)
        .join(TaskCandidateRow, TaskCandidateRow.task_id == TaskRow.id)
        .where(TaskCandidateRow.pooled == true(), _candidate(groups, username))
    )
    mine = select(TaskRow.record_id).where(TaskRow.assignee_id == user_id, TaskRow.state == "open")
    return union_all(pooled, mine)


def one_of(column: Any, name: str, item_type: Any, arrays: bool, *, negate: bool = False) -> Any:
    """`column IN (...)` of the list bound as `name` (`NOT IN` when `negate`): where `arrays` (PostgreSQL), one
    array parameter (`= ANY(:name)`, `<> ALL(:name)`) rather than a parameter per value — for lists of thousands,
    SQLAlchemy's expansion into as many placeholders and psycopg's parse of the statement text cost more client
    CPU than the query (the plan is the same index lookup per value)."""
    if arrays:
        bound = bindparam(name, type_=ARRAY(item_type))
        return column != func.all(bound) if negate else column == func.any(bound)
    expanding: Any = bindparam(name, expanding=True)
    return column.not_in(expanding) if negate else column.in_(expanding)


T = TypeVar("T")
# per mapped class, the class its identity keys name (a subclass's rows are keyed by its base's)
_IDENTITY_CLASS: dict[type[Any], type[Any]] = {}


class _Repository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def _plain_rows(self, stmt: Executable, params: Mapping[str, Any] | None = None) -> list[Any]:
        """The rows of a select of plain values, run on the session's connection: what the session's own execute
        adds (its statement hooks, the ORM's compile and result set-up) was half the Python calls of an inbox page,
        and nothing of it applies to rows the session does not hold. Staged changes are flushed first, as the
        session's autoflush would, so the rows show this unit's own writes."""
        session = self.session
        if session.autoflush:
            session.flush()  # nothing to do (a check of three collections) when nothing is staged
        return list(session.connection().execute(stmt, params).all())

    def _get(self, cls: type[T], key: Any) -> T | None:
        """`session.get(cls, key)`, answered from the identity map when the unit of work holds the row loaded (as
        `session.get` would answer it, without a query): a process step asks for rows it holds several times, and
        `session.get` took some thirty calls to find each. Anything else (not held, expired) goes to `session.get`."""
        row = self._in_map(cls, key)
        if row is not None and not instance_state(row).expired_attributes:
            return cast(T, row)
        return self.session.get(cls, key)

    def _in_map(self, cls: type[Any], key: Any) -> Any:
        """The object the session's identity map holds for a row of `cls` by primary key (loaded or not), or None;
        the identity key built without `Session.identity_key`'s walk through the mapper for every lookup."""
        identity_class = _IDENTITY_CLASS.get(cls)
        if identity_class is None:
            identity_class = _IDENTITY_CLASS[cls] = identity_key(cls, 0)[0]
        return self.session.identity_map.get((identity_class, (key,), None))

    def _staged_first(self, *kinds: type[Any]) -> dict[str, Any]:
        """Execution options of a multi-row history INSERT: other staged writes wait for the next flush (so a row
        changed twice is updated once) unless rows of `kinds` are staged (they come first: a foreign key target,
        or history that must keep its order); render_nulls: one batch whatever each row leaves empty."""
        staged = any(isinstance(row, kinds) for row in self.session.new)
        return {"autoflush": staged, "render_nulls": True}

    def _loaded(self, cls: type[Any], ids: Iterable[Any]) -> tuple[dict[Any, Any], set[Any]]:
        """Rows of `cls` this unit of work already holds (as `session.get` would return them without a query),
        and the ids it must still read."""
        found: dict[Any, Any] = {}
        missing: set[Any] = set()
        for key in set(ids):
            row = self._in_map(cls, key)
            if row is not None and not instance_state(row).expired_attributes:
                found[key] = row
            else:
                missing.add(key)
        return found, missing

    def add(self, row: object) -> None:
        """Stage a new row in this unit of work."""
        self.session.add(row)

    def flush(self) -> None:
        """Assign ids to staged rows."""
        self.session.flush()
