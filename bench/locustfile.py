"""Locust users for `bench/load.py` (run by the `locust` command, never imported by the bench itself: Locust
monkey-patches the standard library with gevent on import).

Figures are taken only once every simulated user has signed in (and so every server process has served pages),
for FLOWCRM_LOAD_SECONDS; then the run stops itself and writes them to FLOWCRM_LOAD_OUT (JSON).

Sellers sign in once, then browse the shared lead pool, claim a lead's qualification task, open it, complete it
(outcome: convert), open the lead's card and their own inbox. Heads of sales sign in once and browse reports,
the team inbox and the lead list. Accounts come from the environment (see bench/load.py)."""

from __future__ import annotations

import itertools
import json
import os
import random
import re
import time
from typing import Any

import gevent
from locust import HttpUser, between, events, task

from bench.live import csrf_token, sign_in

PASSWORD = os.environ.get("FLOWCRM_LOAD_PASSWORD", "")
SELLERS = int(os.environ.get("FLOWCRM_LOAD_SELLERS", "1"))
HEADS = int(os.environ.get("FLOWCRM_LOAD_HEADS", "1"))
TASK_LINK = re.compile(r'href="/tasks/([0-9a-f-]{36})"')
RECORD_LINK = re.compile(r'href="/records/(\d+)"')
REPORT_LINK = re.compile(r'href="/reports/([a-z0-9_]+)"')
USERS = int(os.environ.get("FLOWCRM_LOAD_USERS", "1"))
SECONDS = float(os.environ.get("FLOWCRM_LOAD_SECONDS", "30"))
OUT = os.environ.get("FLOWCRM_LOAD_OUT", "")
_next_seller = itertools.count()
_next_head = itertools.count()
_signed_in = itertools.count(1)
_window: dict[str, Any] = {"started": None, "ended": None, "times_ms": [], "errors": []}


def signed_in(user: HttpUser) -> None:
    """Counts a user ready; the last one opens the measured window, which stops the run when it closes."""
    if next(_signed_in) == USERS:
        _window["started"] = time.monotonic()
        gevent.spawn_later(SECONDS, _close_window, user.environment)


def _close_window(environment: Any) -> None:
    _window["ended"] = time.monotonic()
    environment.runner.quit()


@events.request.add_listener
def _measure(request_type: str, name: str, response_time: float, exception: Any, **_kwargs: Any) -> None:
    if _window["started"] is None or _window["ended"] is not None:
        return
    _window["times_ms"].append(response_time)
    if exception is not None:
        _window["errors"].append(f"{request_type} {name}: {exception}")


@events.quitting.add_listener
def _write(**_kwargs: Any) -> None:
    if OUT:
        with open(OUT, "w") as out:
            json.dump({**_window, "window_s": (_window["ended"] or time.monotonic()) - (_window["started"] or 0)}, out)


def open_a_card(user: HttpUser, page: str) -> None:
    """Open the card of one of the records a page links to."""
    records = RECORD_LINK.findall(page)
    if records:
        user.client.get(f"/records/{random.choice(records)}", name="/records/[id]")


class Seller(HttpUser):
    """A salesperson working the pool."""

    weight = 9
    wait_time = between(0.5, 2.0)

    def on_start(self) -> None:
        sign_in(self.client, f"seller{next(_next_seller) % SELLERS}", PASSWORD)
        self.csrf = csrf_token(self.client.get("/tasks?tab=pool", name="/tasks?tab=pool").text)
        signed_in(self)

    @task(4)
    def qualify_a_lead(self) -> None:
        pool = self.client.get("/tasks?tab=pool", name="/tasks?tab=pool").text
        ids = TASK_LINK.findall(pool)
        if not ids:
            return
        task_id = random.choice(ids)
        with self.client.post(
            f"/tasks/{task_id}/claim",
            data={"tab": "pool", "csrf_token": self.csrf},
            name="/tasks/[id]/claim",
            allow_redirects=False,
            catch_response=True,
        ) as claim:
            if claim.status_code == 409:  # another seller claimed it first: the answer the UI gives, not an error
                claim.success()
                return
            if claim.status_code != 302:
                claim.failure(f"claim answered {claim.status_code}")
                return
        page = self.client.get(f"/tasks/{task_id}", name="/tasks/[id]").text
        with self.client.post(
            f"/tasks/{task_id}/complete",
            name="/tasks/[id]/complete",
            allow_redirects=False,
            catch_response=True,
            data={
                "outcome": "convert",
                "budget": str(random.randint(1, 900) * 1000),
                "channel": "website",
                "csrf_token": self.csrf,
            },
        ) as done:
            if done.status_code != 302:
                done.failure(f"complete answered {done.status_code}")
        records = RECORD_LINK.findall(page)
        if records:
            self.client.get(f"/records/{records[0]}", name="/records/[id]")

    @task(2)
    def read_my_inbox(self) -> None:
        open_a_card(self, self.client.get("/tasks?tab=mine", name="/tasks?tab=mine").text)


class HeadOfSales(HttpUser):
    """A head of sales reading reports and the team's work."""

    weight = 1
    wait_time = between(1.0, 3.0)

    def on_start(self) -> None:
        sign_in(self.client, f"head{next(_next_head) % HEADS}", PASSWORD)
        self.reports = REPORT_LINK.findall(self.client.get("/reports", name="/reports").text) or [""]
        signed_in(self)

    @task(2)
    def read_a_report(self) -> None:
        name = random.choice(self.reports)
        if name:
            self.client.get(f"/reports/{name}", name="/reports/[name]")

    @task(1)
    def read_the_team_inbox(self) -> None:
        self.client.get("/tasks?tab=team", name="/tasks?tab=team")

    @task(1)
    def browse_leads(self) -> None:
        open_a_card(self, self.client.get("/records/Lead", name="/records/Lead").text)
