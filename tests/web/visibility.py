"""Another team's lead for the access-matrix tests: sid (sales, team south) owns it, qualified it with a comment and
holds its next task. Its title and the submitted comment carry MARKER, so a page that shows any of its data to a
role that may not see the record is caught by a plain text search."""

from __future__ import annotations

import io
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from engine.bootstrap import uow_factory
from engine.config.loader import read_bundle_dir
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record
from engine.services.tasks import claim_task, complete_task, list_tasks
from engine.services.users import create_user, get_actor
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, PASSWORD, ROLE_USERS, ROOT

MARKER = "Zanzibar"
# Role keys of tests.conftest.ROLE_USERS that may not see sid's lead (north team, designer), and those that may.
BLIND = ("sales", "head", "designer")
READERS = ("admin", "auditor")
# Route placeholders that name the lead, its process instance or one of its tasks.
RECORD_BOUND = ("record_id", "instance_id", "task_id")


def role_database(path: Path, sqlite_template: Path) -> tuple[str, Any, dict[str, Actor]]:
    """(url, unit-of-work factory, actors by ROLE_USERS key) of a new SQLite file at `path` with the shipped
    bundle deployed and a user per role: the database of a module-wide matrix test."""
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    make_uow = uow_factory(url)
    deploy_bundle(make_uow(), Actor(None, "setup", "setup", frozenset({"designer"})), read_bundle_dir(ROOT), NOW)
    actors = {
        key: get_actor(make_uow(), create_user(make_uow(), name, PASSWORD, roles, NOW, team=team).id)
        for key, (name, roles, team) in ROLE_USERS.items()
    }
    return url, make_uow, actors


def hide_south_lead(make_uow: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> dict[str, Any]:
    """sid's qualified lead: {placeholder: id} of the lead, its instance and its open task (sid's own)."""
    sid = get_actor(make_uow(), create_user(make_uow(), "sid", PASSWORD, ["sales"], NOW, team="south").id)
    lead = create_record(make_uow(), actors["admin"], "Lead", {"title": f"{MARKER} order"}, NOW, owner_id=sid.id)
    (qualify,) = [t for t in list_tasks(make_uow(), sid, "pool") if t.record_id == lead.id]
    claim_task(make_uow(), sid, qualify.id, NOW)
    complete_task(make_uow(), sid, qualify.id, {"outcome": "convert", "comment": f"{MARKER} budget talk"}, NOW)
    (meeting,) = [t for t in list_tasks(make_uow(), sid, "mine") if t.record_id == lead.id]
    return {
        "record_id": lead.id,
        "instance_id": meeting.instance_id,
        "task_id": meeting.id,
        "claimed_task_id": meeting.id,
    }


def is_record_bound(rule: str) -> bool:
    """Whether a route rule names a record, an instance or a task."""
    return any(f"<{name}>" in rule or f"<int:{name}>" in rule for name in RECORD_BOUND)


def readable_text(body: bytes) -> str:
    """A response body as text; an XLSX (a zip) as the text of its parts, so exports are searched too."""
    if body.startswith(b"PK"):
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())
    return body.decode("utf-8", "replace")
