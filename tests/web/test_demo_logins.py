"""In demo mode the login page lists the demo users of the bundle being served, not always the shipped CRM's."""

from __future__ import annotations

from click.testing import CliRunner
from flask import Flask

from cli import main
from tests.conftest import ROOT
from tests.web.conftest import settings, text
from web import create_app

REAL_ESTATE = ROOT / "examples" / "real_estate"


def test_the_login_page_lists_the_served_examples_demo_users(db_url, deployed):
    app = create_app(settings(db_url, DEMO=True, UOW_FACTORY=deployed, DEMO_SEED=REAL_ESTATE / "demo" / "seed.yaml"))
    page = text(app.test_client().get("/login"))
    assert "maxim" in page
    assert "demo-agent-1" in page
    assert "demo-sales-1" not in page


def test_flowcrm_run_serves_the_demo_logins_of_flowcrm_config(db_url, deployed, monkeypatch):
    served: list[Flask] = []
    monkeypatch.setattr("web.serving.serve", lambda app, _options: served.append(app))
    monkeypatch.setenv("FLOWCRM_CONFIG", str(REAL_ESTATE))
    monkeypatch.setenv("DATABASE_URL", db_url)
    result = CliRunner().invoke(main, ["run", "--demo"])
    assert result.exit_code == 0, result.output
    [app] = served
    assert app.config["DEMO_SEED"] == REAL_ESTATE / "demo" / "seed.yaml"
