"""Links between records, written by the core: the link row and a note in both records' history (field
`link:<kind>`). No access check: the services check the actor first; rules and the duplicate policy link as the
configuration says."""

from __future__ import annotations

from datetime import datetime

from engine.store.models import FieldChangeRow, RecordLinkRow, RecordRow
from engine.store.uow import UnitOfWork


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
    uow.records.add(
        FieldChangeRow(
            record_id=record_id,
            at=now,
            actor=actor[:80],
            source=source[:200],
            field=f"link:{kind}",
            old_value=old,
            new_value=new,
        )
    )


def add_link(
    uow: UnitOfWork,
    origin: RecordRow,
    target: RecordRow,
    kind: str,
    *,
    actor: str,
    source: str,
    now: datetime,
    flush: bool = True,
) -> RecordLinkRow:
    """Link two records (no access check) and note it in both records' history as field `link:<kind>`.
    `flush=False` leaves the rows to the session's next flush (a batch writes its links together; the link's id
    is not known until then)."""
    row = RecordLinkRow(
        from_record_id=origin.id, to_record_id=target.id, kind=kind, field=None, created_at=now, created_by=actor[:80]
    )
    uow.links.add(row)
    if flush:
        uow.links.flush()
    _log(uow, origin.id, kind, None, target.id, actor=actor, source=source, now=now)
    _log(uow, target.id, kind, None, origin.id, actor=actor, source=source, now=now)
    return row


def remove_link(uow: UnitOfWork, link: RecordLinkRow, *, actor: str, source: str, now: datetime) -> None:
    """Remove a link (no access check) and note it in both records' history."""
    _log(uow, link.from_record_id, link.kind, link.to_record_id, None, actor=actor, source=source, now=now)
    _log(uow, link.to_record_id, link.kind, link.from_record_id, None, actor=actor, source=source, now=now)
    uow.links.delete(link)
