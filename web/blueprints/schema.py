"""The read-only configuration page (/admin/schema): entities, catalogs, pipelines, rules and e-mail templates."""

from __future__ import annotations

from typing import Any

import yaml
from flask import Blueprint, render_template

from engine.config.automation import Action, Trigger
from engine.config.model import Catalog, CatalogValue
from engine.filters.model import condition_document
from engine.services.access import DEFINITION_READERS, require
from engine.store.filter_spec import Condition
from web import uow
from web.auth import actor, login_required
from web.present import bundle_of

bp = Blueprint("schema", __name__, url_prefix="/admin")


def inline(value: Any) -> str:
    """Configuration values (action arguments) as one line of YAML flow style."""
    text = yaml.safe_dump(value, default_flow_style=True, allow_unicode=True, sort_keys=False, width=10_000)
    return text.strip().removesuffix("...").strip()


def action_text(action: Action) -> str:
    """`kind: arguments` of an action, as it reads in the YAML."""
    return f"{action.kind}: {inline(action.args)}"


def trigger_text(trigger: Trigger) -> str:
    """A trigger as it reads in the YAML."""
    if trigger.kind == "created":
        return "created"
    if trigger.kind == "changed":
        return f"changed: {inline(list(trigger.fields))}"
    if trigger.kind == "schedule":
        return f"schedule: {trigger.every}"
    args: dict[str, Any] = {"entity": trigger.entity, "via": trigger.via}
    if trigger.fields:
        args["fields"] = list(trigger.fields)
    return f"{trigger.kind}: {inline(args)}"


def condition_text(condition: Condition) -> str:
    """A rule's `where` filter as it reads in the YAML (flow style)."""
    return inline(condition_document(condition))


def catalog_tree(catalog: Catalog, parent: str | None = None) -> list[tuple[CatalogValue, list[Any]]]:
    """The catalog's values as (value, children) pairs, nested."""
    return [(value, catalog_tree(catalog, value.code)) for value in catalog.children(parent)]


@bp.get("/schema")
@login_required
def index() -> str:
    """Everything the deployed configuration defines, read only."""
    require(actor(), *DEFINITION_READERS, action="read the configuration")
    bundle = bundle_of(uow())
    trees = {name: catalog_tree(catalog) for name, catalog in bundle.catalogs.items()}
    return render_template("admin/schema.html", bundle=bundle, trees=trees, action_text=action_text,
                           trigger_text=trigger_text, inline=inline,
                           condition_text=condition_text)
