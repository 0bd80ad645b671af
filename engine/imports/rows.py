"""One row of an import: convert, find the record it is, validate, then create, update, fold in, skip it or queue
it for review (on_match: a matched row never loses a value silently)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from engine.config.import_loader import ImportSettings
from engine.config.model import Bundle, Entity
from engine.errors import FlowError, ValidationError
from engine.imports.ahead import Prepared
from engine.imports.changes import Change, defer, flush
from engine.imports.convert import RECORD_ID, BadValue, Converter, is_blank, plain_text
from engine.imports.duplicates import ExactDuplicates
from engine.imports.mapping import SKIP
from engine.imports.rule_pairs import changes_paired_fields, note_new, paired_fields, queue_rule_pairs
from engine.messages import Message, coded
from engine.quality.matching import Candidate, Keys
from engine.records.schema import is_empty, validate_record
from engine.rules.actions import BatchLookups, run_actions
from engine.rules.dispatch import rules_watch
from engine.services.bulk_records import (
    bulk_ready,
    changes_ready,
    insert_records,
    watched_changes_ready,
)
from engine.services.records import can_see, insert_record, write_fields
from engine.services.views import Actor
from engine.store.duplicate_repos import IMPORT_FOUND_BY
from engine.store.events import RecordChanged
from engine.store.models import RecordRow
from engine.store.quality_models import ImportRowKeyRow
from engine.store.uow import UnitOfWork

OUTCOMES = ("created", "updated", "merged", "skipped", "rejected", "review")
BESIDE = "beside"  # _new: the row creates no record and shares no key with the run: it goes alone, the run goes on
REVIEW_FOUND_BY = IMPORT_FOUND_BY  # duplicate_pair.found_by of the pairs an import queues
Problems = list[dict[str, Any]]  # [{column, reason, and code + params when the reason is a Message}]


def problem(column: str, reason: str) -> dict[str, Any]:
    """A row problem: its column, the reason in English, and the reason's code and parameters when it has them
    (so the job page and the rejects file show it in the reader's language)."""
    return {"column": column, "reason": str(reason), **coded(reason)}


class RowRejected(Exception):
    """A row that cannot be imported, with every reason found."""

    def __init__(self, problems: Problems) -> None:
        super().__init__("; ".join(f"{p['column']}: {p['reason']}" for p in problems))
        self.problems = problems


@dataclass
class Reject:
    """A refused row: its number in the file, its cells as text, and the reasons per column."""

    row_number: int
    values: dict[str, str]
    errors: Problems


@dataclass
class _New:
    """A row that creates a record, waiting to be written with the rows of its run."""

    number: int
    cells: Sequence[Any]
    converted: tuple[dict[str, Any], Problems]
    digest: str
    keys: set[tuple[str, str]]  # its row hash, match_on keys and exact duplicate keys: a run shares none
    clean: dict[str, Any]
    review: _Review | None = None  # it matched a record and goes to review: a new record and a pair
    match_keys: Keys | None = None  # its duplicate rules' keys by name, once noted (note_new), for its match_key rows


@dataclass
class _Review:
    """Why a row matching a record becomes a record of its own: the match and the fields it disagrees on."""

    match: Candidate
    existing: RecordRow
    conflicts: list[str]


class CachedLookup:
    """Answers Converter's questions from the database, each question once per import."""

    def __init__(self) -> None:
        self.uow: UnitOfWork | None = None
        self._entities: dict[int, str | None] = {}
        self._titles: dict[tuple[str, str], list[int]] = {}
        self._users: dict[str, bool] = {}

    def _open(self) -> UnitOfWork:
        assert self.uow is not None  # noqa: S101 - the importer binds a unit of work before converting
        return self.uow

    def record_entity(self, record_id: int) -> str | None:
        """The entity of a record (None when there is none)."""
        if record_id not in self._entities:
            self._entities[record_id] = self._open().imports.record_entity(record_id)
        return self._entities[record_id]

    def read_entities(self, record_ids: Iterable[int]) -> None:
        """Learn the entities of many records at once (a batch's reference cells naming ids): one query."""
        wanted = {record_id for record_id in record_ids if record_id not in self._entities}
        if wanted:
            found = self._open().imports.record_entities(wanted)
            self._entities.update({record_id: found.get(record_id) for record_id in wanted})

    def ids_by_title(self, entity: str, title: str) -> list[int]:
        """Ids of the records of `entity` with this title."""
        key = (entity, title)
        if key not in self._titles:
            self._titles[key] = self._open().imports.ids_by_title(entity, title)
        return self._titles[key]

    def user_active(self, username: str) -> bool:
        """Whether an active user has this login name."""
        if username not in self._users:
            user = self._open().users.by_username(username)
            self._users[username] = user is not None and user.active
        return self._users[username]


def match_key(field_type: str, value: Any, region: str) -> str | None:
    """The normalized value two records must share to be one by a match_on field."""
    from engine.quality.normalize import email_key, phone_key, text_key

    if field_type == "email":
        return email_key(value)
    if field_type == "phone":
        return phone_key(value, region)
    return text_key(value)


def row_hash(entity: str, data: dict[str, Any]) -> str:
    """A content hash of a row's converted values: the same row imported again has the same hash."""
    text = json.dumps([entity, sorted(data.items())], ensure_ascii=False, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _contains(record: dict[str, Any], data: dict[str, Any]) -> bool:
    return all(record.get(name) == value for name, value in data.items())


@dataclass
class Importer:
    """The state of one import run: mapping, match index, what this run created and the counts."""

    bundle: Bundle
    entity: Entity
    settings: ImportSettings
    headers: Sequence[str]
    mapping: dict[str, str]
    actor: Actor
    job_id: int
    now: datetime
    finder: ExactDuplicates | None = None  # the entity's exact duplicate rules, when they are asked
    on_match: str | None = None  # the job's choice over the settings' on_match (ON_MATCH)
    date_formats: Mapping[str, str] = field(default_factory=dict)  # the job's date formats per field
    bulk: bool = True  # new records of a batch written together (engine/services/bulk_records.py)
    lookup: CachedLookup = field(default_factory=CachedLookup)
    index: dict[str, dict[str, int]] = field(default_factory=dict)  # match field -> key -> record id
    touched: set[int] = field(default_factory=set)  # records this run created or changed
    hashes: dict[str, int] = field(default_factory=dict)  # row hashes of this run -> record id
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(OUTCOMES, 0))
    rejects: list[Reject] = field(default_factory=list)
    lookups: BatchLookups = field(default_factory=BatchLookups)
    new_keys: list[tuple[str, int]] = field(default_factory=list)  # row keys (hash, record id) not yet written
    held: dict[int, RecordRow] = field(default_factory=dict)  # records the batch's match_on keys point at
    # records created since the duplicate rules last looked (held, so the session keeps them loaded for the pairs)
    created: list[RecordRow] = field(default_factory=list)
    fresh_keys: set[tuple[str, str]] = field(default_factory=set)  # their key values, and the run's (rule_pairs)
    pending: list[Change] = field(default_factory=list)  # matched rows applied in memory, not written yet
    waiting: set[int] = field(default_factory=set)  # the records their changes wait for (engine/imports/changes.py)
    # id(a batch row's converted values) -> (the values, their content hash, their match_on keys): each is asked
    # for by the batch's lookups, the run, the matched rows and the rows written alone, and computed once
    facts: dict[int, tuple[dict[str, Any], str, list[tuple[str, str]]]] = field(default_factory=dict)
    prepared: Prepared | None = None  # the batch's rows read ahead, with their pure facts (engine/imports/ahead.py)

    def __post_init__(self) -> None:
        self.policy = self.on_match or self.settings.on_match
        self.converter = Converter(self.bundle, self.entity, self.lookup,
                                   {**self.settings.date_formats, **self.date_formats})
        self.columns = [(i, h, self.mapping.get(h, SKIP)) for i, h in enumerate(self.headers)]
        self.header_of = {f: h for _, h, f in self.columns if f != SKIP}
        self.bulk = self.bulk and bulk_ready(self.bundle, self.entity)
        self.changes_beside = changes_ready(self.bundle, self.entity)  # matched rows' updates beside a run
        self.watched = {name for name in self.entity.fields if rules_watch(self.bundle, self.entity, name)}
        # the changes of watched fields wait with the others and their rules run for them together
        self.watched_together = self.changes_beside and watched_changes_ready(self.bundle, self.entity)
        self.paired = paired_fields(self)  # a row changing one opens the pairs of the records before it first

    @property
    def source(self) -> str:
        """The field history source of this run's writes."""
        return f"import #{self.job_id}"

    def load_index(self, uow: UnitOfWork) -> None:
        """Index the match_on keys of the entity's existing records (one read per import)."""
        self.index = {name: {} for name in self.settings.match_on}
        if self.index:
            for record_id, data in uow.imports.record_data(self.entity.name):
                self._remember(record_id, data)

    def remember(self, row: RecordRow) -> None:
        """Note a record this run wrote or matched by its current values: later rows of the file may be it."""
        self._remember(row.id, row.data)
        if self.finder is not None:
            self.finder.remember(row.id, row.data)

    def _remember(self, record_id: int, data: dict[str, Any]) -> None:
        """Index a record's match_on keys. A key several records hold (a row sent to review left a second record
        with the first one's e-mail) points at the oldest of them, the lowest id: the records come in whatever
        order the database reads them (PostgreSQL: where a changed record's new version landed in the table;
        SQLite: by the index on entity and owner), and the first one read would decide what a row is."""
        region = self.bundle.settings.default_region
        for name, keys in self.index.items():
            key = match_key(self.entity.fields[name].type, data.get(name), region)
            if key is not None and (key not in keys or record_id < keys[key]):
                keys[key] = record_id

    def read_batch(self, rows: Sequence[dict[str, Any]], prepared: Prepared | None = None) -> list[str]:
        """The content hashes of a batch's converted rows; their hashes and match_on keys are kept for the batch
        (those `prepared` computed, taken as they are: the same values give the same facts)."""
        self.facts = dict(prepared.facts) if prepared is not None else {}
        self.prepared = prepared
        return [self._facts(data)[1] for data in rows]

    def _facts(self, data: dict[str, Any]) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
        found = self.facts.get(id(data))
        if found is not None and found[0] is data:  # held here, so no other dict has its id meanwhile
            return found
        found = self.facts[id(data)] = self.compute_facts(data)
        return found

    def compute_facts(self, data: dict[str, Any]) -> tuple[dict[str, Any], str, list[tuple[str, str]]]:
        """(the values, their content hash, their match_on keys): of the values alone (ahead of the batch too)."""
        region = self.bundle.settings.default_region
        keys = [(name, key) for name in self.index  # its keys are set once per run (load_index), before any batch
                if (key := match_key(self.entity.fields[name].type, data.get(name), region)) is not None]
        return data, row_hash(self.entity.name, data), keys

    def digest(self, data: dict[str, Any]) -> str:
        """The content hash of a row's converted values (row_hash), once per row of the batch."""
        return self._facts(data)[1]

    def match_keys(self, data: dict[str, Any]) -> list[tuple[str, str]]:
        """A row's (match_on field, key) pairs, in the order of match_on, once per row of the batch."""
        return self._facts(data)[2]

    def column(self, name: str) -> str:
        """The file column of a field (the field name when no column maps to it)."""
        return self.header_of.get(name, name)

    def read_references(self, uow: UnitOfWork, batch: Sequence[Sequence[Any]]) -> None:
        """The entities of the records a batch's reference cells name by id, in one query (convert asks)."""
        self.lookup.uow = uow
        columns = [index for index, _, name in self.columns
                   if name != SKIP and self.entity.fields[name].type == "reference"]
        self.lookup.read_entities(int(text.lstrip("#")) for cells in batch for index in columns
                                  if index < len(cells) and not is_blank(cells[index])
                                  and RECORD_ID.fullmatch(text := plain_text(cells[index])))

    def convert(self, uow: UnitOfWork, cells: Sequence[Any]) -> tuple[dict[str, Any], Problems]:
        """Field values of a row's non-blank mapped cells, and a problem per cell that could not be read."""
        self.lookup.uow = uow
        return self.read_cells(cells)

    def read_cells(self, cells: Sequence[Any]) -> tuple[dict[str, Any], Problems]:
        """`convert` without binding the unit of work: enough for rows with no reference or user field."""
        data: dict[str, Any] = {}
        problems: Problems = []
        for index, header, name in self.columns:
            cell = cells[index] if index < len(cells) else None
            if name == SKIP or is_blank(cell):
                continue
            try:
                data[name] = self.converter.value(self.entity.fields[name], cell)
            except BadValue as exc:
                problems.extend(problem(header, message) for message in exc.messages)
        return data, problems

    def row_source(self, number: int) -> str:
        """The field history source of a matched row's writes: the import and the row."""
        return f"{self.source} row {number}"

    def prefetch(self, uow: UnitOfWork, rows: Sequence[dict[str, Any]]) -> None:
        """Read what a batch of rows matches in a few queries: their exact duplicate keys, and the records their
        match_on keys or those keys point at (held for the batch, so matching rows find them in the session)."""
        if self.finder is not None:
            self.finder.prefetch(uow, rows, self.prepared.exact if self.prepared is not None else None)
        self.held = uow.records.by_ids({self.index[name][key] for data in rows
                                        for name, key in self.match_keys(data) if key in self.index[name]})

    def find(self, uow: UnitOfWork, data: dict[str, Any]) -> Candidate | None:
        """The record a row is: by match_on keys (existing records and earlier rows), else by duplicate rules;
        as a candidate naming how it matched (`match_on <field>` or the rule)."""
        for name, key in self.match_keys(data):
            keys = self.index[name]
            if key in keys:
                return Candidate(keys[key], 100.0, f"match_on {name}",
                                 [{"field": name, "how": "exact", "b": data.get(name), "score": 100.0}])
        if self.finder is not None:
            return self.finder(uow, data)
        return None

    def validate(self, data: dict[str, Any], problems: Problems, *, partial: bool) -> dict[str, Any]:
        """Checked values of a row; RowRejected with `problems` plus every validation message per column."""
        failed = {p["column"] for p in problems}
        try:
            clean = self._checked(data) if not partial else None
            if clean is None:
                clean = validate_record(self.entity, self.bundle, data, partial=partial)
        except ValidationError as exc:
            for name, messages in exc.errors.items():
                column = self.column(name)
                if column in failed and messages == ["is required"]:
                    continue  # the cell was there but unreadable: its own reason says so
                problems.extend(problem(column, message) for message in messages)
            raise RowRejected(problems) from exc
        if problems:
            raise RowRejected(problems)
        return clean

    def _checked(self, data: dict[str, Any]) -> dict[str, Any] | None:
        """The validated values of a new record the batch's preparation computed for these values (once: a second
        validation gets a dictionary of its own, as before), None when it did not; its ValidationError raised."""
        prepared = self.prepared
        found = prepared.checked.pop(id(data), None) if prepared is not None else None
        if found is None or found[0] is not data or found[1] != data:
            return None
        if isinstance(found[2], ValidationError):
            raise found[2]
        return found[2]

    def process_batch(self, uow: UnitOfWork, batch: Sequence[tuple[int, Sequence[Any]]],
                      widths: Mapping[int, int], known: dict[str, ImportRowKeyRow],
                      converted: Sequence[tuple[dict[str, Any], Problems]]) -> None:
        """Import a batch of rows in the caller's transaction, in file order: a run of rows that each create a
        record sharing no key with the others is written together; a row sharing a key with the run ends it (the
        run is written) and is looked at again, as the first row of the next run or beside it. A row matching a
        record beside the run (an update, a merge, a skip) is applied in memory and written with the other such
        rows before the next write (engine/imports/changes.py); any other row (a reject, a repeat, a change a rule
        watches) goes through process() alone, after what waits before it is written."""
        run: list[_New] = []
        taken: set[tuple[str, str]] = set()  # the keys of the run's rows (a row sharing one goes alone)
        reviewed: set[int] = set()  # records the run's rows go to review with (their pairs show their values)
        self.lookups = BatchLookups()  # territories and owners the rules' actions read: once per batch
        # the session's identity map holds unchanged rows weakly: the importing user, read for every record it
        # creates (ownership, rules), is kept here so that it is read once per batch, not once per row
        importer = uow.users.get(self.actor.id) if self.actor.id is not None else None
        for (number, cells), row in zip(batch, converted, strict=True):
            width = widths.get(number)
            new = self._new(uow, number, cells, width, known, row, taken, reviewed)
            if new is None and run:  # it may only need the run written first (it shares a key with a row of it)
                self._write(uow, run, known)
                run, taken, reviewed = [], set(), set()
                new = self._new(uow, number, cells, width, known, row, taken, reviewed)
            if new == BESIDE:
                if changes_paired_fields(uow, self, row[0]):
                    self._write(uow, run, known)  # the records before it meet the duplicate rules first
                    run, taken, reviewed = [], set(), set()
                    queue_rule_pairs(uow, self)
                if not defer(self, uow, number, cells, row, known):  # a matched row's write waits for the next
                    flush(self, uow, known)  # it may only need the record's waiting change written first
                    if not defer(self, uow, number, cells, row, known):
                        self.process(uow, number, cells, width, known, row)
            elif new is None:
                self._write(uow, run, known)  # nothing waits but the matched rows' changes
                self.process(uow, number, cells, width, known, row)
            else:
                assert isinstance(new, _New)  # noqa: S101 - the three cases above
                run.append(new)
                new.match_keys = note_new(self, new.clean, self.prepared)
                taken |= new.keys
                if new.review is not None:
                    reviewed.add(new.review.existing.id)
        self._write(uow, run, known)
        uow.imports.add_row_keys(self.entity.name, self.job_id, self.new_keys)  # the batch's, in one statement
        self.new_keys = []
        del importer

    def _new(self, uow: UnitOfWork, number: int, cells: Sequence[Any], width: int | None,
             known: dict[str, ImportRowKeyRow], converted: tuple[dict[str, Any], Problems],
             taken: set[tuple[str, str]], reviewed: set[int]) -> _New | str | None:
        """The row as a new record for the run; BESIDE when it goes alone without ending the run (it creates no
        record and neither touches nor matches the run's records); None when the run must be written first.

        Row by row, the run's records would have been written before it: it may go first only when nothing it
        does can tell (its keys are none of the run's, its record is none a run row goes to review with, and the
        rules its change triggers read and write that record only: changes_ready)."""
        data, problems = converted
        if not self.bulk or width is not None or problems:
            return None
        digest = self.digest(data)
        keys = {("#", digest), *self.match_keys(data)}
        keys.update(self.finder.keys(data) if self.finder is not None else ())
        if not keys.isdisjoint(taken):
            return None
        if digest in self.hashes:  # a repeat of a row before the run: merged or skipped, nothing written
            return BESIDE
        if digest in known:
            return BESIDE if self._imported_before(uow, known[digest], data) is not None else None
        match = self.find(uow, data)  # a record in the database: the run's own records share no key with it
        # an update waits for the run when a run row goes to review with its record (the pair shows its values)
        beside = BESIDE if match is not None and (self.policy == "skip" or (
            self.changes_beside and match.record_id not in reviewed)) else None
        if match is not None and self.policy not in ("review", "update_empty"):
            return beside
        try:
            clean = self.validate(data, [], partial=False)
        except RowRejected:
            return None
        given = {name: value for name, value in clean.items() if name in data}  # not the defaults of a new record
        review = self._to_review(uow, match, given) if match is not None else None
        if match is not None and review is None:
            return beside
        return _New(number, cells, converted, digest, keys, clean, review)

    def _to_review(self, uow: UnitOfWork, match: Candidate, clean: dict[str, Any]) -> _Review | None:
        """How a matching row (its validated values) goes to review, when on_match sends it there and nothing
        refuses it (None: the row goes alone)."""
        existing = uow.records.get(match.record_id)
        if existing is None or not can_see(uow, self.actor, existing):
            return None
        conflicts = self._conflicts(existing, clean)
        if self.policy == "update_empty" and not conflicts:
            return None
        return _Review(match, existing, conflicts)

    def _conflicts(self, existing: RecordRow, clean: dict[str, Any]) -> list[str]:
        """The fields a row's values disagree on with a record's filled ones."""
        return [name for name, value in clean.items()
                if not is_empty(existing.data.get(name)) and self._differs(name, value, existing.data.get(name))]

    def _write(self, uow: UnitOfWork, run: list[_New], known: dict[str, ImportRowKeyRow]) -> None:
        """Create the run's records together; when anything refuses, the rows go one by one (per-row errors).
        The matched rows waiting before them are written first."""
        flush(self, uow, known)
        if not run:
            return
        owner = self.actor.id if self.settings.owner == "importer" else None
        savepoint = uow.imports.savepoint()
        try:
            rows = insert_records(uow, self.actor, self.entity, [new.clean for new in run], self.now,
                                  owner_id=owner, source=self.source, start_processes=self.settings.start_processes,
                                  lookups=self.lookups, sources=[self.row_source(new.number) for new in run],
                                  match_keys=[new.match_keys for new in run])
            if self.settings.actions:
                for row in rows:
                    self._actions(uow, row)
        except FlowError:
            savepoint.rollback()
            for new in run:
                self.process(uow, new.number, new.cells, None, known, new.converted)
            return
        savepoint.commit()
        for new, row in zip(run, rows, strict=True):
            self.remember(row)
            self.touched.add(row.id)
            self.created.append(row)
            self.hashes[new.digest] = row.id
        self.new_keys.extend((new.digest, row.id) for new, row in zip(run, rows, strict=True))
        reviewed = [(new.review, row) for new, row in zip(run, rows, strict=True) if new.review is not None]
        uow.quality.add_pairs([self._pair(review.match, review.existing, review.conflicts, row)
                               for review, row in reviewed])  # new records: no pair of theirs exists yet
        self.counts["created"] += len(run) - len(reviewed)
        self.counts["review"] += len(reviewed)

    def _actions(self, uow: UnitOfWork, row: RecordRow) -> None:
        """The import's own `actions` on a record it created."""
        run_actions(uow, row, self.settings.actions, names=None, source=self.source, actor=self.actor,
                    now=self.now, depth=0)

    def process(self, uow: UnitOfWork, number: int, cells: Sequence[Any], width: int | None,
                known: dict[str, ImportRowKeyRow], converted: tuple[dict[str, Any], Problems]) -> str:
        """Import one row inside the caller's transaction (`converted`: its convert() result); returns its
        outcome (rejects are collected)."""
        values = {h: plain_text(cells[i]) if i < len(cells) and not is_blank(cells[i]) else ""
                  for i, h, _ in self.columns}
        if changes_paired_fields(uow, self, converted[0]):
            queue_rule_pairs(uow, self)  # the records before it meet the duplicate rules first (not rolled back)
        savepoint = uow.imports.savepoint()
        written = len(self.new_keys)
        try:
            outcome = self._process(uow, number, converted, width, known)
        except RowRejected as exc:
            del self.new_keys[written:]
            savepoint.rollback()
            order = {header: index for index, header in enumerate(self.headers)}
            problems = sorted(exc.problems, key=lambda p: order.get(p["column"], len(order)))
            self.rejects.append(Reject(number, values, problems))
            outcome = "rejected"
        except FlowError as exc:  # a rule, an action or a concurrent change refused the write
            del self.new_keys[written:]
            savepoint.rollback()
            self.rejects.append(Reject(number, values, [problem("", str(exc))]))
            outcome = "rejected"
        else:
            savepoint.commit()
        self.counts[outcome] += 1
        return outcome

    def _process(self, uow: UnitOfWork, number: int, converted: tuple[dict[str, Any], Problems],
                 width: int | None, known: dict[str, ImportRowKeyRow]) -> str:
        data, problems = converted[0], list(converted[1])
        if width is not None:
            problems.append(problem("", Message("import.row_width", values=width, columns=len(self.headers))))
        digest = self.digest(data)
        if digest in self.hashes and not problems:  # the same row twice in one file: one record
            return "merged" if self.hashes[digest] in self.touched else "skipped"
        key = known.get(digest)
        if key is not None and not problems:
            earlier = self._imported_before(uow, key, data)
            if earlier is not None:
                self.hashes[digest] = earlier.id
                return "skipped"
        match = self.find(uow, data)
        if match is None:
            outcome, row = self._create(uow, data, problems, source=self.row_source(number))
        else:
            outcome, row = self._update(uow, number, match, data, problems)
        self.remember(row)
        self.hashes[digest] = row.id
        if key is not None:
            key.record_id, key.job_id = row.id, self.job_id
        else:
            self.new_keys.append((digest, row.id))
        return outcome

    def _imported_before(self, uow: UnitOfWork, key: ImportRowKeyRow, data: dict[str, Any]) -> RecordRow | None:
        """The record an earlier import wrote this row to, when it still has the row's values (the row is
        skipped)."""
        earlier = uow.records.get(key.record_id)
        if earlier is not None and earlier.merged_into_id is None and _contains(earlier.data, data):
            return earlier
        return None

    def _create(self, uow: UnitOfWork, data: dict[str, Any], problems: Problems,
                source: str | None = None) -> tuple[str, RecordRow]:
        clean = self.validate(data, problems, partial=False)
        owner = self.actor.id if self.settings.owner == "importer" else None
        row = insert_record(uow, self.actor, self.entity, clean, self.now, owner_id=owner,
                            source=source or self.source, start_processes=self.settings.start_processes)
        if self.settings.actions:
            self._actions(uow, row)
        self.touched.add(row.id)
        self.created.append(row)
        note_new(self, row.data)
        return "created", row

    def _differs(self, name: str, mine: Any, theirs: Any) -> bool:
        """Whether a row's value says something else than the record's (phones, e-mails and text compared as
        their match keys: "8 (912)…" is "+7 912…", case and spacing do not count)."""
        if is_empty(mine) or mine == theirs:
            return False
        field_type = self.entity.fields[name].type
        if field_type in ("string", "text", "email", "phone"):
            region = self.bundle.settings.default_region
            return match_key(field_type, mine, region) != match_key(field_type, theirs, region)
        return True

    def _update(self, uow: UnitOfWork, number: int, match: Candidate, data: dict[str, Any],
                problems: Problems) -> tuple[str, RecordRow]:
        """A row matching a record, by the import's on_match: update (the file's values), update_empty (empty
        fields only; a row disagreeing with a filled field goes to review), skip, or review."""
        record_id = match.record_id
        row = uow.records.get(record_id)
        if row is None or not can_see(uow, self.actor, row):
            raise RowRejected([problem("", Message("import.record_forbidden", record=record_id))])
        folded = record_id in self.touched
        policy = self.policy
        if policy == "skip":
            return ("merged" if folded else "skipped"), row
        clean = self.validate(data, problems, partial=True)
        conflicts = self._conflicts(row, clean)
        if policy == "review" or (policy == "update_empty" and conflicts):
            return self._review(uow, number, match, data, conflicts, row)
        wanted = {name: value for name, value in clean.items()
                  if policy in ("update", "overwrite") or is_empty(row.data.get(name))}
        changed = write_fields(uow, row, wanted, actor=self.actor.username, source=self.row_source(number),
                               now=self.now, entity=self.entity)
        if changed:
            uow.publish(RecordChanged(row, changed, self.now))
            self.touched.add(row.id)
        if folded:
            return "merged", row
        return ("updated" if changed else "skipped"), row

    def _review(self, uow: UnitOfWork, number: int, match: Candidate, data: dict[str, Any], conflicts: list[str],
                existing: RecordRow) -> tuple[str, RecordRow]:
        """The row as a record of its own and an open duplicate pair with the record it matched, for a reviewer
        to merge (field by field, logged and undoable) or dismiss."""
        _, row = self._create(uow, data, [], source=self.row_source(number))
        uow.quality.add_pairs([self._pair(match, existing, conflicts, row)])  # a new record has no pair yet
        return "review", row

    def _pair(self, match: Candidate, existing: RecordRow, conflicts: list[str], row: RecordRow) -> dict[str, Any]:
        """The open duplicate pair of a row's new record and the record it matched (columns of duplicate_pair)."""
        shared = [reason if "a" in reason else {**reason, "a": existing.data.get(str(reason["field"]))}
                  for reason in match.reasons]  # a match_on key names the row's value only
        reasons = [*shared, *({"field": name, "how": "differs", "a": existing.data.get(name),
                                      "b": row.data.get(name), "score": 0.0} for name in conflicts)]
        return {"entity": self.entity.name, "record_a_id": min(existing.id, row.id),
                "record_b_id": max(existing.id, row.id), "score": match.score, "rule": match.rule[:100],
                "reasons": reasons, "status": "open", "found_by": REVIEW_FOUND_BY, "found_at": self.now,
                "decided_at": None, "decided_by": None}
