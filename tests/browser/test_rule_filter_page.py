"""A designer working in Russian (Moscow time) reads a rule with a `where:` filter on the configuration page: the
filter is shown as it reads in the YAML, and the rule is not described as firing "always"."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from engine.bootstrap import UowFactory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.users import create_user, get_actor, set_preferences
from tests.conftest import NOW, PASSWORD, ROOT

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
RULE = """\
rule: vip_in_moscow
label: {en: VIP in Moscow, ru: VIP в Москве}
entity: Contact
on:
  - created
  - changed: [region, tags]
where:
  all:
    - {field: region, op: eq, value: moscow}
    - {field: tags, op: has_any, value: [vip]}
actions:
  - set: {category: key_account}
"""


@pytest.fixture
def seed(browser_db: UowFactory) -> None:
    """dina (designer, Russian, Moscow time) and the shipped bundle with one rule that takes a filter."""
    make_uow = browser_db
    dina = create_user(make_uow(), "dina", PASSWORD, ["designer"], NOW, display_name="Дина", locale="ru")
    set_preferences(make_uow(), get_actor(make_uow(), dina.id), locale="ru", timezone="Europe/Moscow")
    files = read_bundle_dir(ROOT)
    files["crm_model/rules/vip_in_moscow.yaml"] = RULE
    deploy_bundle(make_uow(), get_actor(make_uow(), dina.id), files, NOW)


def test_a_designer_reads_a_rules_filter_on_the_configuration_page(live_server: str, seed: None, page: Page) -> None:
    from playwright.sync_api import expect

    base = live_server
    page.goto(f"{base}/login")
    page.fill("#username", "dina")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{base}/admin/schema#rule-vip_in_moscow")
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    section = page.locator("#rule-vip_in_moscow")
    expect(section.locator("h2")).to_contain_text("VIP в Москве")
    expect(section.locator("dt", has_text="Фильтр")).to_have_count(1)
    expect(section.locator("code.rule-where")).to_have_text(
        "{all: [{field: region, op: eq, value: moscow}, {field: tags, op: has_any, value: [vip]}]}"
    )
    expect(section.locator("dt", has_text="Условие")).to_have_count(0)  # no `when`, and not "always" either
    expect(section).not_to_contain_text("всегда")
    expect(section).to_contain_text("set: {category: key_account}")
    shipped = page.locator("#rule-territory_moscow")  # a rule with an expression keeps showing it
    expect(shipped.locator("dt", has_text="Условие")).to_have_count(1)
    expect(shipped.locator("dt", has_text="Фильтр")).to_have_count(0)
