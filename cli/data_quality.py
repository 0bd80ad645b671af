"""Data quality: file imports and their mapping profiles, duplicate scans and match keys."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from cli.base import CommandUnits, _actor_as, _fail_cleanly, _now, _uow_factory, command_locale, main, said, say, shown
from engine.errors import ValidationError
from engine.messages import LOCALES as MESSAGE_LOCALES
from engine.messages import Message, render, stored_text


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--entity", required=True, help="entity of the records, e.g. Contact")
@click.option("--mapping", "profile", default=None, help="a saved mapping profile of the entity")
@click.option("--map", "pairs", multiple=True, help="column=field or column=skip (repeatable)")
@click.option("--save-mapping", default=None, help="save the mapping used as this profile")
@click.option("--encoding", default=None, help="utf-8, utf-8-sig, cp1251... (default: detected)")
@click.option("--delimiter", default=None, help="CSV delimiter (default: detected; \\t for tab)")
@click.option("--sheet", default=None, help="XLSX sheet (default: the first)")
@click.option("--dry-run", is_flag=True, help="run everything, write nothing, print the report")
@click.option("--mode", type=click.Choice(["all-or-nothing", "valid-only"]), default="all-or-nothing",
              show_default=True)
@click.option("--on-match", type=click.Choice(["update_empty", "update", "skip", "review"]), default=None,
              help="a row matching an existing record: fill its empty fields (a disagreeing row goes to review) | "
                   "take the file's values | leave the record | a record of its own with a duplicate pair to review "
                   "(default: the entity's crm_model/imports.yaml)")
@click.option("--date-format", "date_formats", multiple=True, metavar="COLUMN=FORMAT",
              help="read a date column by a strptime format, e.g. Born=%Y%m%d (repeatable)")
@click.option("--rejects", "rejects_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="write the rejected rows (with an errors column) to this CSV file")
@click.option("--as", "username", default=None, help="importing user (default: the first admin)")
@click.option("--lang", type=click.Choice(MESSAGE_LOCALES), default=None,
              help="language of the summary and the rejected rows' reasons, here and in the --rejects file; "
                   "default: flowcrm --lang, FLOWCRM_LANG, LANG, else en")
@click.pass_context
@_fail_cleanly
def import_cmd(ctx: click.Context, file: Path, entity: str, profile: str | None, pairs: tuple[str, ...],
               save_mapping: str | None, encoding: str | None, delimiter: str | None, sheet: str | None,
               dry_run: bool, mode: str, on_match: str | None, date_formats: tuple[str, ...],
               rejects_out: Path | None, username: str | None, lang: str | None) -> None:
    """Import records of an entity from a CSV or XLSX file."""
    import threading

    from engine.imports.mapping import parse_pairs
    from engine.imports.run import live_progress, run_import
    from engine.services.imports import create_job, get_job, job_rejects, rejects_csv, save_profile

    lang = command_locale()
    factory = _uow_factory(ctx)
    who = _actor_as(factory, username, default_admin=True)
    job = create_job(factory(), who, entity, file.name, file.resolve(), _now(), encoding=encoding,
                     delimiter=delimiter, sheet=sheet, profile=profile, mapping=parse_pairs(pairs),
                     mode=mode.replace("-", "_"), dry_run=dry_run, on_match=on_match,
                     date_formats=parse_pairs(date_formats, "date-format", "column=format like Born=%Y%m%d", ""))
    if save_mapping:
        save_profile(factory(), who, job.entity, save_mapping, job.mapping, _now())
        say("cli.mapping_saved", name=repr(save_mapping))
    for header, field in job.mapping.items():
        click.echo(f"  {header} -> {field}")
    failure: list[BaseException] = []

    def work() -> None:
        try:
            run_import(factory.fresh, job.id, _now)
        except BaseException as exc:  # shown after the progress bar closes
            failure.append(exc)

    runner = threading.Thread(target=work, name=f"import-{job.id}")
    runner.start()
    with click.progressbar(length=max(job.total_rows, 1), label=f"import #{job.id}", file=sys.stderr) as bar:
        done = 0
        while runner.is_alive():
            runner.join(0.2)
            now_done = live_progress(factory.fresh(), job.id) or done
            bar.update(now_done - done)
            done = now_done
        bar.update(max(job.total_rows, 1) - done)
    if failure:
        raise failure[0]
    factory().forget_loaded()  # the import's own units wrote the job's status and counts
    result = get_job(factory(), who, job.id)
    counts = ", ".join(said(f"cli.outcome_{name}", f"{n} {name}", count=n) for name, n in result.counts.items()
                       if name != "rule_pairs")
    say("cli.import_result_dry" if result.dry_run else "cli.import_result", job=result.id,
        status=said(f"cli.status_{result.status}", result.status), counts=counts)
    if result.status == "done":
        say("cli.import_pairs_would_open" if result.dry_run else "cli.import_pairs_opened",
            count=result.counts["rule_pairs"])
    if result.message:
        click.echo(shown(result.message))
    for reject in job_rejects(factory(), who, job.id, limit=20):
        for error in reject.errors:
            reason = stored_text(error, lang) or error["reason"]
            if error.get("column"):
                say("cli.import_row_column", row=reject.row_number, column=error["column"], reason=reason)
            else:
                say("cli.import_row", row=reject.row_number, reason=reason)
    if result.counts["rejected"] > 20:
        say("cli.import_more_rejected", count=result.counts["rejected"] - 20)
    if rejects_out is not None and result.counts["rejected"]:
        header = render("import.errors_column", {}, lang)
        found = rejects_csv(factory(), who, job.id, errors_header=header,
                            reason=lambda e: stored_text(e, lang) or str(e["reason"]))
        rejects_out.write_bytes(found.data)
        say("cli.rejects_written", path=rejects_out, charset=found.charset)
    if result.status == "failed" or (result.mode == "all_or_nothing" and result.counts["rejected"]):
        sys.exit(1)  # a dry run of an all-or-nothing import that would be refused fails too (scripts check files)


@main.command("import-mappings")
@click.option("--entity", default=None, help="only this entity's profiles")
@click.option("--delete", "delete", default=None, metavar="NAME", help="delete this profile of --entity")
@click.option("--as", "username", default=None, help="acting user (default: the first admin)")
@click.pass_context
@_fail_cleanly
def import_mappings(ctx: click.Context, entity: str | None, delete: str | None, username: str | None) -> None:
    """List saved import mapping profiles (or delete one)."""
    from engine.services.imports import delete_profile, list_profiles

    factory = _uow_factory(ctx)
    who = _actor_as(factory, username, default_admin=True)
    if delete is not None:
        if entity is None:
            raise ValidationError({"entity": [Message("cli.delete_needs_entity")]})
        delete_profile(factory(), who, entity, delete)
        say("cli.profile_deleted", entity=entity, name=delete)
        return
    profiles = list_profiles(factory(), who, entity)
    if not profiles:
        say("cli.no_profiles")
    for profile in profiles:
        columns = ", ".join(f"{h}={f}" for h, f in profile.columns.items())
        say("cli.profile_line", entity=profile.entity, name=profile.name, author=profile.created_by,
            date=f"{profile.updated_at:%Y-%m-%d}", columns=columns)


@main.group()
def duplicates() -> None:
    """Find duplicate records by the rules of crm_model/duplicates/."""


def _duplicate_entities(make_uow: CommandUnits, entity: str | None) -> tuple[Any, list[str]]:
    """The deployed bundle and the entities to work on (all with duplicate rules, or the one named)."""
    from engine.errors import NotFound
    from engine.processes.deployed import active_bundle

    bundle, _ = active_bundle(make_uow())
    if entity is not None and entity not in bundle.duplicates:
        known = ", ".join(sorted(bundle.duplicates)) or Message("cli.shown_none")
        raise NotFound(Message("cli.no_duplicate_rules", entity=entity, known=known))
    return bundle, [entity] if entity else sorted(bundle.duplicates)


@duplicates.command("scan")
@click.option("--entity", default=None, help="one entity (default: every entity with duplicate rules)")
@click.option("--train", is_flag=True, help="retrain the probabilistic rules first (otherwise only untrained ones, "
                                            "or those with new reviewed pairs)")
@click.pass_context
@_fail_cleanly
def duplicates_scan(ctx: click.Context, entity: str | None, train: bool) -> None:
    """Compare records sharing a key or block, queue the pairs that match a rule and close open pairs that no
    longer do."""
    from engine.quality.scan import scan

    make_uow = _uow_factory(ctx)
    bundle, entities = _duplicate_entities(make_uow, entity)
    for name in entities:
        report = scan(make_uow(), bundle, name, _now(), train=train)
        counts: dict[str, Any] = {"entity": name, "records": report.records, "compared": report.compared,
                                  "found": report.found, "new": report.new, "closed": report.closed,
                                  "seconds": f"{report.seconds:.1f}"}
        if report.trained:
            say("cli.scan_result_trained", trained=", ".join(report.trained), **counts)
        else:
            say("cli.scan_result", **counts)


@duplicates.command("rebuild-keys")
@click.option("--entity", default=None, help="one entity (default: every entity with duplicate rules)")
@click.pass_context
@_fail_cleanly
def duplicates_rebuild_keys(ctx: click.Context, entity: str | None) -> None:
    """Recompute the match keys of every record (records written before the rules existed or changed)."""
    from engine.quality.scan import rebuild_keys

    make_uow = _uow_factory(ctx)
    bundle, entities = _duplicate_entities(make_uow, entity)
    for name in entities:
        say("cli.keys_rebuilt", entity=name, count=rebuild_keys(make_uow(), bundle, name))


@duplicates.command("train")
@click.option("--entity", default=None, help="one entity (default: every entity with probabilistic rules)")
@click.pass_context
@_fail_cleanly
def duplicates_train(ctx: click.Context, entity: str | None) -> None:
    """Learn the match weights of the probabilistic rules (EM over the pairs their blocks compare; reviewed pairs
    are labels) and store them."""
    from engine.quality.learning import train_models

    make_uow = _uow_factory(ctx)
    bundle, entities = _duplicate_entities(make_uow, entity)
    for name in entities:
        if not any(rule.match == "probabilistic" for rule in bundle.duplicates[name].rules):
            if entity is not None:
                say("cli.nothing_to_train", entity=name)
            continue
        for rule, model in train_models(make_uow(), bundle, name, _now()).items():
            say("cli.trained", entity=name, rule=rule, pairs=model.pairs, labels=model.labels,
                iterations=model.iterations, prior=f"{model.prior:.4f}")


def _ratio(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _thresholds(pairs: tuple[str, ...]) -> dict[str, float]:
    found: dict[str, float] = {}
    for pair in pairs:
        name, _, value = pair.partition("=")
        try:
            found[name.strip()] = float(value)
        except ValueError:
            raise ValidationError({"--threshold": [Message("cli.threshold_format", pair=pair)]}) from None
    return found


@duplicates.command("tune")
@click.option("--entity", required=True, help="the entity whose rules are tuned")
@click.option("--threshold", "thresholds", multiple=True, metavar="RULE=VALUE",
              help="try another threshold (probability 0..1 for probabilistic rules, 0..100 for fuzzy; repeatable)")
@click.option("--config", "directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="try the duplicate rules of this configuration directory instead of the deployed ones")
@click.option("--show", default=10, show_default=True, help="pairs listed per side of the dry run")
@click.pass_context
@_fail_cleanly
def duplicates_tune(ctx: click.Context, entity: str, thresholds: tuple[str, ...], directory: Path | None,
                    show: int) -> None:
    """Score distribution, precision/recall against reviewed pairs, and a dry run of a rule or threshold change:
    which pairs would open and which open ones would close. Writes nothing."""
    from engine.config.loader import load_bundle, read_bundle_dir
    from engine.errors import NotFound
    from engine.quality.tuning import tune, with_thresholds

    make_uow = _uow_factory(ctx)
    bundle, _ = _duplicate_entities(make_uow, entity)
    config = bundle.duplicates[entity]
    if directory is not None:
        proposed = load_bundle(read_bundle_dir(directory)).duplicates.get(entity)
        if proposed is None:
            raise NotFound(Message("cli.no_duplicate_rules_in", directory=directory, entity=entity))
        config = proposed
    report = tune(make_uow(), bundle, entity, with_thresholds(config, _thresholds(thresholds)))
    say("cli.tune_compared", entity=entity, compared=report.compared, found=report.found)
    widest = max((count for _, _, count in report.histogram), default=0) or 1
    for low, high, count in report.histogram:
        click.echo(f"  {low:3d}-{high:<3d} {count:8d} {'#' * round(40 * count / widest)}")
    say("cli.tune_reviewed", reviewed=report.reviewed, merged=report.duplicates)
    for quality in report.quality:
        where = Message("cli.tune_at_rules") if quality.cutoff == 0 else Message("cli.tune_at_score",
                                                                                  score=f"{quality.cutoff:g}")
        say("cli.tune_quality", where=where, predicted=quality.predicted, precision=_ratio(quality.precision),
            recall=_ratio(quality.recall))
    for learned in report.weights:
        state = (Message("cli.tune_trained", pairs=learned.pairs, labels=learned.labels) if learned.trained
                 else Message("cli.tune_untrained"))
        say("cli.tune_rule", rule=learned.rule, state=state, prior=f"{learned.prior:.4f}")
        for name, level, m, u, weight in learned.levels:
            say("cli.tune_level", name=f"{name:30}", level=f"{level:18}", m=f"{m:.4f}", u=f"{u:.4f}",
                weight=f"{weight:+.2f}")
    say("cli.tune_dry_run", opening=report.would_open, closing=report.would_close)
    for low, high, score, rule in report.opening[:show]:
        say("cli.tune_open", low=low, high=high, score=f"{score:.1f}", rule=rule)
    for low, high, _, _ in report.closing[:show]:
        say("cli.tune_close", low=low, high=high)
