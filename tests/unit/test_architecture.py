"""The dependency rules of docs/architecture.md, checked on the source."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ENGINE = sorted((ROOT / "engine").rglob("*.py"))
CRM_WORDS = re.compile(r"\b(lead|leads|deal|deals|contact|contacts|crm|salesperson)\b", re.IGNORECASE)


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("path", ENGINE, ids=rel)
def test_engine_never_imports_the_web_layer(path: Path) -> None:
    bad = {m for m in imported_modules(path) if m.split(".")[0] in {"web", "flask", "flask_wtf", "werkzeug"}}
    assert not bad, f"{rel(path)} imports {bad}"


def test_only_the_adapter_imports_spiffworkflow() -> None:
    users = {rel(p) for p in ENGINE if any(m.startswith("SpiffWorkflow") for m in imported_modules(p))}
    outside = {u for u in users if not u.startswith("engine/processes/spiff/")}
    assert not outside, f"SpiffWorkflow imported outside the adapter package: {outside}"
    assert users, "the adapter package imports SpiffWorkflow"


def test_only_the_store_imports_sqlalchemy() -> None:
    users = {rel(p) for p in ENGINE if any(m.split(".")[0] in {"sqlalchemy", "alembic"} for m in imported_modules(p))}
    outside = {u for u in users if not u.startswith("engine/store/")}
    assert not outside, f"SQLAlchemy used outside engine/store: {outside}"


@pytest.mark.parametrize("path", ENGINE, ids=rel)
def test_engine_code_knows_no_crm_word(path: Path) -> None:
    words = {m.group(0).lower() for m in CRM_WORDS.finditer(path.read_text(encoding="utf-8"))}
    assert not words, f"{rel(path)} mentions {words}: the engine is generic, the CRM is configuration"


def test_the_layer_contracts_of_pyproject_hold() -> None:
    linter = Path(sys.executable).with_name("lint-imports")
    done = subprocess.run([str(linter), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def _late_imports(path: Path) -> set[str]:
    """Modules imported inside a function body (a late import can hide an import cycle)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            found.update(n.module for n in ast.walk(node) if isinstance(n, ast.ImportFrom) and n.module)
    return found


def test_services_and_rules_import_each_other_only_at_module_level() -> None:
    hidden = {
        f"{rel(path)} -> {module}"
        for path in ENGINE
        for module in _late_imports(path)
        if (rel(path).startswith(("engine/services/", "engine/records/")) and module.startswith("engine.rules"))
        or (rel(path).startswith(("engine/rules/", "engine/quality/")) and module.startswith("engine.services"))
    }
    assert not hidden, f"late imports hiding a services<->rules cycle: {sorted(hidden)}"


PERMISSION_CALL = re.compile(r"\b(?:require_permission|can)\(\s*[\w().]+,\s*\"([\w.]+)\"")


def test_services_ask_named_permissions_of_the_one_policy_module() -> None:
    from engine.services.access import PERMISSIONS

    role_gates = {rel(p) for p in ENGINE if re.search(r"\brequire\(", p.read_text(encoding="utf-8"))}
    assert role_gates <= {"engine/services/access.py"}, f"role tuples checked outside the policy: {role_gates}"
    asked = {name for p in ENGINE for name in PERMISSION_CALL.findall(p.read_text(encoding="utf-8"))}
    assert asked, "the services ask named permissions"
    assert asked <= PERMISSIONS.keys(), f"unknown permissions: {asked - PERMISSIONS.keys()}"


SESSION_USE = re.compile(r"\buow\.session\b")


def test_only_the_store_reaches_into_the_session_of_a_unit_of_work() -> None:
    sources = [*ENGINE, *sorted((ROOT / "web").rglob("*.py")), *sorted((ROOT / "cli").rglob("*.py"))]
    reaching = {rel(p) for p in sources
                if not rel(p).startswith("engine/store/") and SESSION_USE.search(p.read_text(encoding="utf-8"))}
    assert not reaching, f"queries outside the repositories of engine/store: {sorted(reaching)}"


def test_no_module_keeps_a_calendar_or_a_clock_for_the_whole_process() -> None:
    setters = {rel(p) for p in ENGINE if re.search(r"\bdef (use_calendar|set_clock|active_calendar)\(",
                                                  p.read_text(encoding="utf-8"))}
    assert not setters, f"process-wide calendar or clock: {setters}"
