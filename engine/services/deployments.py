"""Check and deploy configuration bundles; process versions; the active configuration."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from engine.config.model import Bundle
from engine.errors import ConfigError, NotFound, Problem
from engine.filters.model import searchable_fields
from engine.messages import Message
from engine.processes.crosscheck import set_warnings
from engine.processes.deployed import active_bundle, forget_active, forget_starting_versions, read_bundle
from engine.processes.label_check import label_warnings
from engine.processes.spiff import ProcessDefinition
from engine.rules.expressions import constant_problem
from engine.search.keys import searched_fields
from engine.services.access import require_permission
from engine.services.views import Actor, DeployReport, ProcessVersionView
from engine.store.models import ConfigVersionRow, ProcessVersionRow
from engine.store.uow import UnitOfWork


def analyse(files: dict[str, str], warnings: list[Problem] | None = None,
            ) -> tuple[Bundle, dict[str, ProcessDefinition]]:
    """Load, parse and cross-check a bundle; ConfigError lists every problem. What the engine will not execute
    (listeners, priorities, ...) is appended to `warnings`."""
    bundle, definitions, problems = read_bundle(files, warnings)
    if bundle is not None:
        problems.extend(_constant_rule_problems(bundle))
        if warnings is not None and not problems:
            warnings.extend(label_warnings(bundle, definitions) + set_warnings(bundle, definitions))
    if problems or bundle is None:
        raise ConfigError(problems)
    return bundle, definitions


def _constant_rule_problems(bundle: Bundle) -> list[Problem]:
    """Rule conditions that read no field are evaluated at check, under the run-time limits: one that cannot end
    (`round(1, -10**9) == 0`) is refused here instead of failing every record write."""
    today = datetime.now(UTC).date()
    found = []
    for rule in bundle.rules.values():
        message = rule.when and constant_problem(rule.when, rule=rule.name, today=today)
        if message:
            fails = Message("config.when_expression", when=repr(rule.when), problem=message)
            found.append(Problem(rule.file, rule.line, rule.name, fails))
    return found


def check_bundle(files: dict[str, str]) -> list[Problem]:
    """Every problem of a bundle; empty when it can be deployed."""
    try:
        analyse(files)
    except ConfigError as exc:
        return exc.problems
    return []


def _version_view(row: ProcessVersionRow, running: int = 0) -> ProcessVersionView:
    return ProcessVersionView(row.id, row.process_id, row.name, row.version, row.file, row.entity, row.start_on,
                              row.deployed_at, row.deployed_by, running)


def _stale_search_keys(before: Bundle, after: Bundle) -> list[Problem]:
    """Entities whose searched fields the new configuration widens: their records' search keys were built without
    those fields, and the header search does not find records by them until `flowcrm search-index` runs."""
    stale = []
    for name, entity in after.entities.items():
        old = before.entities.get(name)
        added = [f for f in searched_fields(entity) if old is not None and f not in searched_fields(old)]
        if added:
            stale.append(Problem(entity.file, entity.line, name, Message("config.search_keys_stale", entity=name,
                                                                         fields=", ".join(added))))
    return stale


def deploy_bundle(uow: UnitOfWork, actor: Actor, files: dict[str, str], now: datetime, *,
                  warnings: list[Problem] | None = None, note: str | None = None) -> DeployReport:
    """Check a bundle and make it the active configuration; a process whose BPMN differs from its newest version
    gets a new version (deploying an older text again, as a rollback does, makes it the newest). What the engine will
    not execute is appended to `warnings`; `note` says what made this configuration version."""
    require_permission(actor, "definition.deploy", action="deploy configuration")
    bundle, definitions = analyse(files, warnings)
    with uow:
        config = uow.config.latest()
        changed = config is None or config.content_hash != bundle.content_hash
        if config is not None and changed and warnings is not None:
            warnings.extend(_stale_search_keys(active_bundle(uow)[0], bundle))
        if config is None or changed:
            config = ConfigVersionRow(content_hash=bundle.content_hash, files=dict(files), deployed_at=now,
                                      deployed_by=actor.username, note=note)
            uow.config.add(config)
            uow.config.flush()
        report = DeployReport(config_version_id=config.id, config_changed=changed)
        for process_id, definition in sorted(definitions.items()):
            digest = hashlib.sha256(definition.blob.encode()).hexdigest()
            latest = uow.config.latest_process(process_id)
            if latest is not None and latest.content_hash == digest:
                report.unchanged.append(process_id)
                continue
            row = ProcessVersionRow(
                process_id=process_id, name=definition.name, version=(latest.version + 1) if latest else 1,
                content_hash=digest, file=definition.file, bpmn_xml=files[definition.file],
                spec_json=definition.blob, entity=definition.entity, start_on=definition.start_on,
                config_version_id=config.id, deployed_at=now, deployed_by=actor.username)
            uow.config.add(row)
            uow.config.flush()
            report.new_versions.append(_version_view(row))
        uow.find.ensure_field_indexes(searchable_fields(bundle))  # docs/filters.md: searchable fields
        uow.commit()
        forget_active(uow)  # the rest of the request (or command) sees the new configuration
        if report.new_versions:
            forget_starting_versions()  # new process versions under the same configuration key (an engine upgrade)
    return report


def active_files(uow: UnitOfWork) -> dict[str, str]:
    """The files of the active configuration (path -> text); empty before the first deployment."""
    with uow:
        row = uow.config.latest()
        return dict(row.files) if row is not None else {}


def list_process_versions(uow: UnitOfWork, actor: Actor) -> list[ProcessVersionView]:
    """Every deployed process version with its running-instance count."""
    require_permission(actor, "definition.read", action="read process definitions")
    with uow:
        return [_version_view(row, n) for row, n in uow.config.all_process_versions()]


def get_process_version(uow: UnitOfWork, actor: Actor, version_id: int) -> tuple[ProcessVersionView, str]:
    """One process version and its BPMN XML."""
    require_permission(actor, "definition.read", action="read process definitions")
    with uow:
        row = uow.config.process_version(version_id)
        if row is None:
            raise NotFound(f"process version {version_id} not found")
        return _version_view(row), row.bpmn_xml
