"""Imports of records from files: prepare a job, choose its mapping, run it, read its report and rejects;
named mapping profiles."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from engine.cells import csv_safe
from engine.config.import_loader import DATE_TYPES, ON_MATCH, date_format_problem
from engine.config.model import Entity
from engine.errors import Forbidden, NotFound, ValidationError
from engine.imports.limits import WorkerLimits
from engine.imports.liveness import death_of
from engine.imports.mapping import SKIP, check_mapping, merge_mapping
from engine.imports.reading import Table, read_path
from engine.imports.rows import OUTCOMES, CachedLookup, Importer, RowRejected
from engine.imports.rule_pairs import RULE_PAIRS
from engine.imports.run import field_formats, live_progress, load_table
from engine.imports.run import settings_for as settings_for  # the wizard shows the configured on_match
from engine.processes.deployed import active_bundle
from engine.services.access import IMPORT_READERS as IMPORT_READERS  # web names them from here
from engine.services.access import IMPORTERS as IMPORTERS
from engine.services.access import require_permission
from engine.services.records import entity_of
from engine.services.views import Actor
from engine.store.quality_models import ImportJobRow, MappingProfileRow
from engine.store.uow import UnitOfWork

MODES = ("all_or_nothing", "valid_only")
MATCH_POLICIES = ("update_empty", "update", "skip", "review")  # the choices offered (overwrite: update's older name)
PREVIEW_ROWS = 10


@dataclass(frozen=True)
class ImportJobView:
    """An import job: what, how, how far, and what came of it."""

    id: int
    entity: str
    filename: str
    status: str  # pending | running | done | failed | rejected
    dry_run: bool
    mode: str
    total_rows: int
    processed_rows: int
    counts: dict[str, int]
    message: str | None
    created_by: str
    created_at: datetime
    finished_at: datetime | None
    headers: list[str]
    mapping: dict[str, str]
    on_match: str | None = None  # the job's choice; None: the entity's crm_model/imports.yaml setting
    date_formats: dict[str, str] = field(default_factory=dict)  # column -> strptime format


@dataclass(frozen=True)
class RejectsFile:
    """The rejected rows of a job as a CSV file: its bytes, name, and the charset they are encoded in."""

    data: bytes
    name: str
    charset: str  # the IANA name to label a download with: utf-8, windows-1251, ...


@dataclass(frozen=True)
class RejectView:
    """A rejected row: its number in the file, its cells and the reasons per column."""

    row_number: int
    values: dict[str, str]
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class PreviewRow:
    """A row converted as the import would: field values, or the reasons it would be refused."""

    row_number: int
    values: dict[str, Any]
    errors: list[dict[str, Any]]


@dataclass(frozen=True)
class MappingProfileView:
    """A saved column mapping of an entity."""

    id: int
    entity: str
    name: str
    columns: dict[str, str]
    created_by: str
    updated_at: datetime


def _view(uow: UnitOfWork, job: ImportJobRow) -> ImportJobView:
    live = live_progress(uow, job.id) if job.status == "running" else None
    return ImportJobView(job.id, job.entity, job.filename, job.status, job.dry_run, job.mode, job.total_rows,
                         live if live is not None else job.processed_rows,
                         {k: int(job.counts.get(k, 0)) for k in (*OUTCOMES, RULE_PAIRS)}, job.message, job.created_by,
                         job.created_at, job.finished_at, list(job.options.get("headers") or []),
                         dict(job.options.get("mapping") or {}), job.options.get("on_match"),
                         dict(job.options.get("date_formats") or {}))


def _checked_alive(uow: UnitOfWork, job: ImportJobRow) -> ImportJobRow:
    """A job marked running whose process died is marked failed with the reason, when it is looked at."""
    reason = death_of(job, datetime.now(UTC), WorkerLimits.from_env().stale_seconds)
    if reason is not None:
        job.status, job.message, job.finished_at = "failed", reason, job.heartbeat_at or datetime.now(UTC)
        uow.commit()
    return job


def _readable(uow: UnitOfWork, actor: Actor, job_id: int) -> ImportJobRow:
    require_permission(actor, "import.read", action="see imports")
    job = uow.imports.job(job_id)
    if job is None or (actor.has("sales") and not actor.has("head_of_sales", "admin", "auditor")
                       and job.created_by != actor.username):
        raise NotFound(f"import {job_id} not found")
    return _checked_alive(uow, job)


def _changeable(uow: UnitOfWork, actor: Actor, job_id: int) -> ImportJobRow:
    job = _readable(uow, actor, job_id)
    require_permission(actor, "import.run", action="import records")
    if job.created_by != actor.username and not actor.has("admin"):
        raise Forbidden(f"{actor.username} may not change import {job_id} of {job.created_by}")
    if job.status == "running" or (job.status == "done" and not job.dry_run):
        raise ValidationError({"": [f"import {job_id} is running or has already run ({job.status})"]})
    return job


def can_change_job(uow: UnitOfWork, actor: Actor, job_id: int) -> bool:
    """Whether the actor may still set this job's mapping and run it (NotFound when they cannot see it)."""
    with uow:
        try:
            _changeable(uow, actor, job_id)
        except (Forbidden, ValidationError):
            return False
        return True


def _check_on_match(on_match: str | None) -> None:
    if on_match is not None and on_match not in ON_MATCH:
        raise ValidationError({"on_match": [f"must be one of {', '.join(ON_MATCH)}, not {on_match!r}"]})


def _check_date_formats(entity: Entity, mapping: dict[str, str], formats: dict[str, str]) -> None:
    """ValidationError naming each column whose date format cannot apply: no such column, a column not mapped to
    a date or datetime field, or no usable format."""
    errors: dict[str, list[str]] = {}
    for column, fmt in formats.items():
        field = entity.fields.get(mapping.get(column, SKIP))
        if column not in mapping:
            errors.setdefault(column, []).append(f"the file has no column {column!r}")
        elif field is None or field.type not in DATE_TYPES:
            errors.setdefault(column, []).append(f"a date format applies to a column mapped to a date field, and "
                                                 f"{column!r} is mapped to {mapping[column]}")
        elif (problem := date_format_problem(fmt)) is not None:
            errors.setdefault(column, []).append(problem)
    if errors:
        raise ValidationError(errors)


def create_job(uow: UnitOfWork, actor: Actor, entity_name: str, filename: str, path: Path, now: datetime, *,
               encoding: str | None = None, delimiter: str | None = None, sheet: str | None = None,
               profile: str | None = None, mapping: dict[str, str] | None = None, mode: str = "all_or_nothing",
               dry_run: bool = False, on_match: str | None = None,
               date_formats: dict[str, str] | None = None) -> ImportJobView:
    """A pending import of a stored file: read (so an unreadable file is refused now), mapping guessed from
    its headers, then a saved profile and explicit choices applied over the guess. `on_match` overrides the
    entity's import setting for this job; `date_formats` gives a date column's format (column -> strptime)."""
    require_permission(actor, "import.run", action="import records")
    if mode not in MODES:
        raise ValidationError({"mode": [f"must be one of {', '.join(MODES)}"]})
    _check_on_match(on_match)
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, entity_name)
    table = read_path(filename, path, keep=0, encoding=encoding, delimiter=delimiter, sheet=sheet)
    with path.open("rb") as stored:
        digest = hashlib.file_digest(stored, "sha256").hexdigest()
    with uow:
        layers = [_profile_columns(uow, entity.name, profile)] if profile else []
        chosen = merge_mapping(entity, settings_for(bundle, entity.name), table.headers, *layers, mapping or {})
        _check_date_formats(entity, chosen, date_formats or {})
        options = {"path": str(path), "encoding": table.encoding,
                   "delimiter": table.delimiter, "sheet": table.sheet, "kind": table.kind,
                   "headers": table.headers, "mapping": chosen, "profile": profile, "on_match": on_match,
                   "date_formats": dict(date_formats or {})}
        job = ImportJobRow(entity=entity.name, filename=filename[:500], file_hash=digest,
                           status="pending", dry_run=dry_run, mode=mode, options=options, total_rows=table.count,
                           processed_rows=0, counts=dict.fromkeys(OUTCOMES, 0), created_by=actor.username,
                           created_at=now)
        uow.imports.add(job)
        uow.commit()
        return _view(uow, job)


def configure_job(uow: UnitOfWork, actor: Actor, job_id: int, mapping: dict[str, str], mode: str,
                  dry_run: bool, *, on_match: str | None = None) -> ImportJobView:
    """Set a pending (or dry-run) job's mapping, mode, whether the next run is a dry run and what a row matching
    an existing record does (`on_match`; None: the entity's setting)."""
    if mode not in MODES:
        raise ValidationError({"mode": [f"must be one of {', '.join(MODES)}"]})
    _check_on_match(on_match)
    bundle, _ = active_bundle(uow)
    with uow:
        job = _changeable(uow, actor, job_id)
        headers = list(job.options.get("headers") or [])
        unknown = sorted(set(mapping) - set(headers))
        if unknown:
            raise ValidationError({"mapping": [f"the file has no column {', '.join(map(repr, unknown))}"]})
        chosen = {h: mapping.get(h) or SKIP for h in headers}
        entity = entity_of(bundle, job.entity)
        check_mapping(entity, chosen)
        formats = {c: f for c, f in dict(job.options.get("date_formats") or {}).items() if chosen.get(c) != SKIP}
        _check_date_formats(entity, chosen, formats)
        job.options = {**job.options, "mapping": chosen, "on_match": on_match, "date_formats": formats}
        job.mode, job.dry_run, job.status = mode, dry_run, "pending"
        uow.commit()
        return _view(uow, job)


def restart_job(uow: UnitOfWork, actor: Actor, job_id: int, *, resume: bool) -> ImportJobView:
    """Check that a job may run again before a worker is started for it: `resume` (a failed job; valid_only
    jobs keep the rows their dead run committed) or a rerun of every row (rows imported before are skipped)."""
    with uow:
        job = _changeable(uow, actor, job_id)
        if resume and job.status != "failed":
            raise ValidationError({"": [f"import {job_id} did not fail ({job.status}): only a failed import resumes"]})
        return _view(uow, job)


def get_job(uow: UnitOfWork, actor: Actor, job_id: int) -> ImportJobView:
    """One import job the actor may see, with its live progress while it runs."""
    with uow:
        return _view(uow, _readable(uow, actor, job_id))


def list_jobs(uow: UnitOfWork, actor: Actor, limit: int = 50) -> list[ImportJobView]:
    """Import jobs the actor may see, newest first (salespeople see their own)."""
    require_permission(actor, "import.read", action="see imports")
    own = actor.has("sales") and not actor.has("head_of_sales", "admin", "auditor")
    with uow:
        jobs = uow.imports.jobs(actor.username if own else None, min(max(limit, 1), 500))
        return [_view(uow, _checked_alive(uow, job)) for job in jobs]


def job_rejects(uow: UnitOfWork, actor: Actor, job_id: int, limit: int | None = None) -> list[RejectView]:
    """The rejected rows of a job in file order."""
    with uow:
        _readable(uow, actor, job_id)
        return [RejectView(r.row_number, dict(r.values), list(r.errors)) for r in uow.imports.rejects(job_id, limit)]


def english_reason(problem: Mapping[str, Any]) -> str:
    """A stored row problem's reason as the engine wrote it (English)."""
    return str(problem["reason"])


def _reason_text(errors: list[dict[str, Any]], reason: Callable[[Mapping[str, Any]], str]) -> str:
    return "; ".join(f"{e['column']}: {reason(e)}" if e.get("column") else reason(e) for e in errors)


def charset_name(encoding: str) -> str:
    """The IANA charset name of a Python codec, for a Content-Type: utf-8-sig is utf-8 (the BOM is data)."""
    name = codecs.lookup(encoding).name
    if name in ("utf-8-sig", "utf-8"):
        return "utf-8"
    return f"windows-{name[2:]}" if name.startswith("cp") and name[2:].isdigit() and name != "cp866" else name


def rejects_csv(uow: UnitOfWork, actor: Actor, job_id: int, *, errors_header: str = "errors",
                reason: Callable[[Mapping[str, Any]], str] = english_reason) -> RejectsFile:
    """A job's rejected rows with an extra `errors_header` column (each problem written by `reason`, in the
    reader's language), in the source file's delimiter and encoding (UTF-8 with BOM for workbooks, so
    spreadsheet programs read it). When that encoding cannot hold the text (Russian reasons for a Western
    European file), the whole file is UTF-8 with BOM and labelled so, rather than losing characters to '?'."""
    with uow:
        job = _readable(uow, actor, job_id)
        headers = list(job.options.get("headers") or [])
        delimiter = str(job.options.get("delimiter") or ",")
        encoding = str(job.options.get("encoding") or "utf-8-sig")
        name = Path(job.filename).stem
        out = io.StringIO()
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        writer.writerow([csv_safe(h) for h in [*headers, errors_header]])
        for row in uow.imports.rejects(job_id):
            writer.writerow([csv_safe(v) for v in [*(row.values.get(h, "") for h in headers),
                                                   _reason_text(row.errors, reason)]])
    try:
        data = out.getvalue().encode(encoding)
    except UnicodeEncodeError:
        encoding = "utf-8-sig"
        data = out.getvalue().encode(encoding)
    return RejectsFile(data, f"{name}-rejects.csv", charset_name(encoding))


def preview_job(uow: UnitOfWork, actor: Actor, job_id: int, mapping: dict[str, str] | None = None,
                limit: int = PREVIEW_ROWS) -> list[PreviewRow]:
    """The first rows of a job's file converted with its mapping (or `mapping`), and what is wrong in each."""
    from engine.services.users import get_actor

    bundle, _ = active_bundle(uow)
    with uow:
        job = _readable(uow, actor, job_id)
        entity = entity_of(bundle, job.entity)
        table: Table = load_table(job, keep=limit)
        chosen = {h: (mapping or job.options.get("mapping") or {}).get(h) or SKIP for h in table.headers}
        check_mapping(entity, chosen)
        owner = uow.users.by_username(job.created_by)
        who = get_actor(uow, owner.id) if owner is not None else actor
        importer = Importer(bundle, entity, settings_for(bundle, entity.name), table.headers, chosen, who, job.id,
                            job.created_at, lookup=CachedLookup(),
                            date_formats=field_formats({**job.options, "mapping": chosen}))
        rows: list[PreviewRow] = []
        order = {header: index for index, header in enumerate(table.headers)}
        for number, cells in table.rows[:limit]:
            data, problems = importer.convert(uow, cells)
            try:
                importer.validate(data, list(problems), partial=False)
            except RowRejected as exc:
                problems = sorted(exc.problems, key=lambda p: order.get(p["column"], len(order)))
            rows.append(PreviewRow(number, data, problems))
        return rows


def _profile_columns(uow: UnitOfWork, entity: str, name: str) -> dict[str, str]:
    row = uow.imports.profile(entity, name)
    if row is None:
        known = ", ".join(p.name for p in uow.imports.profiles(entity)) or "none"
        raise NotFound(f"no mapping profile {name!r} for {entity} (saved: {known})")
    return {str(k): str(v) for k, v in (row.mapping.get("columns") or {}).items()}


def _profile_view(row: MappingProfileRow) -> MappingProfileView:
    return MappingProfileView(row.id, row.entity, row.name, dict(row.mapping.get("columns") or {}), row.created_by,
                              row.updated_at)


def save_profile(uow: UnitOfWork, actor: Actor, entity_name: str, name: str, columns: dict[str, str],
                 now: datetime) -> MappingProfileView:
    """Create or replace the mapping profile `name` of an entity."""
    require_permission(actor, "import.run", action="save mapping profiles")
    name = name.strip()
    if not name or len(name) > 200:
        raise ValidationError({"name": ["a profile needs a name of 1 to 200 characters"]})
    bundle, _ = active_bundle(uow)
    entity = entity_of(bundle, entity_name)
    check_mapping(entity, columns)
    with uow:
        row = uow.imports.profile(entity.name, name)
        if row is None:
            row = MappingProfileRow(entity=entity.name, name=name, mapping={}, created_by=actor.username,
                                    updated_at=now)
            uow.imports.add(row)
        row.mapping, row.updated_at = {"columns": dict(columns)}, now
        uow.commit()
        return _profile_view(row)


def list_profiles(uow: UnitOfWork, actor: Actor, entity: str | None = None) -> list[MappingProfileView]:
    """Saved mapping profiles (of one entity when given)."""
    require_permission(actor, "import.read", action="see mapping profiles")
    with uow:
        return [_profile_view(row) for row in uow.imports.profiles(entity)]


def delete_profile(uow: UnitOfWork, actor: Actor, entity: str, name: str) -> None:
    """Remove a mapping profile (its author or an admin)."""
    require_permission(actor, "import.run", action="delete mapping profiles")
    with uow:
        row = uow.imports.profile(entity, name)
        if row is None:
            raise NotFound(f"no mapping profile {name!r} for {entity}")
        if row.created_by != actor.username and not actor.has("admin"):
            raise Forbidden(f"{actor.username} may not delete the profile {name!r} of {row.created_by}")
        uow.imports.delete_profile(row)
        uow.commit()
