"""Who is asking: the session's user for HTML pages, a bearer token for the API; login and logout pages."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar, cast
from urllib.parse import urlsplit

import yaml
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from werkzeug.wrappers import Response

from engine.errors import FlowError, ValidationError
from engine.services.sign_in import SignInLocked, sign_in
from engine.services.users import actor_for_token, get_actor, set_preferences, time_zone_names
from engine.services.views import Actor
from engine.settings import ROOT
from web import now, uow
from web.i18n import LOCALES, t
from web.zones import default_zone_name

bp = Blueprint("auth", __name__)
F = TypeVar("F", bound=Callable[..., Any])
DEMO_SEED = ROOT / "demo" / "seed.yaml"


def current_actor_from_token() -> Actor | None:
    """The actor of the request's `Authorization: Bearer <token>` header, or None (absent, unknown, revoked)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    try:
        return actor_for_token(uow(), token.strip())
    except FlowError:
        return None


def load_actor() -> None:
    """before_request: set g.actor from the session (HTML) or the bearer token (API); None when anonymous."""
    g.actor = None
    if request.path.startswith("/api/"):
        g.actor = current_actor_from_token()
        return
    user_id = session.get("user_id")
    if isinstance(user_id, int):
        try:
            g.actor = get_actor(uow(), user_id)
        except FlowError:  # the user was deleted or deactivated: forget the session
            session.pop("user_id", None)


def login_required(view: F) -> F:
    """Send anonymous visitors to the login page, coming back here afterwards."""

    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.get("actor") is None:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        return view(*args, **kwargs)

    return cast(F, wrapper)


def actor() -> Actor:
    """The logged-in actor of a view wrapped in login_required."""
    found = g.get("actor")
    assert found is not None  # noqa: S101 - login_required guarantees it
    return cast(Actor, found)


def safe_next(target: str | None) -> str:
    """Only same-site paths: an attacker's ?next=https://evil, //evil, /\\evil or /%09/evil (browsers drop the tab,
    leaving //evil) must not become a redirect; anything else goes to the home page."""
    if target and target.startswith("/") and "\\" not in target and target.isprintable() \
            and not any(c.isspace() for c in target):
        parts = urlsplit(target)
        if not target.startswith("//") and not parts.scheme and not parts.netloc:
            return target
    return url_for("inbox.home")


def demo_logins(path: Path | None = None) -> list[dict[str, Any]]:
    """Username, password and roles of the demo users (demo mode only) of the served bundle's demo/seed.yaml
    (app config DEMO_SEED, set by `flowcrm run` from FLOWCRM_CONFIG; the shipped CRM's otherwise)."""
    if not current_app.config.get("DEMO"):
        return []
    path = path or Path(current_app.config.get("DEMO_SEED") or DEMO_SEED)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return []
    return [{"username": str(u.get("username", "")), "password": str(u.get("password", "")),
             "name": str(u.get("name") or u.get("username", "")), "roles": [str(r) for r in u.get("roles") or []]}
            for u in data.get("users") or [] if isinstance(u, dict)]


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """The login form; on success the session is renewed (no fixation) and the user goes where they wanted."""
    errors: list[str] = []
    username = ""
    status, headers = 200, {}
    if request.method == "POST":
        username = request.form.get("username", "")
        try:
            found = sign_in(uow(), username, request.form.get("password", ""),
                            address=request.remote_addr or "unknown", now=now())
        except ValidationError:
            errors.append(t("auth.bad_login"))
        except SignInLocked as locked:
            errors.append(t(f"security.locked_{locked.by}", user=locked.who, address=locked.who,
                            minutes=locked.minutes))
            status, headers = 429, {"Retry-After": str(locked.minutes * 60)}
        else:
            lang = session.get("lang")
            session.clear()
            session["user_id"] = found.id
            if lang:
                session["lang"] = lang
            return redirect(safe_next(request.form.get("next") or request.args.get("next")))
    return render_template("auth/login.html", errors=errors, username=username, demo=demo_logins(),
                           next=request.args.get("next", "")), status, headers


@bp.post("/logout")
def logout() -> Response:
    """Forget the session (POST only, with CSRF, so a link cannot log anyone out)."""
    lang = session.get("lang")
    session.clear()
    if lang:
        session["lang"] = lang
    flash(t("auth.logged_out"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/profile", methods=["GET", "POST"])
@login_required
def profile() -> Any:
    """The signed-in user's own settings: the language and the time zone dates are shown and entered in."""
    who = actor()
    errors: dict[str, list[str]] = {}
    status = 200
    if request.method == "POST":
        locale = request.form.get("locale", "")
        zone = request.form.get("timezone", "").strip() or None
        try:
            updated = set_preferences(uow(), who, locale=locale, timezone=zone)
        except ValidationError as exc:
            errors, status = exc.errors, 422
        else:
            session["lang"] = updated.locale  # the chosen language wins over an earlier ?lang= at once
            g.pop("locale", None)
            g.actor = updated
            flash(t("profile.saved"), "success")
            return redirect(url_for("auth.profile"))
    return render_template("auth/profile.html", errors=errors, zones=time_zone_names(),
                           default_zone=default_zone_name(), locales=LOCALES), status
