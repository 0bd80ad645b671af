"""E-mail: templates rendered into the outbox inside the caller's transaction, delivered later by the worker.

Delivery is at least once. A message is marked sent in the same transaction that holds its row lock, after the
SMTP server accepted it; a crash (or a failed commit) between the server's "250 OK" and that commit leaves the
row pending, and the next run sends it again. Each message carries a Message-ID derived from its outbox id, so a
receiving system can recognise the duplicate. Nothing is lost: a row leaves `pending` only as `sent`, or as
`failed` after MAX_ATTEMPTS failed attempts, and failed rows are kept (listed on the record's card).
"""

from __future__ import annotations

import logging
import os
import smtplib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any

from engine.services.jobs import Concerns, RetryPolicy, RowJob, run_due
from engine.services.records import load_visible
from engine.services.views import Actor
from engine.store.models import OutboxRow
from engine.store.uow import UnitOfWork

log = logging.getLogger(__name__)

RETRY_DELAYS = (timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
                timedelta(hours=12))
MAX_ATTEMPTS = 5  # the fifth failed attempt marks the message failed (so the 12 h step is the longest wait)


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how the worker sends mail."""

    host: str
    port: int = 25
    user: str | None = None
    password: str | None = None
    starttls: bool = False
    from_address: str = "flowcrm@localhost"
    timeout: float = 30.0

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """FLOWCRM_SMTP_HOST, _PORT, _USER, _PASSWORD, _STARTTLS (1/true/yes) and _FROM."""
        env = os.environ if environ is None else environ
        host = env.get("FLOWCRM_SMTP_HOST", "").strip()
        if not host:
            raise ValueError("FLOWCRM_SMTP_HOST is not set")
        starttls = env.get("FLOWCRM_SMTP_STARTTLS", "").strip().lower() in ("1", "true", "yes", "on")
        port = env.get("FLOWCRM_SMTP_PORT", "").strip()
        return cls(host=host, port=int(port) if port else (587 if starttls else 25),
                   user=env.get("FLOWCRM_SMTP_USER") or None, password=env.get("FLOWCRM_SMTP_PASSWORD") or None,
                   starttls=starttls, from_address=env.get("FLOWCRM_SMTP_FROM") or f"flowcrm@{host}")


@dataclass(frozen=True)
class EmailView:
    id: int
    record_id: int | None
    template: str
    to_address: str
    subject: str
    status: str
    attempts: int
    last_error: str | None
    created_at: datetime
    next_attempt_at: datetime
    sent_at: datetime | None


def record_emails(uow: UnitOfWork, actor: Actor, record_id: int) -> list[EmailView]:
    """The messages queued for a record, newest first (pending, sent and failed)."""
    with uow:
        load_visible(uow, actor, record_id)
        return [EmailView(r.id, r.record_id, r.template, r.to_address, r.subject, r.status, r.attempts, r.last_error,
                          r.created_at, r.next_attempt_at, r.sent_at) for r in uow.outbox.for_record(record_id)]


def _message(row: OutboxRow, smtp: SmtpSettings) -> EmailMessage:
    message = EmailMessage()
    message["From"] = formataddr(parseaddr(smtp.from_address))
    message["To"] = row.to_address
    message["Subject"] = " ".join(row.subject.split())  # no header injection through a rendered subject
    message["Date"] = format_datetime(row.created_at)
    domain = smtp.from_address.rpartition("@")[2] or "flowcrm"
    message["Message-ID"] = f"<outbox-{row.id}.{int(row.created_at.timestamp())}@{domain}>"
    message.set_content(row.body)
    return message


def _connect(smtp: SmtpSettings) -> smtplib.SMTP:
    client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout)
    try:
        if smtp.starttls:
            client.starttls()
        if smtp.user:
            client.login(smtp.user, smtp.password or "")
    except BaseException:
        client.close()
        raise
    return client


_SERVER_REFUSED_ONE = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError, smtplib.SMTPSenderRefused)
MAIL_POLICY = RetryPolicy(retries=MAX_ATTEMPTS - 1, delays=RETRY_DELAYS)


class MailJob(RowJob[OutboxRow]):
    """A pending message whose attempt is due: send it over one SMTP session kept for the whole run."""

    kind = "outbox"
    policy = MAIL_POLICY

    def __init__(self, smtp: SmtpSettings | None = None) -> None:
        self.smtp = smtp or SmtpSettings(host="")  # none given: the job only finds and unparks rows
        self.client: smtplib.SMTP | None = None

    def repository(self, uow: UnitOfWork) -> Any:
        return uow.outbox

    def concerns(self, row: OutboxRow) -> Concerns:
        return Concerns(record_id=row.record_id)

    def run(self, uow: UnitOfWork, row: OutboxRow, now: datetime) -> bool:
        self.client = self.client or _connect(self.smtp)
        self.client.send_message(_message(row, self.smtp))
        row.status, row.sent_at = "sent", now  # a crash before the commit resends it: at least once, never lost
        return True

    def succeeded(self, row: OutboxRow, now: datetime) -> None:
        row.last_error = None

    def failed(self, uow: UnitOfWork, row: OutboxRow, error: str, now: datetime, retry_at: datetime | None) -> None:
        row.attempts += 1
        row.last_error = error
        if retry_at is None:
            row.status = "failed"  # kept, listed on the record's card, and an incident to retry from
        else:
            row.next_attempt_at = retry_at

    def unpark(self, uow: UnitOfWork, row: OutboxRow, now: datetime) -> None:
        row.status, row.attempts, row.next_attempt_at = "pending", 0, now

    def stop_after(self, error: Exception) -> bool:
        if isinstance(error, _SERVER_REFUSED_ONE) or not isinstance(error, smtplib.SMTPException | OSError):
            return False  # the server refused this message only, or this message is broken
        self.close()
        return True  # the server is unreachable or broke the session: try again on the next run

    def close(self) -> None:
        """End the SMTP session, if one is open."""
        client, self.client = self.client, None
        if client is not None:
            try:
                client.quit()
            except (smtplib.SMTPException, OSError):
                client.close()


def deliver_outbox(uow_factory: Callable[[], UnitOfWork], now: datetime, smtp: SmtpSettings, *,
                   limit: int = 100) -> tuple[int, int]:
    """Send due pending messages, one transaction each; (sent, failed attempts). Stops at a connection error,
    leaving the messages not yet tried for the next run; a message that fails MAX_ATTEMPTS times is marked
    failed and becomes an incident."""
    job = MailJob(smtp)
    try:
        outcome = run_due(job, uow_factory(), now, limit=limit)
    finally:
        job.close()
    return outcome.done, outcome.failed
