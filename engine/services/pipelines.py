"""Pipelines (request types with stages and final actions): a record's pipeline, the choices a task form offers,
and applying the chosen stage or final action when a task with `flowcrm.pipeline = advance` completes."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol

from engine.config.automation import Action, Pipeline
from engine.config.model import Bundle, Form, Label, label_text
from engine.errors import ValidationError
from engine.processes.definitions import ElementMeta
from engine.records.schema import is_empty, validate_record
from engine.rules import actions as rule_actions
from engine.services.records import entity_of, write_fields
from engine.services.views import Actor
from engine.store.models import RecordRow
from engine.store.uow import UnitOfWork

OPTION_KEY = "x-options"
OPTION_VALUE = "pipeline"  # "x-options": "pipeline" on a form property: its enum is the record's next choices
ADVANCE_PROPERTY = "flowcrm.pipeline"  # Camunda property of a user task; "advance" applies the choice
ADVANCE = "advance"


class RecordLike(Protocol):
    """A record row or a record view."""

    @property
    def entity(self) -> str: ...

    @property
    def data(self) -> dict[str, Any]: ...


def pipeline_of(bundle: Bundle, record: RecordLike) -> Pipeline | None:
    """The pipeline of the record's entity whose code is the record's type field value."""
    return next((p for p in bundle.pipelines.values()
                 if p.entity == record.entity and p.code == record.data.get(p.type_field)), None)


def _label(pipeline: Pipeline, code: str) -> Label:
    stage = pipeline.stage(code)
    if stage is not None:
        return stage.label
    final = pipeline.final_action(code)
    return final.label if final is not None else {}


def pipeline_choices(bundle: Bundle, record: RecordLike, locale: str) -> list[tuple[str, str]]:
    """(code, label) of what the record may move to: later non-final stages, then the final actions."""
    pipeline = pipeline_of(bundle, record)
    if pipeline is None:
        return []
    current = record.data.get(pipeline.stage_field)
    return [(code, label_text(_label(pipeline, code), locale, code)) for code in pipeline.next_choices(current)]


def no_pipeline_message(bundle: Bundle, record: RecordLike | None) -> str:
    """Why a record has nothing to choose from."""
    if record is None:
        return "this task has no record, so there is no pipeline to choose from"
    type_fields = sorted({p.type_field for p in bundle.pipelines.values() if p.entity == record.entity})
    if not type_fields:
        return f"no pipeline is configured for {record.entity}"
    if pipeline_of(bundle, record) is None:
        shown = ", ".join(f"{name} = {record.data.get(name) or '—'}" for name in type_fields)
        return f"no pipeline matches this record's type ({shown})"
    return "the record is at the end of its pipeline: nothing is left to choose"


def pipeline_property(schema: Mapping[str, Any]) -> str | None:
    """The name of the form property marked `"x-options": "pipeline"`, if any."""
    properties = schema.get("properties") or {}
    return next((name for name, prop in properties.items()
                 if isinstance(prop, Mapping) and prop.get(OPTION_KEY) == OPTION_VALUE), None)


def form_with_choices(form: Form, bundle: Bundle, record: RecordLike | None) -> Form:
    """The form with its pipeline property's `enum` and `x-enum-labels` filled from the record's pipeline.

    Without a pipeline (or choices) the enum is empty and `description`/`x-message` say why, so the form still
    renders and any submitted value gets that message rather than a bare "must be one of"."""
    name = pipeline_property(form.schema)
    if name is None:
        return form
    schema = copy.deepcopy(form.schema)
    prop = schema["properties"][name]
    pipeline = pipeline_of(bundle, record) if record is not None else None
    codes = list(pipeline.next_choices(record.data.get(pipeline.stage_field))) \
        if pipeline is not None and record is not None else []
    prop.setdefault("type", "string")
    prop["enum"] = codes
    prop["x-enum-labels"] = {code: dict(_label(pipeline, code)) for code in codes} if pipeline else {}
    if not codes:
        message = no_pipeline_message(bundle, record)
        prop["description"], prop["x-message"] = message, message
    return dataclasses.replace(form, schema=schema)


def element_property(meta: ElementMeta | None, name: str) -> str | None:
    """A Camunda property of a BPMN element, as read at deploy time."""
    return None if meta is None else meta.properties.get(name)


def _run_actions(uow: UnitOfWork, record: RecordRow, actions: tuple[Action, ...], source: str, actor: Actor,
                 now: datetime) -> None:
    if not actions:
        return
    rule_actions.run_actions(uow, record, actions, names=None, source=source, actor=actor, now=now, depth=0)


def apply_choice(uow: UnitOfWork, bundle: Bundle, record: RecordRow, choice: str, *, field: str, actor: Actor,
                 now: datetime) -> tuple[bool, dict[str, tuple[Any, Any]]]:
    """Move the record to a stage (running its on_enter actions) or close it with a final action (checking its
    required fields first). (final?, the fields written here)."""
    pipeline = pipeline_of(bundle, record)
    if pipeline is None:
        raise ValidationError({field: [no_pipeline_message(bundle, record)]})
    stage, final = pipeline.stage(choice), pipeline.final_action(choice)
    allowed = pipeline.next_choices(record.data.get(pipeline.stage_field))
    if choice not in allowed or (stage is None and final is None):
        raise ValidationError({field: [f"must be one of: {', '.join(allowed)}"]})
    entity = entity_of(bundle, record.entity)
    if stage is not None:
        source = f"pipeline {pipeline.code} / stage {stage.code}"
        values = validate_record(entity, bundle, {pipeline.stage_field: stage.code}, partial=True)
        changed = write_fields(uow, record, values, actor=actor.username, source=source, now=now, entity=entity)
        _run_actions(uow, record, stage.on_enter, source, actor, now)
        return False, changed
    assert final is not None  # noqa: S101 - one of the two, checked above
    missing = [name for name in final.requires if is_empty(record.data.get(name))]
    if missing:
        action = label_text(final.label, actor.locale, final.code)
        raise ValidationError({name: [f"must be filled in before: {action}"] for name in missing})
    _run_actions(uow, record, final.actions, f"pipeline {pipeline.code} / final {final.code}", actor, now)
    return True, {}
