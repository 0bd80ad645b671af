"""`flowcrm check` never prints a traceback: mutated BPMN files (attributes and elements dropped, ids swapped, text
truncated) give located problems only."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest
from lxml import etree

from engine.config.loader import read_bundle_dir
from engine.errors import ConfigError, Problem
from engine.processes.spiff import parse_definitions
from tests.conftest import ROOT

SOURCES = sorted([*(ROOT / "processes").glob("*.bpmn"), *(ROOT / "tests" / "fixtures").glob("*/processes/*.bpmn")])
DMN = {p: t for p, t in read_bundle_dir(ROOT).items() if p.endswith(".dmn")}
MUTANTS_PER_FILE = 8


def _drop_attribute(tree: etree._Element, rng: random.Random) -> None:
    node = rng.choice([n for n in tree.iter() if isinstance(n.tag, str) and n.attrib])
    del node.attrib[rng.choice(sorted(node.attrib))]


def _drop_element(tree: etree._Element, rng: random.Random) -> None:
    node = rng.choice([n for n in tree.iter() if isinstance(n.tag, str) and n.getparent() is not None])
    node.getparent().remove(node)


def _swap_ids(tree: etree._Element, rng: random.Random) -> None:
    a, b = rng.sample([n for n in tree.iter() if isinstance(n.tag, str) and n.get("id")], 2)
    first, second = a.get("id"), b.get("id")
    a.set("id", second)
    b.set("id", first)


def _blank_text(tree: etree._Element, rng: random.Random) -> None:
    node = rng.choice([n for n in tree.iter() if isinstance(n.tag, str) and (n.text or "").strip()] or [tree])
    node.text = rng.choice(["", "${", "${a.b(", "R/", "0 0 9 * * ?", "PT", "1/0", "${x ? y}", "#{}", "'"])


MUTATIONS = (_drop_attribute, _drop_element, _swap_ids, _blank_text)


def mutants(path: Path) -> list[tuple[str, str]]:
    """(description, text) of seeded mutations of one file."""
    text = path.read_text(encoding="utf-8")
    rng = random.Random(path.name)  # noqa: S311 - seeded mutations, not secrets
    found = []
    for index in range(MUTANTS_PER_FILE):
        if index % 4 == 3:
            cut = rng.randrange(len(text))
            found.append((f"truncated at {cut}", text[:cut]))
            continue
        tree = etree.fromstring(text.encode())
        mutation = MUTATIONS[index % len(MUTATIONS)]
        for _ in range(rng.randint(1, 3)):
            mutation(tree, rng)
        found.append((f"{mutation.__name__} #{index}", etree.tostring(tree, encoding="unicode")))
    return found


def _linked(source: Path) -> dict[str, str]:
    """The other files of the folder that call, or are called by, a process of `source` (parsed beside it)."""
    texts = {p: p.read_text(encoding="utf-8") for p in source.parent.glob("*.bpmn")}
    called = {p: set(re.findall(r'calledElement="([^"]+)"', t)) for p, t in texts.items()}
    defines = {p: set(re.findall(r'<bpmn:process id="([^"]+)"', t)) for p, t in texts.items()}
    return {
        f"processes/{p.name}": t
        for p, t in texts.items()
        if p != source and (called[p] & defines[source] or called[source] & defines[p])
    }


@pytest.mark.parametrize("source", SOURCES, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_mutated_bpmn_gives_located_problems_never_a_traceback(source: Path) -> None:
    path = f"processes/{source.name}"
    others = _linked(source)
    for description, text in mutants(source):
        problems: list[Problem] = []
        try:
            bpmn = {**others, path: text}  # the file's neighbours: processes its call activities run
            parse_definitions(bpmn, DMN, timezone="Europe/Moscow", resources={}, warnings=problems)
        except ConfigError as exc:
            problems += exc.problems
        for problem in problems:
            assert problem.file == path or problem.file in others, (description, problem)
            assert problem.line is not None or problem.element, (description, str(problem))
            assert "Traceback" not in problem.message, (description, problem)
