"""The Camunda 7 compatibility corpus (tests/fixtures/camunda7): every file, as Camunda Modeler saves it, is
parsed like a deployment and run to its end, with a serializer round-trip before every step."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import time_machine

from engine.config.loader import read_bundle_dir
from engine.errors import Problem, SandboxError
from engine.processes.spiff import SERIALIZER_VERSION, ProcessDefinition, Runtime, parse_definitions
from engine.processes.spiff.engine import _REGISTRY, _SERIALIZER
from tests.conftest import ROOT

CORPUS = ROOT / "tests" / "fixtures" / "camunda7"
ZONE = "Europe/Moscow"  # crm_model/settings.yaml of the corpus
T0 = datetime(2026, 2, 27, 9, 3, tzinfo=UTC)


def _corpus() -> tuple[dict[str, ProcessDefinition], list[Problem]]:
    files = read_bundle_dir(CORPUS)
    bpmn = {p: t for p, t in files.items() if p.endswith(".bpmn")}
    warnings: list[Problem] = []
    return parse_definitions(bpmn, {}, timezone=ZONE, resources=files, warnings=warnings), warnings


DEFINITIONS, WARNINGS = _corpus()


@dataclass
class Scenario:
    process: str
    data: dict[str, Any]
    actions: list[tuple[Any, ...]]  # ("complete", element, data) | ("timer", due or None) | ("message", name, data)
    end: str  # the end event reached
    expect: dict[str, Any] = field(default_factory=dict)  # values in the data at the end
    passes: dict[str, int] = field(default_factory=dict)  # element -> times completed
    absent: tuple[str, ...] = ()  # variables not left in the data at the end


def complete(element: str, **data: Any) -> tuple[Any, ...]:
    return ("complete", element, data)


def timer(due: datetime | None = None) -> tuple[Any, ...]:
    return ("timer", due)


def message(name: str, **data: Any) -> tuple[Any, ...]:
    return ("message", name, data)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


SCENARIOS = {
    "juel_boolean-yes": Scenario("juel_boolean", {}, [complete("review", approved=True)], "end_yes"),
    "juel_boolean-no": Scenario("juel_boolean", {}, [complete("review", approved=False)], "end_no"),
    "juel_and_or-yes": Scenario("juel_and_or", {"amount": 1500, "vip": True}, [], "end_yes"),
    "juel_and_or-no": Scenario("juel_and_or", {"amount": 1500, "vip": False}, [], "end_no"),
    "juel_eq_words": Scenario("juel_eq_words", {"answer": "yes"}, [], "end_yes"),
    "juel_coercing_equality": Scenario("juel_coercing_equality", {"count": "3"}, [], "end_yes"),
    "juel_empty": Scenario("juel_empty", {"items": []}, [], "end_yes"),
    "juel_empty-null": Scenario("juel_empty", {"items": None}, [], "end_yes"),
    "juel_ternary": Scenario("juel_ternary", {"vip": True, "amount": 600}, [], "end_yes"),
    "juel_arithmetic": Scenario("juel_arithmetic", {"price": "2.5", "qty": 8}, [], "end_yes"),
    "juel_arithmetic-odd": Scenario("juel_arithmetic", {"price": 2.5, "qty": 9}, [], "end_no"),
    "juel_dotted_property": Scenario(
        "juel_dotted_property", {"order": {"total": 250, "customer": {"vip": True}}}, [], "end_yes"
    ),
    "juel_get_variable": Scenario("juel_get_variable", {"level": 2}, [], "end_yes"),
    "juel_default_flow": Scenario("juel_default_flow", {"score": 10}, [], "end_no"),
    "python_condition_kept": Scenario(
        "python_condition_kept", {"amount": 5000, "record": {"vip": True}}, [], "end_yes"
    ),
    "juel_inclusive": Scenario(
        "juel_inclusive",
        {"phone": "+7 900", "email": "a@b.c"},
        [complete("call_customer"), complete("send_offer")],
        "end",
        passes={"call_customer": 1, "send_offer": 1, "join": 1},
    ),
    "juel_inclusive-one": Scenario(
        "juel_inclusive",
        {"phone": None, "email": "a@b.c"},
        [complete("send_offer")],
        "end",
        passes={"call_customer": 0},
    ),
    "parallel_split_join": Scenario(
        "parallel_split_join", {}, [complete("legal_review"), complete("finance_review")], "end"
    ),
    "timer_duration_minutes": Scenario("timer_duration_minutes", {}, [timer(T0 + timedelta(minutes=5))], "end"),
    "timer_date_without_offset": Scenario(
        "timer_date_without_offset",
        {},
        [timer(utc(2026, 3, 1, 7, 0))],
        "end",  # 10:00 in Moscow
    ),
    "timer_date_with_offset": Scenario("timer_date_with_offset", {}, [timer(utc(2026, 3, 1, 9, 0))], "end"),
    "timer_juel_date": Scenario(
        "timer_juel_date", {"followUp": datetime(2026, 3, 2, 12, 0, tzinfo=UTC)}, [timer(utc(2026, 3, 2, 12, 0))], "end"
    ),
    "timer_juel_date-text": Scenario(
        "timer_juel_date", {"followUp": "2026-03-02T12:00:00Z"}, [timer(utc(2026, 3, 2, 12, 0))], "end"
    ),
    "timer_juel_duration": Scenario(
        "timer_juel_duration", {"waitFor": "PT2H"}, [timer(T0 + timedelta(hours=2))], "end"
    ),
    "timer_quoted_python": Scenario("timer_quoted_python", {}, [timer(T0 + timedelta(hours=1))], "end"),
    "timer_boundary_days": Scenario(
        "timer_boundary_days", {}, [timer(T0 + timedelta(days=7))], "end_overdue", passes={"answer_customer": 0}
    ),
    "timer_boundary_days-answered": Scenario(
        "timer_boundary_days", {}, [complete("answer_customer")], "end_answered", passes={"overdue": 0}
    ),
    "timer_cycle_repeat": Scenario(
        "timer_cycle_repeat",
        {},
        [timer(T0 + timedelta(minutes=10)), timer(T0 + timedelta(minutes=20)), complete("handle_ticket")],
        "end_handled",
        passes={"count_reminder": 2},
    ),
    "timer_cycle_start_date": Scenario(
        "timer_cycle_start_date",
        {},
        [timer(utc(2026, 3, 1, 7, 0)), timer(utc(2026, 3, 1, 8, 0)), complete("handle_ticket")],
        "end_handled",
        passes={"count_reminder": 2},
    ),
    "timer_cron_cycle": Scenario(
        "timer_cron_cycle",
        {},
        [timer(utc(2026, 2, 27, 9, 10)), timer(utc(2026, 2, 27, 9, 20)), complete("handle_ticket")],
        "end_handled",
        passes={"count_reminder": 2},
    ),
    "timer_cron_weekdays": Scenario(  # T0 is a Friday: the weekend is skipped, 09:00 in Moscow is 06:00 UTC
        "timer_cron_weekdays",
        {},
        [timer(utc(2026, 3, 2, 6, 0)), timer(utc(2026, 3, 3, 6, 0)), complete("handle_ticket")],
        "end_handled",
        passes={"count_reminder": 2},
    ),
    "timer_cron_monthly": Scenario(
        "timer_cron_monthly",
        {},
        [timer(utc(2026, 3, 1, 5, 30)), timer(utc(2026, 4, 1, 5, 30)), complete("handle_ticket")],
        "end_handled",
        passes={"count_reminder": 2},
    ),
    "timer_cron_office_hours": Scenario(  # T0 is 12:03 in Moscow; after 17:00 the next fire is 09:00 next day
        "timer_cron_office_hours",
        {},
        [timer(utc(2026, 2, 27, 10, 0))]
        + [timer() for _ in range(4)]
        + [timer(utc(2026, 2, 28, 6, 0)), complete("handle_ticket")],
        "end_handled",
        passes={"count_reminder": 6},
    ),
    "timer_cron_last_friday": Scenario(  # 6L: the last Friday of the month, 17:00 in Moscow
        "timer_cron_last_friday",
        {},
        [timer(utc(2026, 2, 27, 14, 0)), timer(utc(2026, 3, 27, 14, 0)), complete("handle_ticket")],
        "end_handled",
        passes={"count_reminder": 2},
    ),
    "activiti_user_task": Scenario(
        "activiti_user_task", {"owner": "sam"}, [complete("approve", approved=True)], "end_yes"
    ),
    "flow_without_id": Scenario("flow_without_id", {}, [complete("first_step")], "end", passes={"first_step": 1}),
    "multi_instance_juel": Scenario(
        "multi_instance_juel",
        {"signers": 2, "names": ["Ann", "Bob"]},
        [complete("sign"), complete("sign"), complete("sign"), complete("greet"), complete("greet")],
        "end",
        passes={"sign": 4, "greet": 3},  # each instance, then the multi-instance activity itself
    ),
    "multi_instance_completion": Scenario(
        "multi_instance_completion",
        {"voters": 3},
        [complete("vote", approved=False), complete("vote", approved=True)],
        "end",
        passes={"vote": 3},  # two of three votes, then the activity: the completion condition ended it
    ),
    "script_resource": Scenario(
        "script_resource", {"budget": 200000, "urgent": False}, [], "end_hot", expect={"score": 60}
    ),
    "not_executed_warned": Scenario(
        "not_executed_warned", {}, [complete("check"), complete("repeat")], "end", passes={"repeat": 1}
    ),
    "juel_assignment": Scenario(
        "juel_assignment",
        {},
        [
            complete("triage", due="2026-03-05T12:00:00", triage_completed_by="sam"),
            complete("handle", handle_completed_by="sam"),
        ],
        "end_same",
    ),
    "script_input_output": Scenario(
        "script_input_output",
        {"amount": 1000},
        [],
        "end_ok",
        expect={"tax": 200.0, "taxText": "VAT: 200.0"},
        absent=("net", "rates", "label"),  # input parameters are local to the task
    ),
    "juel_task_attributes": Scenario(
        "juel_task_attributes",
        {"owner": "sam", "team": "sales", "backup": "sue", "dueDate": "2026-03-05T12:00:00"},
        [complete("follow_up"), complete("report")],
        "end",
    ),
    "event_based_gateway-message": Scenario(
        "event_based_gateway",
        {},
        [complete("send_offer"), message("OfferAccepted", price=100)],
        "end_accepted",
        expect={"price": 100},
        passes={"expired": 0},
    ),
    "event_based_gateway-timer": Scenario(
        "event_based_gateway",
        {},
        [complete("send_offer"), timer(T0 + timedelta(days=3))],
        "end_expired",
        passes={"accepted": 0},
    ),
    "message_receive_task": Scenario(
        "message_receive_task",
        {},
        [message("PaymentReceived", amount=10), message("OrderShipped", tracking="X1")],
        "end",
        expect={"amount": 10, "tracking": "X1"},
        passes={"notify": 1},
    ),
    "message_boundary": Scenario(
        "message_boundary", {}, [message("OrderCancelled")], "end_cancelled", passes={"pack_order": 0}
    ),
    "message_boundary-packed": Scenario(
        "message_boundary", {}, [complete("pack_order")], "end_packed", passes={"cancelled": 0}
    ),
    "message_start": Scenario(
        "message_start",
        {},
        [message("OrderReceived", order="A-1"), complete("confirm_order")],
        "end",
        expect={"order": "A-1"},
    ),
    "timer_start_event": Scenario(
        "timer_start_event",
        {},
        [timer(utc(2026, 3, 1, 7, 0)), complete("plan_day")],
        "end",  # 10:00 in Moscow
    ),
    "timer_boundary_non_interrupting": Scenario(
        "timer_boundary_non_interrupting",
        {},
        [timer(T0 + timedelta(hours=1)), complete("remind_reviewer"), complete("review_contract")],
        "end_reviewed",
        passes={"end_reminded": 1, "review_contract": 1},
    ),
    "signal_throw_catch": Scenario(
        "signal_throw_catch", {}, [complete("prepare_goods"), complete("ship_goods")], "end", passes={"wait_goods": 1}
    ),
    "signal_boundary": Scenario(
        "signal_boundary",
        {},
        [complete("inspect_product")],
        "end_recalled",
        passes={"sell_product": 0, "end_inspected": 1},
    ),
    "error_boundary_subprocess": Scenario(
        "error_boundary_subprocess",
        {},
        [complete("rate_customer", rating=1)],
        "end_denied",
        passes={"credit_denied": 1, "end_granted": 0, "end_fraud": 0},  # caught by its error code only
    ),
    "error_boundary_subprocess-passed": Scenario(
        "error_boundary_subprocess", {}, [complete("rate_customer", rating=4)], "end_granted", passes={"denied": 0}
    ),
    "escalation-vip": Scenario(
        "escalation",
        {"vip": True},
        [complete("answer_complaint"), complete("inform_logistics")],
        "end_vip",
        passes={"end_answered": 0, "end_logistics": 1},
    ),
    "escalation": Scenario(
        "escalation",
        {"vip": False},
        [complete("inform_logistics"), complete("answer_complaint")],
        "end_answered",
        passes={"end_vip": 0, "end_logistics": 1},
    ),
    "call_activity_mapping": Scenario(
        "call_activity_mapping", {"income": 75000}, [], "end_ok", expect={"score": 75, "income": 75000}
    ),
    "multi_instance_sequential": Scenario(
        "multi_instance_sequential",
        {"references": ["Ann", "Bob", "Cid"], "caller": "sam"},
        [complete("call_reference", confirmed=False), complete("call_reference", confirmed=True)],
        "end",
        passes={"call_reference": 3},  # two of three calls, then the activity: the completion condition ended it
    ),
    "terminate_end_event": Scenario(
        "terminate_end_event", {}, [complete("check_budget")], "end_no_budget", passes={"write_quote": 0}
    ),
    "conditional_event": Scenario(
        "conditional_event", {"stock": 5}, [complete("enter_order", quantity=3)], "end", passes={"stock_available": 1}
    ),
    "error_event_subprocess": Scenario(
        "error_event_subprocess",
        {},
        [complete("reserve_stock", available=False), complete("order_from_supplier")],
        "end_ordered",
        passes={"end_reserved": 0, "end_address": 0, "stock_error": 1},
    ),
    "error_event_subprocess-in_stock": Scenario(
        "error_event_subprocess",
        {},
        [complete("reserve_stock", available=True)],
        "end_reserved",
        passes={"order_from_supplier": 0, "stock_error": 0},
    ),
    "event_subprocess_timer": Scenario(
        "event_subprocess_timer",
        {},
        [timer(T0 + timedelta(days=14)), complete("close_case")],
        "end_closed",
        passes={"collect_documents": 0},
    ),
    "event_subprocess_timer-in_time": Scenario(
        "event_subprocess_timer", {}, [complete("collect_documents")], "end_collected", passes={"close_case": 0}
    ),
    "event_subprocess_message": Scenario(
        "event_subprocess_message",
        {},
        [message("StatusRequested"), complete("answer_status"), complete("repair_device")],
        "end_repaired",
        passes={"end_answered": 1, "repair_device": 1},
    ),
}


def spiff_state(runtime: Runtime) -> str:
    """What SpiffWorkflow's own serializer writes for the instance, with the specs (stored once per version)
    dropped: `Runtime.dump` builds the same text without converting the specs first."""
    _REGISTRY._encoder_mode = True
    try:
        dct = _SERIALIZER.to_dict(runtime.workflow)
    finally:
        _REGISTRY._encoder_mode = False
    del dct["spec"], dct["subprocess_specs"]
    dct[_SERIALIZER.VERSION_KEY] = SERIALIZER_VERSION
    return json.dumps(dct, cls=_SERIALIZER._encoder_cls)


def saved(runtime: Runtime) -> str:
    """The instance's saved state, checked against SpiffWorkflow's serializer."""
    state = runtime.dump()
    assert state == spiff_state(runtime)
    return state


def run(scenario: Scenario) -> tuple[Runtime, list[str], dict[str, Any]]:
    """Start the process at T0 and play the actions, restoring the instance from JSON before each."""
    definition = DEFINITIONS[scenario.process]
    with time_machine.travel(T0, tick=False) as clock:
        runtime, steps = Runtime.start(1, definition.blob, dict(scenario.data))
        path = [s.element_id for s in steps]
        for action in scenario.actions:
            runtime = Runtime.load(1, definition.blob, saved(runtime))
            if action[0] == "complete":
                [task] = [t for t in runtime.ready_user_tasks() if t.element_id == action[1]][:1]
                steps = runtime.complete(task.task_id, action[2])
            elif action[0] == "timer":
                due = min(t.due_at for t in runtime.pending_timers())
                assert action[1] is None or due == action[1], f"timer due {due}, expected {action[1]}"
                clock.move_to(due + timedelta(seconds=1))
                steps = runtime.fire_timers()
            else:
                [wait] = [m for m in runtime.pending_messages() if m.message == action[1]]
                steps = runtime.deliver_message(wait.task_id, action[2])
            path += [s.element_id for s in steps]
        runtime = Runtime.load(1, definition.blob, saved(runtime))
        last = steps[-1].data if steps else {}
    return runtime, path, last


def test_the_corpus_holds_forty_running_files_or_more_and_each_has_a_scenario() -> None:
    files = sorted(p.stem for p in (CORPUS / "processes").glob("*.bpmn"))
    assert len(files) >= 40
    assert sorted({s.process for s in SCENARIOS.values()}) == files


@pytest.mark.parametrize("name", SCENARIOS)
def test_the_modeler_file_runs_to_its_end(name: str) -> None:
    scenario = SCENARIOS[name]

    runtime, path, data = run(scenario)

    assert runtime.is_completed(), path
    assert scenario.end in path
    assert {k: data.get(k) for k in scenario.expect} == scenario.expect
    assert not set(scenario.absent) & set(data)
    for element, times in scenario.passes.items():
        assert path.count(element) == times, path


def test_a_missing_variable_in_a_juel_condition_stops_the_instance_as_in_camunda() -> None:
    with pytest.raises(SandboxError, match="'vip' is not defined"):
        run(Scenario("juel_and_or", {"amount": 1500}, [], "end_yes"))


def test_a_condition_giving_no_boolean_stops_the_instance_as_in_camunda() -> None:
    with pytest.raises(SandboxError, match="condition expression returns non-Boolean"):
        run(Scenario("juel_boolean", {}, [complete("review", approved="maybe")], "end_yes"))


def test_the_activiti_namespace_is_read_as_camunda() -> None:
    approve = DEFINITIONS["activiti_user_task"].elements["approve"]

    assert (approve.assignee, approve.form_key, approve.due_date) == ("${owner}", "approve_form", "P1D")
    assert approve.candidate_groups == ("sales", "head_of_sales")


def test_what_the_engine_does_not_execute_is_listed_as_warnings_naming_the_element() -> None:
    listed = {(w.file.rsplit("/", 1)[-1], w.line, w.element, w.message.split(" is ignored")[0]) for w in WARNINGS}

    assert listed >= {
        ("not_executed_warned.bpmn", 4, "customer_db", "bpmn:dataStoreReference"),
        ("not_executed_warned.bpmn", 5, "start", "camunda:initiator='starter' on bpmn:startEvent"),
        ("not_executed_warned.bpmn", 8, "check", "camunda:priority='80' on bpmn:userTask"),
        ("not_executed_warned.bpmn", 8, "check", "camunda:asyncBefore='true' on bpmn:userTask"),
        ("not_executed_warned.bpmn", 8, "check", "camunda:followUpDate='P1D' on bpmn:userTask"),
        ("not_executed_warned.bpmn", 10, "check", "camunda:executionListener on 'start'"),
        ("not_executed_warned.bpmn", 11, "check", "camunda:taskListener on 'create'"),
        ("not_executed_warned.bpmn", 12, "check", "camunda:inputOutput"),
        ("not_executed_warned.bpmn", 15, "check", "camunda:formData"),
        ("script_input_output.bpmn", 18, "tax", "camunda:inputParameter 'audit'"),
    }
    messages = {w.element: w.message for w in WARNINGS}
    assert "without a loopCondition is not executed: the activity runs once" in messages["repeat"]
    assert "has no id: it is named 'Flow_start_first_step'" in messages["Flow_start_first_step"]
