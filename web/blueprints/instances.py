"""A process instance: every step it took (who, when, which element, what was submitted), its tasks, and its
diagram with the passed and current steps marked."""

from __future__ import annotations

from flask import Blueprint, Response, jsonify, render_template

from engine.errors import FlowError
from engine.services.access import INCIDENT_RESOLVERS
from engine.services.audit import instance_waits
from engine.services.diagrams import instance_diagram
from engine.services.incidents import instance_incidents
from engine.services.instances import get_instance
from engine.services.records import get_record
from web import uow
from web.auth import actor, login_required
from web.people import expect_people
from web.present import bundle_of, labelled_diagram

bp = Blueprint("instances", __name__, url_prefix="/instances")


@bp.get("/<int:instance_id>")
@login_required
def detail(instance_id: int) -> str:
    """The instance's history, newest last, under its diagram; its incidents (with Retry) above."""
    found = get_instance(uow(), actor(), instance_id)
    diagram = instance_diagram(uow(), actor(), instance_id)
    bundle = bundle_of(uow())
    record = entity = None
    if found.instance.record_id is not None:
        try:
            record = get_record(uow(), actor(), found.instance.record_id)
            entity = bundle.entities.get(record.entity)
        except FlowError:  # e.g. a designer reads the instance but not the record
            record = None
    tasks = [n for x in found.tasks for n in (x.completed_by, x.assignee)]
    expect_people([found.instance.started_by, *(s.actor for s in found.steps), *tasks])  # in one statement
    return render_template("instances/detail.html", detail=found, instance=found.instance, record=record,
                           entity=entity, bundle=bundle, diagram=diagram,
                           waits=instance_waits(uow(), actor(), instance_id),
                           incidents=instance_incidents(uow(), instance_id),
                           can_retry=actor().has(*INCIDENT_RESOLVERS))


@bp.get("/<int:instance_id>/diagram.json")
@login_required
def diagram(instance_id: int) -> Response:
    """The instance's BPMN XML with the element ids to mark: `completed` (passed) and `current` (waiting)."""
    found = instance_diagram(uow(), actor(), instance_id)
    return jsonify({"instance_id": found.instance_id, "process_id": found.process_id, "version": found.version,
                    "xml": labelled_diagram(found.xml, found.process_id), "completed": found.completed,
                    "current": found.current})
