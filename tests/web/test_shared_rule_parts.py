"""The suite's apps share parsed URL rules (tests/conftest.py SharedRuleParts): an app built after the first parses
no rule string again, and its rules route and build URLs exactly as rules Werkzeug parsed itself."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import Rule, rules

from web import create_app

SETTINGS = {"DATABASE_URL": "sqlite:////nonexistent/app.sqlite", "TESTING": True, "SECRET_KEY": "x"}
PATHS = ["/records/12", "/records/Lead", "/api/v1/records/5", "/static/app.css", "/inbox/", "/nowhere"]


class CountedMatches:
    """Werkzeug's rule-part pattern, counting its matches (each step of parsing a rule string is one)."""

    def __init__(self, pattern: Any) -> None:
        self.pattern, self.matches = pattern, 0

    def match(self, *args: Any) -> Any:
        self.matches += 1
        return self.pattern.match(*args)


def described(app: Flask) -> list[Any]:
    """Each rule's parsed parts, trace, arguments and converters."""
    def converters(rule: Rule) -> dict[str, Any]:
        return {name: (type(c), c.regex, c.weight, c.part_isolating, c.map is app.url_map)
                for name, c in rule._converters.items()}

    return [(rule.rule, rule.endpoint, rule._parts, rule._trace, sorted(rule.arguments), converters(rule))
            for rule in app.url_map.iter_rules()]


def answers(app: Flask) -> list[Any]:
    """What the app's URL map answers for PATHS, and URLs built for a few endpoints."""
    urls = app.url_map.bind("localhost")
    found: list[Any] = []
    for path in PATHS:
        try:
            found.append(urls.match(path))
        except Exception as exc:
            found.append(type(exc).__name__)
    found += [urls.build("records.card", {"record_id": 7}), urls.build("static", {"filename": "a b.css", "v": 2})]
    return found


def test_an_app_built_after_the_first_parses_no_rule_string_again(monkeypatch: pytest.MonkeyPatch) -> None:
    create_app(SETTINGS)
    counted = CountedMatches(rules._part_re)
    monkeypatch.setattr(rules, "_part_re", counted)
    create_app(SETTINGS)
    assert counted.matches == 0  # the code before parsed each of the ~150 rule strings again (1,000+ matches)


def test_shared_rule_parts_route_and_build_as_werkzeugs_own(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = create_app(SETTINGS)
    monkeypatch.setattr(Rule, "_parse_rule", getattr(Rule._parse_rule, "__wrapped__", Rule._parse_rule))
    plain = create_app(SETTINGS)
    assert described(shared) == described(plain)
    assert answers(shared) == answers(plain)
    assert len(described(plain)) > 100
