"""Finding and measuring: filters, segments (export, mass actions) and reports."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import click

from cli.base import _actor_as, _fail_cleanly, _now, _uow_factory, main, said, say
from engine.errors import ValidationError
from engine.messages import Message, sentence


def _filter_json(filter_text: str) -> Any:
    """The --filter option's JSON: given inline, or read from @file.json."""
    import json

    text = filter_text
    if filter_text.startswith("@"):
        try:
            text = Path(filter_text[1:]).read_text(encoding="utf-8")
        except OSError as exc:
            problem = Message("cli.filter_unreadable", path=filter_text[1:], reason=exc.strerror)
            raise ValidationError({"--filter": [problem]}) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:  # the parser's words read back into their codes (json.* templates)
        problem = Message("cli.filter_not_json", detail=sentence(exc.msg, "json"), line=exc.lineno,
                          column=exc.colno, char=exc.pos)
        raise ValidationError({"--filter": [problem]}) from exc


@main.command("find")
@click.option("--filter", "filter_text", required=True,
              help="the filter as JSON, or @file.json (docs/filters.md)")
@click.option("--limit", type=click.IntRange(1, 500), default=50, help="records to show (1..500)")
@click.option("--offset", type=click.IntRange(0), default=0, help="records to skip")
@click.option("--count", "count_only", is_flag=True, help="print only how many records match")
@click.option("--explain", "explain_only", is_flag=True, help="print the SQL with parameter names, run nothing")
@click.option("--as", "username", default=None, help="find as this user (default: the system, every record)")
@click.option("--format", "fmt", type=click.Choice(["table", "json", "csv"]), default="table")
@click.pass_context
@_fail_cleanly
def find_cmd(ctx: click.Context, filter_text: str, limit: int, offset: int, count_only: bool, explain_only: bool,
             username: str | None, fmt: str) -> None:
    """Find records by a filter: a table, JSON or CSV page, the count, or the SQL behind it."""
    import csv
    import io
    import json

    from engine.cells import csv_safe
    from engine.services.finding import count_records, explain, find_records

    flt = _filter_json(filter_text)
    factory = _uow_factory(ctx)
    who = _actor_as(factory, username)
    if explain_only:
        click.echo(explain(factory(), flt, actor=who, now=_now(), limit=limit))
        return
    if count_only:
        click.echo(count_records(factory(), who, flt, _now()))
        return
    page = find_records(factory(), who, flt, _now(), limit=limit, offset=offset)
    rows: list[dict[str, Any]] = [
        {"id": item.id, "entity": item.entity, "title": item.title, "data": item.data, "owner": item.owner,
         "created_at": item.created_at.isoformat(), "updated_at": item.updated_at.isoformat(),
         "revision": item.revision} for item in page.items]
    if fmt == "json":
        click.echo(json.dumps({"items": rows, "total": page.total, "limit": limit, "offset": offset},
                              ensure_ascii=False, indent=2))
        return
    if fmt == "csv":
        columns = ["id", "title", "owner", "created_at", "updated_at"]
        fields = sorted({name for row in rows for name in row["data"]} - set(columns))
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow([csv_safe(name) for name in [*columns, *fields]])
        for row in rows:
            values = [row["data"].get(name) for name in fields]
            writer.writerow([csv_safe(v) for v in [
                row["id"], row["title"], row["owner"] or "", row["created_at"], row["updated_at"],
                *("" if v is None else json.dumps(v, ensure_ascii=False) if isinstance(v, list) else v
                  for v in values)]])
        click.echo(out.getvalue(), nl=False)
        return
    width = max([len(str(row["id"])) for row in rows] + [2])
    for row in rows:
        click.echo(f"{row['id']:>{width}}  {row['title'][:60]:<60}  {row['owner'] or '-'}")
    shown = f"{offset + 1}-{offset + len(rows)}" if rows else said("cli.shown_none", "-")
    say("cli.records_match", total=page.total, shown=shown)


@main.group("segment")
def segment_group() -> None:
    """Segments: saved filters, their export and mass actions."""


@segment_group.command("list")
@click.option("--entity", default=None, help="only this entity's segments")
@click.pass_context
@_fail_cleanly
def segment_list(ctx: click.Context, entity: str | None) -> None:
    """List segments: id, entity, name, creator."""
    from engine.services.segments import list_segments
    from engine.services.views import SYSTEM

    for seg in list_segments(_uow_factory(ctx)(), SYSTEM, entity):
        click.echo(f"{seg.id:>4}  {seg.entity:<14}  {seg.name:<40}  {seg.created_by}")


@segment_group.command("save")
@click.argument("name")
@click.option("--entity", required=True, help="the entity the filter finds")
@click.option("--filter", "filter_text", required=True, help="the filter as JSON, or @file.json")
@click.option("--description", default="")
@click.option("--as", "username", default=None, help="save as this user (default: the system)")
@click.pass_context
@_fail_cleanly
def segment_save(ctx: click.Context, name: str, entity: str, filter_text: str, description: str,
                 username: str | None) -> None:
    """Save a filter as a named segment of an entity."""
    from engine.services.segments import create_segment

    data = _filter_json(filter_text)
    factory = _uow_factory(ctx)
    saved = create_segment(factory(), _actor_as(factory, username), entity, name, data, _now(),
                           description=description)
    say("cli.segment_saved", id=saved.id, entity=saved.entity, name=saved.name)


@segment_group.command("export")
@click.argument("segment")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--columns", default=None, help="comma-separated fields (default: all)")
@click.option("--locale", type=click.Choice(["en", "ru"]), default="en", help="language of labels")
@click.option("--entity", default=None, help="the entity, when two entities have a segment of that name")
@click.option("--as", "username", default=None, help="export what this user sees (default: everything)")
@click.option("--tz", "zone", default=None, help="write times in this IANA time zone (default: the bundle's "
                                                 "`timezone` setting)")
@click.pass_context
@_fail_cleanly
def segment_export(ctx: click.Context, segment: str, fmt: str, output: Path, columns: str | None, locale: str,
                   entity: str | None, username: str | None, zone: str | None) -> None:
    """Export a segment's records (by name or id) to a CSV (UTF-8 with BOM) or XLSX file."""
    from engine.processes.deployed import active_bundle
    from engine.services.exports import csv_chunks, segment_rows, write_xlsx
    from engine.services.segments import find_segment

    factory = _uow_factory(ctx)
    who = _actor_as(factory, username)
    found = find_segment(factory(), who, segment, entity)
    chosen = [c.strip() for c in columns.split(",")] if columns else None
    zone = zone or active_bundle(factory())[0].settings.timezone
    cols, batches = segment_rows(factory(), who, found.id, _now(), columns=chosen, locale=locale, zone=zone)
    count = 0

    def counted() -> Any:
        nonlocal count
        for rows in batches:
            count += len(rows)
            yield rows

    if fmt == "csv":
        with output.open("w", encoding="utf-8", newline="") as out:
            for chunk in csv_chunks(cols, counted(), locale=locale):
                out.write(chunk)
    else:
        with output.open("wb") as binary:
            write_xlsx(cols, counted(), binary, locale=locale, sheet=found.name)
    say("cli.records_written", count=count, path=output)


@segment_group.command("action")
@click.argument("segment")
@click.option("--assign", "assign_to", default=None, help="make this user the owner")
@click.option("--tag", default=None, help="add this code to a multi_enum field (--field, default tags)")
@click.option("--untag", default=None, help="remove this code from a multi_enum field")
@click.option("--set", "set_value", default=None, help="FIELD=VALUE (VALUE as JSON when it parses, else text)")
@click.option("--start", "process", default=None, help="start this process on each record")
@click.option("--field", default=None, help="the multi_enum field of --tag / --untag")
@click.option("--entity", default=None, help="the entity, when two entities have a segment of that name")
@click.option("--dry-run", is_flag=True, help="report what would change, change nothing")
@click.option("--as", "username", required=True, help="act as this user (permissions and visibility apply)")
@click.pass_context
@_fail_cleanly
def segment_action(ctx: click.Context, segment: str, assign_to: str | None, tag: str | None, untag: str | None,
                   set_value: str | None, process: str | None, field: str | None, entity: str | None,
                   dry_run: bool, username: str) -> None:
    """Apply one mass action to a segment's records, all or nothing."""
    import json

    from engine.services.mass_actions import parse_action, run_segment_action
    from engine.services.segments import find_segment

    chosen = [k for k, v in (("--assign", assign_to), ("--tag", tag), ("--untag", untag), ("--set", set_value),
                             ("--start", process)) if v is not None]
    if len(chosen) != 1:
        raise ValidationError({"action": [Message("cli.one_action")]})
    data: dict[str, Any]
    if assign_to is not None:
        data = {"action": "assign", "to": assign_to}
    elif tag is not None or untag is not None:
        data = {"action": "tag" if tag is not None else "untag", "code": tag or untag, "field": field}
    elif set_value is not None:
        name, sep, raw = set_value.partition("=")
        if not sep:
            raise ValidationError({"--set": [Message("cli.field_value_expected")]})
        try:
            value = json.loads(raw) if raw else None
        except ValueError:
            value = raw
        data = {"action": "set", "field": name.strip(), "value": value}
    else:
        data = {"action": "start", "process": process}
    factory = _uow_factory(ctx)
    who = _actor_as(factory, username)
    found = find_segment(factory(), who, segment, entity)
    summary = run_segment_action(factory(), who, found.id, parse_action(data), _now(), dry_run=dry_run)
    say("cli.action_summary_dry" if dry_run else "cli.action_summary", records=summary.records,
        changed=summary.changed, skipped=summary.skipped)
    for problem in summary.errors:
        click.echo(f"  {problem}", err=True)


@main.command("report")
@click.argument("name")
@click.option("--from", "date_from", default=None, help="first day, YYYY-MM-DD (inclusive)")
@click.option("--to", "date_to", default=None, help="last day, YYYY-MM-DD (inclusive)")
@click.option("--bucket", type=click.Choice(["month", "quarter", "year"]), default="month")
@click.option("--team", default=None, help="only records owned by this team's members")
@click.option("--per", type=click.Choice(["user", "team"]), default="user", help="activity reports: rows per")
@click.option("--locale", type=click.Choice(["en", "ru"]), default="en")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "xlsx"]), default="table")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write to this file (required for xlsx)")
@click.option("--as", "username", default=None, help="evaluate as this user (default: the system, every record)")
@click.option("--tz", "zone", default=None, help="days and months in this IANA time zone (default: the bundle's "
                                                 "`timezone` setting)")
@click.pass_context
@_fail_cleanly
def report_cmd(ctx: click.Context, name: str, date_from: str | None, date_to: str | None, bucket: str,
               team: str | None, per: str, locale: str, fmt: str, output: Path | None, username: str | None,
               zone: str | None) -> None:
    """Evaluate a configured report (crm_model/reports/NAME.yaml) and print or save it."""
    from engine.processes.deployed import active_bundle
    from engine.reports.export import csv_text, table_text, xlsx_bytes
    from engine.reports.service import run_report
    from engine.reports.views import ReportParams

    factory = _uow_factory(ctx)
    days: dict[str, Any] = {}
    for key, raw in (("from", date_from), ("to", date_to)):
        try:
            days[key] = datetime.strptime(raw, "%Y-%m-%d").date() if raw else None
        except ValueError as exc:
            raise ValidationError({key: [Message("cli.not_a_date", value=raw)]}) from exc
    who = _actor_as(factory, username)
    if fmt == "xlsx" and output is None:
        raise ValidationError({"-o": [Message("cli.report_xlsx_needs_output")]})
    zone = zone or active_bundle(factory())[0].settings.timezone
    params = ReportParams(days["from"], days["to"], bucket, team, per, zone)
    result = run_report(factory(), who, name, params, _now(), locale)
    if fmt == "xlsx" and output is not None:
        output.write_bytes(xlsx_bytes(result))
    elif output is not None:
        output.write_text(csv_text(result) if fmt == "csv" else table_text(result), encoding="utf-8")
    else:
        click.echo(csv_text(result).lstrip("\ufeff") if fmt == "csv" else table_text(result), nl=False)
    if output is not None:
        say("cli.rows_written", count=len(result.rows), path=output)


@main.command("search")
@click.argument("query")
@click.option("--as", "username", default=None, help="search as this user (default: the system, every record)")
@click.pass_context
@_fail_cleanly
def search_cmd(ctx: click.Context, query: str, username: str | None) -> None:
    """Search every entity's names, phones and e-mails (as the header search box does)."""
    from engine.services.search import search

    factory = _uow_factory(ctx)
    result = search(factory(), _actor_as(factory, username), query)
    if result.stale_index:
        say("cli.search_index_empty", err=True)
    for group in result.groups:
        click.echo(f"{group.entity}:")
        for hit in group.hits:
            click.echo(f"  #{hit.id} {hit.title}")
        if group.more:
            click.echo("  …")


@main.command("search-index")
@click.option("--entity", "entities", multiple=True, help="only this entity (repeatable; default: every entity)")
@click.pass_context
@_fail_cleanly
def search_index_cmd(ctx: click.Context, entities: tuple[str, ...]) -> None:
    """Rebuild the search keys of every record (after an upgrade, or when searchable fields changed)."""
    from engine.services.search import rebuild_index

    factory = _uow_factory(ctx)
    count = rebuild_index(factory(), _actor_as(factory, None), list(entities) or None)
    say("cli.search_keys_rebuilt", count=count)
