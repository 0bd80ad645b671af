"""Global search speed: N contacts (Russian names, unique phones, e-mails) owned by 20 sellers, their search keys
made by engine.search.keys (the function every write uses), then the header search's queries — a phone typed
another way, a surname in Cyrillic, a name transliterated, an e-mail start — through engine.services.search, as
an admin (sees all) and as one seller (sees 1/20), and the start of a phone typed three ways. Baselines in the same
run: the same words found the naive way, `lower(title) LIKE '%word%'` over the record table (no phone or
transliteration matching at all), and a partial phone read as before (`_previous_query_keys`)."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from pathlib import Path
from time import perf_counter
from typing import Any

from sqlalchemy import insert, intersect, or_, select, text

from bench.common import NOW, deployed_factory, fresh_sqlite, postgres_schema, summary_ms
from bench.names import RU_LAST, RU_MALE, transliterate
from engine.bootstrap import UowFactory, prepare_database
from engine.processes.deployed import active_bundle
from engine.search.keys import QueryKeys, phone_keys, query_keys, record_keys
from engine.services import search as search_service
from engine.services.search import search
from engine.services.users import create_user, get_actor
from engine.services.views import SYSTEM, Actor
from engine.store.filter_sql import FindScope, visible_to
from engine.store.models import RecordRow
from engine.store.repo_base import _inbox_record_ids
from engine.store.search_models import SearchKeyRow
from engine.store.search_repos import MATCH_CAP, MERGED_SLACK, PREFIX_END, SearchRepository

CHUNK = 20_000
SELLERS = 20
NAIVE_RUNS = 5


def _person(n: int) -> dict[str, Any]:
    last, first = RU_LAST[n % len(RU_LAST)], RU_MALE[(n // len(RU_LAST)) % len(RU_MALE)]
    phone = f"{9_000_000_000 + n * 7:010d}"
    return {"full_name": f"{last} {first}", "phone": f"+7 {phone[:3]} {phone[3:6]}-{phone[6:8]}-{phone[8:]}",
            "email": f"{transliterate(last, 'passport').lower()}.{n}@example.ru"}


def _load(factory: UowFactory, rows: int) -> dict[str, Any]:
    """Insert `rows` contacts and their search keys in chunks; seconds spent and keys made."""
    bundle, _ = active_bundle(factory())
    entity = bundle.entities["Contact"]
    owners = [create_user(factory(), f"seller{i}", "bench-password-1", ["sales"], NOW).id for i in range(SELLERS)]
    keys_made, key_s, started = 0, 0.0, perf_counter()
    with factory.engine.begin() as conn:
        first = int(conn.execute(text("SELECT COALESCE(MAX(id), 0) FROM record")).scalar() or 0) + 1
    for start in range(0, rows, CHUNK):
        records, keys = [], []
        for n in range(start, min(rows, start + CHUNK)):
            data, record_id = _person(n), first + n
            records.append({"id": record_id, "entity": "Contact", "title": data["full_name"], "data": data,
                            "owner_id": owners[n % SELLERS], "created_at": NOW, "created_by": "bench",
                            "updated_at": NOW, "revision": 1, "merged_into_id": None})
            made = perf_counter()
            keys += [{"record_id": record_id, "entity": "Contact", "key": k, "owner_id": owners[n % SELLERS]}
                     for k in record_keys(entity, data, bundle.settings.default_region)]
            key_s += perf_counter() - made
        with factory.engine.begin() as conn:
            conn.execute(insert(RecordRow), records)
            conn.execute(insert(SearchKeyRow), keys)
        keys_made += len(keys)
    with factory.engine.begin() as conn:
        conn.execute(text("ANALYZE"))
    return {"records": rows, "keys": keys_made, "load_s": round(perf_counter() - started, 1),
            "keying_s": round(key_s, 1), "keys_per_s": round(keys_made / key_s) if key_s else None,
            "seller_id": owners[0], "first_id": first}


def _cases(rows: int) -> list[tuple[str, str, str]]:
    """(name, search text, the naive baseline's word), all about contact n: its phone typed another way, its
    surname in Cyrillic (shared by 1 contact in 190), its name in Latin letters, its e-mail's start, its full
    name (shared by 1 in 5,700); then starts of its phone: six national digits after the trunk prefix 8 and as
    E.164 digits (1 contact in 700 at 1M), eight national digits (1 in 70,000), and "+7 900", which every
    contact's phone starts with (the worst case)."""
    n = min(4320, rows - rows % SELLERS - SELLERS)  # a contact of seller0, the seller measured
    person = _person(n)
    digits = person["phone"].replace("+7", "").replace(" ", "").replace("-", "")
    phone = f"8 ({digits[:3]}) {digits[3:6]} {digits[6:8]} {digits[8:]}"
    last, first = person["full_name"].split()
    latin = f"{transliterate(last, 'passport')} {transliterate(first, 'passport')}"
    email = person["email"].split("@")[0] + "@"
    return [("phone_typed_differently", phone, phone),
            ("surname_cyrillic", last, last.lower()),
            ("name_transliterated", latin, latin.split()[0].lower()),
            ("email_start", email, email),
            ("full_name_cyrillic", person["full_name"], person["full_name"].lower()),
            ("phone_start_trunk_8", f"8 {digits[:3]} {digits[3:6]}", digits[3:6]),
            ("phone_start_e164", f"+7{digits[:6]}", digits[3:6]),
            ("phone_start_national", f"{digits[:3]}-{digits[3:6]}-{digits[6:8]}", digits[6:8]),
            ("phone_start_every_contact", "+7 900", "900")]


def _timed(call: Callable[[], Any], runs: int) -> tuple[Any, list[float]]:
    call()  # warm-up
    times, result = [], None
    for _ in range(runs):
        start = perf_counter()
        result = call()
        times.append(perf_counter() - start)
    return result, times


def _previous_find(repo: SearchRepository, words: Sequence[str], exact: Sequence[str], prefixes: Sequence[str],
                   scope: FindScope, *, limit: int = 200) -> list[tuple[int, str, str]]:
    """SearchRepository.find as it was before migration 0017 (keys without their owner): the newest MATCH_CAP
    matching ids of everyone's keys, then the visible records among them through an IN list. The baseline of
    the owner-on-key lookup: the same search, data and run, only the lookup differs."""
    subs = [select(SearchKeyRow.record_id).where(SearchKeyRow.key.between(w, w + PREFIX_END)) for w in words]
    alternatives = [SearchKeyRow.key.in_(list(exact))] if exact else []
    alternatives += [SearchKeyRow.key.between(p, p + PREFIX_END) for p in prefixes]
    matching = (intersect(*subs) if len(subs) > 1 else subs[0].distinct()) if subs else \
        select(SearchKeyRow.record_id).where(or_(*alternatives)).distinct()
    column = matching.subquery().c.record_id
    wanted = min(MATCH_CAP, limit + MERGED_SLACK) if scope.owner_ids is None else MATCH_CAP
    ids = list(repo.session.scalars(select(column).order_by(column.desc()).limit(wanted)).all())
    inbox = _inbox_record_ids(*scope.inbox_of) if scope.inbox_of is not None else None
    visible = visible_to(scope.owner_ids, scope.include_unowned, inbox)
    stmt = select(RecordRow.id, RecordRow.entity, RecordRow.title).where(
        RecordRow.id.in_(ids), RecordRow.merged_into_id.is_(None))
    stmt = stmt.where(visible) if visible is not None else stmt
    rows = repo.session.execute(stmt.order_by(RecordRow.id.desc()).limit(limit)).all()
    return [(int(r[0]), str(r[1]), str(r[2])) for r in rows]


def _previous_search(factory: UowFactory, who: Actor, text_: str) -> Any:
    """The header search with the lookup of before migration 0017 (`_previous_find`)."""
    current = SearchRepository.find
    SearchRepository.find = _previous_find  # type: ignore[method-assign]
    try:
        return search(factory(), who, text_)
    finally:
        SearchRepository.find = current  # type: ignore[method-assign]


def _previous_query_keys(text_: str, region: str) -> QueryKeys:
    """engine.search.keys.query_keys as it read a phone before partial numbers: a text phonenumbers reads as a
    possible number (a local one too: "8 900 003" is +78900003) looked up exactly, else its digits and +digits as
    prefixes (no trunk prefix dropped, no local number read as a start). Other texts as today."""
    text_ = text_.strip()
    digits = "".join(ch for ch in text_ if ch.isdigit())
    if not re.fullmatch(r"[\d\s()+\-.]+", text_) or len(digits) < 4:
        return query_keys(text_, region)
    exact = tuple(phone_keys(text_, region)[:1])
    return QueryKeys(exact=exact, prefixes=(digits, f"+{digits}") if not exact else ())


def _previous_keys_search(factory: UowFactory, who: Actor, text_: str) -> Any:
    """The header search with a partial phone read as before (`_previous_query_keys`)."""
    current = search_service.query_keys
    search_service.query_keys = _previous_query_keys
    try:
        return search(factory(), who, text_)
    finally:
        search_service.query_keys = current


def _measure(factory: UowFactory, loaded: dict[str, Any], runs: int) -> list[dict[str, Any]]:
    seller = get_actor(factory(), loaded["seller_id"])
    results = []
    for name, query, word in _cases(loaded["records"]):
        admin_hits, admin_t = _timed(lambda q=query: search(factory(), SYSTEM, q), runs)
        seller_hits, seller_t = _timed(lambda q=query: search(factory(), seller, q), runs)
        partial = name.startswith("phone_start")
        before: dict[str, Any] = {}
        if partial:  # the same partial phone read as before: what it found then and how fast
            hits, times = _timed(lambda q=query: _previous_keys_search(factory, SYSTEM, q), runs)
            before["hits_admin_before"] = sum(len(g.hits) for g in hits.groups)
            before["search_admin_before"] = summary_ms(times)
            hits, times = _timed(lambda q=query: _previous_keys_search(factory, seller, q), runs)
            before["hits_seller_before"] = sum(len(g.hits) for g in hits.groups)
            before["search_seller_before"] = summary_ms(times)
        else:  # the lookup of before migration 0017
            _, previous_t = _timed(lambda q=query: _previous_search(factory, seller, q), runs)
            before["previous_seller"] = summary_ms(previous_t)

        def naive(w: str = word) -> int:
            with factory.engine.connect() as conn:
                return len(conn.execute(text(
                    "SELECT id FROM record WHERE merged_into_id IS NULL AND lower(title) LIKE :p LIMIT 200"),
                    {"p": f"%{w}%"}).all())

        naive_hits, naive_t = _timed(naive, min(runs, NAIVE_RUNS))  # a full scan each: a few runs suffice
        admin, seller_s, base = summary_ms(admin_t), summary_ms(seller_t), summary_ms(naive_t)
        results.append({
            "case": name, "query": query,
            "hits_admin": sum(len(g.hits) for g in admin_hits.groups),
            "hits_seller": sum(len(g.hits) for g in seller_hits.groups), "naive_hits": naive_hits,
            "search_admin": admin, "search_seller": seller_s, "naive_like": base, **before,
            "naive_over_search_admin": round(base["median_ms"] / admin["median_ms"], 1)
            if admin["median_ms"] else None})
    return results


def _run(url: str, backend: str, rows: int, runs: int) -> dict[str, Any]:
    factory = deployed_factory(url)
    try:
        loaded = _load(factory, rows)
        return {"backend": backend, **loaded, "cases": _measure(factory, loaded, runs)}
    finally:
        factory.dispose()


def run_sqlite(workdir: Path, rows: int, runs: int) -> dict[str, Any]:
    """The search part on a fresh SQLite file."""
    return _run(fresh_sqlite(workdir / "search.sqlite"), "sqlite", rows, runs)


def run_postgres(url: str, rows: int, runs: int) -> dict[str, Any]:
    """The search part in a throw-away schema of the PostgreSQL server at `url`."""
    with postgres_schema(url, "flowcrm_bench_search") as scoped:
        prepare_database(scoped)
        return _run(scoped, "postgresql", rows, runs)


def render(run: dict[str, Any]) -> list[str]:
    """The part as text: load figures, then one line per query (median ms; naive LIKE as the baseline), then
    the partial phones against their reading before (hits admin/seller, median ms admin/seller)."""
    lines = [f"search ({run['backend']}): {run['records']:,} contacts, {run['keys']:,} keys, loaded in "
             f"{run['load_s']} s (keying {run['keying_s']} s)",
             f"{'query':<26}{'hits':>6}{'admin ms':>10}{'seller ms':>11}{'seller before 0017':>20}"
             f"{'naive LIKE ms':>15}{'naive/search':>14}"]
    partial = [case for case in run["cases"] if "search_admin_before" in case]
    for case in run["cases"]:
        if case in partial:
            continue
        lines.append(f"{case['case']:<26}{case['hits_admin']:>6}{case['search_admin']['median_ms']:>10}"
                     f"{case['search_seller']['median_ms']:>11}{case['previous_seller']['median_ms']:>20}"
                     f"{case['naive_like']['median_ms']:>15}{case['naive_over_search_admin']!s:>14}")
    if partial:
        lines.append(f"{'partial phone':<26}{'query':>12}{'hits now':>12}{'hits before':>13}{'ms now':>16}"
                     f"{'ms before':>16}")
    for case in partial:
        hits = f"{case['hits_admin']}/{case['hits_seller']}"
        hits_before = f"{case['hits_admin_before']}/{case['hits_seller_before']}"
        now = f"{case['search_admin']['median_ms']}/{case['search_seller']['median_ms']}"
        before = f"{case['search_admin_before']['median_ms']}/{case['search_seller_before']['median_ms']}"
        lines.append(f"{case['case']:<26}{case['query']:>12}{hits:>12}{hits_before:>13}{now:>16}{before:>16}")
    return lines
