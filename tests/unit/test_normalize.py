"""Normalized keys: phones, e-mails, names, transliteration, phonetic codes, block keys."""

from __future__ import annotations

import pytest

from engine.config.duplicates_model import NORMALIZERS as CONFIGURABLE
from engine.quality.normalize import (
    NORMALIZERS,
    company_key,
    comparable_forms,
    digits_key,
    email_key,
    keys_of,
    name_key,
    sound_key,
    text_key,
    translit,
)


@pytest.mark.parametrize("typed", ["8 (912) 345-67-89", "+7 912 3456789", "89123456789", "+7-912-345-67-89"])
def test_phone_formats_give_one_e164_key(typed: str) -> None:
    assert keys_of("phone", typed, "RU") == ["+79123456789"]


@pytest.mark.parametrize("typed", ["", "   ", "abc", "12", None, True, ["+79123456789"]])
def test_unreadable_phones_have_no_key(typed: object) -> None:
    assert keys_of("phone", typed, "RU") == []


def test_phone_region_reads_national_numbers() -> None:
    assert keys_of("phone", "(202) 555-0143", "US") == ["+12025550143"]


def test_email_key_is_trimmed_lower_case_and_checked() -> None:
    assert email_key("  Ivan.Petrov@Example.COM ") == "ivan.petrov@example.com"
    assert [email_key(v) for v in ("ivan@", "@example.com", "ivan@example", "a b@example.com", 5)] == [None] * 5


def test_name_key_folds_case_spaces_yo_and_punctuation() -> None:
    assert name_key("  Пётр   ЁЛКИН-Палкин, мл. ") == "петр елкин палкин мл"
    assert name_key("O'Brien") == "obrien"
    assert name_key("Józef Müller") == "jozef muller"
    assert name_key("Андрей Иванович") == "андрей иванович"  # й keeps its breve
    assert name_key("  ,. ") is None


def test_translit_spells_cyrillic_in_latin_letters() -> None:
    assert translit("иванов") == "ivanov"
    assert translit("Щукин Юрий Хохлов") == "shchukin yuriy khokhlov"
    assert translit("ivanov 42") == "ivanov 42"


def test_company_key_drops_legal_forms() -> None:
    assert company_key("ООО «Ромашка»") == "ромашка"
    assert translit(company_key("Romashka, LLC") or "") == translit(company_key("ООО Ромашка") or "")
    assert company_key("LLC") == "llc"  # nothing but a legal form: kept


def test_digits_and_text_keys() -> None:
    assert digits_key("77 0123-4567") == "7701234567"
    assert digits_key("none") is None
    assert text_key("  Санкт  Петербург ") == "санкт петербург"


@pytest.mark.parametrize("variant", ["Ivanov", "Иванов", "Iwanow", "Иваноф", "Ivanow"])
def test_sound_key_meets_spelling_variants(variant: str) -> None:
    assert sound_key(variant) == sound_key("Ivanov")


def test_sound_key_tells_different_names_apart() -> None:
    assert sound_key("Petrov") != sound_key("Sidorov")


def test_block_keys_ignore_word_order_and_alphabet() -> None:
    for kind in ("name_initials", "name_sounds", "name_prefix", "name_tokens"):
        assert keys_of(kind, "Петров Иван", "RU") == keys_of(kind, "Ivan Petrov", "RU")
    assert keys_of("name", "Петров Иван", "RU") == ["petrov ivan"]  # the whole name keeps its order
    assert keys_of("name_initials", "Иван Петров", "RU") == ["iva pet"]
    assert keys_of("name_prefix", "Иван Петров", "RU") == ["ivan", "petr"]
    assert keys_of("name_initials", "Petrov", "RU") == []  # one word: the per-word keys block it
    assert keys_of("name_prefix", "ООО «Ромашка Трейд»", "RU") == ["roma", "trey"]  # legal forms are no block


def test_comparable_forms_include_translit_and_spelling_folds() -> None:
    assert comparable_forms("Иван Петров", "name") == ("иван петров", "ivan petrov", "ivan petrov")
    assert comparable_forms("Iwan Petrow", "name")[2] == "ivan petrov"
    assert comparable_forms(None, "name") == ()


@pytest.mark.parametrize(("latin", "cyrillic"), [("Dmitrii Krasnoff", "Дмитрий Краснов"), ("Grachyov", "Грачёв"),
                                                 ("Kowaljowa", "Ковалёва"), ("Dostoewski", "Достоевский")])
def test_latin_spelling_variants_fold_to_the_transliteration(latin: str, cyrillic: str) -> None:
    assert comparable_forms(latin, "name")[2] == comparable_forms(cyrillic, "name")[2]


def test_name_pairs_meet_without_the_middle_name() -> None:
    assert keys_of("name_pairs", "Никифоров Олег Михаилович", "RU") == ["mik nik", "mik ole", "nik ole"]
    assert keys_of("name_pairs", "Nikiforov Oleg", "RU") == ["nik ole"]


def test_configuration_names_every_normalizer() -> None:
    assert set(CONFIGURABLE) == set(NORMALIZERS)


def test_a_name_is_folded_once_for_its_search_words_tokens_and_compared_forms(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import unicodedata

    import engine.quality.normalize as normalize
    from engine.search.keys import word_keys

    folded: list[str] = []

    class Counting:
        combining = staticmethod(unicodedata.combining)

        @staticmethod
        def normalize(form: str, text: str) -> str:
            folded.append(text)
            return unicodedata.normalize(form, text)

    monkeypatch.setattr(normalize, "unicodedata", Counting)
    value = "Ёлкина-Петрова Анна Сергеевна (test-fold)"  # a value no other test folds: no cache holds it
    assert word_keys(value) == ["elkina", "petrova", "anna", "sergeevna", "test", "fold"]
    assert normalize.name_tokens(value) == sorted(["elkina", "petrova", "anna", "sergeevna", "test", "fold"])
    assert normalize.comparable_forms(value, "name")[1] == "elkina petrova anna sergeevna test fold"
    assert keys_of("name", value, "RU") == ["elkina petrova anna sergeevna test fold"]
    assert len(folded) == 1  # before: once for each of the four (the search words, tokens, forms and name key)


def test_search_words_fold_each_distinct_word_once_however_many_names_repeat_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import engine.search.keys as search_keys

    folded: list[str] = []

    def counting(text: str) -> str:
        folded.append(text)
        return normalize_latin_fold(text)

    normalize_latin_fold = search_keys.latin_fold
    monkeypatch.setattr(search_keys, "latin_fold", counting)
    # names no other test folds, sharing first names and surnames as an import's rows do
    names = [f"{last} {first}" for last in ("Qwertyakov", "Zxcvbinin", "Asdfghin") for first in ("Iuvenaliy", "Kjell")]
    keys = [search_keys.word_keys(name) for name in names]
    assert keys[0] == ["qvertyakov", "yuvenaly"]
    assert keys[-1] == ["asdfghin", "kyell"]
    assert sorted(folded) == sorted(["qwertyakov", "zxcvbinin", "asdfghin", "iuvenaliy", "kjell"])  # before: 12
