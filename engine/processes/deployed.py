"""The deployed configuration a unit of work runs on: parsed once per content, and the business time it counts in."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import cast

from engine.config.loader import load_bundle
from engine.config.model import Bundle, files_hash
from engine.errors import ConfigError, NotFound, Problem
from engine.limits import Limits, current_limits
from engine.processes.calendar import BusinessTime
from engine.processes.crosscheck import cross_check
from engine.processes.spiff import ProcessDefinition, parse_definitions
from engine.store.uow import UnitOfWork

MEMO_KEY = "active_bundle"  # uow.memo: the unit's deployed configuration, dropped when a deploy changes it
KEY_MEMO = "active_bundle_key"  # uow.memo: (id, content hash) of that configuration, read with it
NOTED_MEMO = "active_bundle_noted_key"  # uow.memo: that key, read by the unit's first statement before it is needed
_MAX_PARSED = 8
# Parsed configurations by content hash: bounded, and keyed by content (ids repeat across databases), so two
# databases served by one process never see each other's configuration.
_PARSED: dict[str, tuple[Bundle, dict[str, ProcessDefinition]]] = {}
_PARSED_LOCK = threading.Lock()
_MAX_READ = 8
# What read_bundle made of a content (the bundle, its definitions, its problems and warnings), by content hash: a
# deploy, `flowcrm check` and the first unit after a deploy read the same files again (a test process deploys the
# same bundle to each of its databases); the model and definitions are not changed by their readers (the parsed
# configuration above is shared by every unit of work the same way). The used last are kept. A content with problems
# is not kept: a constant timer is evaluated under the sandbox's limits (engine.processes.definitions), and a limit
# a loaded machine hit once must not refuse the same files again; the limits are part of the key for the same reason.
_Read = tuple[Bundle | None, dict[str, ProcessDefinition], list[Problem], list[Problem]]
_READ: OrderedDict[tuple[str, Limits], _Read] = OrderedDict()


def read_bundle(
    files: dict[str, str],
    warnings: list[Problem] | None = None,
) -> tuple[Bundle | None, dict[str, ProcessDefinition], list[Problem]]:
    """Load a bundle, parse its processes and cross-check them: the bundle (None when it does not load), its
    process definitions and every problem found. What the engine will not execute is appended to `warnings`. The
    same content without problems read again in this process, under the same sandbox limits, gives what it gave the
    first time (its lists and mapping copied)."""
    key = (files_hash(files), current_limits())
    with _PARSED_LOCK:
        found = _READ.get(key)
        if found is not None:
            _READ.move_to_end(key)
    if found is None:
        found = _read_bundle(files)
        if not found[2]:  # problems are found again by each read (above)
            with _PARSED_LOCK:
                _READ[key] = found
                if len(_READ) > _MAX_READ:
                    _READ.popitem(last=False)
    bundle, definitions, problems, read_warnings = found
    if warnings is not None:
        warnings.extend(read_warnings)
    return bundle, dict(definitions), list(problems)


def _read_bundle(
    files: dict[str, str],
) -> _Read:
    """read_bundle's work: the bundle, its definitions, its problems and its warnings."""
    warnings: list[Problem] = []
    problems: list[Problem] = []
    bundle: Bundle | None = None
    try:
        bundle = load_bundle(files, warnings)
    except ConfigError as exc:
        problems.extend(exc.problems)
    bpmn = {p: t for p, t in files.items() if p.startswith("processes/") and p.endswith(".bpmn")}
    dmn = {p: t for p, t in files.items() if p.startswith("processes/") and p.endswith(".dmn")}
    calendar = bundle.settings.working_hours if bundle is not None else None
    definitions: dict[str, ProcessDefinition] = {}
    try:
        definitions = parse_definitions(
            bpmn, dmn, timezone=calendar.timezone if calendar else "UTC", resources=files, warnings=warnings
        )
    except ConfigError as exc:
        problems.extend(exc.problems)
    if bundle is not None:
        problems.extend(cross_check(bundle, definitions))
    return bundle, definitions, problems, warnings


def active_bundle(uow: UnitOfWork, key: tuple[int, str] | None = None) -> tuple[Bundle, dict[str, ProcessDefinition]]:
    """The deployed configuration, parsed once per content and remembered for the rest of the unit of work; `key`:
    its (id, content hash) when the caller's transaction has just read it with something else."""
    memo = uow.memo.get(MEMO_KEY)
    if memo is not None:
        return memo  # type: ignore[return-value]
    if key is None:
        key = cast(tuple[int, str] | None, uow.memo.get(NOTED_MEMO))
    result, uow.memo[KEY_MEMO] = _load_active(uow, key)
    uow.memo[MEMO_KEY] = result
    return result


def wants_active_key(uow: UnitOfWork) -> bool:
    """True while the unit has neither the deployed configuration nor its key: a statement it sends anyway may
    read the key with its own rows (`note_active_key`) and spare the request a round trip."""
    return MEMO_KEY not in uow.memo and NOTED_MEMO not in uow.memo


def note_active_key(uow: UnitOfWork, key: tuple[int, str] | None) -> None:
    """Remember the deployed configuration's (id, content hash), read with another statement of this unit, for the
    unit's first `active_bundle` (nothing deployed: nothing noted, and `active_bundle` says so when asked)."""
    if key is not None:
        uow.memo[NOTED_MEMO] = key


def forget_active(uow: UnitOfWork) -> None:
    """Let the rest of the unit read the deployed configuration afresh (this unit just deployed one)."""
    uow.memo.pop(MEMO_KEY, None)
    uow.memo.pop(NOTED_MEMO, None)


@dataclass(frozen=True)
class StartingVersion:
    """What starting an instance needs of a process version row: plain values, shared by units of work."""

    id: int
    process_id: str
    version: int
    file: str  # the BPMN file, named by errors
    spec_json: str


_MAX_STARTING = 64
# The newest versions that start on an event for an entity, by database, configuration (id, content hash), entity
# and event: a new record read them (every version row carries its BPMN and spec) in every creation. Process versions
# are written by a deploy only, and a deploy of changed files makes a new configuration id, so the key moves on in
# every process. A deploy of the same files can still write a new version when a newer engine parses them otherwise:
# the deploying process forgets what it remembered (`forget_starting_versions`); a process still running the older
# engine keeps starting the version its engine made until it restarts.
_STARTING: dict[tuple[str, int, str, str, str], tuple[StartingVersion, ...]] = {}


def versions_starting_on(uow: UnitOfWork, entity: str, start_on: str) -> tuple[StartingVersion, ...]:
    """The newest process versions that start on `start_on` (e.g. "create") for records of `entity`, read once
    per deployed configuration."""
    active_bundle(uow)  # the unit's configuration key, read with it (memoized)
    config_id, content_hash = cast(tuple[int, str], uow.memo[KEY_MEMO])
    key = (uow.database, config_id, content_hash, entity, start_on)
    with _PARSED_LOCK:
        found = _STARTING.get(key)
    if found is not None:
        return found
    with uow:
        rows = uow.config.latest_starting_on(entity, start_on)
        found = tuple(StartingVersion(r.id, r.process_id, r.version, r.file, r.spec_json) for r in rows)
    with _PARSED_LOCK:
        if len(_STARTING) >= _MAX_STARTING:
            _STARTING.clear()
        _STARTING[key] = found
    return found


def forget_starting_versions() -> None:
    """Drop the remembered starting versions (a deploy in this process wrote new process versions)."""
    with _PARSED_LOCK:
        _STARTING.clear()


def business_time(uow: UnitOfWork) -> BusinessTime:
    """The calendar (the deployed `settings.working_hours`) and the clock of this unit of work's timers."""
    return BusinessTime(active_bundle(uow)[0].settings.working_hours, uow.clock)


def _load_active(
    uow: UnitOfWork, known: tuple[int, str] | None
) -> tuple[tuple[Bundle, dict[str, ProcessDefinition]], tuple[int, str]]:
    with uow:
        key = known if known is not None else uow.config.latest_key()
        if key is None:
            raise NotFound("no configuration is deployed yet: run `flowcrm deploy DIR`")
        config_id, content_hash = key
        with _PARSED_LOCK:
            cached = _PARSED.get(content_hash)
        if cached is not None:
            return cached, key
        row = uow.config.get_config(config_id)
        assert row is not None  # noqa: S101 - the id was just read in this transaction
        bundle, definitions, problems = read_bundle(dict(row.files))
        if problems or bundle is None:  # it was checked at deploy: only a changed engine can refuse it now
            raise ConfigError(problems)
        with _PARSED_LOCK:
            if len(_PARSED) >= _MAX_PARSED:
                _PARSED.clear()
            _PARSED[content_hash] = bundle, definitions
        return (bundle, definitions), key
