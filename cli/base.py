"""The `flowcrm` command group and what every command shares: clock, error printing, unit-of-work factory."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Any, TypeVar

import click

from engine.bootstrap import UowFactory, uow_factory
from engine.errors import ConfigError, FlowError, ValidationError
from engine.services.views import Actor
from engine.settings import Settings
from engine.store.uow import UnitOfWork

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
    """The command's unit of work (one per command); it and the pooled connections close when the command ends."""
    units = CommandUnits(uow_factory(ctx.obj["url"]))
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
        raise ValidationError({"--as": [f"no active user {username!r}" if user is not None else
                                        f"no user {username!r}" if username is not None else
                                        "no active admin: name the acting user with --as USERNAME"]})
    return get_actor(factory(), user_id)


@click.group()
@click.option("--database-url", envvar="DATABASE_URL", default=None, help="SQLAlchemy URL (default: SQLite file)")
@click.pass_context
def main(ctx: click.Context, database_url: str | None) -> None:
    """flowcrm: a configurable BPM engine on which a CRM is configuration."""
    settings = Settings()
    ctx.obj = {"url": database_url or settings.database_url, "settings": settings}

