"""JSON Schema to widgets and posted strings back to values (no database, no app)."""

from __future__ import annotations

from werkzeug.datastructures import MultiDict

from web.forms_render import (
    build_widgets,
    field_kind,
    localized,
    record_values,
    submitted_values,
    unplaced_errors,
)

SCHEMA = {
    "title": "Visit", "x-title": {"ru": "Визит"}, "type": "object", "required": ["outcome", "when"],
    "properties": {
        "outcome": {"type": "string", "x-label": {"en": "Outcome", "ru": "Итог"}, "enum": ["won", "lost"],
                    "x-enum-labels": {"won": {"en": "Won", "ru": "Выиграна"}, "lost": {"en": "Lost"}}},
        "when": {"type": "string", "format": "date-time", "title": "When", "x-field-type": "datetime"},
        "budget": {"type": ["number", "string"], "title": "Budget", "x-field-type": "money"},
        "seats": {"type": "integer", "title": "Seats", "minimum": 1},
        "vip": {"type": "boolean", "title": "VIP"},
        "tags": {"type": "array", "items": {"type": "string", "enum": ["a", "b"]}, "title": "Tags"},
        "notes": {"type": "string", "title": "Notes", "x-field-type": "text", "maxLength": 50},
        "email": {"type": "string", "title": "Email", "x-field-type": "email"},
        "phone": {"type": "string", "title": "Phone", "x-field-type": "phone"},
        "site": {"type": "string", "title": "Site", "format": "uri"},
        "day": {"type": "string", "title": "Day", "format": "date"},
        "contact": {"type": "integer", "title": "Contact", "x-field-type": "reference", "x-entity": "Contact"},
    },
}


def widgets(**kwargs):
    options = {"values": {}, "errors": {}, "locale": "en", **kwargs}
    return {w.name: w for w in build_widgets(SCHEMA, kwargs.pop("ui", {}), options["values"], options["errors"],
                                             locale=options["locale"], currency="RUB",
                                             titles=kwargs.get("titles"))}


def test_each_type_gets_its_widget():
    kinds = {name: w.kind for name, w in widgets().items()}
    assert kinds == {"outcome": "select", "when": "datetime", "budget": "decimal", "seats": "integer",
                     "vip": "checkbox", "tags": "checkboxes", "notes": "textarea", "email": "email", "phone": "tel",
                     "site": "url", "day": "date", "contact": "reference"}


def test_ui_hints_pick_the_widget_and_the_order():
    assert field_kind(SCHEMA["properties"]["outcome"], {"widget": "radio"}) == "radio"
    assert field_kind(SCHEMA["properties"]["email"], {"widget": "textarea"}) == "textarea"
    ordered = build_widgets(SCHEMA, {"order": ["notes", "outcome"]}, {}, {}, locale="en")
    assert [w.name for w in ordered][:3] == ["notes", "outcome", "when"]


def test_labels_follow_the_locale_with_english_fallback():
    found = widgets(locale="ru")
    assert found["outcome"].label == "Итог"
    assert found["when"].label == "When"
    assert [(o.value, o.label) for o in found["outcome"].options] == [("won", "Выиграна"), ("lost", "Lost")]
    assert widgets(locale="en")["outcome"].label == "Outcome"


def test_x_label_wins_over_the_old_title_and_falls_back_to_english():
    both = {"x-label": {"en": "Outcome", "ru": "Итог"}, "title": "Result", "x-title": {"ru": "Результат"}}
    assert (localized(both, "ru"), localized(both, "en")) == ("Итог", "Outcome")
    english_only = {"x-label": {"en": "Outcome"}, "x-title": {"ru": "Результат"}}
    assert localized(english_only, "ru") == "Outcome"


def test_an_old_style_title_and_x_title_still_label_the_form():
    old = {"title": "Visit", "x-title": {"ru": "Визит"}}
    assert (localized(old, "ru"), localized(old, "en"), localized({}, "ru", "visit")) == ("Визит", "Visit", "visit")


def test_required_values_errors_and_references():
    found = widgets(values={"outcome": "lost", "tags": ["b"], "vip": True, "when": "2026-03-02T12:00:00+03:00",
                            "contact": 7},
                    errors={"seats": ["must be at least 1"], "": ["whole form"], "ghost": ["hidden field"]},
                    titles={7: "Ivan"})
    assert found["outcome"].required
    assert not found["budget"].required
    assert [o.value for o in found["outcome"].options if o.selected] == ["lost"]
    assert [o.value for o in found["tags"].options if o.selected] == ["b"]
    assert found["vip"].value == "true"
    assert found["when"].value == "2026-03-02T09:00"  # shown in UTC
    assert found["seats"].errors == ["must be at least 1"]
    assert found["budget"].suffix == "RUB"
    assert found["contact"].kind == "reference"  # a search-as-you-type picker, never a list of every record
    assert (found["contact"].value, found["contact"].attrs["title"], found["contact"].attrs["entity"]) == (
        "7", "Ivan", "Contact")
    assert widgets(values={"contact": 8}, titles={7: "Ivan"})["contact"].attrs["title"] == "#8"  # not visible
    assert unplaced_errors({"": ["whole form"], "ghost": ["hidden field"], "seats": ["x"]},
                           list(found.values()), "en") == ["whole form", "ghost: hidden field"]


def test_posted_strings_become_values():
    form = MultiDict([("outcome", "won"), ("tags", "a"), ("tags", "b"), ("vip", "false"), ("vip", "true"),
                      ("when", "2026-03-02T09:30"), ("budget", "1 200,50"), ("seats", "3"), ("notes", ""),
                      ("unknown", "ignored")])
    raw = submitted_values(SCHEMA, {}, form)
    assert raw == {"outcome": "won", "tags": ["a", "b"], "vip": "true", "when": "2026-03-02T09:30:00+00:00",
                   "budget": "1 200,50", "seats": "3", "notes": ""}
    assert record_values(SCHEMA, raw) == {"outcome": "won", "tags": ["a", "b"], "vip": True,
                                          "when": "2026-03-02T09:30:00+00:00", "budget": "1200.50", "seats": 3,
                                          "notes": None}
    assert submitted_values(SCHEMA, {}, MultiDict([("vip", "false")])) == {"vip": "false", "tags": []}
    assert record_values(SCHEMA, {"seats": "three", "budget": "lots"}) == {"seats": "three", "budget": "lots"}
