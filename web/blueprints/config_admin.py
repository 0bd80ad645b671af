"""Configuration changed in the browser (/admin/config): an entity's fields and a catalog's values, each shown as
the YAML diff it writes and checked before it is deployed as a new configuration version; the versions with who and
when, each one's diff, and a rollback. The services (engine/services/config_changes.py) enforce who may do what."""

from __future__ import annotations

import hashlib
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for

from engine.config.model import FIELD_TYPES
from engine.errors import ConfigError, ConflictError, ValidationError
from engine.messages import Message
from engine.services.access import DEFINITION_READERS, can, require_permission
from engine.services.config_changes import (
    ConfigChange,
    apply_change,
    config_versions,
    propose_field,
    propose_value,
    rollback,
    version_diff,
)
from web import nav, now, uow
from web.auth import actor, login_required
from web.i18n import engine_message, t
from web.people import expect_people
from web.present import bundle_of

bp = Blueprint("config_admin", __name__, url_prefix="/admin/config")
nav.add("config_admin.index", "config.nav", *DEFINITION_READERS, menu="admin")
_FLAGS = ("required", "searchable")


def _values(form: Any, locales: tuple[str, ...], keys: tuple[str, ...]) -> dict[str, Any]:
    values: dict[str, Any] = {key: form.get(key, "").strip() for key in keys}
    values.update({flag: form.get(flag) == "on" for flag in _FLAGS if flag in keys})
    values["label"] = {locale: form.get(f"label_{locale}", "").strip() for locale in locales}
    return values


def _said(exc: Exception) -> str:
    """What an error says: its coded message when it was raised with one (to be shown in the reader's language)."""
    first = exc.args[0] if len(exc.args) == 1 else None
    return first if isinstance(first, Message) else str(exc)


def _errors(exc: ValidationError) -> dict[str, list[str]]:
    return {key: [engine_message(message) for message in messages] for key, messages in exc.errors.items()}


@bp.get("")
@login_required
def index() -> str:
    """The configuration versions, newest first, and what can be changed here."""
    bundle = bundle_of(uow())
    versions = config_versions(uow(), actor())
    expect_people(v.deployed_by for v in versions)  # named in one statement
    return render_template("admin/config.html", versions=versions, bundle=bundle,
                           can_edit=can(actor(), "config.edit"), can_roll_back=can(actor(), "definition.deploy"))


@bp.get("/versions/<int:version_id>")
@login_required
def version(version_id: int) -> str:
    """One version: who deployed it, when, why, and the diff against the version before it."""
    view, diff = version_diff(uow(), actor(), version_id)
    active = config_versions(uow(), actor(), limit=1)[0].id
    return render_template("admin/config_version.html", version=view, diff=diff, active_id=active)


@bp.post("/versions/<int:version_id>/rollback")
@login_required
def roll_back(version_id: int) -> Any:
    """Deploy this version's files again as a new version."""
    try:
        report = rollback(uow(), actor(), version_id, int(request.form.get("expected_active", "0") or 0), now())
    except ConflictError as exc:
        flash(engine_message(_said(exc)), "error")
        return redirect(url_for("config_admin.index"))
    flash(t("config.rolled_back", version=version_id, new=report.config_version_id), "success")
    return redirect(url_for("config_admin.index"))


def _render_entity(name: str, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
                   change: ConfigChange | None = None, status: int = 200) -> tuple[str, int]:
    bundle = bundle_of(uow())
    entity = bundle.entities.get(name)
    if entity is None:
        return render_template("error.html", message=t("config.unknown_entity", name=name)), 404
    field = request.args.get("field", "")
    if values is None and field in entity.fields:
        current = entity.fields[field]
        values = {"name": current.name, "type": current.type, "catalog": current.catalog or "",
                  "entity": current.entity or "", "required": current.required, "searchable": current.searchable,
                  "max_length": current.max_length or "", "label": dict(current.label),
                  "default": "" if current.default is None else current.default}
    return render_template("admin/config_entity.html", bundle=bundle, entity=entity, values=values or {"label": {}},
                           errors=errors or {}, change=change, types=FIELD_TYPES, confirmation=confirmation), status


@bp.get("/entities/<entity>")
@login_required
def entity(entity: str) -> tuple[str, int]:
    """An entity's fields, and the form that adds one or changes one (?field=...)."""
    require_permission(actor(), "config.edit", action="change the configuration")
    return _render_entity(entity)


@bp.post("/entities/<entity>")
@login_required
def entity_change(entity: str) -> Any:
    """Preview (the YAML diff and what check says) or, confirmed, deploy a field change."""
    bundle = bundle_of(uow())
    values = _values(request.form, bundle.settings.locales,
                     ("name", "type", "catalog", "entity", "max_length", "default", *_FLAGS))
    try:
        change = propose_field(uow(), actor(), entity, values)
    except ValidationError as exc:
        return _render_entity(entity, values, _errors(exc), status=422)
    return _preview_or_apply(change, lambda: _render_entity(entity, values, change=change, status=422 if
                                                            change.problems else 200))


def _render_catalog(name: str, values: dict[str, Any] | None = None, errors: dict[str, list[str]] | None = None,
                    change: ConfigChange | None = None, status: int = 200) -> tuple[str, int]:
    bundle = bundle_of(uow())
    catalog = bundle.catalogs.get(name)
    if catalog is None:
        return render_template("error.html", message=t("config.unknown_catalog", name=name)), 404
    return render_template("admin/config_catalog.html", bundle=bundle, catalog=catalog,
                           values=values or {"label": {}}, errors=errors or {}, change=change,
                           confirmation=confirmation), status


@bp.get("/catalogs/<catalog>")
@login_required
def catalog(catalog: str) -> tuple[str, int]:
    """A catalog's values as a tree, and the form that adds a value (under a parent) or relabels one."""
    require_permission(actor(), "config.edit", action="change the configuration")
    return _render_catalog(catalog)


@bp.post("/catalogs/<catalog>")
@login_required
def catalog_change(catalog: str) -> Any:
    """Preview or, confirmed, deploy a catalog value change."""
    bundle = bundle_of(uow())
    values = _values(request.form, bundle.settings.locales, ("code", "parent"))
    try:
        change = propose_value(uow(), actor(), catalog, values)
    except ValidationError as exc:
        return _render_catalog(catalog, values, _errors(exc), status=422)
    return _preview_or_apply(change, lambda: _render_catalog(catalog, values, change=change, status=422 if
                                                             change.problems else 200))


def confirmation(change: ConfigChange) -> str:
    """What the Deploy button of a preview carries: the base version and a digest of the diff shown, so a deploy
    is exactly the change the admin looked at."""
    return f"{change.base_version_id}:{hashlib.sha256(change.diff.encode()).hexdigest()[:16]}"


def _preview_or_apply(change: ConfigChange, preview: Any) -> Any:
    """The preview page, unless the form confirms the very change it was shown."""
    sent = request.form.get("confirm")
    confirmed = sent == confirmation(change)
    if sent and not confirmed:
        flash(t("config.preview_again"), "error")
    if not confirmed or not change.deployable:
        return preview()
    try:
        report = apply_change(uow(), actor(), change, now())
    except (ConflictError, ConfigError) as exc:
        flash(engine_message(_said(exc)), "error")
        return preview()
    flash(t("config.deployed", version=report.config_version_id), "success")
    return redirect(url_for("config_admin.index"))
