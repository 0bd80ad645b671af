"""A bundle with one poison process (a timer, then a script task that keeps an exception object in its data)
beside the bench's good timers (Ping: wait until record["due"], end)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select

from bench.timers import BPMN, CREATOR, PROCESS_ID
from bench.timers import bundle_files as bench_bundle
from engine.services.records import create_record
from engine.store.incident_models import IncidentRow
from engine.store.models import InstanceRow, TimerRow
from engine.store.uow import UnitOfWork

MakeUow = Callable[[], UnitOfWork]

POISON_BPMN = (
    BPMN.replace(f'id="{PROCESS_ID}" name="Timer bench"', 'id="poison" name="Poison"')
    .replace('value="Ping"', 'value="Poison"')
    .replace(
        '<bpmn:endEvent id="end"><bpmn:incoming>f2</bpmn:incoming></bpmn:endEvent>',
        """<bpmn:scriptTask id="score_task" name="Compute score" scriptFormat="python">
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
      <bpmn:script>try:
    score = 1 / 0
except ZeroDivisionError as exc:
    err = exc</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f3</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="score_task" targetRef="end" />""",
    )
    .replace('sourceRef="wait" targetRef="end"', 'sourceRef="wait" targetRef="score_task"')
)
POISON_ERROR = (
    'script task "Compute score" (score_task) left variable "err" of type ZeroDivisionError, which cannot be saved'
)


def bundle() -> dict[str, str]:
    """The bench bundle plus the Poison entity and process."""
    files = bench_bundle()
    files["crm_model/entities/poison.yaml"] = files["crm_model/entities/ping.yaml"].replace("Ping", "Poison")
    files["processes/poison.bpmn"] = POISON_BPMN
    return files


def start(make_uow: MakeUow, entity: str, due: datetime) -> int:
    """A record of `entity` whose process waits on a timer due at `due`; its instance id."""
    create_record(
        make_uow(), CREATOR, entity, {"name": f"{entity} {due.isoformat()}", "due": due.isoformat()}, datetime.now(UTC)
    )
    with make_uow() as uow:
        return int(uow.session.scalar(select(func.max(InstanceRow.id))))


def timer_row(make_uow: MakeUow, instance_id: int) -> Any:
    """The instance's timer row, as plain column values."""
    table = TimerRow.__table__
    with make_uow() as uow:
        return uow.session.execute(select(table).where(table.c.instance_id == instance_id)).first()


def incidents(make_uow: MakeUow) -> list[Any]:
    """Every incident, oldest first, as plain column values."""
    table = IncidentRow.__table__
    with make_uow() as uow:
        return list(uow.session.execute(select(table).order_by(table.c.id)).all())
