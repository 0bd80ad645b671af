"""Flask web UI and REST API over engine.services."""

from __future__ import annotations

import os
import secrets
from datetime import datetime
from typing import Any

from flask import Flask, g, jsonify, render_template, request, session
from flask_wtf.csrf import CSRFProtect
from werkzeug.exceptions import HTTPException

from engine.bootstrap import uow_factory
from engine.errors import ConfigError, ConflictError, FlowError, Forbidden, NotFound, SandboxError, ValidationError
from engine.messages import coded, localized
from engine.messages.reading import read_back
from engine.store.db import hold_loaded_rows
from engine.store.uow import UnitOfWork

csrf = CSRFProtect()

STATUS = {ValidationError: 422, ConfigError: 422, SandboxError: 422, ConflictError: 409, NotFound: 404,
          Forbidden: 403}


def create_app(settings: dict[str, Any] | None = None) -> Flask:
    """Build the app; `settings` overrides DATABASE_URL, SECRET_KEY, DEMO, TESTING, WTF_CSRF_ENABLED,
    SESSION_COOKIE_SECURE (else FLOWCRM_COOKIE_SECURE, on by default outside demo mode), DB_POOL_SIZE (database
    connections kept per process: one per serving thread)."""
    app = Flask(__name__, instance_relative_config=True)
    from engine.settings import Settings

    defaults = Settings()
    app.config.update(
        DATABASE_URL=defaults.database_url,
        SECRET_KEY=defaults.secret_key or os.environ.get("FLOWCRM_SECRET_KEY") or secrets.token_hex(32),
        DEMO=defaults.demo,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        JSON_SORT_KEYS=False,
        MAX_CONTENT_LENGTH=16 * 1024 * 1024,  # uploads of configuration bundles stay well below this
    )
    app.config.update(settings or {})
    if "SESSION_COOKIE_SECURE" not in (settings or {}):
        from web.security import cookie_secure

        app.config["SESSION_COOKIE_SECURE"] = cookie_secure(bool(app.config["DEMO"]))
    make_uow = app.config.get("UOW_FACTORY") or uow_factory(app.config["DATABASE_URL"],
                                                             pool_size=app.config.get("DB_POOL_SIZE"))
    app.extensions["flowcrm.uow"] = make_uow
    app.teardown_appcontext(close_uow)
    csrf.init_app(app)

    from web import edge, i18n, security
    from web.auth import load_actor
    from web.blueprints import register_blueprints

    edge.init_app(app)
    i18n.init_app(app)
    app.before_request(load_actor)
    security.init_app(app)
    register_blueprints(app)

    @app.errorhandler(FlowError)
    def _flow_error(exc: FlowError) -> Any:
        code = next((c for cls, c in STATUS.items() if isinstance(exc, cls)), 422)  # rules, processes: unprocessable
        if request.path.startswith("/api/"):
            said = read_back(str(exc))  # the engine's English read back into its code, to show in any language
            body: dict[str, Any] = {"error": type(exc).__name__, "message": _shown(exc), **coded(said)}
            if isinstance(exc, ValidationError):  # coded messages in the reader's language (others as they are)
                locale = i18n.get_locale()
                body["fields"] = {name: [localized(m, locale) for m in said] for name, said in exc.errors.items()}
                body["message"] = str(ValidationError(body["fields"]))
            if isinstance(exc, ConfigError):
                body["problems"] = [{**vars(p), **coded(p.message)} for p in exc.problems]  # English + code
            return jsonify(body), code
        return render_template("error.html", code=code, message=_shown(exc)), code

    def _shown(exc: FlowError) -> str:
        """The error in the reader's language: a broken configuration as its problems, each at its place."""
        if isinstance(exc, ConfigError):
            return "\n".join(i18n.problem_line(problem) for problem in exc.problems)
        return i18n.error_message(str(exc))

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        if request.path.startswith("/api/"):
            return jsonify({"error": exc.name, "message": exc.description}), exc.code
        return render_template("error.html", code=exc.code, message=exc.description), exc.code

    return app


def uow() -> UnitOfWork:
    """The request's one unit of work: opened on first use, shared by every service the request calls (its reads
    and its write run in one transaction), closed when the request ends."""
    unit: UnitOfWork | None = g.get("uow")
    if unit is None:
        from flask import current_app

        unit = current_app.extensions["flowcrm.uow"]().open_edge(begin_late=True)
        hold_loaded_rows(unit.session)  # its services look up the same rows: read each once per request
        g.uow = unit
    return unit


def close_uow(_exc: BaseException | None = None) -> None:
    """teardown: what the request did not commit rolls back; its session goes back to the pool."""
    unit: UnitOfWork | None = g.pop("uow", None)
    if unit is not None:
        unit.close_edge()


def now() -> datetime:
    """The request's clock (UTC): its unit of work's, which the app's unit-of-work factory injects (the wall clock
    unless one is given), so the moments the services record and the timers count from agree."""
    return uow().clock()


__all__ = ["create_app", "g", "now", "session", "uow"]
