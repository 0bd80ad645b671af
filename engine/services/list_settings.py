"""The columns each user chose for a list page, saved per user and list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from engine.errors import ValidationError
from engine.services.views import Actor
from engine.store.uow import UnitOfWork

MAX_COLUMNS = 12


def chosen_columns(uow: UnitOfWork, actor: Actor, list_key: str, offered: Sequence[str]) -> list[str] | None:
    """The columns the actor chose for a list, keeping only those still offered; None if they never chose."""
    if actor.id is None:
        return None
    with uow:
        saved = uow.list_settings.columns(actor.id, list_key)
    return None if saved is None else [c for c in saved if c in offered]


def choose_columns(uow: UnitOfWork, actor: Actor, list_key: str, columns: Sequence[str],
                   offered: Sequence[str], now: datetime) -> list[str]:
    """Save the actor's columns for a list (in the offered order); an unknown or too many columns is a
    ValidationError naming them. An empty choice goes back to the list's default columns."""
    unknown = [c for c in columns if c not in offered]
    if unknown:
        raise ValidationError({"columns": [f"unknown column(s) {', '.join(map(repr, unknown))}; "
                                           f"offered: {', '.join(offered)}"]})
    if len(set(columns)) > MAX_COLUMNS:
        raise ValidationError({"columns": [f"at most {MAX_COLUMNS} columns"]})
    if actor.id is None:
        raise ValidationError({"columns": ["only a signed-in user can save columns"]})
    kept = [c for c in offered if c in set(columns)]
    with uow:
        if kept:
            uow.list_settings.set_columns(actor.id, list_key, kept, now)
        else:
            uow.list_settings.forget(actor.id, list_key)
        uow.commit()
    return kept
