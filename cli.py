"""flowcrm command line: set up the database, check and deploy configuration, run the web app and worker."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

from engine.bootstrap import UowFactory, prepare_database, uow_factory
from engine.errors import ConfigError, FlowError, ValidationError
from engine.services.views import Actor
from engine.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])


def _now() -> datetime:
    return datetime.now(UTC)


def _fail_cleanly(func: F) -> F:
    """Print engine errors as messages, exit 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(str(problem), err=True)
            click.echo(f"{len(exc.problems)} problem(s) found", err=True)
            sys.exit(1)
        except ValidationError as exc:
            for name, messages in exc.errors.items():
                click.echo(f"{name or 'error'}: {'; '.join(messages)}", err=True)
            sys.exit(1)
        except FlowError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


def _uow_factory(ctx: click.Context) -> UowFactory:
    """The command's unit-of-work factory; its pooled connections close when the command ends."""
    factory = uow_factory(ctx.obj["url"])
    ctx.call_on_close(factory.dispose)
    return factory


@click.group()
@click.option("--database-url", envvar="DATABASE_URL", default=None, help="SQLAlchemy URL (default: SQLite file)")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """flowcrm: a configurable BPM engine on which a CRM is configuration."""
    settings = Settings()
    ctx.obj = {"url": database_url or settings.database_url, "settings": settings}


@main.command("init-db")
@click.pass_context
@_fail_cleanly
def init_db(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    prepare_database(ctx.obj["url"])
    click.echo("database ready")


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@_fail_cleanly
def check(directory: Path) -> None:
    """Validate a configuration bundle; print every problem with file and line."""
    from engine.config.loader import read_bundle_dir
    from engine.services.deployments import analyse

    bundle, definitions = analyse(read_bundle_dir(directory))
    click.echo(f"{directory}: OK — {len(bundle.entities)} entities, {len(bundle.catalogs)} catalogs, "
               f"{len(bundle.forms)} forms, {len(definitions)} processes")


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.pass_context
@_fail_cleanly
def deploy(ctx: click.Context, directory: Path) -> None:
    """Check a bundle and make it the running configuration (no restart needed)."""
    from engine.config.loader import read_bundle_dir
    from engine.services.deployments import deploy_bundle

    prepare_database(ctx.obj["url"])
    deployer = Actor(id=None, username="cli", display_name="CLI", roles=frozenset({"designer"}))
    report = deploy_bundle(_uow_factory(ctx)(), deployer, read_bundle_dir(directory), _now())
    click.echo(f"configuration {report.config_version_id} " + ("deployed" if report.config_changed else "unchanged"))
    for v in report.new_versions:
        click.echo(f"  {v.process_id}: new version {v.version}")
    for name in report.unchanged:
        click.echo(f"  {name}: unchanged")


@main.command("create-user")
@click.argument("username")
@click.option("--role", "roles", multiple=True, required=True, help="sales, head_of_sales, designer, admin, auditor")
@click.option("--team", default=None)
@click.option("--name", "display_name", default=None)
@click.option("--locale", default="en", type=click.Choice(["en", "ru"]))
@click.password_option()
@click.pass_context
@_fail_cleanly
def create_user_cmd(ctx: click.Context, username: str, roles: tuple[str, ...], team: str | None,
                    display_name: str | None, locale: str, password: str) -> None:
    """Create a user (asks for the password)."""
    from engine.services.users import create_user

    user = create_user(_uow_factory(ctx)(), username, password, list(roles), _now(), team=team,
                       display_name=display_name, locale=locale)
    click.echo(f"user {user.username} created with roles {', '.join(user.roles)}")


@main.command("create-token")
@click.argument("username")
@click.pass_context
@_fail_cleanly
def create_token(ctx: click.Context, username: str) -> None:
    """Issue an API token for a user (printed once)."""
    from engine.errors import NotFound
    from engine.services.users import get_actor, issue_api_token

    uow = _uow_factory(ctx)
    with uow() as u:
        row = u.users.by_username(username)
        if row is None:
            raise NotFound(f"user {username!r} not found")
        user_id = row.id
    click.echo(issue_api_token(uow(), get_actor(uow(), user_id), _now()))


@main.command("seed-demo")
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path), default=".")
@click.pass_context
@_fail_cleanly
def seed_demo(ctx: click.Context, directory: Path) -> None:
    """Create the demo users and records of a bundle's demo/seed.yaml (idempotent)."""
    from engine.demo import seed

    created = seed(_uow_factory(ctx), directory / "demo" / "seed.yaml", _now())
    click.echo(f"demo: {created['users']} users, {created['records']} records created")


@main.command()
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--demo/--no-demo", default=None, help="show demo logins on the login page")
@click.pass_context
@_fail_cleanly
def run(ctx: click.Context, host: str, port: int, demo: bool | None) -> None:
    """Serve the web app and REST API."""
    from web import create_app

    settings = ctx.obj["settings"]
    app = create_app({"DATABASE_URL": ctx.obj["url"], "DEMO": settings.demo if demo is None else demo})
    app.run(host=host, port=port, threaded=True)


@main.command()
@click.option("--interval", default=5.0, type=float, help="seconds between scans for due timers")
@click.option("--once", is_flag=True, help="fire what is due now and exit")
@click.pass_context
@_fail_cleanly
def worker(ctx: click.Context, interval: float, once: bool) -> None:
    """Fire due BPMN timers (APScheduler); safe to run several on PostgreSQL."""
    from engine.scheduler import run_worker, tick

    make_uow = _uow_factory(ctx)
    if once:
        click.echo(f"{tick(make_uow)} timer(s) fired")
        return
    run_worker(make_uow, interval)


# --- import commands (data quality) ---


# --- duplicate commands (data quality) ---


# --- find / segment / report commands ---


# --- audit commands ---


if __name__ == "__main__":
    main()

