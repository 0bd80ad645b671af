"""Every blueprint of the app, registered in one place."""

from __future__ import annotations

from flask import Flask

from web import auth, nav, present
from web.blueprints import admin, api, designer, inbox, instances, records, reminders, schema


def register_blueprints(app: Flask) -> None:
    """The HTML areas, then the REST API."""
    present.init_app(app)
    for module in (auth, inbox, records, instances, designer, admin, schema, reminders):
        app.register_blueprint(module.bp)
    app.context_processor(nav.navigation)
    app.register_blueprint(api.bp)
