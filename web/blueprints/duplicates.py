"""The duplicate review queue: pairs by score, the side-by-side compare with per-field picks, merge, related,
not a duplicate, and undo of a merge (also offered on the survivor's card)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.config.model import Bundle
from engine.errors import ConflictError, NotFound, ValidationError
from engine.quality.merge import MERGED, MERGERS, SURVIVOR, merge_records, undo_merge
from engine.quality.review import (
    PairDetail,
    PairView,
    RecordMerges,
    dismiss_pair,
    get_merge,
    get_pair,
    list_pairs,
    mark_related,
    record_merges,
)
from engine.services.links import link_kinds
from web import nav, now, uow
from web.auth import actor, login_required
from web.edge import page_number
from web.i18n import engine_message, t
from web.present import bundle_of, field_label

bp = Blueprint("duplicates", __name__)
PAGE = 25
TABS = ("open", "decided")
nav.add("duplicates.queue", "duplicates.nav", "head_of_sales", "admin", "auditor")


def how_label(how: str) -> str:
    """How two values matched (exact, fuzzy) in the request's language."""
    text = t(f"duplicates.how_{how}")
    return how if text == f"duplicates.how_{how}" else text


def why(pair: PairView) -> str:
    """The reasons of a pair in one line, in the user's language: `Phone same 100 · Contact name similar 91`."""
    entity = bundle_of(uow()).entities.get(pair.entity)
    parts = []
    for reason in pair.reasons:
        score = reason.get("score")
        shown = f" {float(score):.0f}" if isinstance(score, int | float) else ""
        name = field_label(entity, str(reason.get("field", "?")))
        parts.append(f"{name} {how_label(str(reason.get('how', '')))}{shown}".strip())
    return " · ".join(parts) or pair.rule


@bp.app_template_global()
def record_merge_facts(record_id: int) -> RecordMerges:
    """What the record card shows of merges: "merged into #N", and the merges this record survived."""
    return record_merges(uow(), actor(), record_id)


@bp.get("/duplicates")
@login_required
def queue() -> str:
    """One page of pairs: open ones by score or decided ones, of one entity or all."""
    bundle = bundle_of(uow())
    tab = request.args.get("tab", "open")
    if tab not in TABS:
        tab = "open"
    entity = request.args.get("entity", "")
    if entity and entity not in bundle.entities:
        raise NotFound(f"unknown entity {entity!r}")
    page = page_number()
    rows = list_pairs(uow(), actor(), entity=entity or None, status=tab, limit=PAGE + 1,
                      offset=(page - 1) * PAGE)
    return render_template("duplicates/queue.html", bundle=bundle, pairs=rows[:PAGE], page=page,
                           has_next=len(rows) > PAGE, tab=tab, tabs=TABS, entity=entity, why=why)


def _compare(detail: PairDetail, bundle: Bundle, errors: list[str] | None = None, status: int = 200,
             picks: dict[str, str] | None = None, survivor: str = "a") -> tuple[str, int]:
    entity = bundle.entities.get(detail.pair.entity)
    names = list(entity.fields) if entity else sorted(set(detail.a.data) | set(detail.b.data))
    return render_template("duplicates/compare.html", bundle=bundle, entity=entity, detail=detail, names=names,
                           picks=picks or detail.defaults, survivor=survivor, errors=errors or [],
                           link_kinds=link_kinds(bundle), why=why(detail.pair), how_label=how_label,
                           can_undo=actor().has(*MERGERS)), status


@bp.get("/duplicates/<int:pair_id>")
@login_required
def compare(pair_id: int) -> tuple[str, int]:
    """Both records side by side: a pick per field, the reasons, and what would move."""
    return _compare(get_pair(uow(), actor(), pair_id), bundle_of(uow()))


def _messages(exc: ValidationError) -> list[str]:
    return [engine_message(m) for ms in exc.errors.values() for m in ms]


@bp.post("/duplicates/<int:pair_id>/merge")
@login_required
def merge(pair_id: int) -> Any:
    """Merge the pair: the record picked as survivor takes the picked values; the other is merged into it."""
    detail = get_pair(uow(), actor(), pair_id)
    bundle = bundle_of(uow())
    side = request.form.get("survivor", "a")
    if side not in ("a", "b"):
        side = "a"
    survivor, merged = (detail.a, detail.b) if side == "a" else (detail.b, detail.a)
    picks = {name[len("pick."):]: value for name, value in request.form.items() if name.startswith("pick.")}
    choices = {name: SURVIVOR if value == side else MERGED for name, value in picks.items() if value in ("a", "b")}
    revisions = {detail.a.id: request.form.get("revision_a", type=int),
                 detail.b.id: request.form.get("revision_b", type=int)}
    try:
        merge_id = merge_records(uow(), actor(), survivor.id, merged.id, choices, now(), pair_id=pair_id,
                                 expected_revisions={k: v for k, v in revisions.items() if v is not None})
    except ValidationError as exc:
        return _compare(detail, bundle, _messages(exc), 422, picks, side)
    except ConflictError as exc:
        flash(t("duplicates.stale"), "error")
        return _compare(get_pair(uow(), actor(), pair_id), bundle, [engine_message(str(exc))], 409)
    flash(t("duplicates.merged", merged=merged.id, survivor=survivor.id, merge=merge_id), "success")
    return redirect(url_for("records.card", record_id=survivor.id))


@bp.post("/duplicates/<int:pair_id>/related")
@login_required
def related(pair_id: int) -> Any:
    """Not one record but two related ones: link them and take the pair off the open queue."""
    kind = request.form.get("relationship", "") or None
    try:
        mark_related(uow(), actor(), pair_id, kind, now())
    except ValidationError as exc:
        return _compare(get_pair(uow(), actor(), pair_id), bundle_of(uow()), _messages(exc), 422)
    flash(t("duplicates.marked_related"), "success")
    return redirect(url_for("duplicates.queue"))


@bp.post("/duplicates/<int:pair_id>/dismiss")
@login_required
def dismiss(pair_id: int) -> Any:
    """Not a duplicate."""
    dismiss_pair(uow(), actor(), pair_id, now())
    flash(t("duplicates.dismissed"), "success")
    return redirect(url_for("duplicates.queue"))


@bp.post("/merges/<int:merge_id>/undo")
@login_required
def undo(merge_id: int) -> Any:
    """Undo a merge: both records as they were; back to the survivor's card."""
    found = get_merge(uow(), actor(), merge_id)
    undo_merge(uow(), actor(), merge_id, now())
    flash(t("duplicates.undone", merge=merge_id, merged=found.merged_id), "success")
    return redirect(url_for("records.card", record_id=found.survivor_id))
