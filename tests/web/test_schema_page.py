"""The read-only configuration page: entities, catalog trees, pipelines, rules, templates, in both languages."""

from __future__ import annotations

import re

import pytest

from tests.web.conftest import as_user, text


@pytest.mark.parametrize(("username", "status"), [("hank", 200), ("dina", 200), ("ada", 200), ("otto", 200),
                                                  ("sam", 403)])
def test_who_may_read_the_configuration(app, username, status):
    assert as_user(app, username).get("/admin/schema").status_code == status


def test_the_navigation_links_it_for_those_who_may_read_it(app):
    assert 'href="/admin/schema"' in as_user(app, "dina").get("/designer").get_data(as_text=True)
    assert 'href="/admin/schema"' not in as_user(app, "sam").get("/tasks").get_data(as_text=True)


def test_entities_list_their_fields_with_type_requirement_target_and_both_labels(app):
    page = text(as_user(app, "dina").get("/admin/schema"))
    assert re.search(r"title Title Название string Yes", page)
    assert re.search(r"status Client status Статус клиента enum client_status \(leaves only\)", page)
    assert re.search(r"organization Organization Организация reference Organization", page)


def test_a_catalog_tree_is_drawn_as_nested_lists(app):
    html = as_user(app, "dina").get("/admin/schema").get_data(as_text=True)
    section = html[html.index('id="catalog-client_status"'):]
    section = section[:section.index("</section>")]
    active = section[section.index("<code>active</code>"):section.index("<code>potential</code>")]
    assert "<ul" in active  # the children sit in a list inside the parent's item
    assert "<code>periodic</code>" in active


def test_pipelines_show_stages_in_order_final_markers_and_final_actions(app):
    html = as_user(app, "dina").get("/admin/schema").get_data(as_text=True)
    section = html[html.index('id="pipeline-web_inquiry"'):]
    section = text_of(section[:section.index("</section>")])
    stages = [section.index(f"{code} ") for code in ("new", "qualified", "offer_sent", "won", "lost")]
    assert stages == sorted(stages)
    assert "won Won final" in section
    assert "send_email: {template: offer_conditions, to: email}" in section
    assert re.search(r"convert_to_deal Convert to a deal budget create_record: \{entity: Deal", section)
    assert re.search(r"disqualify Disqualify disqualify_reason set: \{request_stage: lost", section)


def test_rules_show_triggers_computed_names_condition_and_both_branches(app):
    html = as_user(app, "dina").get("/admin/schema").get_data(as_text=True)
    status = text_of(section_of(html, "rule-contact_status_by_deals"))
    assert "linked_changed: {entity: Deal, via: client, fields: [stage]}" in status
    assert "won_deals = count(Deal via client) where stage == 'won'" in status
    assert "When won_deals >= 1" in status
    assert "set: {relationship: client}" in status
    moscow = text_of(section_of(html, "rule-contact_territory_moscow"))
    assert "changed: [region]" in moscow
    assert "Otherwise leave_territory: MSK" in moscow


def test_templates_are_listed_with_their_languages(app):
    assert "offer_conditions EN, RU" in text(as_user(app, "dina").get("/admin/schema"))


def test_the_page_follows_the_language(app):
    page = text(as_user(app, "dina").get("/admin/schema?lang=ru"))
    assert "Справочники" in page
    assert "Заявка с сайта" in page  # the pipeline's label
    assert "Статус клиента по выигранным сделкам" in page  # the rule's label
    assert "Действующий" in page  # a catalog value's label


def section_of(html: str, anchor: str) -> str:
    start = html.index(f'id="{anchor}"')
    return html[start:html.index("</section>", start)]


def text_of(html: str) -> str:
    class Page:
        def get_data(self, as_text: bool) -> str:
            return html

    return text(Page())
