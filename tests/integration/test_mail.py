"""E-mail: templates rendered into the outbox, delivered to a real (local) SMTP server, retried, never lost."""

from __future__ import annotations

import socket
from collections.abc import Callable, Iterator
from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from typing import Any

import pytest
import time_machine
from aiosmtpd.controller import Controller

from engine.config.automation import Template
from engine.config.model import Bundle, Settings
from engine.errors import ValidationError
from engine.records.outbox import queue_email, render_template
from engine.scheduler import tick
from engine.services import mail, records
from engine.services.mail import SmtpSettings, deliver_outbox, record_emails
from engine.services.views import Actor
from engine.store.models import OutboxRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW

MakeUow = Callable[[], UnitOfWork]


class Inbox:
    """An aiosmtpd handler that keeps what it receives and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self.refused: set[str] = set()

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,  # noqa: N802
                          options: list[str]) -> str:
        if address in self.refused:
            return "550 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(message_from_bytes(envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


class SmtpServer:
    """A real SMTP server on 127.0.0.1 that can be stopped and started again on the same port."""

    def __init__(self) -> None:
        self.inbox = Inbox()
        self.port = free_port()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    @property
    def settings(self) -> SmtpSettings:
        return SmtpSettings(host="127.0.0.1", port=self.port, from_address="crm@example.com", timeout=5)


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


def new_lead(make_uow: MakeUow, actor: Actor, **data: Any) -> int:
    fields = {"title": "20 laptops", "contact_name": "Ivan", "company": "Acme", "budget": "150000", **data}
    return records.create_record(make_uow(), actor, "Lead", fields, NOW).id


def queue(make_uow: MakeUow, record_id: int, to: str | None = "ivan@example.com", locale: str = "en",
          template: str = "offer_conditions") -> int:
    uow = make_uow()
    with uow:
        record = uow.records.get(record_id)
        assert record is not None
        message_id = queue_email(uow, record, template, to, locale, "test", NOW)
        uow.commit()
    return message_id


def outbox_row(make_uow: MakeUow, message_id: int) -> OutboxRow:
    with make_uow() as uow:
        row = uow.outbox.get(message_id)
        assert row is not None
        uow.session.expunge(row)
        return row


def subject_of(message: Any) -> str:
    return str(make_header(decode_header(message["Subject"])))


def test_queued_message_is_rendered_from_the_record_and_delivered(deployed: MakeUow, actors: dict,
                                                                  smtp: SmtpServer) -> None:
    lead_id = new_lead(deployed, actors["head"])
    message_id = queue(deployed, lead_id)

    row = outbox_row(deployed, message_id)
    assert (row.status, row.attempts, row.to_address, row.locale) == ("pending", 0, "ivan@example.com", "en")
    assert row.subject == "Our offer: 20 laptops"
    assert row.body.startswith("Hello, Ivan!")
    assert "on behalf of Acme" in row.body
    assert smtp.inbox.messages == []  # nothing is sent inside the user's transaction

    assert deliver_outbox(deployed, NOW, smtp.settings) == (1, 0)
    (received,) = smtp.inbox.messages
    assert received["To"] == "ivan@example.com"
    assert received["From"] == "crm@example.com"
    assert subject_of(received) == "Our offer: 20 laptops"
    assert f"<outbox-{message_id}." in received["Message-ID"]
    assert "amount: 150000 RUB" in received.get_payload(decode=True).decode()
    sent = outbox_row(deployed, message_id)
    assert (sent.status, sent.sent_at) == ("sent", NOW)
    assert deliver_outbox(deployed, NOW + timedelta(hours=1), smtp.settings) == (0, 0)  # sent once
    assert len(smtp.inbox.messages) == 1


def test_template_follows_the_locale_and_falls_back_to_the_default_one(deployed: MakeUow, actors: dict,
                                                                      smtp: SmtpServer) -> None:
    lead_id = new_lead(deployed, actors["head"])
    russian = outbox_row(deployed, queue(deployed, lead_id, locale="ru"))
    assert russian.subject == "Коммерческое предложение: 20 laptops"
    fallback = outbox_row(deployed, queue(deployed, lead_id, locale="de"))
    assert (fallback.locale, fallback.subject) == ("ru", russian.subject)  # settings.default_locale is ru
    assert deliver_outbox(deployed, NOW, smtp.settings) == (2, 0)
    assert [subject_of(m) for m in smtp.inbox.messages] == [russian.subject] * 2


@pytest.mark.parametrize("address", ["", None, "not-an-address", "a@b", "x@example.com\nBcc: y@example.com",
                                     "Ivan <ivan@example.com>"])
def test_a_bad_address_is_refused_and_nothing_is_queued(deployed: MakeUow, actors: dict, address: Any) -> None:
    lead_id = new_lead(deployed, actors["head"])
    with pytest.raises(ValidationError) as refused:
        queue(deployed, lead_id, to=address)
    assert "to" in refused.value.errors
    assert record_emails(deployed(), actors["head"], lead_id) == []


def test_unknown_template_is_a_validation_error(deployed: MakeUow, actors: dict) -> None:
    lead_id = new_lead(deployed, actors["head"])
    with pytest.raises(ValidationError, match="unknown template 'nope'"):
        queue(deployed, lead_id, template="nope")


def test_server_down_schedules_a_retry_and_the_message_goes_out_when_it_is_back(
        deployed: MakeUow, actors: dict, smtp: SmtpServer) -> None:
    lead_id = new_lead(deployed, actors["head"])
    message_id = queue(deployed, lead_id)
    smtp.stop()

    assert deliver_outbox(deployed, NOW, smtp.settings) == (0, 1)
    waiting = outbox_row(deployed, message_id)
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at == NOW + timedelta(minutes=1)
    assert "Connection" in (waiting.last_error or "")
    assert deliver_outbox(deployed, NOW + timedelta(seconds=30), smtp.settings) == (0, 0)  # not due yet

    smtp.start()
    assert deliver_outbox(deployed, NOW + timedelta(minutes=1), smtp.settings) == (1, 0)
    assert outbox_row(deployed, message_id).status == "sent"
    assert [m["To"] for m in smtp.inbox.messages] == ["ivan@example.com"]
    (view,) = record_emails(deployed(), actors["head"], lead_id)
    assert (view.status, view.attempts) == ("sent", 1)


def test_retries_back_off_and_the_fifth_failure_marks_the_message_failed(deployed: MakeUow, actors: dict) -> None:
    lead_id = new_lead(deployed, actors["head"])
    message_id = queue(deployed, lead_id)
    nowhere = SmtpSettings(host="127.0.0.1", port=free_port(), timeout=2)
    at, waits = NOW, []
    for _ in range(mail.MAX_ATTEMPTS - 1):
        assert deliver_outbox(deployed, at, nowhere) == (0, 1)
        row = outbox_row(deployed, message_id)
        waits.append(row.next_attempt_at - at)
        at = row.next_attempt_at
    assert waits == list(mail.RETRY_DELAYS[:mail.MAX_ATTEMPTS - 1])
    assert deliver_outbox(deployed, at, nowhere) == (0, 1)
    failed = outbox_row(deployed, message_id)
    assert (failed.status, failed.attempts) == ("failed", mail.MAX_ATTEMPTS)
    assert deliver_outbox(deployed, at + timedelta(days=30), nowhere) == (0, 0)  # kept, never picked up again
    (view,) = record_emails(deployed(), actors["head"], lead_id)
    assert view.status == "failed"
    assert view.last_error


def test_a_refused_recipient_does_not_hold_up_the_others(deployed: MakeUow, actors: dict, smtp: SmtpServer) -> None:
    lead_id = new_lead(deployed, actors["head"])
    smtp.inbox.refused.add("gone@example.com")
    refused = queue(deployed, lead_id, to="gone@example.com")
    accepted = queue(deployed, lead_id, to="ivan@example.com")
    assert deliver_outbox(deployed, NOW, smtp.settings) == (1, 1)
    assert outbox_row(deployed, refused).attempts == 1
    assert outbox_row(deployed, refused).status == "pending"
    assert outbox_row(deployed, accepted).status == "sent"


def test_a_message_another_worker_holds_is_skipped(deployed: MakeUow, actors: dict, smtp: SmtpServer,
                                                   db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("SQLite has no row locks: one writer at a time")
    lead_id = new_lead(deployed, actors["head"])
    message_id = queue(deployed, lead_id)
    other_worker = deployed()
    with other_worker:
        assert [r.id for r in other_worker.outbox.due(NOW, 10)] == [message_id]  # locked until this block ends
        assert deliver_outbox(deployed, NOW, smtp.settings) == (0, 0)
    assert deliver_outbox(deployed, NOW, smtp.settings) == (1, 0)


def test_settings_come_from_the_environment() -> None:
    settings = SmtpSettings.from_env({"FLOWCRM_SMTP_HOST": "mail.example.com", "FLOWCRM_SMTP_STARTTLS": "true",
                                      "FLOWCRM_SMTP_USER": "crm", "FLOWCRM_SMTP_PASSWORD": "secret",
                                      "FLOWCRM_SMTP_FROM": "CRM <crm@example.com>"})
    assert (settings.host, settings.port, settings.starttls, settings.user) == ("mail.example.com", 587, True, "crm")
    assert settings.from_address == "CRM <crm@example.com>"
    assert SmtpSettings.from_env({"FLOWCRM_SMTP_HOST": "h", "FLOWCRM_SMTP_PORT": "2525"}).port == 2525
    with pytest.raises(ValueError, match="FLOWCRM_SMTP_HOST"):
        SmtpSettings.from_env({})


def bundle_with(body: str) -> Bundle:
    return Bundle(files={}, settings=Settings(default_locale="en"), templates={"t": Template("t", {"en": body})})


def test_rendering_is_strict_about_names_and_needs_a_subject_line() -> None:
    assert render_template(bundle_with("Subject: Hi {{ name }}\n\nBody"), "t", "en", {"name": "Ivan"}) == \
        ("Hi Ivan", "Body")
    with pytest.raises(ValidationError, match="cannot be rendered"):
        render_template(bundle_with("Subject: Hi {{ nmae }}\nBody"), "t", "en", {"name": "Ivan"})
    with pytest.raises(ValidationError, match=r"must start with a line 'Subject: \.\.\.'"):
        render_template(bundle_with("Hello\nBody"), "t", "en", {})
    with pytest.raises(ValidationError, match="cannot be rendered"):  # the sandbox refuses attribute tricks
        render_template(bundle_with("Subject: {{ ''.__class__.__mro__ }}\n"), "t", "en", {})


def test_the_worker_sends_due_mail_only_when_smtp_is_configured(deployed: MakeUow, actors: dict, smtp: SmtpServer,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    lead_id = new_lead(deployed, actors["head"])
    message_id = queue(deployed, lead_id)
    monkeypatch.delenv("FLOWCRM_SMTP_HOST", raising=False)
    with time_machine.travel(NOW + timedelta(minutes=1)):
        tick(deployed)
        assert outbox_row(deployed, message_id).status == "pending"
        monkeypatch.setenv("FLOWCRM_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("FLOWCRM_SMTP_PORT", str(smtp.port))
        monkeypatch.setenv("FLOWCRM_SMTP_FROM", "crm@example.com")
        tick(deployed)
    assert outbox_row(deployed, message_id).status == "sent"
    assert [m["From"] for m in smtp.inbox.messages] == ["crm@example.com"]
