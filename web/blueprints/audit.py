"""Auditing: the filterable audit log with CSV/XLSX export, and a record as it was at a past moment."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from flask import Blueprint, Response, render_template, request, stream_with_context, url_for

from engine.errors import ValidationError
from engine.services.audit import (
    AUDIT_READERS,
    AuditQuery,
    RecordNotYetCreated,
    audit_log,
    iter_audit,
    parse_moment,
    record_as_of,
    require_audit_reader,
)
from engine.services.audit_export import NameOf, csv_chunks, xlsx_chunks
from engine.services.records import get_record
from engine.store.audit_repos import KINDS
from web import nav, now, uow
from web.auth import actor, login_required
from web.exports_http import CSV_TYPE
from web.i18n import engine_message, t
from web.people import ENGINE_ACTORS, expect_changes, expect_people
from web.present import bundle_of, names_records, remember_titles
from web.sources import source_text
from web.zones import input_value, user_zone

bp = Blueprint("audit", __name__)
bp.add_app_template_filter(source_text, "source")
nav.add("audit.index", "audit.nav", *AUDIT_READERS, menu="admin")
PAGE = 50
FILTERS = ("user", "entity", "record_id", "kind", "from", "to")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def audit_query(args: Mapping[str, Any], kinds: list[str]) -> AuditQuery:
    """Filters from query parameters (`kind` repeated or comma separated); ValidationError names the parameter."""
    record = str(args.get("record_id") or "").strip().lstrip("#")
    if record and not record.isdigit():
        raise ValidationError({"record_id": [f"{record!r} is not a record number"]})
    wanted = [k.strip() for raw in kinds for k in raw.split(",") if k.strip()]
    return AuditQuery(user=str(args.get("user") or "").strip() or None,
                      entity=str(args.get("entity") or "").strip() or None,
                      record_id=int(record) if record else None, kinds=tuple(wanted),
                      since=parse_moment(args.get("from"), "from", zone=user_zone()),
                      until=parse_moment(args.get("to"), "to", end_of_day=True, zone=user_zone()))


def _request_query() -> AuditQuery:
    return audit_query(request.args, request.args.getlist("kind"))


def _filter_args() -> dict[str, Any]:
    """The filter part of the query string, for export and paging links."""
    return {k: request.args.getlist(k) if k == "kind" else request.args.get(k, "") for k in FILTERS
            if request.args.get(k)}


@bp.get("/audit")
@login_required
def index() -> tuple[str, int]:
    """The audit log: filters, one page newest first, links to the next page and to the exports."""
    who = actor()
    require_audit_reader(who)
    errors: list[str] = []
    page = None
    try:
        query = _request_query()
        page = audit_log(uow(), who, query, limit=PAGE, after=request.args.get("after") or None)
    except ValidationError as exc:
        errors = [f"{name}: {engine_message(m)}" for name, ms in exc.errors.items() for m in ms]
    bundle = bundle_of(uow())
    if page is not None:  # the records the entries name, by title, in one query
        remember_titles(v for e in page.items if e.kind == "merge" or (e.kind == "field" and names_records(
            bundle, e.entity, e.subject)) for v in (e.old_value, e.new_value))
        expect_changes(page.items)  # who, and the owners an owner change names: one statement
    return render_template("audit/index.html", page=page, errors=errors, kinds=KINDS, bundle=bundle,
                           entities=sorted(bundle.entities.values(), key=lambda e: e.name),
                           args=request.args, chosen_kinds=request.args.getlist("kind"),
                           filter_args=_filter_args()), 422 if errors else 200


def _entries() -> tuple[Iterator[Any], NameOf]:
    """The filtered log for an export, checked (access, filters) before the response starts, and how to name who
    made each change: by display name (every user's, read once), the engine's own actors in the reader's language."""
    require_audit_reader(actor())
    query = _request_query()
    audit_log(uow(), actor(), query, limit=1)  # a bad filter is a 422 before the download starts
    names: dict[str, str] = {}

    def name_of(login: str) -> str:
        return t(f"audit.actor_{login}") if login in ENGINE_ACTORS else names.get(login, login)

    return iter_audit(uow(), actor(), query, names=names), name_of


def _download(body: Iterator[Any], content_type: str, extension: str) -> Response:
    response = Response(stream_with_context(body), content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="audit-{now():%Y%m%d-%H%M%S}.{extension}"'
    return response


@bp.get("/audit/export.csv")
@login_required
def export_csv() -> Response:
    """The filtered audit log as CSV (UTF-8 with BOM), streamed in batches; times in the reader's zone."""
    entries, name_of = _entries()
    chunks = csv_chunks(entries, user_zone(), name_of)
    return _download((chunk.encode("utf-8") for chunk in chunks), CSV_TYPE, "csv")


@bp.get("/audit/export.xlsx")
@login_required
def export_xlsx() -> Response:
    """The filtered audit log as an XLSX workbook, written row by row; times in the reader's zone."""
    entries, name_of = _entries()
    return _download(xlsx_chunks(entries, zone=user_zone(), name_of=name_of), XLSX, "xlsx")


@bp.get("/records/<int:record_id>/as-of")
@login_required
def record_as_of_page(record_id: int) -> tuple[str, int]:
    """A record as it was at `?at=` (a date or date-time in the user's zone; default now), with what changed
    since."""
    who = actor()
    record = get_record(uow(), who, record_id)
    bundle = bundle_of(uow())
    entity = bundle.entities.get(record.entity)
    raw = request.args.get("at", "").strip()
    message, status, snapshot = "", 200, None
    try:
        at = parse_moment(raw, "at", zone=user_zone()) or now()
        snapshot = record_as_of(uow(), who, record_id, at)
    except RecordNotYetCreated as exc:
        message, status = str(exc), 404
    except ValidationError as exc:
        message, status = "; ".join(engine_message(m) for ms in exc.errors.values() for m in ms), 422
    if snapshot is not None:
        expect_changes([snapshot.owner, *snapshot.values])
        expect_people([snapshot.created_by])
    return render_template("audit/as_of.html", record=record, entity=entity, bundle=bundle, snapshot=snapshot,
                           message=message, at_value=raw or input_value(now()),
                           card_url=url_for("records.card", record_id=record_id)), status
