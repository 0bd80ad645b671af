"""The import wizard end to end: upload, guessed mapping and preview, dry run, real run, report, rejects CSV."""

from __future__ import annotations

import csv
import io
import re
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from engine.imports.liveness import this_host
from engine.services.imports import list_profiles
from engine.services.records import list_records
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import ROOT
from tests.web.api_client import snapshot
from tests.web.conftest import as_user, text
from web.blueprints.imports import WORKERS

MIXED = ROOT / "tests" / "fixtures" / "imports" / "contacts_mixed.csv"


@pytest.fixture
def importing_app(app: Flask, tmp_path: Path) -> Flask:
    app.config["IMPORT_UPLOADS"] = str(tmp_path / "uploads")
    return app


def finish(app: Flask, job_id: int) -> None:
    """Wait for the job's worker process to end."""
    assert app.extensions[WORKERS][job_id].wait(120) == 0


def upload(browser: FlaskClient, data: bytes, name: str = "contacts.csv", entity: str = "Contact") -> int:
    response = browser.post("/imports/new", data={"entity": entity, "file": (io.BytesIO(data), name)},
                            content_type="multipart/form-data")
    assert response.status_code == 302, text(response)
    found = re.fullmatch(r"/imports/(\d+)/mapping", response.headers["Location"])
    assert found is not None, response.headers["Location"]
    return int(found.group(1))


def test_wizard_from_upload_to_rejects(importing_app: Flask, deployed: Callable[[], UnitOfWork],
                                       actors: dict[str, Actor]) -> None:
    sam = as_user(importing_app, "sam")
    assert "Imports" in text(sam.get("/tasks"))  # the header entry
    job_id = upload(sam, MIXED.read_bytes())

    page = sam.get(f"/imports/{job_id}/mapping")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert re.search(r'name="map-0">.*?<option value="full_name" selected>', html, re.S)
    assert re.search(r'name="map-3">.*?<option value="tags" selected>', html, re.S)
    body = text(page)
    assert "Иванов Иван" in body
    assert "VIP" in body
    assert "Телефон: is not a valid phone number" in body  # row 4's problems

    before = snapshot(deployed)
    preview = sam.post(f"/imports/{job_id}/mapping", data={"action": "preview", "mode": "valid_only",
                                                           "map-0": "full_name", "map-1": "skip"})
    assert preview.status_code == 200
    assert "Телефон: is not a valid phone number" not in text(preview)  # the phone column is skipped now
    assert snapshot(deployed) == before

    dry = sam.post(f"/imports/{job_id}/mapping", data={"action": "run", "mode": "valid_only", "dry_run": "on",
                                                       "map-0": "full_name", "map-1": "phone", "map-2": "email",
                                                       "map-3": "tags", "profile_name": "Контакты с выставки"})
    assert dry.status_code == 302
    assert dry.headers["Location"] == f"/imports/{job_id}"
    finish(importing_app, job_id)
    report = text(sam.get(f"/imports/{job_id}"))
    assert "Dry run: nothing was written." in report
    assert "created 3 · updated 0 · merged 1 · skipped 0 · rejected 1" in report
    assert list_records(deployed(), actors["sales"], "Contact") == []
    assert [p.name for p in list_profiles(deployed(), actors["sales"], "Contact")] == ["Контакты с выставки"]

    again = sam.post(f"/imports/{job_id}/mapping", data={"action": "run", "mode": "valid_only",
                                                         "map-0": "full_name", "map-1": "phone", "map-2": "email",
                                                         "map-3": "tags"})
    assert again.status_code == 302
    finish(importing_app, job_id)
    progress = sam.get(f"/imports/{job_id}/progress.json").get_json()
    assert progress["status"] == "done"
    assert (progress["processed_rows"], progress["total_rows"]) == (5, 5)
    assert progress["counts"] == {"created": 3, "updated": 0, "merged": 1, "skipped": 0, "rejected": 1, "review": 0,
                                  "rule_pairs": 0}
    report = text(sam.get(f"/imports/{job_id}?lang=ru"))
    assert "Импорт №" in report
    assert "Отклонённые строки" in report
    assert len(list_records(deployed(), actors["sales"], "Contact")) == 3
    assert sam.get(f"/imports/{job_id}/mapping").status_code == 302  # ran for real: no second run

    download = sam.get(f"/imports/{job_id}/rejects.csv")
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="contacts-rejects.csv"'
    lines = download.get_data().decode("utf-8").splitlines()
    assert lines[0] == "ФИО,Телефон,Email,Метки,ошибки"  # the page was last shown in Russian
    assert lines[1].startswith("Сидоров Олег,12,oleg@,nope,")

    listing = text(sam.get("/imports"))
    assert "contacts.csv" in listing
    sue = as_user(importing_app, "sue")
    assert sue.get(f"/imports/{job_id}").status_code == 404  # another salesperson's import
    assert "contacts.csv" not in text(sue.get("/imports"))


def test_upload_problems_come_back_on_the_form(importing_app: Flask) -> None:
    sam = as_user(importing_app, "sam")
    broken = sam.post("/imports/new", data={"entity": "Contact", "file": (io.BytesIO(b"PK\x03\x04junk"), "x.xlsx")},
                      content_type="multipart/form-data")
    assert broken.status_code == 422
    assert "x.xlsx: not a readable XLSX workbook" in text(broken)
    empty = sam.post("/imports/new", data={"entity": "Contact"}, content_type="multipart/form-data")
    assert empty.status_code == 422
    assert "Choose a file to import." in text(empty)
    assert list(Path(importing_app.config["IMPORT_UPLOADS"]).iterdir()) == []  # a refused upload is not kept


def test_all_or_nothing_run_shows_the_refused_rows_and_writes_nothing(importing_app: Flask,
                                                                      deployed: Callable[[], UnitOfWork],
                                                                      actors: dict[str, Actor]) -> None:
    hank = as_user(importing_app, "hank")
    job_id = upload(hank, "ФИО;Телефон\nАнна;+7 495 123-45-67\nБорис;нет\n".encode("cp1251"), "ru.csv")
    response = hank.post(f"/imports/{job_id}/mapping", data={"action": "run", "mode": "all_or_nothing",
                                                             "map-0": "full_name", "map-1": "phone"})
    assert response.status_code == 302
    finish(importing_app, job_id)
    report = text(hank.get(f"/imports/{job_id}"))
    assert "1 row(s) refused: nothing was written (all or nothing)." in report
    assert "3 Телефон is not a valid phone number" in report
    assert list_records(deployed(), actors["head"], "Contact") == []
    rejects = hank.get(f"/imports/{job_id}/rejects.csv").get_data()
    assert rejects.decode("cp1251").splitlines()[1] == "Борис;нет;Телефон: is not a valid phone number"

    assert hank.get(f"/imports/{job_id}/mapping").status_code == 200  # nothing was written: fix and run again
    rerun = hank.post(f"/imports/{job_id}/mapping", data={"action": "run", "mode": "all_or_nothing",
                                                          "map-0": "full_name", "map-1": "skip"})
    assert rerun.status_code == 302
    finish(importing_app, job_id)
    assert hank.get(f"/imports/{job_id}/progress.json").get_json()["counts"]["created"] == 2
    assert hank.get(f"/imports/{job_id}/rejects.csv").get_data().decode("cp1251").splitlines() == [
        "ФИО;Телефон;errors"]


def die_while_running(deployed: Callable[[], UnitOfWork], job_id: int) -> int:
    """Leave the job as a worker that was killed mid-run leaves it: running, with the pid of a dead process."""
    dead = subprocess.Popen(["true"])  # a process surely gone once waited for
    dead.wait()
    with deployed() as uow:
        job = uow.imports.job(job_id)
        assert job is not None
        job.status, job.worker_pid, job.worker_host = "running", dead.pid, this_host()
        uow.commit()
    return dead.pid


def test_import_whose_worker_died_shows_failed_and_resumes_or_reruns_from_the_wizard(
        importing_app: Flask, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> None:
    sam = as_user(importing_app, "sam")
    job_id = upload(sam, MIXED.read_bytes())
    pid = die_while_running(deployed, job_id)
    page = text(sam.get(f"/imports/{job_id}"))
    assert f"the import's worker process (pid {pid}) died: killed, out of memory or over its CPU limit" in page
    assert "Resume" in page
    assert "Run again" in page
    reader = as_user(importing_app, "sam")
    reader.get("/tasks?lang=ru")
    in_russian = text(reader.get(f"/imports/{job_id}"))  # the stored reason read back into its code
    assert (f"процесс импорта (pid {pid}) завершился аварийно: его остановили, ему не хватило памяти или он превысил "
            "лимит процессорного времени; продолжите его (уже загруженные строки сохранятся)") in in_russian
    assert "died" not in in_russian

    resumed = sam.post(f"/imports/{job_id}/resume")
    assert resumed.headers["Location"] == f"/imports/{job_id}"
    finish(importing_app, job_id)
    report = text(sam.get(f"/imports/{job_id}"))
    assert "The import resumes in a worker process." in report
    assert "rejected, nothing written" in report  # all or nothing: row 4 is refused, as in a first run
    assert "Resume" not in report

    again = text(sam.post(f"/imports/{job_id}/resume", follow_redirects=True))
    assert f"import {job_id} did not fail (rejected): only a failed import resumes" in again
    ru = as_user(importing_app, "sam")
    ru.get("/tasks?lang=ru")
    rerun = ru.post(f"/imports/{job_id}/rerun")
    assert rerun.status_code == 302
    finish(importing_app, job_id)
    assert "Импорт запущен заново в отдельном рабочем процессе." in text(ru.get(f"/imports/{job_id}"))
    assert list_records(deployed(), actors["sales"], "Contact") == []


def test_upload_beyond_the_request_limit_is_refused_naming_it(importing_app: Flask) -> None:
    importing_app.config["MAX_CONTENT_LENGTH"] = 256 * 1024  # bodies below 500 KB: the test client keeps them in memory
    sam = as_user(importing_app, "sam")
    sam.get("/tasks?lang=ru")
    response = sam.post("/imports/new", data={"entity": "Contact",
                                              "file": (io.BytesIO(b"a\n" + b"1\n" * 150_000), "big.csv")})
    assert response.status_code == 413
    assert ("Файл больше предела в 0.25 МБ на запрос (MAX_CONTENT_LENGTH): большие файлы импортируйте командой "
            "flowcrm import.") in text(response)


def test_a_russian_users_import_report_and_rejects_file_give_the_reasons_in_russian(importing_app: Flask) -> None:
    hank = as_user(importing_app, "hank")
    hank.get("/tasks?lang=ru")
    data = "ФИО;Телефон;Метки;Повторная продажа\nАнна;+7 495 123-45-67;VIP;01.03.2026\nБорис;нет;чай;вчера\n"
    job_id = upload(hank, data.encode("cp1251"), "ru.csv")
    preview = text(hank.get(f"/imports/{job_id}/mapping"))
    assert "Метки: «чай» нет в справочнике tag" in preview
    response = hank.post(f"/imports/{job_id}/mapping", data={
        "action": "run", "mode": "valid_only", "map-0": "full_name", "map-1": "phone", "map-2": "tags",
        "map-3": "repeat_sale_for"})
    assert response.status_code == 302
    finish(importing_app, job_id)
    report = text(hank.get(f"/imports/{job_id}"))
    assert "3 Метки «чай» нет в справочнике tag" in report  # row, column, reason: row 3 of the file
    assert "3 Повторная продажа «вчера» — не дата (пишите дд.мм.гггг или гггг-мм-дд)" in report
    assert "3 Телефон неверный номер телефона" in report
    assert "is not" not in report

    download = hank.get(f"/imports/{job_id}/rejects.csv")
    assert download.headers["Content-Type"] == "text/csv; charset=windows-1251"  # labelled as it is encoded
    header, row = csv.reader(io.StringIO(download.get_data().decode("cp1251")), delimiter=";")
    assert header == ["ФИО", "Телефон", "Метки", "Повторная продажа", "ошибки"]
    assert row == ["Борис", "нет", "чай", "вчера", "Телефон: неверный номер телефона; Метки: «чай» нет в справочнике "
                   "tag (vip, wholesale, retail, partner); Повторная продажа: «вчера» — не дата (пишите дд.мм.гггг "
                   "или гггг-мм-дд)"]

    hank.get("/tasks?lang=en")  # the same stored rows, read in English
    english = hank.get(f"/imports/{job_id}/rejects.csv").get_data().decode("cp1251").splitlines()[1]
    assert "Метки: 'чай' is not a value of tag" in english
