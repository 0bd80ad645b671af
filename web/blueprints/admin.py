"""User administration (admins only: the services enforce it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.errors import ConflictError, ValidationError
from engine.services.assignment import redistribute_user, redistribution_preview
from engine.services.users import LOCALES, create_user, list_users
from engine.services.views import ROLES
from web import now, uow
from web.auth import actor, login_required
from web.i18n import engine_message, t

bp = Blueprint("admin", __name__, url_prefix="/admin")
FIELDS = ("username", "display_name", "password", "team", "locale")


def render_users(values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
                 status: int = 200) -> tuple[str, int]:
    """The user list and the create form."""
    users = list_users(uow(), actor())
    errors = {k: [engine_message(m) for m in v] for k, v in (errors or {}).items()}
    return render_template("admin/users.html", users=users, values=values or {"locale": "en", "roles": []},
                           errors=errors, roles=ROLES, locales=LOCALES), status


@bp.get("/users")
@login_required
def users() -> tuple[str, int]:
    """All users."""
    return render_users()


@bp.post("/users")
@login_required
def create() -> Any:
    """Create a user; bad input comes back with messages next to the fields."""
    values: dict[str, Any] = {name: request.form.get(name, "").strip() for name in FIELDS}
    values["password"] = request.form.get("password", "")
    values["roles"] = request.form.getlist("roles")
    try:
        view = create_user(uow(), values["username"], values["password"], values["roles"], now(),
                           team=values["team"] or None, display_name=values["display_name"] or None,
                           locale=values["locale"] or "en", actor=actor())
    except ValidationError as exc:
        return render_users({**values, "password": ""}, exc.errors, status=422)
    except ConflictError as exc:
        return render_users({**values, "password": ""}, {"username": [str(exc)]}, status=409)
    flash(t("admin.created", username=view.username), "success")
    return redirect(url_for("admin.users"))


def render_redistribute(username: str, error: str | None = None, status: int = 200) -> tuple[str, int]:
    """The confirmation page: what the user holds and who takes it over."""
    preview = redistribution_preview(uow(), actor(), username)
    return render_template("admin/redistribute.html", preview=preview, error=error), status


@bp.get("/users/<username>/redistribute")
@login_required
def confirm_redistribute(username: str) -> tuple[str, int]:
    """Ask before deactivating a user and handing their work to their team."""
    return render_redistribute(username)


@bp.post("/users/<username>/redistribute")
@login_required
def redistribute(username: str) -> Any:
    """Deactivate the user and spread their open tasks and records over their team (after confirmation)."""
    if request.form.get("confirm") != username:
        return render_redistribute(username, t("assignment.confirm_needed"), status=422)
    try:
        done = redistribute_user(uow(), actor(), username, now())
    except ConflictError as exc:
        return render_redistribute(username, engine_message(str(exc)), status=409)
    flash(t("assignment.redistributed", username=username, tasks=len(done.task_ids), records=len(done.record_ids),
            to=", ".join(done.to) or "—"), "success")
    return redirect(url_for("admin.users"))
