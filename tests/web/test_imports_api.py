"""The imports REST API: upload (multipart) and run in the background, poll the job, read rejects; documented."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import TestResponse

from engine.services.records import list_records
from engine.services.users import set_preferences
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import ROOT
from tests.web.api_client import API, ApiUser
from tests.web.conformance import Conformance
from tests.web.test_imports_ui import die_while_running, finish
from web.apidoc.imports import PATHS

MIXED = ROOT / "tests" / "fixtures" / "imports" / "contacts_mixed.csv"


class Uploader(ApiUser):
    """Sends POST bodies as multipart/form-data (a dict whose bytes values become files)."""

    def send(self, method: str, path: str, body: Any = None) -> TestResponse:
        data = {k: (io.BytesIO(v[0]), v[1]) if isinstance(v, tuple) else v for k, v in (body or {}).items()}
        return self.client.open(API + path, method=method.upper(), headers=self.headers, data=data,
                                content_type="multipart/form-data")


@pytest.fixture
def uploads(api_app: Flask, tmp_path: Path) -> Path:
    api_app.config["IMPORT_UPLOADS"] = str(tmp_path)
    return tmp_path


def test_import_through_the_api(api_app: Flask, api: dict[str, ApiUser], uploads: Path,
                                deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> None:
    c = Conformance()
    sam = api["sales"]
    uploader = Uploader(api_app, sam.token, sam.username)
    job = c.check(uploader, "post", "/imports", 202,
                  {"file": (MIXED.read_bytes(), "contacts.csv"), "entity": "Contact", "mode": "valid_only",
                   "columns": '{"Метки": "skip"}'})
    assert job["mapping"] == {"ФИО": "full_name", "Телефон": "phone", "Email": "email", "Метки": "skip"}
    finish(api_app, job["id"])
    done = c.check(sam, "get", "/imports/{job_id}", 200, job_id=job["id"])
    assert done["status"] == "done"
    assert done["counts"] == {"created": 3, "updated": 0, "merged": 1, "skipped": 0, "rejected": 1, "review": 0,
                              "rule_pairs": 0}
    rejects = c.check(sam, "get", "/imports/{job_id}/rejects", 200, job_id=job["id"])
    (row,) = rejects["items"]
    assert row["row_number"] == 4
    assert {"column": "Телефон", "reason": "is not a valid phone number"} in row["errors"]
    assert len(list_records(deployed(), actors["sales"], "Contact")) == 3

    c.check(api["sales2"], "get", "/imports/{job_id}", 404, job_id=job["id"])  # another salesperson's job
    refused = c.check(sam, "post", "/imports/{job_id}/resume", 422, job_id=job["id"])
    assert f"import {job['id']} is running or has already run (done)" in str(refused)
    c.check(sam, "post", "/imports/{job_id}/rerun", 422, job_id=job["id"])
    c.check(api["sales2"], "post", "/imports/{job_id}/rerun", 404, job_id=job["id"])
    die_while_running(deployed, job["id"])
    failed = c.check(sam, "get", "/imports/{job_id}", 200, job_id=job["id"])
    assert failed["status"] == "failed"
    assert "died: killed, out of memory or over its CPU limit" in failed["message"]
    resumed = c.check(sam, "post", "/imports/{job_id}/resume", 202, job_id=job["id"])
    assert resumed["status"] == "failed"  # as it was when the worker was started; poll for the rest
    finish(api_app, job["id"])
    again = c.check(sam, "get", "/imports/{job_id}", 200, job_id=job["id"])
    assert (again["status"], again["counts"]["created"], again["counts"]["rejected"]) == ("done", 3, 1)
    die_while_running(deployed, job["id"])
    c.check(sam, "post", "/imports/{job_id}/rerun", 202, job_id=job["id"])
    finish(api_app, job["id"])
    rerun = c.check(sam, "get", "/imports/{job_id}", 200, job_id=job["id"])
    assert (rerun["status"], rerun["counts"]["skipped"], rerun["counts"]["rejected"]) == ("done", 4, 1)
    assert len(list_records(deployed(), actors["sales"], "Contact")) == 3  # nothing written twice
    c.check(api["designer"], "get", "/imports/{job_id}/rejects", 403, job_id=job["id"])
    auditor = Uploader(api_app, api["auditor"].token, "otto")
    c.check(auditor, "post", "/imports", 403, {"file": (b"a\n1\n", "a.csv"), "entity": "Contact"})
    c.check(uploader, "post", "/imports", 400, {"entity": "Contact"})
    c.check(uploader, "post", "/imports", 404, {"file": (b"a\n1\n", "a.csv"), "entity": "Nope"})
    api_app.config["MAX_CONTENT_LENGTH"] = 256 * 1024  # bodies below 500 KB: the test client keeps them in memory
    big = c.check(uploader, "post", "/imports", 413, {"file": (b"a\n" + b"1\n" * 150_000, "big.csv"),
                                                      "entity": "Contact"})
    assert big["message"] == ("The upload is larger than the limit of 0.25 MB per request (MAX_CONTENT_LENGTH): import "
                              "bigger files with flowcrm import.")
    api_app.config["MAX_CONTENT_LENGTH"] = 16 * 1024 * 1024
    broken = c.check(uploader, "post", "/imports", 422, {"file": (b"PK\x03\x04junk", "x.xlsx"), "entity": "Contact"})
    assert "x.xlsx: not a readable XLSX workbook" in broken["fields"]["file"][0]
    assert list(uploads.iterdir()) != []  # the accepted upload is kept for its job
    assert {p for p, _, _ in c.checked} >= set(PATHS)


def test_dry_run_through_the_api_writes_no_record(api_app: Flask, api: dict[str, ApiUser], uploads: Path,
                                                   deployed: Callable[[], UnitOfWork],
                                                   actors: dict[str, Actor]) -> None:
    hank = api["head"]
    uploader = Uploader(api_app, hank.token, hank.username)
    response = uploader.send("post", "/imports", {"file": (MIXED.read_bytes(), "c.csv"), "entity": "Contact",
                                                  "dry_run": "true", "mode": "all_or_nothing"})
    assert response.status_code == 202, response.get_json()
    assert response.headers["Location"].endswith(f"/imports/{response.get_json()['id']}")
    finish(api_app, response.get_json()["id"])
    job = hank.get(f"/imports/{response.get_json()['id']}").get_json()
    assert (job["status"], job["dry_run"], job["counts"]["created"]) == ("done", True, 3)
    assert list_records(deployed(), actors["head"], "Contact") == []
    bad = uploader.send("post", "/imports", {"file": (b"a\n", "a.csv"), "entity": "Contact", "dry_run": "maybe"})
    assert bad.status_code == 400


def test_a_jobs_message_reads_in_the_clients_language_with_its_code(
        api_app: Flask, api: dict[str, ApiUser], uploads: Path, deployed: Callable[[], UnitOfWork],
        actors: dict[str, Actor]) -> None:
    """The job's `message` in the language of Accept-Language, else the token holder's, with `code` and `params`
    beside it (English stays the default)."""
    sam = api["sales"]
    uploader = Uploader(api_app, sam.token, sam.username)
    job = uploader.send("post", "/imports", {"file": (MIXED.read_bytes(), "c.csv"), "entity": "Contact"}).get_json()
    finish(api_app, job["id"])
    rejected = sam.client.get(f"{API}/imports/{job['id']}", headers={**sam.headers, "Accept-Language": "ru"})
    assert rejected.get_json()["status"] == "rejected"
    assert rejected.get_json()["message"] == "отклонено строк: 1 — ничего не записано (всё или ничего)"
    assert (rejected.get_json()["code"], rejected.get_json()["params"]) == ("runtime.import_rejected", {"count": "1"})
    pid = die_while_running(deployed, job["id"])
    english = sam.get(f"/imports/{job['id']}").get_json()
    assert english["message"].startswith(f"the import's worker process (pid {pid}) died")
    assert (english["code"], english["params"]) == ("runtime.import_worker_died", {"pid": str(pid)})
    set_preferences(deployed(), actors["sales"], locale="ru", timezone=None)
    russian = sam.get(f"/imports/{job['id']}").get_json()  # no Accept-Language: the token holder's language
    assert russian["message"].startswith(f"процесс импорта (pid {pid}) завершился аварийно")
    assert russian["code"] == "runtime.import_worker_died"
    resumed = Conformance().check(sam, "post", "/imports/{job_id}/rerun", 202, job_id=job["id"])
    assert resumed["message"].startswith("процесс импорта")
