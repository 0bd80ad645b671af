"""Boards in the bundle: the shipped ones load, and each mistake is reported with its file and line."""

from __future__ import annotations

import pytest

from engine.config.loader import load_bundle
from engine.errors import ConfigError
from engine.messages import localized

BAD = """board: deals
label: {en: Deals, ru: Сделки}
entity: Deal
stage_field: title
amount_field: stage
"""


def problems(files: dict[str, str], path: str, text: str) -> list[str]:
    with pytest.raises(ConfigError) as error:
        load_bundle({**files, path: text})
    return [f"{p.file}:{p.line}: {p.message}" for p in error.value.problems]


def test_the_shipped_boards_load(bundle_files: dict[str, str]) -> None:
    boards = load_bundle(bundle_files).boards
    assert sorted(boards) == ["deals", "requests"]
    assert boards["requests"].column("won").via == "convert_to_deal"  # type: ignore[union-attr]
    assert boards["deals"].column("lost").requires == ("loss_reason",)  # type: ignore[union-attr]


def test_a_board_that_names_no_enum_stage_is_refused_with_its_line(bundle_files: dict[str, str]) -> None:
    found = problems(bundle_files, "crm_model/boards/deals.yaml", BAD)
    assert found == ["crm_model/boards/deals.yaml:4: stage_field 'title' must name an enum field of Deal "
                     "(its catalog values are the columns)"]


def test_columns_filters_and_via_are_checked(bundle_files: dict[str, str]) -> None:
    text = ("board: requests\nlabel: {en: R, ru: Р}\nentity: Lead\nstage_field: request_stage\n"
            "amount_field: title\nfilters: [email]\ncolumns:\n  - {code: new, via: nothing}\n  - {code: gone}\n"
            "  - {code: won, requires: [nope], colour: red}\n")
    found = problems(bundle_files, "crm_model/boards/requests.yaml", text)
    assert found == [
        "crm_model/boards/requests.yaml:5: amount_field 'title' must name a money, decimal, integer field of Lead",
        "crm_model/boards/requests.yaml:6: filters: email is a email field; only enum fields may be used",
        "crm_model/boards/requests.yaml:8: via: 'nothing' is no final action of a Lead pipeline on request_stage; "
        "final actions: convert_to_deal, disqualify, duplicate",
        "crm_model/boards/requests.yaml:9: 'gone' is not a value of Lead.request_stage; values: new, "
        "callback_scheduled, partner_confirmed, qualified, needs_identified, meeting_held, offer_sent, won, lost",
        "crm_model/boards/requests.yaml:10: unknown key 'colour'; expected: code, via, requires",
        "crm_model/boards/requests.yaml:10: Lead has no field 'nope'; fields: " + ", ".join(
            load_bundle(bundle_files).entities["Lead"].fields),
    ]


def test_a_boards_problems_read_in_russian_with_their_lines(bundle_files: dict[str, str]) -> None:
    text = ("board: requests\nlabel: {en: R, ru: Р}\nentity: Lead\nstage_field: request_stage\n"
            "amount_field: title\ncolumns:\n  - {code: new}\n  - {code: new}\n  - {code: gone}\n")
    with pytest.raises(ConfigError) as error:
        load_bundle({**bundle_files, "crm_model/boards/requests.yaml": text})
    found = [f"{p.line}: {localized(p.message, 'ru')}" for p in error.value.problems]
    assert found == [
        "5: amount_field 'title' должен быть полем типа money, decimal, integer сущности Lead",
        "8: столбец 'new' указан дважды",
        "9: 'gone' — не значение Lead.request_stage; значения: new, callback_scheduled, partner_confirmed, qualified, "
        "needs_identified, meeting_held, offer_sent, won, lost",
    ]
