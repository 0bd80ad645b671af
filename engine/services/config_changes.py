"""Configuration changed in the browser: an entity's fields, a catalog's values, shown as the diff of the YAML it
writes, checked like `flowcrm check`, deployed as a new configuration version with who and when — and the way back
(a rollback deploys an earlier version's files again, as a version of its own). `flowcrm export-config DIR` writes
the deployed files out, so what was changed in the browser can live in git beside what was changed in files."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.config.edits import EditError, put_field, put_value
from engine.config.model import FIELD_TYPES, OPTION_TYPES, Bundle
from engine.errors import ConfigError, ConflictError, NotFound, Problem, ValidationError
from engine.messages import Message
from engine.processes.deployed import active_bundle
from engine.services.access import require_permission
from engine.services.deployments import analyse, deploy_bundle
from engine.services.views import Actor, DeployReport
from engine.store.uow import UnitOfWork

_SNAKE = re.compile(r"[a-z][a-z0-9_]*")
_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")


@dataclass(frozen=True)
class ConfigVersionView:
    id: int
    deployed_at: datetime
    deployed_by: str
    note: str | None
    active: bool


@dataclass
class ConfigChange:
    """A proposed change: the new files, the diff against the active version they were made from, what `check`
    says. It can be deployed only while `base_version_id` is still the active version."""

    base_version_id: int
    note: str
    files: dict[str, str]
    diff: str
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def deployable(self) -> bool:
        """True when `check` found no problem."""
        return not self.problems


def config_versions(uow: UnitOfWork, actor: Actor, *, limit: int = 50) -> list[ConfigVersionView]:
    """The newest configuration versions, the active one first."""
    require_permission(actor, "definition.read", action="read the configuration versions")
    with uow:
        rows = uow.config.config_versions(limit)
    return [ConfigVersionView(row[0], row[1], row[2], row[3], index == 0) for index, row in enumerate(rows)]


def diff_files(old: dict[str, str], new: dict[str, str]) -> str:
    """A unified diff of two bundles' files, file by file in path order."""
    parts: list[str] = []
    for path in sorted(set(old) | set(new)):
        before, after = old.get(path), new.get(path)
        if before == after:
            continue
        parts.extend(difflib.unified_diff(
            (before or "").splitlines(keepends=True), (after or "").splitlines(keepends=True),
            fromfile=f"a/{path}" if before is not None else "/dev/null",
            tofile=f"b/{path}" if after is not None else "/dev/null"))
    return "".join(line if line.endswith("\n") else line + "\n" for line in parts)


def version_files(uow: UnitOfWork, actor: Actor, version_id: int | None = None) -> tuple[int, dict[str, str]]:
    """(id, files) of a configuration version (default: the active one)."""
    require_permission(actor, "definition.read", action="read the configuration")
    with uow:
        row = uow.config.latest() if version_id is None else uow.config.get_config(version_id)
        if row is None:
            raise NotFound("no configuration is deployed yet" if version_id is None
                           else f"configuration version {version_id} not found")
        return row.id, dict(row.files)


def version_diff(uow: UnitOfWork, actor: Actor, version_id: int) -> tuple[ConfigVersionView, str]:
    """A version and the diff of its files against the version before it."""
    require_permission(actor, "definition.read", action="read the configuration versions")
    with uow:
        row = uow.config.get_config(version_id)
        if row is None:
            raise NotFound(f"configuration version {version_id} not found")
        before = uow.config.previous_config(version_id)
        active = uow.config.latest_id() == row.id
        view = ConfigVersionView(row.id, row.deployed_at, row.deployed_by, row.note, active)
        return view, diff_files(dict(before.files) if before else {}, dict(row.files))


def _active(uow: UnitOfWork) -> tuple[int, dict[str, str], Bundle]:
    with uow:
        row = uow.config.latest()
        if row is None:
            raise NotFound("no configuration is deployed yet: run `flowcrm deploy DIR`")
        bundle, _ = active_bundle(uow)
        return row.id, dict(row.files), bundle


def _proposal(base_id: int, note: str, old: dict[str, str], new: dict[str, str]) -> ConfigChange:
    change = ConfigChange(base_id, note, new, diff_files(old, new))
    try:
        analyse(new, change.warnings)
    except ConfigError as error:
        change.problems = list(error.problems)
    return change


def _labels(bundle: Bundle, label: dict[str, str], key: str) -> dict[str, str]:
    clean = {locale: (label.get(locale) or "").strip() for locale in bundle.settings.locales}
    missing = [locale for locale, text in clean.items() if not text]
    if missing:
        raise ValidationError({key: [Message("config.edit_label_needed", locales=", ".join(missing))]})
    return clean


def field_spec(bundle: Bundle, entity: str, values: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(name, YAML spec) of a field from the edit form's values; ValidationError names the form field."""
    name = str(values.get("name") or "").strip()
    if not _SNAKE.fullmatch(name):
        raise ValidationError({"name": [Message("config.edit_field_name")]})
    kind = str(values.get("type") or "")
    if kind not in FIELD_TYPES:
        raise ValidationError({"type": [Message("config.edit_choose_type", types=", ".join(FIELD_TYPES))]})
    existing = bundle.entities[entity].fields.get(name)
    if existing is not None and existing.type != kind:
        raise ValidationError({"type": [Message("config.edit_type_change", entity=entity, name=name,
                                                type=existing.type)]})
    spec: dict[str, Any] = {"type": kind}
    if kind in OPTION_TYPES["catalog"]:
        catalog = str(values.get("catalog") or "")
        if catalog not in bundle.catalogs:
            raise ValidationError({"catalog": [Message("config.edit_choose_catalog", kind=kind)]})
        spec["catalog"] = catalog
    if kind == "reference":
        target = str(values.get("entity") or "")
        if target not in bundle.entities:
            raise ValidationError({"entity": [Message("config.edit_choose_entity")]})
        spec["entity"] = target
    if values.get("required"):
        spec["required"] = True
    if kind in OPTION_TYPES["max_length"] and str(values.get("max_length") or "").strip():
        text = str(values["max_length"]).strip()
        if not text.isdigit() or int(text) < 1:
            raise ValidationError({"max_length": [Message("config.edit_max_length")]})
        spec["max_length"] = int(text)
    default = str(values.get("default") or "").strip()
    if default:
        spec["default"] = default
    if values.get("searchable") and kind in OPTION_TYPES["searchable"]:
        spec["searchable"] = True
    spec["label"] = _labels(bundle, values.get("label") or {}, "label")
    return name, spec


def propose_field(uow: UnitOfWork, actor: Actor, entity: str, values: dict[str, Any]) -> ConfigChange:
    """The change that adds field `values["name"]` to `entity` or changes it: new files, diff, check result."""
    require_permission(actor, "config.edit", action="change the configuration")
    base_id, files, bundle = _active(uow)
    if entity not in bundle.entities:
        raise NotFound(f"unknown entity {entity!r}")
    name, spec = field_spec(bundle, entity, values)
    path = bundle.entities[entity].file
    verb = "changed" if name in bundle.entities[entity].fields else "added"
    new = {**files, path: put_field(files[path], path, name, spec)}
    return _proposal(base_id, f"browser: field {entity}.{name} {verb} by {actor.username}", files, new)


def propose_value(uow: UnitOfWork, actor: Actor, catalog: str, values: dict[str, Any]) -> ConfigChange:
    """The change that adds value `values["code"]` to `catalog` (under `values["parent"]`) or relabels it."""
    require_permission(actor, "config.edit", action="change the configuration")
    base_id, files, bundle = _active(uow)
    if catalog not in bundle.catalogs:
        raise NotFound(f"unknown catalog {catalog!r}")
    code = str(values.get("code") or "").strip()
    if not _CODE.fullmatch(code):
        raise ValidationError({"code": [Message("config.edit_code")]})
    parent = str(values.get("parent") or "").strip() or None
    known = {value.code for value in bundle.catalogs[catalog].values}
    if parent is not None and parent not in known:
        raise ValidationError({"parent": [Message("config.edit_no_parent", parent=repr(parent), file=catalog)]})
    label = _labels(bundle, values.get("label") or {}, "label")
    path = bundle.catalogs[catalog].file
    verb = "relabelled" if code in known else "added"
    new = {**files, path: put_value(files[path], path, code, label, None if code in known else parent)}
    return _proposal(base_id, f"browser: value {catalog}.{code} {verb} by {actor.username}", files, new)


def apply_change(uow: UnitOfWork, actor: Actor, change: ConfigChange, now: datetime) -> DeployReport:
    """Deploy a proposed change as a new configuration version; refused when check found problems or when another
    version was deployed since the change was made from the active one."""
    require_permission(actor, "config.edit", action="change the configuration")
    if change.problems:
        raise ConfigError(change.problems)
    with uow:
        if uow.config.latest_id() != change.base_version_id:
            raise ConflictError(Message("config.changed_since_prepared"))
        return deploy_bundle(uow, actor, change.files, now, note=change.note)


def rollback(uow: UnitOfWork, actor: Actor, version_id: int, expected_active: int, now: datetime) -> DeployReport:
    """Deploy the files of an earlier version again, as a new version that says so."""
    require_permission(actor, "definition.deploy", action="roll the configuration back")
    with uow:
        active = uow.config.latest_id()
        if active != expected_active:
            raise ConflictError(Message("config.changed_since_looked"))
        row = uow.config.get_config(version_id)
        if row is None:
            raise NotFound(f"configuration version {version_id} not found")
        if row.id == active:
            raise ConflictError(Message("config.version_active", version=version_id))
        return deploy_bundle(uow, actor, dict(row.files), now,
                             note=f"rollback to version {version_id} by {actor.username}")


__all__ = ["ConfigChange", "ConfigVersionView", "EditError", "apply_change", "config_versions",
           "diff_files", "field_spec", "propose_field", "propose_value", "rollback", "version_diff", "version_files"]
