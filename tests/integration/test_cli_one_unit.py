"""One unit of work per CLI command: its reads and writes share one session (issue 12, item 1)."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from click.testing import CliRunner
from sqlalchemy import event
from sqlalchemy.orm import Session

import cli
from engine.bootstrap import UowFactory
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.integration.find_data import build


def test_a_cli_command_opens_one_unit_of_work_and_one_session(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    build(deployed, actors)
    units: list[UnitOfWork] = []
    sessions: list[Session] = []
    make = UowFactory.__call__

    def counted(self: UowFactory) -> UnitOfWork:
        units.append(make(self))
        return units[-1]

    def began(session: Session, *_args: object) -> None:
        if all(session is not seen for seen in sessions):
            sessions.append(session)

    monkeypatch.setattr(UowFactory, "__call__", counted)
    event.listen(Session, "after_begin", began)
    try:
        found = CliRunner().invoke(cli.main, ["--database-url", db_url, "find", "--as", "sue",
                                              "--filter", json.dumps({"entity": "Contact"}), "--count"])
    finally:
        event.remove(Session, "after_begin", began)
    assert found.exit_code == 0, found.output
    assert int(found.output.split()[0]) >= 1
    assert (len(units), len(sessions)) == (1, 1)
    assert not units[0].is_open  # the command's end closed it
