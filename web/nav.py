"""The header navigation: only the areas the actor's roles may use, grouped under a few menus."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from flask import g, request, url_for

from engine.config.model import Bundle
from engine.errors import FlowError
from engine.memo import held_for
from engine.services.access import DEFINITION_READERS, READ_ALL, WORKERS
from web import uow
from web.i18n import get_locale, t
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


_MAX_LAYOUTS = 256  # (roles, language, configuration, mount point) combinations remembered
# The header's links per (roles, language, deployed configuration, script root), kept with the configuration they were
# made from so its id is not reused: every page built them again (a url_for and a message per link).
_LAYOUTS: dict[Hashable, tuple[tuple[object, ...], Any]] = {}


def _layout(roles: frozenset[str]) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """The header for these roles in the request's language: (label, url, menu key, [(label, url)]) per entry."""
    actor = g.actor
    try:
        bundle: object | None = bundle_of(uow()) if actor.has(*WORKERS, *READ_ALL) else None
    except FlowError:  # nothing deployed yet
        bundle = None
    key = (roles, get_locale(), id(bundle), request.script_root)
    layout: list[tuple[str, str, str, list[tuple[str, str]]]] = held_for(
        _LAYOUTS, key, (bundle,), lambda: _build_layout(actor, bundle), _MAX_LAYOUTS)
    return layout


def _build_layout(actor: Any, bundle: object | None) -> list[tuple[str, str, str, list[tuple[str, str]]]]:
    """The header's entries for this actor's roles in the request's language (what `_layout` remembers)."""
    top: list[tuple[str, str, str, list[tuple[str, str]]]] = []
    menus: dict[str, list[tuple[str, str]]] = {name: [] for name in MENUS}
    if actor.has(*WORKERS, *READ_ALL):
        top.append((t("nav.tasks"), url_for("inbox.tasks"), "", []))
        entities = list(bundle.entities.values()) if isinstance(bundle, Bundle) else []
        menus["records"] += [(entity_label(e), url_for("records.index", entity=e.name)) for e in entities]
    for endpoint, label_key, allowed, menu in FEATURES:
        if actor.has(*allowed):
            menus[menu].append((t(label_key), url_for(endpoint)))
    if actor.has(*DEFINITION_READERS):
        menus["admin"].append((t("nav.processes"), url_for("designer.index")))
        menus["admin"].append((t("nav.schema"), url_for("schema.index")))
    if actor.has("admin"):
        menus["admin"].append((t("nav.users"), url_for("admin.users")))
    for name in MENUS:
        items = menus[name]
        if len(items) == 1:
            top.append((*items[0], "", []))
        elif items:
            top.append((t(f"nav.menu_{name}"), "", name, items))
    return top


def navigation() -> dict[str, list[NavItem]]:
    """Template context: `nav`, the header's links and menus for the logged-in actor (a menu of one is a link)."""
    actor = g.get("actor")
    if actor is None:
        return {"nav": []}
    top = [NavItem(label, url, key=key, items=[NavItem(sub, link) for sub, link in items])
           for label, url, key, items in _layout(actor.roles)]
    for item in top:
        item.active = _is_active(item.url) if item.url else False
        for sub in item.items:
            sub.active = _is_active(sub.url)
        item.active = item.active or any(sub.active for sub in item.items)
    return {"nav": top}
