"""Links between records: hand-made ones, and reading both directions of every link of a record."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from engine.config.model import FALLBACK_LINK_KIND, Bundle
from engine.errors import ConflictError, NotFound, ValidationError
from engine.processes.deployed import active_bundle
from engine.records.linking import add_link, remove_link
from engine.services.access import require_permission
from engine.services.records import can_see, load_visible, load_writable, refuse_merged
from engine.services.views import Actor
from engine.store.models import RecordLinkRow, RecordRow
from engine.store.uow import UnitOfWork

REFERENCE = "reference"  # kept by the engine for every reference field; changed by writing the field


@dataclass(frozen=True)
class LinkView:
    """One link as seen from a record: the record at the other end, and what links them."""

    id: int
    record_id: int
    entity: str
    title: str
    kind: str
    field: str | None
    created_at: datetime
    created_by: str
    openable: bool = True  # False: the actor may not open the other record, so it is named but not linked


@dataclass(frozen=True)
class LinksView:
    """A record's links: those it makes (outgoing) and those made to it (incoming)."""

    outgoing: list[LinkView]
    incoming: list[LinkView]


def link_kinds(bundle: Bundle) -> tuple[str, ...]:
    """Kinds a hand-made link may have: the codes of settings.link_catalog, or the fallback kind."""
    catalog = bundle.catalogs.get(bundle.settings.link_catalog)
    codes = catalog.codes() if catalog is not None else (FALLBACK_LINK_KIND,)
    return tuple(code for code in codes if code != REFERENCE)


def _view(link: RecordLinkRow, other: RecordRow, openable: bool = True) -> LinkView:
    return LinkView(link.id, other.id, other.entity, other.title, link.kind, link.field, link.created_at,
                    link.created_by, openable)


def link_records(uow: UnitOfWork, actor: Actor, from_id: int, to_id: int, kind: str, now: datetime) -> LinkView:
    """Link two records the actor can see; `kind` is a code of the link catalog. Returns the outgoing link."""
    require_permission(actor, "record.write", action="link records")
    bundle, _ = active_bundle(uow)
    kinds = link_kinds(bundle)
    if kind not in kinds:
        raise ValidationError({"kind": [f"must be one of: {', '.join(kinds)}"]})
    if from_id == to_id:
        raise ValidationError({"to_id": ["a record cannot be linked to itself"]})
    with uow:
        origin = load_writable(uow, actor, from_id)
        target = load_writable(uow, actor, to_id)
        if uow.links.find(from_id, to_id, kind) is not None:
            raise ConflictError(f"record {from_id} is already linked to record {to_id} as {kind}")
        link = add_link(uow, origin, target, kind, actor=actor.username, source="link", now=now)
        uow.commit()
        return _view(link, target)


def unlink_records(uow: UnitOfWork, actor: Actor, link_id: int, now: datetime) -> None:
    """Remove a link between two records the actor can see (reference links go by clearing the field)."""
    require_permission(actor, "record.write", action="unlink records")
    with uow:
        link = uow.links.get(link_id)
        if link is None:
            raise NotFound(f"link {link_id} not found")
        for end in (load_visible(uow, actor, link.from_record_id), load_visible(uow, actor, link.to_record_id)):
            refuse_merged(end)
        if link.kind == REFERENCE:
            raise ValidationError({"": [f"link {link_id} is the reference field {link.field!r}: clear the field "
                                        "to remove it"]})
        remove_link(uow, link, actor=actor.username, source="unlink", now=now)
        uow.commit()


def record_links(uow: UnitOfWork, actor: Actor, record_id: int) -> LinksView:
    """Both directions of a record's links, oldest first; a record at the other end the actor may not open is named
    by its title all the same (as a lookup field does), marked not `openable`."""
    with uow:
        load_visible(uow, actor, record_id)
        outgoing, incoming = uow.links.outgoing(record_id), uow.links.incoming(record_id)
        others = uow.records.by_ids([link.to_record_id for link in outgoing] +
                                    [link.from_record_id for link in incoming])
        opens = {rid: can_see(uow, actor, row) for rid, row in others.items()}
        return LinksView(
            outgoing=[_view(link, others[link.to_record_id], opens[link.to_record_id]) for link in outgoing
                      if link.to_record_id in others],
            incoming=[_view(link, others[link.from_record_id], opens[link.from_record_id]) for link in incoming
                      if link.from_record_id in others])
