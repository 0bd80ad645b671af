"""A team is shown by its label from the bundle's settings (`teams: [{name: moscow, label: …}]`) wherever the UI
names it: the signed-in user's header and the report's team filter — not by its code."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from typing import Any

from flask import Flask

from engine.services.users import create_user
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD
from tests.web.conftest import as_user


def test_a_moscow_seller_and_the_report_filter_name_the_team_by_its_label(
        app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Any]) -> None:
    create_user(deployed(), "mila", PASSWORD, ["sales"], NOW, team="moscow")
    mila = as_user(app, "mila")
    russian = mila.get("/tasks?lang=ru").get_data(as_text=True)
    assert "Продажи · Московская команда" in html.unescape(russian)
    english = mila.get("/tasks?lang=en").get_data(as_text=True)
    assert "· Moscow team" in html.unescape(english)

    hank = as_user(app, "hank")
    page = html.unescape(hank.get("/reports/seller_activity?lang=ru").get_data(as_text=True))
    options = dict(re.findall(r'<option value="([a-z_]+)"[^>]*>([^<]+)</option>',
                              page[page.index('id="report-team"'):].split("</select>")[0]))
    assert options["moscow"] == "Московская команда"
    assert options["north"] == "north"  # a team the settings do not label keeps its code
