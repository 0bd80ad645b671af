"""Every blueprint of the app, registered in one place."""

from __future__ import annotations

from typing import Any

from flask import Flask

from web import auth, nav, present
from web.blueprints import (
    admin,
    api,
    audit,
    boards,
    config_admin,
    designer,
    duplicates,
    engine_rest,
    find,
    imports,
    inbox,
    incidents,
    instances,
    records,
    reminders,
    reports,
    schema,
    search,
    segments,
)

HTML_AREAS: list[Any] = [auth, inbox, records, instances, designer, admin, schema, reminders, audit, find, segments,
                         reports, duplicates, imports, incidents, config_admin, boards, search]


def register_blueprints(app: Flask) -> None:
    """The HTML areas, then the REST API."""
    present.init_app(app)
    for module in HTML_AREAS:
        app.register_blueprint(module.bp)
    app.context_processor(nav.navigation)
    app.register_blueprint(api.bp)
    app.register_blueprint(engine_rest.bp)
