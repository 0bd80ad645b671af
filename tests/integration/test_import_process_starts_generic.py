"""The processes that start when an import's batch creates records, on a small generic bundle (a user task for the
record's owner with a due date, a timer, a script whose result a set/compute writes to the record — started on its
own —, an instance that ends at once, a start that fails): the batch path leaves exactly what starting them row by
row leaves, in fewer statements (engine.services.instance_starts)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.integration.test_import_bulk import Factory
from tests.integration.test_import_bulk_linked import job, write_rows
from tests.integration.test_import_process_starts import Compare, counted, inserts

NAMESPACES = ('xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" '
              'xmlns:camunda="http://camunda.org/schema/1.0/bpmn" targetNamespace="http://example.com/flowcrm"')


def properties(values: dict[str, str]) -> str:
    """An element's camunda:properties."""
    inner = "".join(f'<camunda:property name="{name}" value="{value}" />' for name, value in values.items())
    return f"<bpmn:extensionElements><camunda:properties>{inner}</camunda:properties></bpmn:extensionElements>"


def process(process_id: str, body: str) -> str:
    """A BPMN file of one process on Items that starts when an Item is created."""
    head = properties({"flowcrm.entity": "Item", "flowcrm.startOn": "create"})
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<bpmn:definitions {NAMESPACES} id="defs_{process_id}">'
            f'<bpmn:process id="{process_id}" name="{process_id}" isExecutable="true">{head}{body}'
            "</bpmn:process></bpmn:definitions>\n")


# by the item's kind: a review task for its owner (due in two days), done at once, a script whose result is
# written to the item (set and compute: on its own), or a script that fails (the row is refused)
REVIEW = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="kind" default="f_review">
      <bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f_review</bpmn:outgoing><bpmn:outgoing>f_done</bpmn:outgoing>
      <bpmn:outgoing>f_noted</bpmn:outgoing><bpmn:outgoing>f_broken</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="review" name="Review" camunda:assignee="${record_owner}" camunda:candidateGroups="sales"
        camunda:dueDate="P2D">
      <bpmn:incoming>f_review</bpmn:incoming><bpmn:outgoing>f_end</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="note" name="Note" scriptFormat="python">
      """ + properties({"set.stage": "noted", "compute.note": "noted_as"}) + """
      <bpmn:incoming>f_noted</bpmn:incoming><bpmn:outgoing>f_after_note</bpmn:outgoing>
      <bpmn:script>noted_as = 'seen ' + record.get('title')</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:userTask id="check" name="Check" camunda:candidateGroups="sales">
      <bpmn:incoming>f_after_note</bpmn:incoming><bpmn:outgoing>f_checked</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:scriptTask id="broken" name="Broken" scriptFormat="python">
      <bpmn:incoming>f_broken</bpmn:incoming><bpmn:outgoing>f_after_broken</bpmn:outgoing>
      <bpmn:script>ratio = 1 / 0</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming><bpmn:incoming>f_done</bpmn:incoming>
      <bpmn:incoming>f_checked</bpmn:incoming><bpmn:incoming>f_after_broken</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="kind" />
    <bpmn:sequenceFlow id="f_review" sourceRef="kind" targetRef="review" />
    <bpmn:sequenceFlow id="f_done" sourceRef="kind" targetRef="end">
      <bpmn:conditionExpression>record.get('kind') == 'done'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_noted" sourceRef="kind" targetRef="note">
      <bpmn:conditionExpression>record.get('kind') == 'noted'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_broken" sourceRef="kind" targetRef="broken">
      <bpmn:conditionExpression>record.get('kind') == 'broken'</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_end" sourceRef="review" targetRef="end" />
    <bpmn:sequenceFlow id="f_after_note" sourceRef="note" targetRef="check" />
    <bpmn:sequenceFlow id="f_checked" sourceRef="check" targetRef="end" />
    <bpmn:sequenceFlow id="f_after_broken" sourceRef="broken" targetRef="end" />
"""
# every item waits for a fixed date (a timer row each)
WAIT = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:intermediateCatchEvent id="wait" name="Wait">
      <bpmn:incoming>f0</bpmn:incoming><bpmn:outgoing>f1</bpmn:outgoing>
      <bpmn:timerEventDefinition><bpmn:timeDate>"2031-01-01T09:00:00+00:00"</bpmn:timeDate></bpmn:timerEventDefinition>
    </bpmn:intermediateCatchEvent>
    <bpmn:endEvent id="end"><bpmn:incoming>f1</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f0" sourceRef="start" targetRef="wait" />
    <bpmn:sequenceFlow id="f1" sourceRef="wait" targetRef="end" />
"""
KINDS = ("plain", "done", "plain", "noted", "plain", "done", "plain", "plain", "plain", "plain")


def _yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def _label(text: str) -> dict[str, str]:
    return {"en": text, "ru": text}


@pytest.fixture
def bundle_files(request: pytest.FixtureRequest) -> dict[str, str]:
    """A generic bundle: Items, each starting a review process and a waiting one (parametrized "await": and a
    process waiting for a worker or a message)."""
    fields = {name: {"type": "string", "label": _label(name)} for name in ("title", "kind", "stage", "note")}
    fields["title"]["required"] = True
    return {
        "crm_model/settings.yaml": _yaml({"default_region": "RU", "default_locale": "en", "locales": ["en", "ru"]}),
        "crm_model/entities/item.yaml": _yaml({"entity": "Item", "label": _label("Item"), "title_field": "title",
                                               "fields": fields}),
        "processes/item_review.bpmn": process("item_review", REVIEW),
        "processes/item_wait.bpmn": process("item_wait", WAIT),
        **({"processes/item_await.bpmn": process("item_await", AWAIT).replace(
            "<bpmn:process ", '<bpmn:message id="msg_reply" name="reply" /><bpmn:process ')}
           if getattr(request, "param", None) == "await" else {}),
    }


def items(path: Path, rows: int, *, broken: int | None = None) -> Path:
    """`rows` items of the kinds in turn (`broken`: the position of an item whose process fails)."""
    lines = [[f"Item {n}", "broken" if n == broken else KINDS[n % len(KINDS)]] for n in range(rows)]
    return write_rows(path, ["title", "kind"], lines)


@pytest.mark.parametrize("broken", [None, 17])
def test_generic_starts_of_a_batch_leave_what_row_by_row_leaves(
    deployed: Factory, actors: dict[str, Any], compare_paths: Compare, tmp_path: Path, broken: int | None,
    db_url: str
) -> None:
    if broken is not None and not db_url.startswith("sqlite"):
        # PostgreSQL's sequences do not give back the ids of the refused run (records and instances): the record
        # ids in the workflows' stored data differ from row by row, on the old code as on this one
        pytest.skip("a refused run burns ids on PostgreSQL")
    admin = actors["admin"]
    path = items(tmp_path / "items.csv", 40, broken=broken)
    sent: dict[bool, list[str]] = {True: [], False: []}

    def imports(bulk: bool) -> list[Any]:
        outcomes = [job(deployed, admin, "Item", path, bulk=bulk, batch_size=100, dry_run=True)]
        outcomes.append(counted(deployed, sent[bulk], lambda: job(deployed, admin, "Item", path, bulk=bulk,
                                                                  batch_size=100)))
        outcomes.append(job(deployed, admin, "Item", path, bulk=bulk, batch_size=7))
        return outcomes

    alone, expected = compare_paths(imports)
    made = 40 if broken is None else 39
    assert [outcome[1]["created"] for outcome in alone] == [made, made, 0]
    if broken is not None:  # the failing start refuses its row, with the process's error, on both paths
        assert [row for row, _ in alone[1][3]] == [broken + 2]
        assert "ZeroDivisionError" in json.dumps(alone[1][3], ensure_ascii=False)
    assert len(expected["process_instance"]) == 2 * made
    assert len(expected["timer"]) == made
    noted = [row for row in expected["record"] if "'seen Item" in str(row)]
    assert len(noted) == 4  # the script's value written to the item (on its own path), with its history
    assert sum("'seen Item" in str(row) for row in expected["field_change"]) == 4
    assert sum("'instance_completed'" in str(row) for row in expected["instance_event"]) == 8  # kind done
    assert len(expected["task"]) == made - 8  # a review for each plain item, a check for each noted one
    # row by row 2 INSERTs of instances per item; the batch writes the starts between the noted items together
    assert inserts(sent[False])["process_instance"] == 2 * made
    if broken is None:
        # items 0-2, 3 (its review alone), 3's wait to 12, 13 ... (4 noted items: 4 runs and 4 alone, and the
        # last run)
        assert inserts(sent[True])["process_instance"] == 9
        assert inserts(sent[True])["timer"] == 5


# by the item's kind: an external task for a worker, a wait for a message, or the end at once
AWAIT = """
    <bpmn:startEvent id="start"><bpmn:outgoing>f0</bpmn:outgoing></bpmn:startEvent>
    <bpmn:exclusiveGateway id="kind" default="f_end">
      <bpmn:incoming>f0</bpmn:incoming>
      <bpmn:outgoing>f_end</bpmn:outgoing><bpmn:outgoing>f_ext</bpmn:outgoing><bpmn:outgoing>f_msg</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:serviceTask id="charge" name="Charge" camunda:type="external" camunda:topic="charge">
      <bpmn:incoming>f_ext</bpmn:incoming><bpmn:outgoing>f_charged</bpmn:outgoing>
    </bpmn:serviceTask>
    <bpmn:receiveTask id="reply" name="Reply" messageRef="msg_reply">
      <bpmn:incoming>f_msg</bpmn:incoming><bpmn:outgoing>f_replied</bpmn:outgoing>
    </bpmn:receiveTask>
    <bpmn:endEvent id="end"><bpmn:incoming>f_end</bpmn:incoming><bpmn:incoming>f_charged</bpmn:incoming>
      <bpmn:incoming>f_replied</bpmn:incoming></bpmn:endEvent>
""" + "".join(
    f'<bpmn:sequenceFlow id="{flow}" sourceRef="{source}" targetRef="{target}">'
    + (f"<bpmn:conditionExpression>record.get('kind') == '{kind}'</bpmn:conditionExpression>" if kind else "")
    + "</bpmn:sequenceFlow>"
    for flow, source, target, kind in (("f0", "start", "kind", None), ("f_end", "kind", "end", None),
                                       ("f_ext", "kind", "charge", "ext"), ("f_msg", "kind", "reply", "msg"),
                                       ("f_charged", "charge", "end", None), ("f_replied", "reply", "end", None)))
AWAIT_KINDS = ("plain", "ext", "plain", "plain", "msg", "plain", "ext", "plain")


@pytest.mark.parametrize("bundle_files", ["await"], indirect=True)
def test_starts_that_wait_for_a_worker_or_a_message_are_written_alone_and_leave_what_row_by_row_leaves(
    deployed: Factory, actors: dict[str, Any], compare_paths: Compare, tmp_path: Path
) -> None:
    admin = actors["admin"]
    lines = [[f"Item {n}", AWAIT_KINDS[n % len(AWAIT_KINDS)]] for n in range(24)]
    path = write_rows(tmp_path / "items.csv", ["title", "kind"], lines)
    sent: dict[bool, list[str]] = {True: [], False: []}

    def imports(bulk: bool) -> list[Any]:
        return [counted(deployed, sent[bulk], lambda: job(deployed, admin, "Item", path, bulk=bulk,
                                                          batch_size=100))]

    alone, expected = compare_paths(imports)
    assert [outcome[1]["created"] for outcome in alone] == [24]
    assert len(expected["external_task"]) == 6  # kind ext: 2 in 8
    assert len(expected["message_wait"]) == 3  # kind msg: 1 in 8
    assert len(expected["process_instance"]) == 3 * 24
    # row by row: an INSERT per instance; the batch path writes the 9 waiting starts alone and the runs between
    # them together, so fewer statements but more than one
    assert inserts(sent[False])["process_instance"] == 3 * 24
    assert 9 < inserts(sent[True])["process_instance"] < 3 * 24
