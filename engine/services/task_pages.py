"""Pages of the inbox: where a page starts (offset or keyset cursor), the cursors of the pages around it, and the
task and process names a sort uses in the reader's language (docs/lists.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace

from engine.config.process_labels import label_in
from engine.errors import ValidationError
from engine.messages import Message
from engine.processes.deployed import active_bundle
from engine.services.views import TaskView
from engine.store.inbox_query import TaskFilter
from engine.store.uow import UnitOfWork


@dataclass(frozen=True)
class Paging:
    """Where a page starts: `limit` tasks from `offset`, or keyset: after / before the task `cursor` in the
    page's order (stable under inserts; a deep page costs what the first does)."""

    limit: int = 50
    offset: int = 0
    after: str | None = None
    before: str | None = None

    def checked(self) -> Paging:
        """The paging with its limit bounded (1..500), or ValidationError for a cursor with an offset or two."""
        errors: dict[str, list[str]] = {}
        if self.after and self.before:
            errors["before"] = [Message("inbox.after_and_before")]
        if (self.after or self.before) and self.offset:
            errors["offset"] = [Message("inbox.cursor_with_offset")]
        if errors:
            raise ValidationError(errors)
        # 501: a caller's page of 500 reads one row more to know whether a page lies beyond (`around`)
        return Paging(min(max(self.limit, 1), 501), max(self.offset, 0), self.after or None, self.before or None)

    @property
    def direction(self) -> str | None:
        """after, before, or None (from the start)."""
        return "after" if self.after else "before" if self.before else None

    @property
    def cursor(self) -> str | None:
        """The task the page starts after or ends before."""
        return self.after or self.before


@dataclass(frozen=True)
class KeysetPage:
    """A page of tasks and the cursors of the pages around it (None: no page there)."""

    tasks: list[TaskView]
    prev_before: str | None
    next_after: str | None


def around(views: list[TaskView], limit: int, after: str | None, before: str | None) -> KeysetPage:
    """The page of `limit` tasks out of `limit` + 1 read after / before a cursor (the extra row says a page lies
    beyond: before the first row when read backwards), with the cursors of the previous and the next page."""
    more = len(views) > limit
    shown = views[1:] if before and more else views[:limit]
    prev_before = shown[0].id if shown and (after or (before and more)) else None
    next_after = shown[-1].id if shown and (before or more) else None
    return KeysetPage(shown, prev_before, next_after)


def named_in(uow: UnitOfWork, flt: TaskFilter, locale: str) -> TaskFilter:
    """`flt` sorting by the task and process names in `locale` (processes/labels.yaml) where they differ from the
    BPMN names — the names a page shows — so the database sorts by them (docs/lists.md); other sorts as given."""
    if flt.sort not in ("task", "process"):
        return flt
    bundle, definitions = active_bundle(uow)
    labels = bundle.process_labels
    owners: dict[str, int] = {}
    for d in definitions.values():
        for e in d.elements.values():
            owners[e.id] = owners.get(e.id, 0) + 1
    steps = {
        (e.id, None if owners[e.id] == 1 else e.name, label)
        for d in definitions.values()
        for e in d.elements.values()
        if e.kind == "userTask" and e.name and (label := label_in(labels, d.process_id, e.id, locale, e.name)) != e.name
    }
    processes = {
        (d.process_id, label)
        for d in definitions.values()
        if (label := label_in(labels, d.process_id, None, locale, d.name)) != d.name
    }
    return replace(
        flt, task_labels=tuple(sorted(steps, key=lambda x: (x[0], x[1] or ""))), process_labels=tuple(sorted(processes))
    )


def in_order(uow: UnitOfWork, views: list[TaskView], paging: Paging) -> list[TaskView]:
    """A page read backwards (before a cursor) put back in the page's order. An empty page after / before a task
    that does not exist is a ValidationError naming the cursor, not an empty tab (checked only then: a page with
    rows needs no second statement). A task since completed still marks its place."""
    if not views and paging.cursor is not None and uow.tasks.get(paging.cursor) is None:
        name = "after" if paging.after else "before"
        raise ValidationError({name: [Message("inbox.cursor_unknown", task=paging.cursor)]})
    return views[::-1] if paging.before else views
