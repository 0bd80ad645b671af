"""The five representative filters of the filter benchmark: each in the filter model (docs/filters.md) and the
same query written by hand in SQL (text() with bound parameters), per dialect."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import NOW


@dataclass(frozen=True)
class Case:
    """One filter: its JSON, the hand-written WHERE over `c` (the contact row) per dialect, and its parameters."""

    name: str
    title: str
    filter: dict[str, Any]
    where: dict[str, str]  # dialect -> SQL condition over alias c
    params: dict[str, Any]


def _f(dialect: str, alias: str, name: str) -> str:
    """A field of record.data as text."""
    return f"{alias}.data->>'{name}'" if dialect == "postgresql" else f"json_extract({alias}.data, '$.{name}')"


def _money(dialect: str, alias: str, name: str) -> str:
    kind = "numeric" if dialect == "postgresql" else "REAL"
    return f"CAST({_f(dialect, alias, name)} AS {kind})"


def _moment(dialect: str, alias: str, name: str) -> str:
    if dialect == "postgresql":
        return f"CAST({_f(dialect, alias, name)} AS timestamptz)"
    return f"julianday({_f(dialect, alias, name)})"


def _bound_moment(dialect: str, param: str) -> str:
    return f":{param}" if dialect == "postgresql" else f"julianday(:{param})"


def _status_region(d: str) -> str:
    return f"{_f(d, 'c', 'status')} IN (:s1, :s2) AND {_f(d, 'c', 'region')} = :region"


def _name_prefix(d: str) -> str:
    return f"lower({_f(d, 'c', 'full_name')}) LIKE :prefix"


def _created_owner(d: str) -> str:
    return ("c.created_at >= :since AND c.created_at <= :until "
            "AND c.owner_id IN (SELECT u.id FROM user_account u WHERE u.username = :owner)")


def _won_deal(d: str) -> str:
    # field names and aliases are constants of this file; every value is a bound parameter
    return f"""c.id IN (
        SELECT l.to_record_id FROM record d
        JOIN record_link l ON l.from_record_id = d.id AND l.kind = 'reference' AND l.field = 'client'
        WHERE d.entity = 'Deal' AND d.merged_into_id IS NULL AND {_f(d, 'd', 'stage')} = :stage
          AND {_money(d, 'd', 'amount')} > :amount
          AND {_f(d, 'd', 'close_date')} BETWEEN :closed_from AND :closed_to
          AND EXISTS (SELECT 1 FROM record_link lp JOIN record p ON p.id = lp.to_record_id
                      WHERE lp.from_record_id = d.id AND lp.kind = 'reference' AND lp.field = 'product'
                        AND p.entity = 'Product' AND p.merged_into_id IS NULL
                        AND {_f(d, 'p', 'category')} = :category))"""  # noqa: S608


def _quiet(d: str) -> str:
    activity = ("FROM record_link l JOIN record a ON a.id = l.from_record_id "
                "WHERE l.to_record_id = c.id AND l.kind = 'reference' AND l.field = 'contact' "
                "AND a.entity = 'Activity' AND a.merged_into_id IS NULL")
    happened = _moment(d, "a", "happened_at")
    return f"""(NOT EXISTS (SELECT 1 {activity}
                        AND {happened} >= {_bound_moment(d, 'cutoff')} AND {happened} <= {_bound_moment(d, 'now')})
       OR (SELECT {_f(d, 'a', 'result')} {activity} AND {_f(d, 'a', 'happened_at')} IS NOT NULL
           ORDER BY {happened} DESC, a.id DESC LIMIT 1) = :result)"""


def _iso(moment: datetime) -> str:
    return moment.isoformat()


def cases(dialect: str) -> list[Case]:
    """The five filters; hand-written SQL for `dialect` (postgresql or sqlite)."""
    since, until = datetime(2016, 1, 1, tzinfo=UTC), datetime(2016, 12, 31, 23, 59, 59, tzinfo=UTC)
    cutoff = NOW - timedelta(days=30)
    moments: dict[str, Any] = {"cutoff": cutoff, "now": NOW}
    if dialect != "postgresql":
        moments = {k: _iso(v) for k, v in moments.items()}
    made = [
        ("status_region", "status in (one_time, periodic) and region = moscow",
         {"all": [{"field": "status", "op": "in", "value": ["one_time", "periodic"]},
                  {"field": "region", "op": "eq", "value": "moscow"}]},
         _status_region, {"s1": "one_time", "s2": "periodic", "region": "moscow"}),
        ("name_prefix", "full_name starts with 'Смирнов' (case-insensitive)",
         {"field": "full_name", "op": "starts_with", "value": "Смирнов"},
         _name_prefix, {"prefix": "смирнов%"}),
        ("created_owner", "created in 2016 by owner user07",
         {"all": [{"field": "created_at", "op": "between", "value": [_iso(since), _iso(until)]},
                  {"field": "owner", "op": "eq", "value": "user07"}]},
         _created_owner, {"since": since, "until": until, "owner": "user07"}),
        ("won_deal_phones", "a won Deal over 700 closed April-May 2016 of a product in category phones",
         {"linked": {"entity": "Deal", "via": "client", "aggregate": "exists",
                     "where": {"all": [{"field": "stage", "op": "eq", "value": "won"},
                                       {"field": "amount", "op": "gt", "value": "700"},
                                       {"field": "close_date", "op": "between",
                                        "value": ["2016-04-01", "2016-05-31"]},
                                       {"linked": {"via": "product", "aggregate": "exists",
                                                   "where": {"field": "category", "op": "eq",
                                                             "value": "phones"}}}]}}},
         _won_deal, {"stage": "won", "amount": 700, "closed_from": "2016-04-01", "closed_to": "2016-05-31",
                     "category": "phones"}),
        ("quiet_or_no_answer", "no Activity in 30 days, or the last activity's result is no_answer",
         {"any": [{"linked": {"entity": "Activity", "via": "contact", "aggregate": "none",
                              "where": {"field": "happened_at", "op": "within_last_days", "value": 30}}},
                  {"linked": {"entity": "Activity", "via": "contact", "aggregate": "last", "field": "result",
                              "order_by": "happened_at", "op": "eq", "value": "no_answer"}}]},
         _quiet, {**moments, "result": "no_answer"}),
    ]
    out = []
    for name, title, where, sql, params in made:
        params = dict(params)
        if dialect != "postgresql":
            # created_at as SQLAlchemy stores it on SQLite: naive UTC text with microseconds
            params = {k: (f"{v:%Y-%m-%d %H:%M:%S.%f}" if isinstance(v, datetime) and k in ("since", "until") else v)
                      for k, v in params.items()}
        out.append(Case(name, title, {"entity": "Contact", "where": where}, {dialect: sql(dialect)}, params))
    return out


def page_sql(case: Case, dialect: str) -> tuple[str, str, str]:
    """(first page of 50 ids newest first, count, every id) of the hand-written query."""
    base = (f"FROM record c WHERE c.entity = 'Contact' AND c.merged_into_id IS NULL "
            f"AND {case.where[dialect]}")
    return (f"SELECT c.id {base} ORDER BY c.id DESC LIMIT 50", f"SELECT count(*) {base}", f"SELECT c.id {base}")
