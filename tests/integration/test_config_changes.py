"""Fields and catalog values changed in the browser's service: a diff, a check, a new configuration version with
who and when, a rollback that is a version of its own, and no deploy over a change made meanwhile."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from engine.config.loader import read_bundle_dir
from engine.errors import ConfigError, ConflictError, Forbidden, ValidationError
from engine.processes.deployed import active_bundle
from engine.services.config_changes import (
    apply_change,
    config_versions,
    propose_field,
    propose_value,
    rollback,
    version_diff,
    version_files,
)
from engine.services.deployments import deploy_bundle
from engine.services.records import create_record, get_record
from engine.services.views import Actor
from engine.store.uow import UnitOfWork
from tests.conftest import NOW, ROOT

LABEL = {"en": "Shoe size", "ru": "Размер обуви"}


def test_an_added_field_is_a_new_version_that_records_take_and_a_rollback_removes(
        deployed: Callable[[], UnitOfWork], actors: dict[str, Actor]) -> None:
    admin = actors["admin"]
    change = propose_field(deployed(), admin, "Contact", {"name": "shoe_size", "type": "integer", "label": LABEL})
    assert change.deployable, change.problems
    assert "+  shoe_size:    {type: integer, label: {en: Shoe size, ru: Размер обуви}}" in change.diff.splitlines()
    assert change.diff.startswith("--- a/crm_model/entities/contact.yaml\n+++ b/crm_model/entities/contact.yaml\n")
    before = config_versions(deployed(), admin)[0]
    report = apply_change(deployed(), admin, change, NOW)
    versions = config_versions(deployed(), admin)
    assert versions[0].id == report.config_version_id != before.id
    assert (versions[0].deployed_by, versions[0].note, versions[0].active) == (
        "ada", "browser: field Contact.shoe_size added by ada", True)
    assert active_bundle(deployed())[0].entities["Contact"].fields["shoe_size"].label == LABEL

    contact = create_record(deployed(), actors["sales"], "Contact",
                            {"full_name": "Anna Petrova", "phone": "+7 912 345 67 89", "shoe_size": 38}, NOW)
    assert get_record(deployed(), actors["sales"], contact.id).data["shoe_size"] == 38

    back = rollback(deployed(), admin, before.id, versions[0].id, NOW + timedelta(minutes=5))
    latest = config_versions(deployed(), admin)[0]
    assert (latest.id, latest.note) == (back.config_version_id, f"rollback to version {before.id} by ada")
    assert "shoe_size" not in active_bundle(deployed())[0].entities["Contact"].fields
    _, diff = version_diff(deployed(), admin, latest.id)
    assert "-  shoe_size:    {type: integer, label: {en: Shoe size, ru: Размер обуви}}" in diff.splitlines()
    assert version_files(deployed(), admin, before.id)[1] == version_files(deployed(), admin)[1]


def test_a_change_made_from_an_older_version_is_refused(deployed: Callable[[], UnitOfWork],
                                                        actors: dict[str, Actor]) -> None:
    admin = actors["admin"]
    first = propose_field(deployed(), admin, "Contact", {"name": "hobby", "type": "string", "label": LABEL})
    second = propose_value(deployed(), admin, "tag", {"code": "vip_plus", "label": {"en": "VIP+", "ru": "VIP+"}})
    apply_change(deployed(), admin, second, NOW)
    with pytest.raises(ConflictError, match="changed since this change was prepared"):
        apply_change(deployed(), admin, first, NOW)
    assert "hobby" not in active_bundle(deployed())[0].entities["Contact"].fields
    assert "vip_plus" in {value.code for value in active_bundle(deployed())[0].catalogs["tag"].values}


def test_a_change_check_refuses_is_shown_not_deployed(deployed: Callable[[], UnitOfWork],
                                                      actors: dict[str, Actor]) -> None:
    admin = actors["admin"]
    change = propose_field(deployed(), admin, "Contact",
                           {"name": "age", "type": "integer", "default": "old", "label": LABEL})
    assert not change.deployable
    assert any(p.file == "crm_model/entities/contact.yaml" and p.element == "Contact.age"
               and "default 'old' is not valid" in p.message for p in change.problems)
    with pytest.raises(ConfigError):
        apply_change(deployed(), admin, change, NOW)


@pytest.mark.parametrize(("values", "field", "words"), [
    ({"name": "Bad Name", "type": "string"}, "name", "snake_case"),
    ({"name": "x", "type": "colour"}, "type", "choose a type"),
    ({"name": "x", "type": "enum", "label": LABEL}, "catalog", "choose a catalog"),
    ({"name": "x", "type": "string", "label": {"en": "X"}}, "label", "every language: ru"),
    ({"name": "phone", "type": "integer", "label": LABEL}, "type", "is a phone field"),
])
def test_bad_field_forms_name_the_form_field(deployed: Callable[[], UnitOfWork], actors: dict[str, Actor],
                                             values: dict[str, object], field: str, words: str) -> None:
    with pytest.raises(ValidationError) as caught:
        propose_field(deployed(), actors["admin"], "Contact", values)
    assert field in caught.value.errors
    assert words in caught.value.errors[field][0]


def test_only_admins_edit_and_a_seller_cannot_roll_back(deployed: Callable[[], UnitOfWork],
                                                        actors: dict[str, Actor]) -> None:
    with pytest.raises(Forbidden):
        propose_field(deployed(), actors["designer"], "Contact", {"name": "x", "type": "string", "label": LABEL})
    versions = config_versions(deployed(), actors["admin"])
    with pytest.raises(Forbidden):
        rollback(deployed(), actors["sales"], versions[-1].id, versions[0].id, NOW)


def test_a_process_deployed_again_in_an_older_text_becomes_the_newest_version(
        deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], bundle_files: dict[str, str]) -> None:
    path = "processes/lead_qualification.bpmn"
    changed = {**bundle_files, path: bundle_files[path].replace('name="Lead qualification"', 'name="Lead check"', 1)}
    assert changed[path] != bundle_files[path]
    first = deploy_bundle(deployed(), actors["designer"], changed, NOW)
    assert [v.process_id for v in first.new_versions] == ["lead_qualification"]
    again = deploy_bundle(deployed(), actors["designer"], bundle_files, NOW)
    assert [(v.process_id, v.version) for v in again.new_versions] == [("lead_qualification", 3)]


def test_export_config_writes_what_the_browser_deployed_beside_the_files(
        db_url: str, deployed: Callable[[], UnitOfWork], actors: dict[str, Actor], tmp_path: Path) -> None:
    admin = actors["admin"]
    apply_change(deployed(), admin, propose_value(deployed(), admin, "tag", {
        "code": "from_browser", "label": {"en": "From the browser", "ru": "Из браузера"}}), NOW)
    checkout = tmp_path / "checkout"
    shutil.copytree(ROOT / "crm_model", checkout / "crm_model")
    (checkout / "crm_model/catalogs/stale.yaml").write_text("catalog: stale\n", encoding="utf-8")
    done = CliRunner().invoke(cli.main, ["--database-url", db_url, "export-config", str(checkout)])
    assert done.exit_code == 0, done.output
    assert "not in configuration" in done.output
    assert "(left as it is): crm_model/catalogs/stale.yaml" in done.output
    tag = (checkout / "crm_model/catalogs/tag.yaml").read_text(encoding="utf-8")
    assert "- {code: from_browser, label: {en: From the browser, ru: Из браузера}}" in tag
    assert (checkout / "crm_model/catalogs/stale.yaml").exists()
    assert read_bundle_dir(checkout)["crm_model/entities/contact.yaml"] == (ROOT / "crm_model/entities/contact.yaml"
                                                                           ).read_text(encoding="utf-8")
    again = CliRunner().invoke(cli.main, ["--database-url", db_url, "export-config", str(checkout)])
    assert again.output.startswith(f"configuration {config_versions(deployed(), admin)[0].id}: 0 file(s) written")
    missing = CliRunner().invoke(cli.main, ["--database-url", db_url, "export-config", str(checkout), "--version",
                                            "999999"])
    assert missing.exit_code != 0
    assert "configuration version 999999 not found" in missing.output
