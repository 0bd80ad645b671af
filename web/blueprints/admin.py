"""User administration (admins only: the services enforce it)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.errors import ConflictError, ValidationError
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
