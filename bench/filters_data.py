"""The filter benchmark's data: products, contacts, their deals and activities, shaped as the CRM stores them
(money as canonical decimal strings, dates YYYY-MM-DD, datetimes ISO 8601 with offset, references as ids in
`record.data` plus a `record_link` row of kind "reference"). PostgreSQL is filled by COPY, SQLite by executemany."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, text

from bench.common import NOW
from bench.names import EN_FEMALE, EN_LAST, EN_MALE, RU_FEMALE, RU_LAST, RU_MALE, feminine
from bench.synthetic import REGIONS, format_phone
from engine.store.models import RecordLinkRow, RecordRow, UserRow

USERS = 50
PRODUCTS = 200
PRODUCT_CATEGORIES = ("computers", "phones", "furniture", "installation", "support", "training")
STATUSES = ("one_time", "periodic", "permanent", "interested", "probable", "unlikely", "lost", "missed")
STAGES = ("new", "offer", "negotiation", "contract", "invoice", "won", "lost")
STAGE_WEIGHTS = (10, 10, 8, 6, 6, 35, 25)
RESULTS = ("agreed", "no_answer", "callback", "interested", "not_interested", "sent")
MSK = "+03:00"
FIRST_DAY = date(2014, 1, 1)
SPAN_DAYS = (NOW.date() - FIRST_DAY).days
CHUNK = 20_000


@dataclass(frozen=True)
class Layout:
    """Record id ranges of each entity (ids are assigned in this order)."""

    contacts: int
    deals: int
    activities: int

    @property
    def first_contact(self) -> int:
        return PRODUCTS + 1

    @property
    def first_deal(self) -> int:
        return PRODUCTS + self.contacts + 1

    @property
    def first_activity(self) -> int:
        return PRODUCTS + self.contacts + self.deals + 1

    @property
    def records(self) -> int:
        return PRODUCTS + self.contacts + self.deals + self.activities


def layout(contacts: int, deals: int) -> Layout:
    """Ids for `contacts` contacts, `deals` deals and one activity per contact on average."""
    return Layout(contacts, deals, contacts)


def users() -> list[dict[str, Any]]:
    """Fifty sales users (ids 1..50) who own the records."""
    return [{"id": n + 1, "username": f"user{n:02d}", "display_name": f"User {n:02d}", "password_hash": "!",
             "roles": "sales", "team": "moscow", "locale": "ru", "active": True, "created_at": NOW}
            for n in range(USERS)]


Record = tuple[int, str, str, dict[str, Any], int | None, datetime]
Link = tuple[int, int, str]  # from, to, field (kind is always "reference")


def _moment(rng: random.Random, first: date = FIRST_DAY, days: int = SPAN_DAYS) -> datetime:
    day = first + timedelta(days=rng.randrange(days))
    return datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(seconds=rng.randrange(6 * 3600, 20 * 3600))


def records(lay: Layout, seed: int = 5) -> Iterator[tuple[Record, list[Link]]]:
    """Every record with the reference links it owns, in id order; deterministic by seed."""
    rng = random.Random(seed)
    for n in range(PRODUCTS):
        category = PRODUCT_CATEGORIES[n % len(PRODUCT_CATEGORIES)]
        data = {"name": f"{category.title()} item {n + 1}", "sku": f"SKU-{n + 1:05d}", "category": category,
                "price": str(rng.randrange(10, 5000)), "active": True}
        yield (n + 1, "Product", data["name"], data, None, _moment(rng)), []
    owners = [rng.randrange(1, USERS + 1) for _ in range(lay.contacts)]
    for n in range(lay.contacts):
        rid = lay.first_contact + n
        english = rng.random() < 0.15
        female = rng.random() < 0.5
        if english:
            first, last = rng.choice(EN_FEMALE if female else EN_MALE), rng.choice(EN_LAST)
            full, phone = f"{first} {last}", f"2{rng.randrange(10**9):09d}"
        else:
            first, last = rng.choice(RU_FEMALE if female else RU_MALE), rng.choice(RU_LAST)
            last = feminine(last) if female else last
            full, phone = f"{last} {first}", f"9{rng.randrange(10**9):09d}"
        data = {"full_name": full, "first_name": first, "last_name": last,
                "phone": format_phone(phone, rng.randrange(6)), "email": f"c{rid}@example.com",
                "relationship": rng.choice(("client", "potential_client", "target_client")),
                "status": rng.choice(STATUSES), "region": rng.choice(REGIONS)}
        yield (rid, "Contact", full, data, owners[n], _moment(rng)), []
    for n in range(lay.deals):
        rid = lay.first_deal + n
        client = rng.randrange(lay.contacts)
        product = rng.randrange(1, PRODUCTS + 1)
        cents = rng.random() < 0.3
        amount = f"{rng.randrange(50, 3000)}.{rng.randrange(10, 100)}" if cents else str(rng.randrange(50, 3000))
        closed = FIRST_DAY + timedelta(days=rng.randrange(SPAN_DAYS))
        data = {"title": f"Deal {n + 1}", "client": lay.first_contact + client, "product": product,
                "stage": rng.choices(STAGES, STAGE_WEIGHTS)[0], "amount": amount, "close_date": closed.isoformat()}
        links = [(rid, lay.first_contact + client, "client"), (rid, product, "product")]
        yield (rid, "Deal", data["title"], data, owners[client], _moment(rng)), links
    for n in range(lay.activities):
        rid = lay.first_activity + n
        contact = rng.randrange(lay.contacts)
        happened = _moment(rng, NOW.date() - timedelta(days=730), 730).astimezone(_MSK_TZ)
        data = {"subject": "Call", "kind": "call", "direction": "outbound", "result": rng.choice(RESULTS),
                "happened_at": happened.isoformat(), "contact": lay.first_contact + contact}
        link = (rid, lay.first_contact + contact, "contact")
        yield (rid, "Activity", "Call", data, owners[contact], happened), [link]


_MSK_TZ = datetime.fromisoformat(f"2020-01-01T00:00:00{MSK}").tzinfo


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def copy_postgres(conn: Connection, lay: Layout, seed: int = 5) -> dict[str, int]:
    """Fill an empty, deployed PostgreSQL schema by COPY (foreign-key triggers off while loading); row counts."""
    conn.execute(insert(UserRow), users())
    conn.execute(text("SET session_replication_role = replica"))  # consistent by construction; checked below
    raw = conn.connection.driver_connection
    assert raw is not None
    link_id = 0
    link_chunks: list[str] = []  # one COPY at a time per connection: links go after the records
    with raw.cursor() as cur:
        with cur.copy("COPY record (id, entity, title, data, owner_id, created_at, created_by, updated_at, "
                      "revision) FROM STDIN") as copy:
            rec_buf: list[str] = []
            link_buf: list[str] = []
            for (rid, entity, title, data, owner, at), links in records(lay, seed):
                stamp = at.isoformat()
                owner_text = str(owner) if owner is not None else "\\N"
                rec_buf.append(f"{rid}\t{entity}\t{_copy_text(title)}\t"
                               f"{_copy_text(json.dumps(data, ensure_ascii=False))}\t{owner_text}\t{stamp}\tbench\t"
                               f"{stamp}\t1\n")
                for src, dst, name in links:
                    link_id += 1
                    link_buf.append(f"{link_id}\t{src}\t{dst}\treference\t{name}\t{stamp}\tbench\n")
                if len(rec_buf) >= CHUNK:
                    copy.write("".join(rec_buf))
                    link_chunks.append("".join(link_buf))
                    rec_buf, link_buf = [], []
            copy.write("".join(rec_buf))
            link_chunks.append("".join(link_buf))
        with cur.copy("COPY record_link (id, from_record_id, to_record_id, kind, field, created_at, created_by) "
                      "FROM STDIN") as copy:
            for chunk in link_chunks:
                copy.write(chunk)
    conn.execute(text("SET session_replication_role = DEFAULT"))
    for table in ("record", "record_link"):
        conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608 - constant names
                          f"(SELECT max(id) FROM {table}))"))
    conn.execute(text("SELECT setval(pg_get_serial_sequence('user_account', 'id'), :n)"), {"n": USERS})
    return {"records": lay.records, "links": link_id}


def insert_sqlite(conn: Connection, lay: Layout, seed: int = 5) -> dict[str, int]:
    """Fill an empty, deployed SQLite database by executemany in chunks; row counts."""
    conn.execute(insert(UserRow), users())
    rec_buf: list[dict[str, Any]] = []
    link_buf: list[dict[str, Any]] = []
    links = 0
    for (rid, entity, title, data, owner, at), owned in records(lay, seed):
        rec_buf.append({"id": rid, "entity": entity, "title": title, "data": data, "owner_id": owner,
                        "created_at": at, "created_by": "bench", "updated_at": at, "revision": 1})
        link_buf += [{"from_record_id": s, "to_record_id": d, "kind": "reference", "field": f, "created_at": at,
                      "created_by": "bench"} for s, d, f in owned]
        if len(rec_buf) >= CHUNK:
            conn.execute(insert(RecordRow), rec_buf)
            if link_buf:
                conn.execute(insert(RecordLinkRow), link_buf)
            links += len(link_buf)
            rec_buf, link_buf = [], []
    for rows, table in ((rec_buf, RecordRow), (link_buf, RecordLinkRow)):
        if rows:
            conn.execute(insert(table), rows)
    return {"records": lay.records, "links": links + len(link_buf)}
