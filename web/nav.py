"""The header navigation: only the areas the actor's roles may use, grouped under a few menus."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import g, request, url_for

from engine.errors import FlowError
from engine.services.access import DEFINITION_READERS, READ_ALL, WORKERS
from web import uow
from web.i18n import t
from web.present import bundle_of, entity_label

MENUS = ("records", "work", "admin")  # header menus in order; their titles are the messages nav.menu_<name>
FEATURES: list[tuple[str, str, tuple[str, ...], str]] = []  # (endpoint, message key, roles that see it, menu)


@dataclass
class NavItem:
    """A header link, or a menu of links when `items` is not empty."""

    label: str
    url: str = ""
    active: bool = False
    items: list[NavItem] = field(default_factory=list)
    key: str = ""


def add(endpoint: str, label_key: str, *roles: str, menu: str = "work") -> None:
    """A feature area's header entry under `menu`, shown to actors with one of `roles` (called when its blueprint
    loads)."""
    if menu not in MENUS:
        raise ValueError(f"unknown header menu {menu!r}; one of {', '.join(MENUS)}")
    if all(endpoint != e for e, _, _, _ in FEATURES):
        FEATURES.append((endpoint, label_key, roles, menu))


def _is_active(url: str) -> bool:
    path = request.path
    return path == url or (url != "/" and path.startswith(url + "/"))


def navigation() -> dict[str, list[NavItem]]:
    """Template context: `nav`, the header's links and menus for the logged-in actor (a menu of one is a link)."""
    actor = g.get("actor")
    if actor is None:
        return {"nav": []}
    top: list[NavItem] = []
    menus: dict[str, list[NavItem]] = {name: [] for name in MENUS}
    if actor.has(*WORKERS, *READ_ALL):
        top.append(NavItem(t("nav.tasks"), url_for("inbox.tasks")))
        try:
            entities = list(bundle_of(uow()).entities.values())
        except FlowError:  # nothing deployed yet
            entities = []
        menus["records"] += [NavItem(entity_label(e), url_for("records.index", entity=e.name)) for e in entities]
    for endpoint, key, roles, menu in FEATURES:
        if actor.has(*roles):
            menus[menu].append(NavItem(t(key), url_for(endpoint)))
    if actor.has(*DEFINITION_READERS):
        menus["admin"].append(NavItem(t("nav.processes"), url_for("designer.index")))
        menus["admin"].append(NavItem(t("nav.schema"), url_for("schema.index")))
    if actor.has("admin"):
        menus["admin"].append(NavItem(t("nav.users"), url_for("admin.users")))
    for name in MENUS:
        items = menus[name]
        if len(items) == 1:
            top.append(items[0])
        elif items:
            top.append(NavItem(t(f"nav.menu_{name}"), items=items, key=name))
    for item in top:
        item.active = _is_active(item.url) if item.url else False
        for sub in item.items:
            sub.active = _is_active(sub.url)
        item.active = item.active or any(sub.active for sub in item.items)
    return {"nav": top}
