"""The compiled SQL of filters binds every value and inlines only checked identifiers (no database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.dialects import postgresql, sqlite

from engine.config.loader import load_bundle, read_bundle_dir
from engine.filters.model import parse_filter
from engine.store.field_indexes import declared_in_model, field_index_name
from engine.store.filter_sql import FilterCompiler, id_select
from engine.store.json_fields import identifier
from tests.conftest import NOW
from tests.integration.find_data import PHONE_BUYERS

ROOT = Path(__file__).resolve().parents[2]
NASTY = "x'); DROP TABLE record; --"


@pytest.mark.parametrize("dialect", [sqlite.dialect(paramstyle="named"), postgresql.dialect(paramstyle="named")])
def test_values_are_bound_never_inlined(dialect: object) -> None:
    bundle = load_bundle(read_bundle_dir(ROOT))
    flt = parse_filter(bundle, {"entity": "Contact", "where": {"any": [
        {"field": "full_name", "op": "contains", "value": NASTY},
        {"field": "email", "op": "in", "value": [NASTY]},
        PHONE_BUYERS["where"]]}})
    name = getattr(dialect, "name", "")
    compiled = id_select(FilterCompiler(name, NOW), flt, None).compile(
        dialect=dialect, compile_kwargs={"render_postcompile": True})  # type: ignore[arg-type]
    sql = str(compiled)
    assert "DROP" not in sql
    assert "won" not in sql
    assert "'Contact'" in sql
    assert "'Deal'" in sql
    assert any(NASTY in str(value) for value in compiled.params.values())
    assert "%x'); drop table record; --%" in compiled.params.values()


def test_identifiers_are_checked_before_they_reach_sql() -> None:
    assert identifier("close_date") == "close_date"
    for bad in ("a b", "x'--", "", "1abc", "a.b"):
        with pytest.raises(ValueError, match="not an identifier"):
            identifier(bad)
    assert field_index_name("Deal", "amount") == "ix_rf_deal_amount"
    long = field_index_name("Entity" * 10, "field_" * 5)
    assert len(long) == 63
    assert long.startswith("ix_rf_entityentity")


def test_indexes_made_at_deploy_stay_out_of_alembic_comparisons() -> None:
    assert not declared_in_model("ix_rf_deal_amount", "index", {})
    assert not declared_in_model("ix_record_data_gin", "index", {})
    assert declared_in_model("ix_record_link_to", "index", {})
    assert declared_in_model("ix_rf_deal_amount", "table", {})


@pytest.mark.parametrize("dialect", [sqlite.dialect(paramstyle="named"), postgresql.dialect(paramstyle="named")])
def test_a_narrowed_linked_condition_starts_from_the_linked_records(dialect: object) -> None:
    bundle = load_bundle(read_bundle_dir(ROOT))
    name = getattr(dialect, "name", "")

    def sql(where: dict[str, object]) -> str:
        flt = parse_filter(bundle, {"entity": "Contact", "where": where})
        compiled = id_select(FilterCompiler(name, NOW), flt, None).compile(dialect=dialect)  # type: ignore[arg-type]
        return " ".join(str(compiled).split())

    narrowed = sql(PHONE_BUYERS["where"])
    # the matching deals (and, inside, the matching products) are found once, uncorrelated, then joined back
    assert "record.id IN (SELECT record_link_1.to_record_id FROM record_link AS record_link_1 JOIN record" in narrowed
    assert "IN (SELECT record_2.id FROM record AS record_2 WHERE record_2.entity = " in narrowed
    assert "EXISTS" not in narrowed
    # no condition on the linked records: probing the link index per contact is the cheaper side
    assert "EXISTS (SELECT" in sql({"linked": {"entity": "Deal", "via": "client", "aggregate": "exists"}})
