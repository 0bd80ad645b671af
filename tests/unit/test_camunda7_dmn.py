"""DMN in the Camunda 7 dialect: Camunda's documented examples give Camunda's outputs, and every file of the corpus
in tests/fixtures/camunda7/dmn/ runs through a BPMN businessRuleTask to the end (no database)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from engine.errors import FlowError
from engine.processes.dmn import decisions_in, evaluate, map_result
from engine.processes.spiff import Runtime, parse_definitions

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "camunda7" / "dmn"


def decide(file: str, decision: str, mapping: str, edit: tuple[str, str] = ("", ""), **variables: Any) -> Any:
    """A decision of a corpus file (with one `edit` of its text) evaluated directly, its result as
    camunda:mapDecisionResult maps it."""
    text = (CORPUS / file).read_text(encoding="utf-8")
    assert text.count(edit[0]) >= 1
    decisions = decisions_in(file, text.replace(*edit) if edit[0] else text)
    return map_result(evaluate(decisions, decision, variables), mapping, decision)


# Camunda 7 documentation and its published examples (camunda-bpm-examples, the get-started DMN guide).
CAMUNDA_EXAMPLES = [
    # get started: season Spring, 10 guests -> getSingleEntry() "Stew"
    ("dish.dmn", "dish", "singleEntry", {"season": "Spring", "guestCount": 10}, "Stew"),
    ("dish.dmn", "dish", "singleEntry", {"season": "Spring", "guestCount": 7}, "Steak"),
    ("dish.dmn", "dish", "singleEntry", {"season": "Spring", "guestCount": 4}, "Dry Aged Gourmet Steak"),
    ("dish.dmn", "dish", "singleEntry", {"season": "Winter", "guestCount": 8}, "Roastbeef"),
    ("dish.dmn", "dish", "singleEntry", {"season": "Summer", "guestCount": 30}, "Light Salad and a nice Steak"),
    ("dish.dmn", "dish", "singleResult", {"season": "Fall", "guestCount": 3}, {"desiredDish": "Spareribs"}),
    # dmn-engine-drg DrgDecisionTest: beverages requires dish; collectEntries("beverages")
    (
        "dinner_decisions.dmn",
        "beverages",
        "collectEntries",
        {"season": "Spring", "guestCount": 10, "guestsWithChildren": False},
        ["Guiness", "Water"],
    ),
    (
        "dinner_decisions.dmn",
        "beverages",
        "collectEntries",
        {"season": "Winter", "guestCount": 7, "guestsWithChildren": True},
        ["Bordeaux", "Apple Juice", "Water"],
    ),
    (
        "dinner_decisions.dmn",
        "beverages",
        "collectEntries",
        {"season": "Summer", "guestCount": 14, "guestsWithChildren": False},
        ["Pinot Noir", "Water"],
    ),
    # hit policy ANY (the docs' leave application): refused when no days are left or in probation
    ("leave_application.dmn", "leave_application", "singleEntry", {"vacationDays": 0, "probation": True}, "refused"),
    ("leave_application.dmn", "leave_application", "singleEntry", {"vacationDays": 0, "probation": False}, "refused"),
    ("leave_application.dmn", "leave_application", "singleEntry", {"vacationDays": 5, "probation": False}, "applied"),
    # hit policy FIRST / RULE ORDER (the docs' advertisement by age): a 19-year-old matches every rule
    ("advertisement_first.dmn", "advertisement_first", "singleEntry", {"user": {"age": 19}}, "Cars"),
    (
        "advertisement_rule_order.dmn",
        "advertisement_rule_order",
        "collectEntries",
        {"user": {"age": 19}},
        ["Cars", "Computer", "Sports"],
    ),
]


@pytest.mark.parametrize(("file", "decision", "mapping", "variables", "expected"), CAMUNDA_EXAMPLES)
def test_camunda_documented_examples_give_camundas_outputs(
    file: str, decision: str, mapping: str, variables: dict[str, Any], expected: Any
) -> None:
    assert decide(file, decision, mapping, **variables) == expected


def business_rule_process(process_id: str, decision: str, result_variable: str | None, mapping: str | None) -> str:
    """A process as Camunda Modeler saves it: start, one businessRuleTask calling `decision`, end."""
    attributes = f'camunda:decisionRef="{decision}"'
    if result_variable:
        attributes += f' camunda:resultVariable="{result_variable}"'
    if mapping:
        attributes += f' camunda:mapDecisionResult="{mapping}"'
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:camunda="http://camunda.org/schema/1.0/bpmn" id="Definitions_{process_id}"
    targetNamespace="http://bpmn.io/schema/bpmn" exporter="Camunda Modeler" exporterVersion="5.20.0">
  <bpmn:process id="{process_id}" isExecutable="true">
    <bpmn:startEvent id="StartEvent_1"><bpmn:outgoing>Flow_1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:sequenceFlow id="Flow_1" sourceRef="StartEvent_1" targetRef="Activity_decide" />
    <bpmn:businessRuleTask id="Activity_decide" name="Decide" {attributes}>
      <bpmn:incoming>Flow_1</bpmn:incoming><bpmn:outgoing>Flow_2</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:sequenceFlow id="Flow_2" sourceRef="Activity_decide" targetRef="EndEvent_1" />
    <bpmn:endEvent id="EndEvent_1"><bpmn:incoming>Flow_2</bpmn:incoming></bpmn:endEvent>
  </bpmn:process>
</bpmn:definitions>
"""


def run_to_end(
    file: str,
    decision: str,
    variables: dict[str, Any],
    result_variable: str | None = "result",
    mapping: str | None = None,
) -> dict[str, Any]:
    """Deploy the corpus file with a one-task process, run it to its end, save and restore it; its data."""
    bpmn = {"processes/run.bpmn": business_rule_process("run", decision, result_variable, mapping)}
    dmn = {f"processes/{file}": (CORPUS / file).read_text(encoding="utf-8")}
    blob = parse_definitions(bpmn, dmn)["run"].blob
    runtime, steps = Runtime.start(1, blob, dict(variables))
    assert [s.element_id for s in steps] == ["StartEvent_1", "Activity_decide", "EndEvent_1"]
    restored = Runtime.load(1, blob, runtime.dump())
    assert restored.is_completed()
    return restored.data()


CORPUS_RUNS = [
    ("dish.dmn", "dish", "singleEntry", {"season": "Fall", "guestCount": "8"}, "Spareribs"),  # "8" -> integer 8
    (
        "dinner_decisions.dmn",
        "beverages",
        "resultList",
        {"season": "Fall", "guestCount": 2, "guestsWithChildren": "true"},
        [{"beverages": "Aecht Schlenkerla Rauchbier"}, {"beverages": "Apple Juice"}, {"beverages": "Water"}],
    ),
    ("leave_application.dmn", "leave_application", "singleEntry", {"vacationDays": 3, "probation": True}, "refused"),
    ("advertisement_first.dmn", "advertisement_first", "singleEntry", {"user": {"age": 27}}, "Computer"),
    (
        "advertisement_rule_order.dmn",
        "advertisement_rule_order",
        "resultList",
        {"user": {"age": 40}},
        [{"advertisement": "Sports"}],
    ),
    ("loyalty_points_sum.dmn", "loyalty_points", "singleEntry", {"orderTotal": 150, "member": True, "items": 12}, 18),
    ("loyalty_points_sum.dmn", "loyalty_points", "singleEntry", {"orderTotal": 20, "member": False, "items": 1}, None),
    ("shipping_quotes.dmn", "cheapest_quote", "singleEntry", {"parcel": {"weight": 3, "express": False}}, 9.9),
    ("shipping_quotes.dmn", "dearest_quote", "singleEntry", {"parcel": {"weight": 3, "express": False}}, 22.5),
    ("shipping_quotes.dmn", "quote_count", "singleEntry", {"parcel": {"weight": 3, "express": False}}, 3),
    ("shipping_quotes.dmn", "quote_count", "singleEntry", {"parcel": {"weight": 1, "express": True}}, 2),
    ("shipping_quotes.dmn", "quote_count", "singleEntry", {"parcel": {"weight": None, "express": None}}, 0),
    (
        "risk_priority.dmn",
        "risk_priority",
        "singleResult",
        {"payment": {"amount": 20000, "country": "KP"}},
        {"risk": "high", "reason": "sanctioned country"},
    ),
    (
        "risk_priority.dmn",
        "risk_priority",
        "singleResult",
        {"payment": {"amount": 20000, "country": "DE"}},
        {"risk": "medium", "reason": "large amount"},
    ),
    (
        "risk_output_order.dmn",
        "risk_output_order",
        "resultList",
        {"payment": {"amount": 20000, "country": "IR"}},
        [
            {"risk": "high", "reason": "sanctioned country"},
            {"risk": "medium", "reason": "large amount"},
            {"risk": "low", "reason": "standard"},
        ],
    ),
    (
        "contract_dates.dmn",
        "contract_term",
        "singleResult",
        {"contract": {"start": "2026-05-01", "signedAt": "2026-07-01T10:00:00", "notice": "P10D"}},
        {"term": "current, signed late", "reviewOn": "2026-12-01"},
    ),
    (
        "contract_dates.dmn",
        "contract_term",
        "singleResult",
        {"contract": {"start": "2026-05-01", "signedAt": "2026-02-01T10:00:00", "notice": "P60D"}},
        {"term": "current, long notice", "reviewOn": "2026-10-01"},
    ),
    (
        "contract_dates.dmn",
        "contract_term",
        "singleResult",
        {"contract": {"start": "2025-12-31", "signedAt": None, "notice": None}},
        {"term": "legacy", "reviewOn": "2026-03-31"},
    ),
    ("contract_dates.dmn", "contract_term", "singleResult", {"contract": {"start": None}}, {"term": "unknown"}),
    (
        "contract_dates.dmn",
        "contract_term",
        "singleEntry",
        {"contract": {"start": "2027-02-01", "signedAt": None, "notice": None}},
        "future",
    ),
    (
        "customer_tier.dmn",
        "customer_tier",
        "singleResult",
        {"customer": {"vip": True, "segment": "retail"}, "score": 90},
        {"tier": "platinum", "approved": True},
    ),
    (
        "customer_tier.dmn",
        "customer_tier",
        "singleResult",
        {"customer": {"vip": False, "segment": "exceptional"}, "score": 90},
        {"tier": "special", "approved": False},
    ),
    (
        "customer_tier.dmn",
        "customer_tier",
        "singleResult",
        {"customer": {"vip": "false", "segment": "retail"}, "score": "80"},
        {"tier": "standard", "approved": True},
    ),
    (
        "customer_tier.dmn",
        "customer_tier",
        "singleResult",
        {"customer": {"vip": True, "segment": "retail"}, "score": None},
        {"tier": "basic", "approved": False},
    ),
    (
        "customer_tier.dmn",
        "customer_tier",
        "singleEntry",
        {"customer": {"vip": True, "segment": "retail"}, "score": 80},
        None,
    ),  # ]80..100] leaves 80 out
    ("service_fee.dmn", "fee_band", "singleResult", {"amount": 1000}, {"band": "large", "charged": 20.0}),
    ("service_fee.dmn", "fee_band", "singleResult", {"amount": 100}, {"band": "small", "charged": 2.0}),
    ("service_fee.dmn", "service_fee", "singleEntry", {"amount": 250}, 5.0),
    ("discount_dmn11.dmn", "discount", "singleEntry", {"customerType": "business", "orderTotal": 1500}, 0.1),
    ("discount_dmn11.dmn", "discount", "singleEntry", {"customerType": "private", "orderTotal": 10}, 0),
]


@pytest.mark.parametrize(("file", "decision", "mapping", "variables", "expected"), CORPUS_RUNS)
def test_corpus_decision_runs_through_a_business_rule_task_to_the_end(
    file: str, decision: str, mapping: str, variables: dict[str, Any], expected: Any
) -> None:
    data = run_to_end(file, decision, variables, "result", mapping)

    assert data["result"] == expected


def test_every_corpus_file_is_run_through_a_process() -> None:
    run = {case[0] for case in CORPUS_RUNS}

    assert run == {path.name for path in CORPUS.glob("*.dmn")}
    assert len(run) >= 10


def test_without_result_variable_outputs_become_variables_and_multi_hit_outputs_lists() -> None:
    single = run_to_end("dish.dmn", "dish", {"season": "Winter", "guestCount": 2}, None)
    collected = run_to_end(
        "dinner_decisions.dmn", "beverages", {"season": "Winter", "guestCount": 2, "guestsWithChildren": False}, None
    )

    assert single["desiredDish"] == "Roastbeef"
    assert collected["beverages"] == ["Bordeaux", "Water"]


def test_dinner_process_decides_dish_and_beverages_and_routes_on_them() -> None:
    files = {name: (CORPUS / name).read_text(encoding="utf-8") for name in ("dinner.bpmn", "dinner_decisions.dmn")}
    blob = parse_definitions(
        {"processes/dinner.bpmn": files["dinner.bpmn"]},
        {"processes/dinner_decisions.dmn": files["dinner_decisions.dmn"]},
    )["dinner"].blob
    runtime, _ = Runtime.start(1, blob, {"season": "Spring", "guestCount": 6, "guestsWithChildren": True})
    runtime = Runtime.load(1, blob, runtime.dump())

    [task] = runtime.ready_user_tasks()
    assert (task.element_id, task.data["dish"], task.data["beverages"]) == (
        "Activity_buy_juice",
        "Steak",
        ["Pinot Noir", "Apple Juice", "Water"],
    )
    runtime.complete(task.task_id, {})
    assert runtime.is_completed()


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        (
            {"season": "Spring", "guestCount": "many"},
            "decision 'dish' (processes/dish.dmn): input 2 'How many guests' (guestCount): "
            "'many' (text) is not a valid integer",
        ),
        ({"season": "Spring"}, "input 2 'How many guests' (guestCount): no variable 'guestCount' (known: season)"),
    ],
)
def test_a_decision_that_cannot_decide_fails_the_task_naming_decision_input_and_value(
    variables: dict[str, Any], message: str
) -> None:
    with pytest.raises(FlowError, match="the process failed: Activity_decide: ") as failure:
        run_to_end("dish.dmn", "dish", variables)

    assert message in str(failure.value)


def test_unique_table_with_two_matching_rules_fails_instead_of_taking_the_first() -> None:
    overlapping = ("<text>[5..8]</text>", "<text>[4..8]</text>")

    with pytest.raises(
        FlowError,
        match=r"decision 'dish' \(dish.dmn\): hit policy UNIQUE allows one matching rule, "
        r"2 match: rule 3 \(DecisionRule_spring_few\), rule 4 \(DecisionRule_spring_more\)",
    ):
        decide("dish.dmn", "dish", "singleEntry", overlapping, season="Spring", guestCount=4)


def test_any_table_whose_matching_rules_disagree_fails() -> None:
    disagreeing = ("<text>false</text>", "<text>-</text>")  # `applied` no longer needs probation to be over

    with pytest.raises(
        FlowError,
        match=r"hit policy ANY needs the matching rules to give equal outputs, they "
        r"differ: rule 2 \(DecisionRule_probation\), rule 3 \(DecisionRule_applied\)",
    ):
        decide("leave_application.dmn", "leave_application", "singleEntry", disagreeing, vacationDays=5, probation=True)


@pytest.mark.parametrize(
    ("mapping", "message"),
    [
        ("singleEntry", "mapDecisionResult singleEntry needs at most one result, the decision gave 3"),
        ("singleResult", "mapDecisionResult singleResult needs at most one result, the decision gave 3"),
    ],
)
def test_single_mappings_refuse_several_results(mapping: str, message: str) -> None:
    with pytest.raises(FlowError, match=message):
        decide("advertisement_rule_order.dmn", "advertisement_rule_order", mapping, user={"age": 19})


def test_single_entry_refuses_a_result_with_two_outputs() -> None:
    with pytest.raises(FlowError, match="singleEntry needs one output, the result has risk, reason"):
        decide("risk_priority.dmn", "risk_priority", "singleEntry", payment={"amount": 1, "country": "DE"})


def test_version_deployed_before_this_evaluator_still_runs_its_decision() -> None:
    # The blob flowcrm stored for tests/fixtures/camunda_bundle before the engine had its own DMN evaluator: its
    # businessRuleTask is SpiffWorkflow's, which keeps running such versions.
    blob = (CORPUS.parent / "legacy" / "deal_approval_blob.json").read_text(encoding="utf-8")
    runtime, _ = Runtime.start(1, blob, {"record": {"title": "Pumps", "amount": "1500"}})
    [review] = runtime.ready_user_tasks()

    runtime.complete(review.task_id, {})
    runtime = Runtime.load(1, blob, runtime.dump())

    [approval] = runtime.ready_user_tasks()
    assert (approval.element_id, approval.data["approval"]) == ("manager_approval", "manager")
