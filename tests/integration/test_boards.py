"""Boards over the shipped CRM: columns with totals under visibility, filters and scopes; moves that go through
the pipeline task, the pipeline itself, or the record edit, and refused moves that change nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from engine.errors import ConflictError, NotFound, ValidationError
from engine.services import boards, records, tasks
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_pipelines import lead_at_advance

MakeUow = Callable[[], UnitOfWork]


def deal(make_uow: MakeUow, who: Actor, title: str, **data: object) -> int:
    return records.create_record(make_uow(), who, "Deal", {"title": title, **data}, NOW).id


def column(view: boards.BoardView, code: str) -> boards.ColumnView:
    return next(c for c in view.columns if c.code == code)


def test_columns_count_and_sum_only_what_the_actor_may_see(deployed: MakeUow, actors: dict[str, Actor]) -> None:
    sam, sue, head = actors["sales"], actors["sales2"], actors["head"]
    deal(deployed, sam, "Sam 1", amount="1000.50")
    deal(deployed, sam, "Sam 2", amount="2000")
    deal(deployed, sue, "Sue 1", amount="500", stage="offer")
    later = NOW + timedelta(days=3)
    mine = boards.board_view(deployed(), sam, "deals", later)
    assert (column(mine, "new").count, column(mine, "new").amount) == (2, "3000.50")
    assert [c.title for c in column(mine, "new").cards] == ["Sam 2", "Sam 1"]
    assert column(mine, "offer").count == 0  # sue's deal is not sam's to see
    card = column(mine, "new").cards[0]
    assert (card.owner, card.amount, card.age_days) == ("sam", "2000.00", 3)
    everything = boards.board_view(deployed(), head, "deals", later)
    assert (column(everything, "offer").count, column(everything, "new").count) == (1, 2)
    only_mine = boards.board_view(deployed(), head, "deals", later, scope="mine")
    assert sum(c.count for c in only_mine.columns) == 0
    team = boards.board_view(deployed(), head, "deals", later, scope="team")
    assert sum(c.count for c in team.columns) == 3


def test_a_filter_outside_the_board_or_an_unknown_scope_is_refused(deployed: MakeUow, actors: dict) -> None:
    with pytest.raises(ValidationError) as bad:
        boards.board_view(deployed(), actors["head"], "requests", NOW, filters={"email": "x"})
    assert "email" in bad.value.errors
    with pytest.raises(ValidationError):
        boards.board_view(deployed(), actors["head"], "requests", NOW, scope="everyone")
    with pytest.raises(NotFound):
        boards.board_view(deployed(), actors["head"], "nope", NOW)


def test_a_deal_move_is_the_card_edit_and_a_required_field_refuses_it(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    deal_id = deal(deployed, sam, "Router", amount="100")
    moved = boards.move_card(deployed(), sam, "deals", deal_id, "offer", NOW)
    assert (moved.column, moved.record.data["stage"]) == ("offer", "offer")
    history = records.record_history(deployed(), sam, deal_id)
    assert [(c.field, c.new_value, c.source) for c in history if c.field == "stage"][-1] == ("stage", "offer", "edit")
    with pytest.raises(ValidationError) as refused:
        boards.move_card(deployed(), sam, "deals", deal_id, "lost", NOW)
    assert refused.value.errors == {"loss_reason": ["must be filled in before moving to Lost"]}
    assert records.get_record(deployed(), sam, deal_id).data["stage"] == "offer"
    with pytest.raises(ConflictError):
        boards.move_card(deployed(), sam, "deals", deal_id, "negotiation", NOW, expected_revision=0)


def test_a_request_move_completes_the_pipeline_task_and_runs_the_stage(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, task_id = lead_at_advance(deployed, actors)
    view = boards.board_view(deployed(), sam, "requests", NOW)
    assert column(view, "new").cards[0].due_task == "Advance the request"
    moved = boards.move_card(deployed(), sam, "requests", lead_id, "qualified", NOW)
    assert moved.record.data["status"] == "qualified"  # the stage's on_enter ran
    assert tasks.get_task(deployed(), sam, task_id).task.state == "completed"  # the process step, not a bypass
    with pytest.raises(ValidationError) as backwards:
        boards.move_card(deployed(), sam, "requests", lead_id, "new", NOW)
    assert backwards.value.errors == {"request_stage": [
        "the pipeline moves on only to: Offer sent, Convert to a deal, Duplicate of another request, Disqualify"]}
    assert records.get_record(deployed(), sam, lead_id).data["request_stage"] == "qualified"


def test_the_won_column_runs_the_final_action_with_its_required_fields(deployed: MakeUow, actors: dict) -> None:
    sam = actors["sales"]
    lead_id, _ = lead_at_advance(deployed, actors)
    records.update_record(deployed(), sam, lead_id, {"budget": None}, NOW)
    with pytest.raises(ValidationError) as refused:
        boards.move_card(deployed(), sam, "requests", lead_id, "won", NOW)
    assert refused.value.errors == {"budget": ["must be filled in before: Convert to a deal"]}
    records.update_record(deployed(), sam, lead_id, {"budget": "90000"}, NOW)
    moved = boards.move_card(deployed(), sam, "requests", lead_id, "won", NOW)
    assert (moved.column, moved.final) == ("won", True)
    deals = boards.board_view(deployed(), sam, "deals", NOW)
    assert [c.amount for c in column(deals, "new").cards] == ["90000.00"]
