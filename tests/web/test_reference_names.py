"""A record a page names reads by its title everywhere (never "Organization #12"): linked when the user may open it,
plain text with a hint "you cannot open this record" when not (as a CRM lookup does), and a merged one says so,
linking the record it went into."""

from __future__ import annotations

import re
from datetime import timedelta

from engine.quality.merge import merge_records
from engine.services.links import link_records
from engine.services.records import create_record, update_record
from tests.conftest import NOW
from tests.web.conftest import as_user

CLOSED = '<span class="ref-closed" title="{hint}">{title}<span class="visually-hidden"> ({hint})</span></span>'


def section(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</section>", 1)[0]


def test_a_reference_the_seller_may_not_open_reads_as_its_title_without_a_link(app, deployed, actors):
    sam, sue = actors["sales"], actors["sales2"]
    mine = create_record(deployed(), sam, "Organization", {"name": "ООО Ромашка"}, NOW)
    hers = create_record(deployed(), sue, "Organization", {"name": "АО Тайна"}, NOW)
    contact = create_record(
        deployed(), sam, "Contact", {"full_name": "Иван", "email": "i@example.com", "organization": hers.id}, NOW
    )
    html = as_user(app, "sam").get(f"/records/{contact.id}?lang=ru").get_data(as_text=True)
    closed = CLOSED.format(hint="у вас нет доступа к этой записи", title="АО Тайна")
    facts = html.split('class="facts"', 1)[1].split("</dl>", 1)[0]
    assert closed in facts  # the card's field
    assert f'href="/records/{hers.id}"' not in html
    assert "#" + str(hers.id) not in facts

    update_record(deployed(), sam, contact.id, {"organization": mine.id}, NOW + timedelta(minutes=1))
    html = as_user(app, "sam").get(f"/records/{contact.id}").get_data(as_text=True)
    timeline = section(html, 'id="timeline"')
    assert f'<a href="/records/{mine.id}">ООО Ромашка</a>' in timeline
    assert CLOSED.format(hint="you cannot open this record", title="АО Тайна") in timeline
    assert f"Organization #{hers.id}" not in html


def test_the_links_panel_names_a_linked_record_the_seller_may_not_open(app, deployed, actors):
    sam, sue, hank = actors["sales"], actors["sales2"], actors["head"]
    mine = create_record(deployed(), sam, "Contact", {"full_name": "Иван Петров", "email": "i@example.com"}, NOW)
    hers = create_record(deployed(), sue, "Contact", {"full_name": "Мария Петрова", "email": "m@example.com"}, NOW)
    link_records(deployed(), hank, mine.id, hers.id, "spouse", NOW)
    html = as_user(app, "sam").get(f"/records/{mine.id}").get_data(as_text=True)
    links = section(html, 'id="links"')
    assert CLOSED.format(hint="you cannot open this record", title="Мария Петрова") in links
    assert f'href="/records/{hers.id}"' not in links
    assert "Remove link: Мария Петрова" not in links  # not hers to change: the link cannot be removed from here


def test_a_merged_reference_says_so_and_links_the_record_it_went_into(app, deployed, actors):
    sam, hank = actors["sales"], actors["head"]
    old = create_record(deployed(), sam, "Organization", {"name": "ООО Ромашка (дубль)"}, NOW)
    kept = create_record(deployed(), sam, "Organization", {"name": "ООО Ромашка"}, NOW)
    other = create_record(deployed(), sam, "Organization", {"name": "АО Лютик"}, NOW)
    contact = create_record(
        deployed(), sam, "Contact", {"full_name": "Иван", "email": "i@example.com", "organization": old.id}, NOW
    )
    update_record(deployed(), sam, contact.id, {"organization": other.id}, NOW + timedelta(minutes=1))
    merge_records(deployed(), hank, kept.id, old.id, {}, NOW + timedelta(minutes=2))
    html = as_user(app, "sam").get(f"/records/{contact.id}?lang=ru").get_data(as_text=True)
    timeline = section(html, 'id="timeline"')
    assert (
        f'<a href="/records/{old.id}">ООО Ромашка (дубль)</a> <small class="muted">(объединена с '
        f'<a href="/records/{kept.id}">ООО Ромашка</a>)</small>'
    ) in timeline


def test_the_picker_of_a_reference_the_user_may_not_open_shows_its_title(app, deployed, actors):
    sam, sue = actors["sales"], actors["sales2"]
    hers = create_record(deployed(), sue, "Organization", {"name": "АО Тайна"}, NOW)
    contact = create_record(
        deployed(), sam, "Contact", {"full_name": "Иван", "email": "i@example.com", "organization": hers.id}, NOW
    )
    html = as_user(app, "sam").get(f"/records/{contact.id}").get_data(as_text=True)
    assert re.search(r'class="picker-input" value="АО Тайна"', html)
    assert f'value="#{hers.id}"' not in html
