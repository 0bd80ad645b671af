"""Reminders on the record card: the user's own pending reminders on a record, set and cancel."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, request, url_for

from engine.errors import MergedRecord, ValidationError
from engine.services.records import get_record
from engine.services.reminders import ReminderView, cancel_reminder, list_reminders, set_reminder
from web import now, uow
from web.auth import actor, login_required
from web.blueprints.records import merged_message, render_card
from web.i18n import engine_message, t
from web.zones import read_input, user_zone

bp = Blueprint("reminders", __name__, url_prefix="/records")


@bp.app_template_global()
def record_reminders(record_id: int) -> list[ReminderView]:
    """The signed-in user's pending reminders on a record (for the card's reminders section)."""
    return list_reminders(uow(), actor(), record_id)


@bp.app_template_global()
def reminder_zone() -> str:
    """The time zone name shown next to the reminder form: the user's."""
    return user_zone().key


@bp.post("/<int:record_id>/reminders")
@login_required
def add_reminder(record_id: int) -> Any:
    """Set a reminder on this record; mistakes come back on the card."""
    who = actor()
    record = get_record(uow(), who, record_id)  # a record the user cannot see answers 404 before any check
    due_at = read_input(request.form.get("due_at", ""))
    try:
        if due_at is None:
            raise ValidationError({"due_at": [t("reminders.bad_time")]})
        set_reminder(uow(), who, record_id, due_at, request.form.get("note", ""), now())
    except ValidationError as exc:
        for messages in exc.errors.values():
            for message in messages:
                flash(engine_message(message), "error")
        return render_card(record, status=422)
    except MergedRecord as exc:
        flash(merged_message(exc), "error")
        return render_card(record, status=409)
    flash(t("reminders.added"), "success")
    return redirect(url_for("records.card", record_id=record_id) + "#reminders")


@bp.post("/<int:record_id>/reminders/<int:reminder_id>/delete")
@login_required
def remove_reminder(record_id: int, reminder_id: int) -> Any:
    """Cancel one of the user's reminders shown on this record's card."""
    cancel_reminder(uow(), actor(), reminder_id)
    flash(t("reminders.removed"), "success")
    return redirect(url_for("records.card", record_id=record_id) + "#reminders")
