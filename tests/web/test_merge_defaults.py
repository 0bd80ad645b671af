"""The merge page's default picks keep the survivor's non-empty values and only fill its blanks, and say which
record each value comes from; merging with those defaults leaves a curated record as it was."""

from __future__ import annotations

import re

from engine.services.records import create_record, get_record
from tests.conftest import NOW
from tests.web.conftest import as_user, text
from tests.web.test_duplicates_ui import pair_of

CURATED = {"full_name": "Иванов Иван", "phone": "+7 916 000-00-01", "status": "permanent"}
RAW = {"full_name": "ivanov ivan", "phone": "89160000001", "status": "probable", "email": "ivan@example.com"}


def curated_and_raw(deployed, actors):
    """A curated contact and, written later, a raw duplicate of it; their open pair."""
    old = create_record(deployed(), actors["head"], "Contact", CURATED, NOW).id
    new = create_record(deployed(), actors["head"], "Contact", RAW, NOW).id
    return old, new, pair_of(deployed, old, new, entity="Contact")


def checked_picks(html: str) -> dict[str, str]:
    return dict(re.findall(r'name="(pick\.[a-z_]+)" value="([ab])"[^>]* checked', html))


def test_merge_defaults_keep_the_survivors_values_and_fill_only_its_blanks(app, deployed, actors):
    old, new, pair = curated_and_raw(deployed, actors)
    hank = as_user(app, "hank")
    html = hank.get(f"/duplicates/{pair}").get_data(as_text=True)
    assert checked_picks(html) == {"pick.full_name": "a", "pick.phone": "a", "pick.status": "a", "pick.email": "b"}
    assert re.search(r'name="survivor" value="a" checked', html)
    body = text(type("R", (), {"get_data": lambda self, as_text: html})())
    assert f"#{old}: kept" in body
    assert f"#{new}: fills a blank" in body

    response = hank.post(
        f"/duplicates/{pair}/merge",
        data={
            "survivor": "a",
            **checked_picks(html),
            "revision_a": get_record(deployed(), actors["head"], old).revision,
            "revision_b": get_record(deployed(), actors["head"], new).revision,
        },
    )
    assert response.status_code == 302
    survivor = get_record(deployed(), actors["head"], old)
    assert {k: survivor.data.get(k) for k in (*CURATED, "email")} == {**CURATED, "email": "ivan@example.com"}


def test_the_merge_page_says_in_russian_where_each_value_comes_from(app, deployed, actors):
    old, new, pair = curated_and_raw(deployed, actors)
    body = text(as_user(app, "hank").get(f"/duplicates/{pair}?lang=ru"))
    assert "По умолчанию" in body
    assert f"№{old}: остаётся" in body
    assert f"№{new}: заполняет пустое поле" in body
