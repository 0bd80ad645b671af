"""Links between records, written by the core: the link row and a note in both records' history (field
`link:<kind>`). No access check: the services check the actor first; rules and the duplicate policy link as the
configuration says."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from engine.store.models import FieldChangeRow, RecordLinkRow, RecordRow
from engine.store.uow import UnitOfWork


def _note(record_id: int, kind: str, old: int | None, new: int | None, *, actor: str, source: str,
          now: datetime) -> dict[str, Any]:
    return {"record_id": record_id, "at": now, "actor": actor[:80], "source": source[:200], "field": f"link:{kind}",
            "old_value": old, "new_value": new}


def _log(
    uow: UnitOfWork,
    record_id: int,
    kind: str,
    old: int | None,
    new: int | None,
    *,
    actor: str,
    source: str,
    now: datetime,
) -> None:
    uow.records.add(FieldChangeRow(**_note(record_id, kind, old, new, actor=actor, source=source, now=now)))


def link_values(origin_id: int, target_id: int, kind: str, *, actor: str, source: str,
                now: datetime) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """What add_link writes, as column values: the link row and its two history rows (a batch writes many links
    and their history in one statement each)."""
    link = {"from_record_id": origin_id, "to_record_id": target_id, "kind": kind, "field": None, "created_at": now,
            "created_by": actor[:80]}
    return link, [_note(origin_id, kind, None, target_id, actor=actor, source=source, now=now),
                  _note(target_id, kind, None, origin_id, actor=actor, source=source, now=now)]


def add_link(
    uow: UnitOfWork,
    origin: RecordRow,
    target: RecordRow,
    kind: str,
    *,
    actor: str,
    source: str,
    now: datetime,
) -> RecordLinkRow:
    """Link two records (no access check) and note it in both records' history as field `link:<kind>`."""
    link, notes = link_values(origin.id, target.id, kind, actor=actor, source=source, now=now)
    row = RecordLinkRow(**link)
    uow.links.add(row)
    uow.links.flush()
    for note in notes:
        uow.records.add(FieldChangeRow(**note))
    return row


def remove_link(uow: UnitOfWork, link: RecordLinkRow, *, actor: str, source: str, now: datetime) -> None:
    """Remove a link (no access check) and note it in both records' history."""
    _log(uow, link.from_record_id, link.kind, link.to_record_id, None, actor=actor, source=source, now=now)
    _log(uow, link.to_record_id, link.kind, link.from_record_id, None, actor=actor, source=source, now=now)
    uow.links.delete(link)
