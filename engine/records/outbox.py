"""E-mail about a record, written by the core into the outbox (same transaction as the write that sends it):
templates of the bundle rendered in a sandboxed Jinja2 environment. The worker delivers the outbox
(engine.services.mail)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from engine.config.model import Bundle
from engine.errors import ValidationError
from engine.processes.deployed import active_bundle
from engine.store.models import OutboxRow, RecordRow
from engine.store.uow import UnitOfWork

_ADDRESS = re.compile(r"^[^@\s<>\"(),;:]+@[^@\s<>\"(),;:]+\.[^@\s<>\"(),;:.]+$")
_SUBJECT = re.compile(r"^Subject:[ \t]*(.*)$")
_TEMPLATES = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


def valid_address(address: Any) -> bool:
    """A single plain address (no display name, no header tricks)."""
    return isinstance(address, str) and len(address) <= 320 and bool(_ADDRESS.match(address.strip()))


def render_template(bundle: Bundle, name: str, locale: str, context: Mapping[str, Any]) -> tuple[str, str]:
    """(subject, body) of a bundle template in `locale`, else in the bundle's default locale."""
    template = bundle.templates.get(name)
    if template is None:
        raise ValidationError({"template": [f"unknown template {name!r}"]})
    source = template.bodies.get(locale) or template.bodies.get(bundle.settings.default_locale)
    if source is None:
        raise ValidationError(
            {"template": [f"template {name!r} has no text in {locale} or {bundle.settings.default_locale}"]}
        )
    try:
        text = _TEMPLATES.from_string(source).render(**context)
    except TemplateError as exc:
        raise ValidationError({"template": [f"template {name!r} cannot be rendered: {exc}"]}) from exc
    first, _, body = text.partition("\n")
    found = _SUBJECT.match(first.rstrip("\r"))
    if found is None:
        raise ValidationError({"template": [f"template {name!r} must start with a line 'Subject: ...'"]})
    return found.group(1).strip()[:500], body.lstrip("\r\n")


def template_context(bundle: Bundle, record: RecordRow, now: datetime) -> dict[str, Any]:
    """What a template sees: every field of the record by name and as `record` (None when empty, so
    `{% if phone %}` works under StrictUndefined), `record_id` and `today` (ISO date)."""
    entity = bundle.entities.get(record.entity)
    fields: dict[str, Any] = {name: None for name in (entity.fields if entity else {})}
    fields.update(record.data)
    return {**fields, "record": fields, "record_id": record.id, "today": now.date().isoformat()}


def queue_email(
    uow: UnitOfWork,
    record: RecordRow,
    template_name: str,
    to_address: str | None,
    locale: str,
    created_by: str,
    now: datetime,
) -> int:
    """Render a template for a record into the outbox (same transaction as the caller); the message id."""
    if not valid_address(to_address):
        raise ValidationError({"to": [f"{to_address or 'an empty value'} is not an e-mail address"]})
    assert to_address is not None  # noqa: S101 - checked above
    bundle, _ = active_bundle(uow)
    subject, body = render_template(bundle, template_name, locale, template_context(bundle, record, now))
    used = locale if locale in bundle.templates[template_name].bodies else bundle.settings.default_locale
    with uow:
        row = OutboxRow(
            record_id=record.id,
            template=template_name,
            locale=used,
            to_address=to_address.strip(),
            subject=subject,
            body=body,
            status="pending",
            attempts=0,
            created_at=now,
            created_by=created_by[:200],
            next_attempt_at=now,
        )
        uow.outbox.add(row)
        uow.outbox.flush()
        return row.id
