"""processes/labels.yaml: process and step names per locale, checked against the BPMN by `flowcrm check`."""

from __future__ import annotations

import pytest

from engine.config.process_labels import LABELS_FILE, label_in
from engine.errors import ConfigError, Problem
from engine.services.deployments import analyse

LEAD = "processes/lead_qualification.bpmn"
QUALIFY = "    qualify_lead: {en: Qualify lead, ru: Квалифицировать лид}\n"


def label_warnings(files: dict[str, str]) -> list[Problem]:
    warnings: list[Problem] = []
    analyse(files, warnings)
    return [w for w in warnings if w.file == LABELS_FILE or LABELS_FILE in w.message]


def problems(files: dict[str, str]) -> list[Problem]:
    with pytest.raises(ConfigError) as caught:
        analyse(files)
    return caught.value.problems


def test_every_shipped_process_and_step_has_an_en_and_a_ru_label(bundle_files: dict[str, str]) -> None:
    assert label_warnings(bundle_files) == []
    bundle, _ = analyse(bundle_files)
    assert label_in(bundle.process_labels, "lead_qualification", "qualify_lead", "ru", "?") == "Квалифицировать лид"
    assert label_in(bundle.process_labels, "lead_qualification", None, "ru", "?") == "Квалификация лида"
    assert label_in(bundle.process_labels, "lead_qualification", "no_such_step", "ru", "Fallback") == "Fallback"


def test_a_step_missing_a_translation_is_a_warning_naming_the_element_file_and_line(
        bundle_files: dict[str, str]) -> None:
    labels = bundle_files[LABELS_FILE].replace(QUALIFY, "    qualify_lead: {en: Qualify lead}\n")
    [warning] = label_warnings({**bundle_files, LABELS_FILE: labels})
    line = analyse(bundle_files)[1]["lead_qualification"].elements["qualify_lead"].line  # its start tag
    assert line is not None
    assert 'id="qualify_lead"' in "".join(bundle_files[LEAD].splitlines()[line - 2:line])
    assert (warning.file, warning.line, warning.element) == (LEAD, line, "qualify_lead")
    assert warning.message == f"userTask 'Qualify lead' has no ru label (add it to {LABELS_FILE})"


def test_with_an_empty_labels_file_every_process_and_named_step_is_reported(bundle_files: dict[str, str]) -> None:
    files = {**bundle_files, LABELS_FILE: "# nothing translated yet\n"}
    found = {(w.file, w.element) for w in label_warnings(files)}
    assert (LEAD, "lead_qualification") in found
    assert (LEAD, "qualify_lead") in found
    assert (LEAD, "outcome_gateway") in found  # gateways too: they show in an instance's steps


@pytest.mark.parametrize(("entry", "message"), [
    ("    qualify_lead: {en: Qualify lead, de: Lead qualifizieren}\n",
     "unknown locale(s) de; the bundle's locales are en, ru"),
    ("    qualify_lead: Qualify lead\n", "a label must map locales to texts, like {en: ..., ru: ...}"),
])
def test_a_malformed_label_is_an_error_naming_the_labels_file_and_line(bundle_files: dict[str, str], entry: str,
                                                                       message: str) -> None:
    labels = bundle_files[LABELS_FILE].replace(QUALIFY, entry)
    line = bundle_files[LABELS_FILE].splitlines().index(QUALIFY.rstrip("\n")) + 1
    [problem] = problems({**bundle_files, LABELS_FILE: labels})
    assert (problem.file, problem.line, problem.message) == (LABELS_FILE, line, message)


def test_labels_shown_nowhere_are_warnings_naming_the_labels_file_and_line(bundle_files: dict[str, str]) -> None:
    typo = bundle_files[LABELS_FILE].replace(QUALIFY, QUALIFY.replace("qualify_lead", "qualify_leed")) \
        + "no_such_process:\n  label: {en: Nothing, ru: Ничего}\n"
    line = bundle_files[LABELS_FILE].splitlines().index(QUALIFY.rstrip("\n")) + 1
    found = {(w.file, w.line, w.message) for w in label_warnings({**bundle_files, LABELS_FILE: typo})}
    assert (LABELS_FILE, line, "label of no element: process 'lead_qualification' has no element 'qualify_leed' "
                               f"({LEAD})") in found
    assert any(message.startswith("labels of no process: 'no_such_process' is not in processes/*.bpmn (known: ")
               for _, _, message in found)
    assert any(message.startswith("userTask 'Qualify lead' has no en, ru label") for _, _, message in found)


def test_a_bundle_of_several_locales_without_a_labels_file_gets_one_warning(bundle_files: dict[str, str]) -> None:
    files = {k: v for k, v in bundle_files.items() if k != LABELS_FILE}
    [warning] = label_warnings(files)
    assert warning.file == LABELS_FILE
    assert warning.message == ("missing: the names of 5 process(es) and their steps are shown as the "
                               "BPMN has them in every locale (en, ru)")
