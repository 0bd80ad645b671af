"""`flowcrm schema ...`: publish the JSON Schemas of the bundle's YAML files for editors and point files at them."""

from __future__ import annotations

from pathlib import Path

import click

from cli.base import _fail_cleanly, _uow_factory, main, say


@main.group()
def schema() -> None:
    """JSON Schemas of the configuration files (entities, catalogs, rules, pipelines, reports, ...)."""


@schema.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--docs", "docs", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the configuration reference (markdown) generated from the schemas.")
def export(directory: Path, docs: Path | None) -> None:
    """Write <kind>.schema.json for every kind of bundle file into DIRECTORY."""
    from engine.config.schemas import KINDS, reference_markdown, schema_text

    directory.mkdir(parents=True, exist_ok=True)
    for pattern, kind in KINDS:
        (directory / f"{kind}.schema.json").write_text(schema_text(kind), encoding="utf-8")
        click.echo(f"{directory / f'{kind}.schema.json'}  ({pattern})")
    if docs is not None:
        docs.write_text(reference_markdown(), encoding="utf-8")
        click.echo(f"{docs}")


@schema.command("link")
@click.argument("bundle", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--schemas", "schemas_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Where the exported schemas are (absolute, or relative to the current directory).")
def link(bundle: Path, schemas_dir: Path) -> None:
    """Put a `# yaml-language-server: $schema=...` first line in every YAML file of BUNDLE that a schema
    describes (replacing an earlier one), so editors check the file as it is typed."""
    import os

    from engine.config.loader import read_bundle_dir
    from engine.config.schemas import header_for, with_header

    relative = Path(os.path.relpath(schemas_dir.resolve(), bundle.resolve())).as_posix()
    changed = 0
    for path in read_bundle_dir(bundle):
        header = header_for(path, relative)
        if header is None:
            continue
        file = bundle / path
        text = file.read_text(encoding="utf-8")
        new = with_header(text, header)
        if new != text:
            file.write_text(new, encoding="utf-8")
            changed += 1
    say("cli.schemas_linked", count=changed)


@main.command("export-config")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.option("--version", "version_id", type=int, default=None, help="A configuration version (default: the active).")
@click.pass_context
@_fail_cleanly
def export_config(ctx: click.Context, directory: Path, version_id: int | None) -> None:
    """Write the deployed configuration's files into DIRECTORY (a bundle folder, e.g. a git checkout), so changes
    made in the browser live beside changes made in files. Files of DIRECTORY the configuration does not hold are
    listed, not deleted."""
    from engine.config.loader import read_bundle_dir
    from engine.services.config_changes import version_files
    from engine.services.views import SYSTEM

    number, files = version_files(_uow_factory(ctx)(), SYSTEM, version_id)
    existing = read_bundle_dir(directory) if directory.is_dir() else {}
    written = 0
    for path, text in files.items():
        if existing.get(path) == text:
            continue
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
        written += 1
    say("cli.config_exported", number=number, written=written, unchanged=len(files) - written, directory=directory)
    for path in sorted(set(existing) - set(files)):
        say("cli.config_not_in", number=number, path=path, err=True)
