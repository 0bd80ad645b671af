"""Set-up and running: database, configuration check and deploy, users, tokens, demo data, web app, worker."""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click

from cli.base import _fail_cleanly, _now, _uow_factory, command_locale, main, say
from engine.bootstrap import prepare_database
from engine.errors import ConfigError, Problem
from engine.messages import LOCALES as MESSAGE_LOCALES
from engine.messages import Message, localized
from engine.services.views import Actor


@main.command("init-db")
@click.pass_context
@_fail_cleanly
def init_db(ctx: click.Context) -> None:
    """Create or upgrade the database schema."""
    prepare_database(ctx.obj["url"])
    say("cli.database_ready")


@main.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--strict", is_flag=True, help="Fail on warnings too (what the engine would not execute).")
@click.option("--lang", type=click.Choice(MESSAGE_LOCALES), default=None,
              help="language of the problems and warnings (file, line and element stay as they are); default: "
                   "flowcrm --lang, FLOWCRM_LANG, LANG, else en")
@_fail_cleanly
def check(directory: Path, strict: bool, lang: str | None) -> None:
    """Validate a configuration bundle; print every problem with file and line, then every warning."""
    from engine.config.loader import read_bundle_dir
    from engine.services.deployments import analyse

    lang = command_locale()
    warnings: list[Problem] = []
    try:
        bundle, definitions = analyse(read_bundle_dir(directory), warnings)
    except ConfigError as exc:
        raise ConfigError([replace(p, message=localized(p.message, lang)) for p in exc.problems]) from exc
    finally:
        for warning in warnings:
            say("cli.warning", detail=f"{warning.place()} {localized(warning.message, lang)}", err=True)
    counts: dict[str, Any] = {"directory": directory, "entities": len(bundle.entities),
                              "catalogs": len(bundle.catalogs), "forms": len(bundle.forms),
                              "processes": len(definitions)}
    if warnings:
        say("cli.check_ok_warnings", warnings=len(warnings), **counts)
    else:
        say("cli.check_ok", **counts)
    if strict and warnings:
        say("cli.strict_fails", count=len(warnings), err=True)
        sys.exit(1)


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
    warnings: list[Problem] = []
    try:
        report = deploy_bundle(_uow_factory(ctx)(), deployer, read_bundle_dir(directory), _now(), warnings=warnings,
                               note=f"files: flowcrm deploy {directory}")
    finally:
        for warning in warnings:
            say("cli.warning", detail=f"{warning.place()} {localized(warning.message, command_locale())}", err=True)
    say("cli.deployed" if report.config_changed else "cli.deploy_unchanged", number=report.config_version_id)
    for v in report.new_versions:
        say("cli.new_version", process=v.process_id, version=v.version)
    for name in report.unchanged:
        say("cli.unchanged", name=name)


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
    say("cli.user_created", username=user.username, roles=", ".join(user.roles))


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
            raise NotFound(Message("cli.user_not_found", username=username))
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
    say("cli.demo_seeded", users=created["users"], records=created["records"])


@main.command()
@click.option("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
@click.option("--port", default=5000, type=int, help="port to listen on (default 5000)")
@click.option("--bind", multiple=True, metavar="HOST:PORT",
              help="listen here instead of --host/--port; repeatable (gunicorn: unix:PATH too)")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="gunicorn worker processes (default: 2 x CPUs + 1)")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="threads per worker process (default 4)")
@click.option("--timeout", type=click.IntRange(min=1), default=None,
              help="seconds a request may take before its worker is restarted (default 120)")
@click.option("--proxy-hops", type=click.IntRange(min=0), default=0, envvar="FLOWCRM_PROXY_HOPS",
              show_default=True, help="reverse proxies in front whose X-Forwarded-* headers to trust")
@click.option("--debug", is_flag=True, help="Werkzeug's development server with reloader and debugger instead "
              "of gunicorn (never in production)")
@click.option("--demo/--no-demo", default=None, help="show demo logins on the login page")
@click.pass_context
@_fail_cleanly
def run(ctx: click.Context, host: str, port: int, bind: tuple[str, ...], workers: int | None, threads: int | None,
        timeout: int | None, proxy_hops: int, debug: bool, demo: bool | None) -> None:
    """Serve the web app and REST API through gunicorn (several worker processes), or with --debug through
    Werkzeug's development server."""
    from web import create_app
    from web.serving import THREADS, TIMEOUT_S, ServeOptions, behind_proxies, serve

    settings = ctx.obj["settings"]
    # a connection kept per serving thread, never fewer than SQLAlchemy's default 5 (a pool of exactly 4 for 4
    # threads served SQLite ~15% slower in the load test): with fewer than the threads, those beyond the pool's
    # size open and close a connection of their own on every request (overflow), a new server backend each time
    app = behind_proxies(
        create_app({"DATABASE_URL": ctx.obj["url"], "DEMO": settings.demo if demo is None else demo,
                    "DEMO_SEED": settings.config_dir / "demo" / "seed.yaml",
                    "DB_POOL_SIZE": None if debug else max(threads or THREADS, 5)}), proxy_hops)
    if debug:
        app.run(host=host, port=port, threaded=True, debug=True)
        return
    if not settings.secret_key:
        say("cli.no_secret_key", err=True)
    serve(app, ServeOptions(bind=bind or (f"{host}:{port}",), workers=workers or 0, threads=threads or THREADS,
                            timeout=timeout or TIMEOUT_S))


@main.command()
@click.option("--interval", default=None, type=float,
              help="seconds between looks for new jobs (default 0.5 on SQLite; PostgreSQL wakes the worker by NOTIFY)")
@click.option("--once", is_flag=True, help="fire what is due now and exit")
@click.pass_context
@_fail_cleanly
def worker(ctx: click.Context, interval: float | None, once: bool) -> None:
    """Fire due BPMN timers, reminders, scheduled rules and scans, and send e-mail, each when it falls due (the
    worker sleeps until then, or until a write wakes it); safe to run several on PostgreSQL. A failing job is
    retried FLOWCRM_JOB_RETRIES times (default 3), the first time after FLOWCRM_JOB_BACKOFF_SECONDS (default 60,
    doubling), then parked as an incident (/admin/incidents)."""
    from engine.scheduler import run_worker, tick
    from engine.services.jobs import RetryPolicy

    RetryPolicy.from_env()  # a mistyped setting stops the worker at start, naming the variable
    make_uow = _uow_factory(ctx)
    if once:
        say("cli.timers_fired", count=tick(make_uow.fresh))
        return
    run_worker(make_uow.fresh, interval, command_locale())
