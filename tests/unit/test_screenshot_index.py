"""docs/screenshots (written by `make screenshots`) holds every main page at both widths in English and as a
Russian-speaking user, each in its own file, and its index lists every one of them."""

from __future__ import annotations

import re

from tests.browser.screenshots import LANGUAGES, OUT, SHOTS, WIDTHS
from tests.conftest import ROOT


def test_the_committed_index_lists_every_page_in_every_language_at_every_width() -> None:
    index = (OUT / "README.md").read_text(encoding="utf-8")
    linked = re.findall(r'<img src="([^"]+)"', index)
    wanted = [f"{shot.name}{language.suffix}-{width}.png" for language in LANGUAGES for shot in SHOTS
              for width in WIDTHS]

    assert sorted(linked) == sorted(wanted)
    assert sorted(p.name for p in OUT.glob("*.png")) == sorted(wanted)  # none missing, none left over
    assert "## In Russian, as a user in Europe/Moscow" in index
    assert '<img src="inbox-ru-375.png" alt="Входящие продавца (Борис): пул задач, 375 px"' in index
    assert OUT == ROOT / "docs" / "screenshots"


def test_the_screenshots_show_the_board_and_the_header_search_of_the_sales_day() -> None:
    names = {shot.name: shot for shot in SHOTS}

    assert {"board", "search"} <= set(names)  # issue 13's pipeline board and search, not only the older pages
    assert (names["board"].user, names["search"].user) == ("helen", "anna")  # the roles that use them
