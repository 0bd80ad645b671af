"""Reading a DMN 1.1-1.3 document (as Camunda Modeler saves it) into decisions; every problem located."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from engine.errors import Problem
from engine.messages import Message
from engine.processes.dmn import cells
from engine.processes.dmn.feel import Constant, FeelSyntaxError, Test, Value, literal_list, literals_in
from engine.processes.dmn.model import (
    AGGREGATIONS,
    HIT_POLICIES,
    Decision,
    InputClause,
    Literal,
    OutputClause,
    Rule,
    Table,
)
from engine.processes.dmn.values import TYPE_REFS, DecisionFailure, convert, shown

_LOGIC = ("decisionTable", "literalExpression", "context", "invocation", "relation", "list", "functionDefinition")


def _why(exc: cells.CellRefused | FeelSyntaxError) -> str:
    """Why a cell or a list was refused: a Message where the engine said it, else the text."""
    return exc.message or str(exc)


def _local(node: Any) -> str:
    return str(node.tag).rsplit("}", 1)[-1]


class _Reader:
    """Reads one decision; problems are collected, never raised."""

    def __init__(self, path: str, decision: Any, default_language: str | None) -> None:
        self.path = path
        self.node = decision
        self.id = decision.get("id") or ""
        self.default_language = default_language
        self.problems: list[Problem] = []

    def refuse(self, node: Any, message: str) -> None:
        self.problems.append(Problem(self.path, node.sourceline, self.id, message))

    def language(self, node: Any) -> str | None:
        try:
            return cells.language(node.get("expressionLanguage")) or self.default_language
        except cells.CellRefused as exc:
            self.refuse(node, _why(exc))
            return None

    def type_ref(self, node: Any, where: Message) -> str | None:
        type_ref = node.get("typeRef") or node.findtext("{*}typeRef") or None
        if type_ref and type_ref not in TYPE_REFS:
            self.refuse(node, Message("dmn.type_ref_unknown", where=where, type_ref=type_ref,
                                      known=", ".join(TYPE_REFS)))
            return None
        return type_ref

    def decision(self) -> Decision | None:
        logic = [child for child in self.node if isinstance(child.tag, str) and _local(child) in _LOGIC]
        if len(logic) != 1 or _local(logic[0]) not in ("decisionTable", "literalExpression"):
            kinds = ", ".join(_local(n) for n in logic) or Message("config.none")
            self.refuse(self.node, Message("dmn.decision_logic", decision=self.id, kinds=kinds))
            return None
        body = self.table(logic[0]) if _local(logic[0]) == "decisionTable" else self.literal(logic[0])
        required = []
        for requirement in self.node.findall("{*}informationRequirement/{*}requiredDecision"):
            href = requirement.get("href") or ""
            if not href.startswith("#") or len(href) < 2:
                self.refuse(requirement, Message("dmn.required_href", href=href))
                continue
            required.append(href[1:])
        if body is None or self.problems:
            return None
        return Decision(
            self.id, self.node.get("name") or self.id, self.path, self.node.sourceline, body, tuple(required)
        )

    def literal(self, node: Any) -> Literal | None:
        variable = self.node.find("{*}variable")
        name = (variable.get("name") if variable is not None else None) or self.id
        type_ref = self.type_ref(variable if variable is not None else node, Message("dmn.where_variable"))
        text_node = node.find("{*}text")
        text = (text_node.text or "").strip() if text_node is not None else ""
        if not text:
            self.refuse(node, Message("dmn.literal_empty"))
            return None
        try:
            return Literal(name, type_ref, cells.value(text, self.language(node)))
        except cells.CellRefused as exc:
            self.refuse(text_node, Message("dmn.literal_refused", text=text, reason=_why(exc)))
            return None

    def table(self, node: Any) -> Table | None:
        hit_policy = node.get("hitPolicy") or "UNIQUE"
        aggregation = node.get("aggregation") or None
        if hit_policy not in HIT_POLICIES:
            self.refuse(node, Message("dmn.hit_policy_unknown", hit_policy=hit_policy, known=", ".join(HIT_POLICIES)))
        if aggregation and (hit_policy != "COLLECT" or aggregation not in AGGREGATIONS):
            self.refuse(node, Message("dmn.aggregation_needs_collect", aggregation=aggregation,
                                      known=", ".join(AGGREGATIONS)))
        inputs = tuple(self.input_clause(n, i) for i, n in enumerate(node.findall("{*}input"), 1))
        outputs = tuple(self.output_clause(n, i) for i, n in enumerate(node.findall("{*}output"), 1))
        if not outputs:
            self.refuse(node, Message("dmn.no_output"))
        if aggregation and len(outputs) > 1:
            self.refuse(node, Message("dmn.aggregation_one_output", aggregation=aggregation, count=len(outputs)))
        if hit_policy in ("PRIORITY", "OUTPUT ORDER") and not any(o and o.priorities for o in outputs):
            self.refuse(node, Message("dmn.priority_needs_values", hit_policy=hit_policy))
        rules = tuple(self.rule(n, i, inputs, outputs) for i, n in enumerate(node.findall("{*}rule"), 1))
        if any(part is None for part in (*inputs, *outputs, *rules)):
            return None
        return Table(hit_policy, aggregation, inputs, outputs, rules)  # type: ignore[arg-type]

    def input_clause(self, node: Any, index: int) -> InputClause | None:
        label = node.get("label") or node.get("id") or f"input {index}"
        expression = node.find("{*}inputExpression")
        text_node = expression.find("{*}text") if expression is not None else None
        text = (text_node.text or "").strip() if text_node is not None else ""
        if not text:
            self.refuse(node, Message("dmn.input_no_expression", index=index, label=label))
            return None
        type_ref = self.type_ref(expression, Message("dmn.where_input", index=index, label=label))
        try:
            read = cells.value(text, self.language(expression))
        except cells.CellRefused as exc:
            self.refuse(text_node, Message("dmn.input_expression_refused", index=index, label=label, text=text,
                                           reason=_why(exc)))
            return None
        return InputClause(label, text, type_ref, read)

    def output_clause(self, node: Any, index: int) -> OutputClause | None:
        name = node.get("name") or node.get("label") or node.get("id") or f"output{index}"
        values_node = node.find("{*}outputValues/{*}text")
        priorities: tuple[Any, ...] = ()
        if values_node is not None and (values_node.text or "").strip():
            try:
                priorities = tuple(literal_list(values_node.text or ""))
            except FeelSyntaxError as exc:
                self.refuse(values_node, Message("dmn.output_values_refused", index=index, name=name, reason=_why(exc)))
                return None
        return OutputClause(name, self.type_ref(node, Message("dmn.where_output", index=index, name=name)), priorities)

    def rule(
        self, node: Any, index: int, inputs: tuple[InputClause | None, ...], outputs: tuple[OutputClause | None, ...]
    ) -> Rule | None:
        rule_id = node.get("id") or ""
        where = (Message("dmn.where_rule_id", index=index, id=rule_id) if rule_id
                 else Message("dmn.where_rule", index=index))
        entries, results = node.findall("{*}inputEntry"), node.findall("{*}outputEntry")
        if len(entries) != len(inputs) or len(results) != len(outputs):
            self.refuse(node, Message("dmn.rule_entry_count", where=where, entries=len(entries), results=len(results),
                                      inputs=len(inputs), outputs=len(outputs)))
            return None
        tests: list[Test] = []
        values: list[Value | None] = []
        ok = True
        for number, (entry, clause) in enumerate(zip(entries, inputs, strict=True), 1):
            text, line_node = self._text(entry)
            label = clause.label if clause else f"input {number}"
            lang = self.language(entry)
            try:
                tests.append(cells.test(text or "-", lang, clause.text if clause else ""))
            except cells.CellRefused as exc:
                self.refuse(line_node, Message("dmn.input_cell_refused", where=where, number=number, label=label,
                                               text=text, reason=_why(exc)))
                ok = False
                continue
            odd = _odd_literal(text, lang, clause.type_ref if clause else None)
            if odd:
                self.refuse(line_node, Message("dmn.cell_never_matches", where=where, number=number, label=label,
                                               text=text, odd=odd, type_ref=clause.type_ref if clause else ""))
                ok = False
        for number, (entry, out) in enumerate(zip(results, outputs, strict=True), 1):
            text, line_node = self._text(entry)
            name = out.name if out else f"output {number}"
            if not text:
                values.append(None)
                continue
            try:
                value = cells.value(text, self.language(entry))
                if isinstance(value, Constant) and out is not None:
                    convert(out.type_ref, value.value)  # a constant the output's typeRef refuses fails every run
                values.append(value)
            except cells.CellRefused as exc:
                self.refuse(line_node, Message("dmn.output_cell_refused", where=where, number=number, name=name,
                                               text=text, reason=_why(exc)))
                ok = False
            except DecisionFailure as exc:
                self.refuse(line_node, Message("dmn.output_cell_failed", where=where, number=number, name=name,
                                               text=text, reason=str(exc)))
                ok = False
        return Rule(index, rule_id, tuple(tests), tuple(values)) if ok else None

    @staticmethod
    def _text(entry: Any) -> tuple[str, Any]:
        node = entry.find("{*}text")
        return ((node.text or "").strip(), node) if node is not None else ("", entry)


_KINDS: dict[str, tuple[type, ...]] = {
    **dict.fromkeys(("integer", "long", "double", "number"), (int, float)),
    **dict.fromkeys(("date", "dateTime", "date and time"), (date,)),
    "string": (str,),
    "boolean": (bool,),
    "time": (time,),
    "duration": (timedelta,),
}


def _odd_literal(text: str, lang: str | None, type_ref: str | None) -> str | None:
    """A literal of an input entry that can never equal or compare with a value of the input's typeRef."""
    kinds = _KINDS.get(type_ref or "")
    if not kinds or lang not in (None, "feel"):
        return None
    try:
        literals = literals_in(text or "-")
    except FeelSyntaxError:
        return None  # a Python cell
    for literal in literals:
        if literal is not None and (isinstance(literal, bool) != (bool in kinds) or not isinstance(literal, kinds)):
            return shown(literal)
    return None


def read_decisions(tree: Any, path: str) -> tuple[dict[str, Decision], list[Problem]]:
    """Every decision of a parsed DMN document, by id, and what keeps any of them from running."""
    problems: list[Problem] = []
    decisions: dict[str, Decision] = {}
    try:
        default_language = cells.language(tree.get("expressionLanguage"))
    except cells.CellRefused as exc:
        return {}, [Problem(path, tree.sourceline, tree.get("id"), _why(exc))]
    nodes = tree.findall("{*}decision")
    if not nodes:
        problems.append(Problem(path, tree.sourceline, tree.get("id"), Message("dmn.no_decision")))
    for node in nodes:
        decision_id = node.get("id") or ""
        if decision_id in decisions or any(p.element == decision_id for p in problems):
            problems.append(Problem(path, node.sourceline, decision_id,
                                    Message("dmn.decision_id_twice", id=decision_id)))
            continue
        reader = _Reader(path, node, default_language)
        decision = reader.decision()
        problems.extend(reader.problems)
        if decision is not None:
            decisions[decision_id] = decision
    known = {node.get("id") for node in nodes}
    for node in nodes:
        for requirement in node.findall("{*}informationRequirement/{*}requiredDecision"):
            href = requirement.get("href") or ""
            if href.startswith("#") and href[1:] not in known:
                href = href[1:]
                problems.append(Problem(path, requirement.sourceline, node.get("id"), Message(
                    "dmn.required_unknown", href=href, known=", ".join(sorted(str(k) for k in known)))))
    problems.extend(_cycles(decisions, path))
    return decisions, problems


def _cycles(decisions: dict[str, Decision], path: str) -> list[Problem]:
    """A decision that requires itself, directly or through others, could never be evaluated."""
    problems = []
    for start in decisions.values():
        stack: list[tuple[str, tuple[str, ...]]] = [(start.id, (start.id,))]
        seen: set[str] = set()
        while stack:
            current, trail = stack.pop()
            for required in decisions[current].required if current in decisions else ():
                if required == start.id:
                    problems.append(Problem(path, start.line, start.id,
                                            Message("dmn.cycle", trail=" -> ".join((*trail, required)))))
                    stack = []
                    break
                if required not in seen:
                    seen.add(required)
                    stack.append((required, (*trail, required)))
    return problems
