"""Downloads say once what charset they are in, and it is the one they are written in: CSV exports, report and
audit CSVs, and an import's rejected rows (in the source file's encoding, headed in the user's language)."""

from __future__ import annotations

from pathlib import Path

from engine.imports.run import run_import
from engine.services.imports import create_job
from tests.conftest import NOW
from tests.web.conftest import as_user


def test_csv_downloads_name_their_charset_once(app, deployed, actors):
    hank, otto = as_user(app, "hank"), as_user(app, "otto")
    for browser, url in (
        (hank, "/find/Contact/export.csv"),
        (hank, "/reports/campaign_economics.csv"),
        (otto, "/audit/export.csv"),
    ):
        response = browser.get(url)
        assert response.status_code == 200, url
        assert response.headers.getlist("Content-Type") == ["text/csv; charset=utf-8"], url


def test_import_rejects_come_labelled_with_their_encoding_and_headed_in_russian(app, deployed, actors, tmp_path: Path):
    path = tmp_path / "ru.csv"
    path.write_bytes("ФИО;Телефон\nБорис;нет\n".encode("cp1251"))
    job = create_job(deployed(), actors["sales"], "Contact", path.name, path, NOW, mode="valid_only")
    run_import(deployed, job.id, lambda: NOW)
    download = as_user(app, "sam").get(f"/imports/{job.id}/rejects.csv?lang=ru")
    assert download.status_code == 200
    assert download.headers["Content-Type"] == "text/csv; charset=windows-1251"
    assert download.get_data().decode("cp1251").splitlines() == [
        "ФИО;Телефон;ошибки",
        "Борис;нет;Телефон: неверный номер телефона",
    ]
