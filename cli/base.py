"""The `flowcrm` command group and what every command shares: clock, error printing, unit-of-work factory."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import click

from engine.bootstrap import UowFactory, uow_factory
from engine.errors import ConfigError, FlowError, ValidationError
from engine.messages import ENGLISH, Message, localized, render, templates
from engine.messages import LOCALES as MESSAGE_LOCALES
from engine.messages.reading import read_back
from engine.services.views import Actor
from engine.settings import Settings
from engine.store.uow import UnitOfWork

F = TypeVar("F", bound=Callable[..., Any])


def _now() -> datetime:
    return datetime.now(UTC)


def cli_locale(given: str | None = None) -> str:
    """The language commands print in: `given` (--lang), else FLOWCRM_LANG, else LANG (`ru_RU.UTF-8`: ru), else
    English; a FLOWCRM_LANG no catalog has is refused by name."""
    if given:
        return given
    chosen = os.environ.get("FLOWCRM_LANG")
    if chosen:
        if chosen not in MESSAGE_LOCALES:
            raise click.BadParameter(f"FLOWCRM_LANG={chosen!r}: use one of {', '.join(MESSAGE_LOCALES)}")
        return chosen
    system = os.environ.get("LANG", "").split(".")[0].split("_")[0].lower()
    return system if system in MESSAGE_LOCALES else ENGLISH


def command_locale() -> str:
    """The running command's language: its own --lang, else the group's (see cli_locale)."""
    context = click.get_current_context(silent=True)
    own = context.params.get("lang") if context is not None else None
    root = context.find_root().obj if context is not None else None
    return str(own or (root or {}).get("lang") or cli_locale())


def say(code: str, /, *, err: bool = False, **params: Any) -> None:
    """Print the message `code` in the command's language."""
    click.echo(render(code, params, command_locale()), err=err)


def said(code: str, otherwise: str, /, **params: Any) -> str:
    """The message `code` in the command's language; `otherwise` for a code no catalog has (a new job status)."""
    return render(code, params, command_locale()) if code in templates(ENGLISH) else otherwise


def shown(text: str) -> str:
    """An engine message (or English the engine wrote, read back into its code) in the command's language."""
    return localized(read_back(text), command_locale())


def _fail_cleanly(func: F) -> F:
    """Print engine errors as messages in the command's language, exit 1, never a traceback."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            for problem in exc.problems:
                click.echo(f"{problem.place()} {shown(problem.message)}", err=True)
            say("cli.problems_found", count=len(exc.problems), err=True)
            sys.exit(1)
        except ValidationError as exc:
            for name, messages in exc.errors.items():
                detail = "; ".join(shown(m) for m in messages)
                if name:
                    say("cli.field_error", name=name, detail=detail, err=True)
                else:
                    say("cli.error", detail=detail, err=True)
            sys.exit(1)
        except FlowError as exc:
            say("cli.error", detail=shown(exc.args[0] if exc.args and isinstance(exc.args[0], str) else str(exc)),
                err=True)
            sys.exit(1)

    return wrapper  # type: ignore[return-value]


class CommandUnits:
    """The command's one unit of work: every call returns it, opened at the first; the command's end closes it
    (rolling back what was not committed) and the pooled connections. `fresh` makes units for what needs one per
    item (the worker's jobs, an import's batches and heartbeat thread)."""

    def __init__(self, fresh: UowFactory) -> None:
        self.fresh = fresh
        self.engine = fresh.engine
        self._unit: UnitOfWork | None = None

    def __call__(self) -> UnitOfWork:
        if self._unit is None:
            self._unit = self.fresh().open_edge()
        return self._unit

    def close(self) -> None:
        """End the command's unit of work and close every pooled connection."""
        try:
            if self._unit is not None:
                self._unit.close_edge()
        finally:
            self.fresh.dispose()


def _uow_factory(ctx: click.Context) -> CommandUnits:
    """The command's unit of work (one per command); it and the pooled connections close when the command ends.
    Its units, and those of the worker's jobs and an import's batches, begin their transactions at the first
    write on PostgreSQL, as a web request's: a command or a job item that only reads sends no BEGIN and COMMIT."""
    units = CommandUnits(uow_factory(ctx.obj["url"], begin_late=True))
    ctx.call_on_close(units.close)
    return units


def _actor_as(factory: CommandUnits, username: str | None, *, default_admin: bool = False) -> Actor:
    """The actor of `--as USERNAME`; without it the system (sees everything), or the first active admin."""
    from engine.services.users import get_actor
    from engine.services.views import SYSTEM

    if username is None and not default_admin:
        return SYSTEM
    with factory() as uow:
        if username is not None:
            user = uow.users.by_username(username)
        else:
            user = next((u for u in uow.users.all() if u.active and "admin" in u.roles.split(",")), None)
        user_id = user.id if user is not None and user.active else None
    if user_id is None:
        raise ValidationError({"--as": [Message("cli.user_inactive", username=username) if user is not None else
                                        Message("cli.user_unknown", username=username) if username is not None else
                                        Message("cli.no_active_admin")]})
    return get_actor(factory(), user_id)


@click.group()
@click.option("--database-url", envvar="DATABASE_URL", default=None, help="SQLAlchemy URL (default: SQLite file)")
@click.option("--lang", type=click.Choice(MESSAGE_LOCALES), default=None,
              help="language of what commands print (default: FLOWCRM_LANG, else LANG, else en)")
@click.pass_context
def main(ctx: click.Context, database_url: str | None, lang: str | None) -> None:
    """flowcrm: a configurable BPM engine on which a CRM is configuration."""
    settings = Settings()
    ctx.obj = {"url": database_url or settings.database_url, "settings": settings, "lang": cli_locale(lang)}

