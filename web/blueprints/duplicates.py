"""The duplicate review queue: pairs by score, the side-by-side compare with per-field picks, merge, related,
not a duplicate, and undo of a merge (also offered on the survivor's card)."""

from __future__ import annotations

from dataclasses import dataclass
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
from engine.quality.tuning import tune, with_thresholds
from engine.services.access import require_permission
from engine.services.links import link_kinds
from web import nav, now, uow
from web.auth import actor, login_required
from web.edge import page_number
from web.i18n import engine_message, t
from web.i18n import label as label_in
from web.people import expect_people
from web.present import bundle_of, field_label

bp = Blueprint("duplicates", __name__)
PAGE = 25
TABS = ("open", "decided")
nav.add("duplicates.queue", "duplicates.nav", "head_of_sales", "admin", "auditor")


@dataclass(frozen=True)
class Bar:
    """One step of a match-weight waterfall: where it starts and ends on the weight axis, drawn in SVG units."""

    label: str
    level: str
    weight: float
    x: float
    width: float
    y: int
    positive: bool
    total: bool = False


@dataclass(frozen=True)
class Waterfall:
    """The waterfall of a probabilistic pair: the prior, each field's match weight, the total."""

    bars: list[Bar]
    zero: float  # x of weight 0
    width: int
    height: int
    total: float
    probability: float


CHART_WIDTH, ROW, LABELS = 640, 24, 170  # SVG units: chart width, row height, room for the labels on the left


def waterfall(reasons: list[dict[str, Any]]) -> Waterfall | None:
    """The chart of a pair found by a probabilistic rule (reasons with a prior, per-field weights and a total);
    None for the other rules' reasons. Geometry is computed here: the page's CSP forbids inline styles, so the
    chart is SVG with plain attributes."""
    steps = [r for r in reasons if r.get("how") not in ("prior", "total")]
    prior = next((r for r in reasons if r.get("how") == "prior"), None)
    total = next((r for r in reasons if r.get("how") == "total"), None)
    if prior is None or total is None:
        return None
    points, running = [0.0], float(prior.get("weight", 0.0))
    points.append(running)
    for step in steps:
        running += float(step.get("weight", 0.0))
        points.append(running)
    low, high = min(points), max(points)
    span = (high - low) or 1.0
    inner = CHART_WIDTH - LABELS - 60

    def x_of(weight: float) -> float:
        return round(LABELS + (weight - low) / span * inner, 1)

    bars, start = [], 0.0
    rows = [("", "prior", float(prior.get("weight", 0.0)))]
    rows += [(str(s.get("field", "")), str(s.get("level", "")), float(s.get("weight", 0.0))) for s in steps]
    for index, (label, level, weight) in enumerate(rows):
        end = start + weight
        left, right = sorted((x_of(start), x_of(end)))
        bars.append(Bar(label, level, weight, left, max(right - left, 1.0), index * ROW, weight >= 0))
        start = end
    left, right = sorted((x_of(0.0), x_of(start)))
    bars.append(Bar("", "total", start, left, max(right - left, 1.0), len(rows) * ROW, start >= 0, total=True))
    return Waterfall(bars, x_of(0.0), CHART_WIDTH, (len(rows) + 1) * ROW, round(start, 2),
                     float(total.get("score", 0.0)))


def _word(kind: str, code: str) -> str:
    """duplicates.<kind>_<code> in the request's language; the code itself when there is no such text."""
    text = t(f"duplicates.{kind}_{code}")
    return code if text == f"duplicates.{kind}_{code}" else text


def how_label(how: str) -> str:
    """How two values matched (exact, fuzzy) in the request's language."""
    return _word("how", how)


@bp.app_template_global()
def rule_label(entity: str, name: str) -> str:
    """A duplicate rule of `entity` by its label in the request's language (its name when it has none)."""
    config = bundle_of(uow()).duplicates.get(entity)
    rule = next((r for r in config.rules if r.name == name), None) if config is not None else None
    return label_in(rule.label, name) if rule is not None else name


@bp.app_template_global()
def match_kind_label(match: str) -> str:
    """A kind of duplicate rule (exact, fuzzy, probabilistic) in the request's language."""
    return _word("kind", match)


def why(pair: PairView) -> str:
    """The reasons of a pair in one line, in the user's language: `Phone same 100 · Contact name similar 91`; for a
    probabilistic rule the fields' levels and match weights: `Full name close +3.1 · Birth date exact +6.2`."""
    entity = bundle_of(uow()).entities.get(pair.entity)
    parts = []
    for reason in pair.reasons:
        if reason.get("how") in ("prior", "total"):
            continue
        if "level" in reason:
            name = field_label(entity, str(reason.get("field", "?")))
            parts.append(f"{name} {reason['level']} {float(reason.get('weight', 0)):+.1f}")
            continue
        score = reason.get("score")
        shown = f" {float(score):.0f}" if isinstance(score, int | float) else ""
        name = field_label(entity, str(reason.get("field", "?")))
        parts.append(f"{name} {how_label(str(reason.get('how', '')))}{shown}".strip())
    return " · ".join(parts) or rule_label(pair.entity, pair.rule)


@bp.app_template_global()
def record_merge_facts(record_id: int) -> RecordMerges:
    """What the record card shows of merges: "merged into #N", and the merges this record survived."""
    facts = record_merges(uow(), actor(), record_id)
    merges = [*facts.merges, *([facts.merged_by] if facts.merged_by else [])]
    expect_people(n for m in merges for n in (m.by, m.undone_by))  # named together, with the next name asked
    return facts


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
    expect_people([detail.pair.decided_by, detail.a.owner, detail.b.owner,
                   *(n for m in detail.merges for n in (m.by, m.undone_by))])  # named in one statement
    return render_template("duplicates/compare.html", bundle=bundle, entity=entity, detail=detail, names=names,
                           picks=picks or detail.defaults, survivor=survivor, errors=errors or [],
                           link_kinds=link_kinds(bundle), why=why(detail.pair), how_label=how_label,
                           chart=waterfall(detail.pair.reasons),
                           can_undo=actor().has(*MERGERS)), status


@bp.get("/duplicates/tuning")
@login_required
def tuning() -> str:
    """Score distribution, precision/recall against reviewed pairs and a dry run of other thresholds."""
    who = actor()
    require_permission(who, "duplicates.tune", action="tune duplicate rules")
    bundle = bundle_of(uow())
    if not bundle.duplicates:
        raise NotFound("no entity has duplicate rules")
    entity = request.args.get("entity") or sorted(bundle.duplicates)[0]
    config = bundle.duplicates.get(entity)
    if config is None:
        raise NotFound(f"no duplicate rules for {entity!r}")
    tried: dict[str, float] = {}
    errors: list[str] = []
    for rule in config.rules:
        raw = request.args.get(f"threshold.{rule.name}", "").strip().replace(",", ".")
        if raw:
            try:
                tried[rule.name] = float(raw)
            except ValueError:
                errors.append(t("duplicates.bad_threshold", rule=label_in(rule.label, rule.name), value=raw))
    try:
        proposed = with_thresholds(config, tried)
    except ValidationError as exc:
        errors += _messages(exc)
        proposed = config
    report = tune(uow(), bundle, entity, proposed)
    widest = max((count for _, _, count in report.histogram), default=0) or 1
    return render_template("duplicates/tuning.html", bundle=bundle, entity=entity, config=config,
                           proposed=proposed, tried=tried, report=report, widest=widest, errors=errors)


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
