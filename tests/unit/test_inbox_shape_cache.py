"""The inbox's statement shapes (engine/store/work_repos.py `_shape`): the shapes used last are kept, so a page
whose shape came after the cache filled is built once, not on every request."""

from __future__ import annotations

import pytest

from engine.store import work_repos


@pytest.fixture
def shapes(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, int]]:
    """An empty cache of the usual size; the keys built, in order."""
    monkeypatch.setattr(work_repos, "_SHAPES", type(work_repos._SHAPES)())
    return []


def _get(key: tuple[str, int], built: list[tuple[str, int]]) -> object:
    def build() -> object:
        built.append(key)
        return object()

    return work_repos._shape(key, build)


def test_a_shape_first_used_after_the_cache_filled_is_built_once(shapes: list[tuple[str, int]]) -> None:
    for n in range(work_repos._MAX_SHAPES):
        _get(("filled", n), shapes)
    late = ("late", 0)
    first = _get(late, shapes)
    assert _get(late, shapes) is first
    assert shapes.count(late) == 1  # the code before built it on every call once 512 shapes were kept


def test_the_shape_used_longest_ago_makes_room_and_the_cache_stays_bounded(shapes: list[tuple[str, int]]) -> None:
    hot = ("hot", 0)
    kept = _get(hot, shapes)
    for n in range(3 * work_repos._MAX_SHAPES):
        _get(("page", n), shapes)
        assert _get(hot, shapes) is kept  # used on every request: never evicted
    assert len(work_repos._SHAPES) == work_repos._MAX_SHAPES
    assert shapes.count(hot) == 1
    _get(("page", 0), shapes)  # long evicted: built again
    assert shapes.count(("page", 0)) == 2
