"""The tuning page (score distribution, precision/recall, dry run of thresholds) and the match-weight waterfall
on the compare page of a pair a probabilistic rule found. The Person model of bench/person_model/ is deployed
beside the shipped CRM; 150 generated people (bench/synthetic_en.py), unowned, scanned once."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import cast

import pytest
from flask import Flask

from bench.dedup_en import insert_people, person_files
from bench.synthetic_en import person_base
from engine.bootstrap import UowFactory
from engine.processes.deployed import active_bundle
from engine.quality.scan import rebuild_keys, scan
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.web.conftest import as_user, text


@pytest.fixture
def bundle_files() -> dict[str, str]:
    """The shipped CRM plus the Person entity with its probabilistic rule."""
    return person_files()


def _scanned(deployed: Callable[[], UnitOfWork]) -> int:
    """Insert and scan the people; the id of the best open pair."""
    insert_people(cast(UowFactory, deployed), person_base(150, seed=11))
    bundle, _ = active_bundle(deployed())
    rebuild_keys(deployed(), bundle, "Person")
    scan(deployed(), bundle, "Person", NOW)
    with deployed() as uow:
        return uow.quality.queue("Person", limit=1)[0].id


def test_tuning_page_shows_the_distribution_quality_and_a_dry_run(app: Flask, deployed, actors) -> None:
    _scanned(deployed)
    hank = as_user(app, "hank")
    page = hank.get("/duplicates/tuning?entity=Person")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Duplicate rule tuning" in text(page)
    counts = [int(n) for n in re.findall(r'class="bucket" data-from="\d+" data-count="(\d+)"', html)]
    assert len(counts) == 10
    compared = int(re.search(r"Scores of the compared pairs \((\d+)\)", text(page))[1])
    assert sum(counts) == compared > 0
    assert "Pairs that would open: 0, close: 0" in text(page)  # the deployed threshold, just scanned
    learned = re.search(r'<section class="card" id="weights-same_person">(.*?)</section>', html, re.S)
    assert learned is not None
    assert "Learned weights of rule “same_person”" in learned[1]  # no label in the Person model: its name
    assert re.search(r"trained on \d+ pairs, 0 of them reviewed", learned[1])
    assert learned[1].count("<tr>") == 1 + 6 + 5 + 4 + 4 + 4  # header, then the levels of the five comparisons
    tried = hank.get("/duplicates/tuning?entity=Person&threshold.same_person=0.9999999")
    closing = int(re.search(r"Pairs that would open: 0, close: (\d+)", text(tried))[1])
    assert closing > 0
    assert 'value="0.9999999"' in tried.get_data(as_text=True)
    wrong = hank.get("/duplicates/tuning?entity=Person&threshold.same_person=3")
    assert "a probabilistic threshold is a match probability between 0 and 1, not 3.0" in text(wrong)
    assert 'href="/duplicates/tuning' in hank.get("/duplicates").get_data(as_text=True)
    assert as_user(app, "sam").get("/duplicates/tuning").status_code == 403
    assert as_user(app, "otto").get("/duplicates/tuning").status_code == 403
    assert 'href="/duplicates/tuning' not in as_user(app, "otto").get("/duplicates").get_data(as_text=True)


def test_compare_page_draws_the_match_weights_of_a_probabilistic_pair(app: Flask, deployed, actors) -> None:
    pair = _scanned(deployed)
    page = as_user(app, "hank").get(f"/duplicates/{pair}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    steps = re.findall(r'<g class="step( total)?" data-level="([a-z_]+)" data-weight="(-?[\d.]+)"', html)
    assert steps[0][1] == "prior"
    assert steps[-1][0] == " total"
    assert len(steps) == 2 + 5  # prior, five comparisons, total
    weights = [float(w) for _, _, w in steps]
    assert sum(weights[:-1]) == pytest.approx(weights[-1], abs=0.05)
    assert "Match probability" in text(page)
    assert "Given name + Surname" in text(page)
