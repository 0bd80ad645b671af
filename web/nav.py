"""The header navigation: only the areas the actor's roles may use."""

from __future__ import annotations

from typing import Any

from flask import g, request, url_for

from engine.errors import FlowError
from engine.services.access import DEFINITION_READERS, READ_ALL, WORKERS
from web import uow
from web.i18n import t
from web.present import bundle_of, entity_label

FEATURES: list[tuple[str, str, tuple[str, ...]]] = []  # (endpoint, message key, roles that see it)


def add(endpoint: str, label_key: str, *roles: str) -> None:
    """A feature area's header entry, shown to actors with one of `roles` (called when its blueprint loads)."""
    if all(endpoint != e for e, _, _ in FEATURES):
        FEATURES.append((endpoint, label_key, roles))


def navigation() -> dict[str, Any]:
    """Template context: `nav` as (url, label, active) triples for the logged-in actor."""
    actor = g.get("actor")
    if actor is None:
        return {"nav": []}
    items: list[tuple[str, str]] = []
    if actor.has(*WORKERS, *READ_ALL):
        items.append((url_for("inbox.tasks"), t("nav.tasks")))
        try:
            entities = list(bundle_of(uow()).entities.values())
        except FlowError:  # nothing deployed yet
            entities = []
        items += [(url_for("records.index", entity=e.name), entity_label(e)) for e in entities]
    items += [(url_for(endpoint), t(key)) for endpoint, key, roles in FEATURES if actor.has(*roles)]
    if actor.has(*DEFINITION_READERS):
        items.append((url_for("designer.index"), t("nav.processes")))
        items.append((url_for("schema.index"), t("nav.schema")))
    if actor.has("admin"):
        items.append((url_for("admin.users"), t("nav.users")))
    path = request.path
    return {"nav": [(url, text, path == url or (url != "/" and path.startswith(url + "/"))) for url, text in items]}
