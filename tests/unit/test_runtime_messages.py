"""A failing step's English (scripts, sandbox refusals, time limits, timer values, decisions, job errors) reads back
into coded messages, so it is shown in Russian with its technical detail kept; other English stays as it is."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest

from engine.errors import FlowError
from engine.messages import Joined, Message, localized
from engine.messages.reading import read_back, understood
from engine.processes import sandbox
from engine.processes.spiff import Runtime
from engine.rules.expressions import RuleError, evaluate
from engine.services.jobs import describe
from tests.unit.test_camunda7_dmn import run_to_end
from tests.unit.test_savable_data import blob


def _raise(error: Exception) -> None:
    raise error


def failure(run: Callable[[], object]) -> str:
    with pytest.raises(FlowError) as failed:
        run()
    return str(failed.value)


CASES = [
    (  # a script task's error
        lambda: Runtime.start(1, blob("score = 1 / 0"), {}),
        "script task score_task: ZeroDivisionError at line 1: division by zero",
        "задача-скрипт score_task — ошибка ZeroDivisionError в строке 1: division by zero",
    ),
    (  # a sandbox refusal at run time
        lambda: Runtime.start(1, blob("score = sum([[1]], [])"), {}),
        "script task score_task: refused at line 1: sum() adds numbers (or timedeltas) only",
        "задача-скрипт score_task — запрещено (строка 1): sum() складывает только числа (или интервалы времени)",
    ),
    (  # a script running too long
        lambda: sandbox.execute("while True:\n    pass", {}, time_limit=0.2),
        "ran longer than 0.2 s",
        "выполнялся дольше 0.2 с",
    ),
    (  # a rule's expression failing at run time
        lambda: evaluate("score / 0", {"score": 1}, rule="r1", today=date(2026, 1, 1)),
        "rule r1 in 'score / 0': ZeroDivisionError: division by zero",
        "правило r1, выражение 'score / 0' — ошибка ZeroDivisionError: division by zero",
    ),
    (  # a pipeline's final action failing
        lambda: _raise(
            RuleError("won", Message("runtime.no_template", template="'offer'"), label="pipeline web / final won")
        ),
        "pipeline web / final won: send_email: no template 'offer'",
        "воронка web / итог won — send_email: нет шаблона письма 'offer'",
    ),
    (  # a decision that cannot read its input
        lambda: run_to_end("dish.dmn", "dish", {"season": "Spring", "guestCount": "many"}),
        "the process failed: Activity_decide: decision 'dish' (processes/dish.dmn): input 2 'How many guests' "
        "(guestCount): 'many' (text) is not a valid integer",
        "процесс остановился с ошибкой: Activity_decide: решение 'dish' (processes/dish.dmn): вход 2 "
        "'How many guests' (guestCount): 'many' (text) — недопустимое значение типа integer",
    ),
]


@pytest.mark.parametrize(("run", "english", "russian"), CASES)
def test_a_runtime_failure_reads_back_into_russian_keeping_its_detail(
    run: Callable[[], object], english: str, russian: str
) -> None:
    said = failure(run)
    assert said == english  # logs, the CLI and stored incidents keep the English
    assert understood(said)
    assert localized(read_back(said), "ru") == russian
    assert localized(read_back(said), "en") == english


def test_a_job_error_of_a_library_names_its_type_in_russian() -> None:
    said = describe(TypeError("Object of type ValueError is not JSON serializable"))
    assert said == "TypeError: Object of type ValueError is not JSON serializable"
    assert localized(read_back(said), "ru") == "ошибка TypeError: Object of type ValueError is not JSON serializable"


def test_a_decision_tasks_element_prefix_is_kept_and_its_reason_translated() -> None:
    said = read_back("Activity_1: hit policy UNIQUE allows one matching rule, 2 match: rule 1, rule 2")
    assert isinstance(said, Joined)
    assert localized(said, "ru") == (
        "Activity_1: политика UNIQUE допускает одно подходящее правило, подошло 2: rule 1, rule 2"
    )


@pytest.mark.parametrize("text", ["hello: world", "the record is locked", "Some words: and more", "ValueError"])
def test_english_no_template_says_stays_as_it_is(text: str) -> None:
    assert read_back(text) is text
    assert not understood(text)


def test_a_read_back_message_pickles_and_keeps_its_english() -> None:
    said = read_back("script task score_task: ran longer than 5 s")
    assert isinstance(said, Message)
    assert said.code == "runtime.in_element"
    assert said == "script task score_task: ran longer than 5 s"


@pytest.mark.parametrize(
    ("keyword", "value", "english", "russian"),
    [
        ({"multipleOf": 5}, 7, "7 is not a multiple of 5", "сервер сообщил: 7 is not a multiple of 5"),
        (
            {"anyOf": [{"type": "integer"}, {"type": "boolean"}]},
            "x",
            "'x' is not valid under any of the given schemas",
            "'x' не подходит ни под одну из допустимых схем",
        ),
    ],
)
def test_a_form_rule_jsonschema_words_is_coded_or_shown_behind_a_translated_lead(
    keyword: dict[str, object], value: object, english: str, russian: str
) -> None:
    from engine.records.schema import _schema_errors

    (said,) = _schema_errors({"type": "object", "properties": {"n": keyword}}, {"n": value})["n"]
    assert said == english
    assert localized(said, "ru") == russian


@pytest.mark.parametrize(
    ("english", "russian"),
    [
        (
            "someone else changed this in the meantime; reload and try again",
            "за это время данные изменил кто-то другой; обновите страницу и повторите",
        ),
        (
            "the change conflicts with existing data: UNIQUE constraint failed: app_user.username",
            "изменение противоречит уже сохранённым данным: UNIQUE constraint failed: app_user.username",
        ),
    ],
)
def test_a_lost_race_the_database_reports_reads_in_russian_with_the_databases_words(english: str, russian: str) -> None:
    assert localized(read_back(english), "ru") == russian
