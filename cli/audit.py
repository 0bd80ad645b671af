"""Maintenance and audit: reference-link backfill, the audit log."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click

from cli.base import _fail_cleanly, _now, _uow_factory, main, said, say
from engine.errors import ValidationError
from engine.messages import Message
from engine.services.views import Actor


@main.command("backfill-links")
@click.option("--entity", "entities", multiple=True, help="only this entity (repeatable; default all)")
@click.option("--batch", default=1000, type=int, help="records per transaction")
@click.pass_context
@_fail_cleanly
def backfill_links(ctx: click.Context, entities: tuple[str, ...], batch: int) -> None:
    """Make the links of reference fields match record data (after an upgrade; safe to run again)."""
    from engine.processes.deployed import active_bundle
    from engine.services.maintenance import backfill_reference_links

    make_uow = _uow_factory(ctx)
    bundle, _ = active_bundle(make_uow())
    counts = backfill_reference_links(make_uow(), bundle, _now(), batch=batch, entities=list(entities) or None)
    say("cli.links_backfilled", records=counts.records, batches=counts.batches, created=counts.created,
        removed=counts.removed, kept=counts.kept)




@main.command("audit")
@click.option("--user", default=None, help="only what this login name did")
@click.option("--entity", default=None, help="only entries about records of this entity")
@click.option("--record", "record_id", type=int, default=None, help="only entries about this record id")
@click.option("--kind", "kinds", multiple=True, type=click.Choice(["field", "step", "event", "merge"]),
              help="field, step, event or merge (repeatable; default all)")
@click.option("--from", "since", default=None, help="from this date (YYYY-MM-DD) or ISO date-time, in --tz")
@click.option("--to", "until", default=None, help="up to this date (inclusive) or ISO date-time (exclusive)")
@click.option("--tz", "zone_name", default="UTC", show_default=True,
              help="IANA time zone of --from/--to and of the exported times (Europe/Moscow)")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default="table")
@click.option("--limit", type=int, default=50, help="table only: newest entries to show")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write to this file (needed for xlsx)")
@click.pass_context
@_fail_cleanly
def audit_cmd(ctx: click.Context, user: str | None, entity: str | None, record_id: int | None,
              kinds: tuple[str, ...], since: str | None, until: str | None, zone_name: str, fmt: str, limit: int,
              output: Path | None) -> None:
    """The audit log (field changes, process steps, inbound events, merges), newest first."""
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    from engine.services.audit import AuditQuery, audit_log, iter_audit, parse_moment
    from engine.services.audit_export import csv_chunks, write_xlsx

    try:
        zone = ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError({"--tz": [Message("cli.unknown_zone", zone=zone_name)]}) from None
    reader = Actor(id=None, username="cli", display_name="CLI", roles=frozenset({"auditor"}))
    query = AuditQuery(user=user, entity=entity, record_id=record_id, kinds=kinds,
                       since=parse_moment(since, "--from", zone=zone),
                       until=parse_moment(until, "--to", end_of_day=True, zone=zone))
    factory = _uow_factory(ctx)
    audit_log(factory(), reader, query, limit=1)  # a bad filter fails before any file is written
    names: dict[str, str] = {}  # every user's display name, read once with the first batch

    def name_of(login: str) -> str:
        return names.get(login, login)
    if fmt == "xlsx":
        if output is None:
            raise ValidationError({"--output": [Message("cli.xlsx_needs_output")]})
        with output.open("wb") as target:
            count = write_xlsx(iter_audit(factory(), reader, query, names=names), target, zone, name_of)
        say("cli.entries_written", count=count, path=output)
        return
    if fmt == "csv":
        chunks = csv_chunks(iter_audit(factory(), reader, query, names=names), zone, name_of)
        if output is None:
            for chunk in chunks:
                click.echo(chunk, nl=False)
            return
        with output.open("w", encoding="utf-8", newline="") as handle:
            handle.writelines(chunks)
        say("cli.written_to", path=output)
        return
    page = audit_log(factory(), reader, query, limit=limit)
    text = "\n".join(_audit_line(e, zone) for e in page.items) or said("cli.no_entries", "")
    if output is not None:
        output.write_text(text + "\n", encoding="utf-8")
        say("cli.entries_written", count=len(page.items), path=output)
    else:
        click.echo(text)
    if page.next_cursor:
        say("cli.newest_shown", count=len(page.items), err=True)


def _audit_line(entry: Any, zone: Any) -> str:
    """One audit entry as a line of the table format, its time in `zone`."""
    from engine.services.audit_export import cell

    record = (entry.entity or "-") + (f" #{entry.record_id}" if entry.record_id else "")
    change = f"{cell(entry.old_value)} -> {cell(entry.new_value)}" if entry.kind in ("field", "merge") else ""
    return (f"{entry.at.astimezone(zone):%Y-%m-%d %H:%M:%S}  {entry.kind:<5}  {entry.actor:<12}  {record:<18}  "
            f"{entry.subject}{': ' + change if change else ''}  [{entry.source}]")
