"""Deploying configuration through the API: problems with file and line, new versions, running instances."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from engine.store.uow import UnitOfWork
from tests.web.api_client import (
    ApiUser,
    create_lead,
    open_task,
    snapshot,
)

BPMN = "processes/lead_qualification.bpmn"


def start_tag_lines(text: str, start: str) -> range:
    """The 1-based lines an element's start tag spans (parsers report the first or the last of them)."""
    begin = text.index(start)
    first = text[:begin].count("\n") + 1
    return range(first, first + text[begin:text.index(">", begin)].count("\n") + 1)


def test_unknown_form_key_is_422_with_file_and_line_and_nothing_changes(
        api: dict[str, ApiUser], deployed: Callable[[], UnitOfWork], bundle_files: dict[str, str]) -> None:
    broken = bundle_files[BPMN].replace('camunda:formKey="qualify_lead"', 'camunda:formKey="no_such_form"')
    before = snapshot(deployed)
    response = api["designer"].post("/deployments", {"files": {BPMN: broken}})
    assert response.status_code == 422
    body = response.get_json()
    assert body["error"] == "ConfigError"
    problem = next(p for p in body["problems"] if "no_such_form" in p["message"])
    assert (problem["file"], problem["element"]) == (BPMN, "qualify_lead")
    assert problem["line"] in start_tag_lines(broken, '<bpmn:userTask id="qualify_lead"')
    assert snapshot(deployed) == before


def test_malformed_bpmn_is_422_with_its_line(api: dict[str, ApiUser], deployed: Callable[[], UnitOfWork],
                                            bundle_files: dict[str, str]) -> None:
    broken = bundle_files[BPMN].replace("<bpmn:incoming>flow_convert</bpmn:incoming>", "<bpmn:incoming>", 1)
    before = snapshot(deployed)
    response = api["admin"].post("/deployments", {"files": {BPMN: broken}})
    assert response.status_code == 422
    problems = response.get_json()["problems"]
    assert any(p["file"] == BPMN and isinstance(p["line"], int) and p["line"] > 1 for p in problems), problems
    assert snapshot(deployed) == before


def test_null_deletes_a_file_of_the_active_configuration(api: dict[str, ApiUser],
                                                         deployed: Callable[[], UnitOfWork]) -> None:
    before = snapshot(deployed)
    response = api["designer"].post("/deployments", {"files": {"forms/arrange_meeting.json": None}})
    assert response.status_code == 422
    assert any("arrange_meeting" in p["message"] and p["file"] == BPMN for p in response.get_json()["problems"])
    assert snapshot(deployed) == before


def test_changed_bpmn_is_a_new_version_and_running_instances_keep_theirs(api: dict[str, ApiUser],
                                                                         bundle_files: dict[str, str]) -> None:
    sam, dina = api["sales"], api["designer"]
    old_lead = create_lead(sam, "Before the change")
    old_task = open_task(sam, old_lead["id"])
    changed = bundle_files[BPMN].replace('name="Qualify lead"', 'name="Qualify the lead"')

    response = dina.post("/deployments", {"files": {BPMN: changed}})
    assert response.status_code == 200, response.get_json()
    report = response.get_json()
    assert report["config_changed"] is True
    assert [(v["process_id"], v["version"]) for v in report["new_versions"]] == [("lead_qualification", 2)]
    versions = {v["version"]: v for v in dina.get("/process-versions").get_json()["items"]
                if v["process_id"] == "lead_qualification"}  # the shipped bundle has other processes too
    assert (versions[1]["running"], versions[2]["running"]) == (1, 0)

    old_instance = sam.get(f"/instances/{old_task['instance_id']}").get_json()["instance"]
    assert old_instance["version"] == 1
    completed = sam.post(f"/tasks/{old_task['id']}/complete", {"outcome": "convert"})
    assert completed.status_code == 200, completed.get_json()
    assert open_task(sam, old_lead["id"], scope="mine")["title"] == "Arrange first meeting"

    new_lead = create_lead(sam, "After the change")
    new_task = open_task(sam, new_lead["id"])
    # the API names a step in the reader's language: processes/labels.yaml's label, not the BPMN name it stored
    assert new_task["title"] == "Qualify lead"
    assert new_task["element_id"] == "qualify_lead"
    assert sam.get(f"/instances/{new_task['instance_id']}").get_json()["instance"]["version"] == 2

    again = dina.post("/deployments", {"files": {BPMN: changed}}).get_json()
    assert again["new_versions"] == []
    assert "lead_qualification" in again["unchanged"]


@pytest.mark.parametrize("body", [{}, {"files": {}}, {"files": []}, {"files": {BPMN: 7}},
                                  {"files": {BPMN: "x"}, "force": True}])
def test_malformed_deployment_is_400(api: dict[str, ApiUser], body: dict[str, object]) -> None:
    assert api["designer"].post("/deployments", body).status_code == 400


def test_sales_cannot_deploy(api: dict[str, ApiUser], bundle_files: dict[str, str]) -> None:
    assert api["sales"].post("/deployments", {"files": {BPMN: bundle_files[BPMN]}}).status_code == 403
