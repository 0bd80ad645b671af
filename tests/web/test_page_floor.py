"""The Python floor every page pays (issue 12 item 4): what does not change per row or per request is worked out
once — a task's step and process names once per configuration, whether a card's record is in its reader's inbox
once per request — and the pages read the same as when everything is worked out afresh, in English and Russian
and in a zone other than UTC."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, current_app, render_template
from flask.testing import FlaskClient
from jinja2 import Template

from engine.config import process_labels
from engine.services.tasks import claim_task
from engine.services.views import Actor
from engine.store import repositories
from engine.store.models import TaskRow
from engine.store.uow import UnitOfWork
from tests.conftest import NOW
from tests.integration.test_standalone_tasks import rule_task
from tests.integration.test_step_statements import statements
from tests.web.conftest import as_user, new_lead, pool_task
from web import present

IN_INBOX = "SELECT (EXISTS (SELECT task.id"  # RecordRepository.in_inbox_of


def _label_lookups(client: FlaskClient, path: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many times a page asks for a process or step name in a language."""
    calls = [0]
    real = process_labels.label_in

    def counted(*args: Any) -> str:
        calls[0] += 1
        return real(*args)

    with monkeypatch.context() as patched:
        patched.setattr(present, "label_in", counted)
        assert client.get(path).status_code == 200
    return calls[0]


def test_inbox_rows_are_named_without_name_lookups_per_row(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    sam = as_user(app, "sam")
    for n in range(2):
        new_lead(deployed, actors, f"lead {n}")
    assert sam.get("/tasks?tab=pool").status_code == 200  # the names of this configuration worked out
    few = _label_lookups(sam, "/tasks?tab=pool", monkeypatch)
    for n in range(2, 8):
        new_lead(deployed, actors, f"lead {n}")
    many = _label_lookups(sam, "/tasks?tab=pool", monkeypatch)
    page = sam.get("/tasks?tab=pool").get_data(as_text=True)
    assert page.count('action="/tasks/') >= 8  # eight claimable rows shown
    assert many == few  # what grows with the rows was asked once per step, not once or twice per row


def test_a_card_asks_once_whether_its_record_is_in_the_readers_inbox(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    sam = as_user(app, "sam")  # a salesperson sees the head's lead through the pool task it is waiting in
    warm = new_lead(deployed, actors, "warm-up lead")
    assert sam.get(f"/records/{warm.id}").status_code == 200
    lead = new_lead(deployed, actors)
    with statements(deployed) as seen:
        assert sam.get(f"/records/{lead.id}").status_code == 200
    asked = [s for s in seen if s.startswith(IN_INBOX)]
    assert len(asked) == 1, "\n".join(seen)  # nine services of the card asked it; the answer holds until a write


def test_an_answer_is_asked_again_after_the_transaction_wrote(
    deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    sam = actors["sales"]
    lead = new_lead(deployed, actors)
    task = pool_task(deployed, sam)
    uow = deployed()
    with uow:
        assert uow.records.in_inbox_of(lead.id, sam.id or 0, sam.groups, sam.username)
        other = actors["sales2"]
        assert uow.records.in_inbox_of(lead.id, other.id or 0, other.groups, other.username)
        claim_task(uow, other, task.id, NOW)  # the task leaves the pool for sue's own list: sam no longer sees it
        with statements(deployed) as seen:
            assert not uow.records.in_inbox_of(lead.id, sam.id or 0, sam.groups, sam.username)
        assert any(s.startswith(IN_INBOX) for s in seen)


def _steps_of_inbox_check(deployed: Callable[[], UnitOfWork], sam: Actor, record_id: int) -> int:
    """SQLite virtual machine steps (in hundreds) of asking whether a record is in sam's inbox."""
    uow = deployed()
    with uow:
        raw: Any = uow.session.connection().connection.dbapi_connection
        steps = [0]

        def step() -> int:
            steps[0] += 1
            return 0

        raw.set_progress_handler(step, 100)
        assert uow.records.in_inbox_of(record_id, sam.id or 0, sam.groups, sam.username)
        raw.set_progress_handler(None, 100)
    return steps[0]


def _pooled_elsewhere(deployed: Callable[[], UnitOfWork], count: int) -> None:
    """`count` open tasks of no record, pooled to the sales group."""
    with deployed() as uow:
        for n in range(count):
            task = TaskRow(id=str(uuid.uuid4()), instance_id=None, record_id=None, record_title=None,
                           spec_name="other", title=f"other {n}", form_key=None, lane=None, candidate_groups="sales",
                           candidate_users="", assignee_id=None, state="open", due_at=None, created_at=NOW)
            uow.tasks.add(task)
            uow.tasks.flush()
            uow.tasks.add_candidates(task, ["sales"], [])
        uow.commit()


def test_whether_a_card_is_in_the_inbox_is_read_from_the_records_tasks_not_the_whole_pool(
    db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]
) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's plan: the question counts its virtual machine steps")
    sam = actors["sales"]
    lead = new_lead(deployed, actors)  # its one task waits in the sales pool
    _pooled_elsewhere(deployed, 200)
    few = _steps_of_inbox_check(deployed, sam, lead.id)
    _pooled_elsewhere(deployed, 800)
    many = _steps_of_inbox_check(deployed, sam, lead.id)
    assert many <= few + 1, (few, many)  # five times the pool, the same reads (it walked the pool: 4-5 times more)


@contextmanager
def _nothing_remembered(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every name and every visibility answer worked out afresh: the reference rendering."""
    with monkeypatch.context() as patched:
        patched.setattr(present, "_remembered", lambda _memo, _key, work: work())
        patched.setattr(repositories, "read_memo", lambda _session: None)
        present._BY_LABELS.clear()
        yield
    present._BY_LABELS.clear()


def _page(client: FlaskClient, path: str) -> str:
    response = client.get(path)
    assert response.status_code == 200, path
    # the CSRF token is signed with the second it was made in: the only part allowed to differ
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token" value=""', response.get_data(as_text=True))


REFERENCE_ROWS = Path(__file__).parent / "reference" / "inbox_rows_per_cell.html"
READERS = {"sam": ("mine", "pool", "overdue"), "sue": ("mine", "pool"), "hank": ("mine", "pool", "overdue", "team"),
           "ada": ("all",)}


@contextmanager
def _rows_per_cell(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The inbox table's body rendered as before web/inbox_rows.py (every cell looked up in the template), put in
    the page in place of the one the page rendered: the reference for the table's bytes."""
    from web.blueprints import inbox

    seen: dict[str, Any] = {}
    real_rows, real_render = inbox.inbox_rows, inbox.render_template
    compiled: list[Template] = []  # the reference compiled once (from a string, no template cache keeps it)

    def rows(tasks: Any, tab: str, now: Any, **options: Any) -> Any:
        seen.update(tasks=list(tasks), now=now)
        return real_rows(seen["tasks"], tab, now, **options)

    def render(name: str, **context: Any) -> str:
        page = real_render(name, **context)
        if name != "inbox/list.html":
            return page
        if not compiled:
            compiled.append(current_app.jinja_env.from_string(REFERENCE_ROWS.read_text(encoding="utf-8")))
        body = render_template(compiled[0], **context, **seen)
        return page[: page.index("<tbody>")] + body[body.index("<tbody>") : body.index("</tbody>")] \
            + page[page.index("</tbody>") :]

    with monkeypatch.context() as patched:
        patched.setattr(inbox, "inbox_rows", rows)
        patched.setattr(inbox, "render_template", render)
        yield


def _varied_tasks(deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> list[int]:
    """Leads in the pool (one claimed by sam), a rule's tasks (sam's own, due in ten years; one pooled to sales),
    and a task of no record, process or due date offered to the sales group and to sue by name: the ids of the
    leads, the claimed one first."""
    leads = [new_lead(deployed, actors, f"lead {n}") for n in range(3)]
    claim_task(deployed(), actors["sales"], pool_task_of(deployed, actors["sales"], leads[0].id), NOW)
    rule_task(deployed, actors["sales"], leads[1].id, assignee="owner", due="P3650D")
    rule_task(deployed, actors["sales"], leads[2].id, candidate_groups=["sales"],
              title={"en": 'Check <the> "deal" & call', "ru": "Проверить <сделку> и позвонить"})
    with deployed() as uow:
        loose = TaskRow(id=str(uuid.uuid4()), instance_id=None, record_id=None, record_title=None, spec_name="loose",
                        title="A loose <task>", form_key=None, lane=None, candidate_groups="sales,north",
                        candidate_users="sue", assignee_id=None, state="open", due_at=None, created_at=NOW)
        uow.tasks.add(loose)
        uow.tasks.flush()
        uow.tasks.add_candidates(loose, ["sales", "north"], ["sue"])
        uow.commit()
    return [lead.id for lead in leads]


@pytest.mark.parametrize("zone", ["", "UTC", "Asia/Tokyo", "America/New_York"])
@pytest.mark.parametrize("reader", list(READERS))
def test_inbox_and_card_read_the_same_as_when_nothing_is_remembered_and_every_cell_is_looked_up(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch,
    reader: str, zone: str,
) -> None:
    cards = _varied_tasks(deployed, actors)
    cards = cards[1:] if reader == "sue" else cards  # sam's claimed lead is not in sue's inbox: not hers to read
    client = as_user(app, reader)
    paths = [f"/records/{record_id}" for record_id in cards]
    for tab in READERS[reader]:
        paths += [f"/tasks?tab={tab}", f"/tasks?tab={tab}&sort=task&dir=desc", f"/tasks?tab={tab}&f.record=lead"]
    paths.append(f"/tasks?tab={READERS[reader][-1]}&sort=process")
    for locale in ("en", "ru"):
        assert client.post("/profile", data={"locale": locale, "timezone": zone}).status_code == 302
        assert client.get("/profile").status_code == 200  # shows (and drops) the "saved" message
        present._BY_LABELS.clear()
        cold, warm = [_page(client, p) for p in paths], [_page(client, p) for p in paths]  # then from the memos
        with _nothing_remembered(monkeypatch), _rows_per_cell(monkeypatch):
            reference = [_page(client, p) for p in paths]
        for path, first, second, expected in zip(paths, cold, warm, reference, strict=True):
            assert first == expected, (locale, path)
            assert second == expected, (locale, path)
    shown = "".join(reference)
    assert shown.count('<tr class="') > len(paths)  # the tabs are not empty
    assert "lead 1" in shown


def _template_lookups(app: Flask, client: FlaskClient, path: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many functions and filters a page's templates call and how many attributes they look up."""
    from jinja2 import Environment
    from jinja2.runtime import Context

    calls = [0]

    def counted(real: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            calls[0] += 1
            return real(*args, **kwargs)

        return call

    with monkeypatch.context() as patched:
        patched.setattr(Context, "call", counted(Context.call))
        patched.setattr(Environment, "getattr", counted(Environment.getattr))
        for name, real in list(app.jinja_env.filters.items()):
            patched.setitem(app.jinja_env.filters, name, counted(real))
        assert client.get(path).status_code == 200
    return calls[0]


def _pool_of_two_then_eight(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], measure: Callable[[FlaskClient], int]
) -> tuple[int, int]:
    """`measure` of sam's pool page with two leads waiting, then with eight."""
    sam = as_user(app, "sam")
    for n in range(2):
        new_lead(deployed, actors, f"lead {n}")
    assert sam.get("/tasks?tab=pool").status_code == 200
    few = measure(sam)
    for n in range(2, 8):
        new_lead(deployed, actors, f"lead {n}")
    many = measure(sam)
    assert sam.get("/tasks?tab=pool").get_data(as_text=True).count('action="/tasks/') >= 8
    return few, many


def test_the_inbox_table_calls_nothing_in_the_template_per_row(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    few, many = _pool_of_two_then_eight(
        app, deployed, actors, lambda sam: _template_lookups(app, sam, "/tasks?tab=pool", monkeypatch)
    )
    # a row's names, dates, links and candidates come made: no filter, function or attribute lookup per row
    assert many == few


def _template_pieces(app: Flask, client: FlaskClient, path: str, monkeypatch: pytest.MonkeyPatch) -> int:
    """How many pieces a page's templates write (each a cell's value escaped or a run of the template's text)."""
    pieces = [0]

    def concat(parts: Any) -> str:
        written = list(parts)
        pieces[0] += len(written)
        return "".join(written)

    with monkeypatch.context() as patched:
        patched.setattr(app.jinja_env, "concat", concat)
        assert client.get(path).status_code == 200
    return pieces[0]


def test_the_inbox_template_writes_each_row_as_one_piece(
    app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], monkeypatch: pytest.MonkeyPatch
) -> None:
    few, many = _pool_of_two_then_eight(
        app, deployed, actors, lambda sam: _template_pieces(app, sam, "/tasks?tab=pool", monkeypatch)
    )
    # a row's cells are written by web/inbox_rows.py, each value escaped there once: the template writes a row as
    # one piece (it wrote some forty-seven, an escape call for each value among them)
    assert many - few <= 6, (few, many)


def pool_task_of(deployed: Callable[[], UnitOfWork], who: Actor, record_id: int) -> str:
    """The id of the pool task waiting on one record."""
    from engine.services.tasks import list_tasks

    return next(t.id for t in list_tasks(deployed(), who, "pool", limit=500) if t.record_id == record_id)


def test_the_header_is_built_once_per_roles_and_language(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    from web import nav

    monkeypatch.setattr(nav, "_LAYOUTS", {})  # nothing remembered from earlier tests in this process
    sam = as_user(app, "sam")
    first = _page(sam, "/tasks?tab=pool")
    built = [0]
    real = nav.url_for

    def counted(*args: Any, **kwargs: Any) -> str:
        built[0] += 1
        return real(*args, **kwargs)

    with monkeypatch.context() as patched:
        patched.setattr(nav, "url_for", counted)
        again = _page(sam, "/tasks?tab=pool")
        assert built[0] == 0  # the English header's links came from the first request
        russian = _page(sam, "/tasks?tab=pool&lang=ru")
        assert built[0] > 0  # the Russian one is made once
        made = built[0]
        assert _page(sam, "/tasks?tab=pool&lang=ru") == russian
        assert built[0] == made
    assert again == first
    assert 'aria-current="page"' in russian


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo", "America/New_York", "Europe/Moscow"])
def test_a_date_reads_as_strftime_writes_it_in_the_readers_zone(zone: str) -> None:
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    from flask import g

    start = datetime(2026, 3, 7, tzinfo=UTC)  # across New York's and (none in) Moscow's clock changes
    moments = [start + timedelta(minutes=37 * n) for n in range(20_000)]
    moments += [datetime(999, 12, 31, 23, 59, tzinfo=UTC), datetime(1000, 1, 1, 12, tzinfo=UTC)]
    with Flask(__name__).test_request_context("/tasks"):
        g.zone = ZoneInfo(zone)
        for moment in moments:
            there = moment.astimezone(ZoneInfo(zone))
            assert present.format_datetime(moment) == f"{there:%Y-%m-%d %H:%M} {there.tzname()}", moment
        naive = datetime(2026, 11, 1, 6, 30)  # stored UTC without an offset
        there = naive.replace(tzinfo=UTC).astimezone(ZoneInfo(zone))
        assert present.format_datetime(naive) == present.format_datetime(naive.isoformat()) \
            == f"{there:%Y-%m-%d %H:%M} {there.tzname()}"
