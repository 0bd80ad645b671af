"""The `timeline` section of an entity file: checked field by field, problems naming the file, line and key."""

from __future__ import annotations

from pathlib import Path

from engine.config.loader import load_bundle, read_bundle_dir
from tests.unit.bundle_helpers import changed, problems_of

ROOT = Path(__file__).parents[2]
ACTIVITY = "crm_model/entities/activity.yaml"


def shipped() -> dict[str, str]:
    return read_bundle_dir(ROOT)


def with_activity(old: str, new: str) -> dict[str, str]:
    files = shipped()
    assert old in files[ACTIVITY]
    return changed(files, {ACTIVITY: files[ACTIVITY].replace(old, new)})


def test_the_shipped_activity_offers_log_a_call_ending_with_a_next_task() -> None:
    activity = load_bundle(shipped()).entities["Activity"]
    assert activity.timeline is not None
    log = activity.timeline.log
    assert log is not None
    assert (activity.timeline.kind_field, log.task_title, log.task_due) == ("kind", "next_step", "next_step_on")
    assert log.preset["kind"] == "call"


def line_of(files: dict[str, str], text: str) -> int:
    return next(n for n, line in enumerate(files[ACTIVITY].splitlines(), 1) if text in line)


def test_a_kind_field_that_is_no_enum_is_named_with_its_line() -> None:
    files = with_activity("  kind_field: kind", "  kind_field: subject")
    [problem] = problems_of(files)
    assert (problem.file, problem.element, problem.line) == (ACTIVITY, "Activity.timeline",
                                                             line_of(files, "kind_field: subject"))
    assert "must be a field of type enum, not string" in problem.message


def test_a_log_form_without_its_next_task_is_refused() -> None:
    files = with_activity("    next_task: {title: next_step, due: next_step_on}\n", "")
    [problem] = problems_of(files)
    assert (problem.element, "every entry ends with a next step" in problem.message) == (
        "Activity.timeline.log", True)


def test_preset_values_and_asked_fields_are_checked() -> None:
    files = with_activity("set: {kind: call, direction: outbound}", "set: {kind: fax, colour: red}")
    files = changed(files, {ACTIVITY: files[ACTIVITY].replace("fields: [result, agreed]", "fields: [outcome]")})
    messages = sorted(p.message for p in problems_of(files))
    assert any("'colour', which is no field of Activity" in m for m in messages)
    assert any(m.startswith("set.kind 'fax' is not valid") for m in messages)
    assert any("fields: 'outcome' must name a field of the entity" in m for m in messages)
