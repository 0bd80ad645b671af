"""API: the duplicate review queue — pairs, compare, merge, related, not a duplicate — and undo of a merge."""

from __future__ import annotations

from flask import Response, request
from werkzeug.exceptions import BadRequest

from engine.input_limits import MAX_ID
from engine.quality import merge as merging
from engine.quality import review
from web import now, uow
from web.blueprints.api.base import actor, bp, id_value, json_body, only_keys, page, reply


def _int(value: object, name: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"{name!r} must be an integer")
    return value


@bp.get("/duplicates")
def list_pairs() -> Response:
    """One page of pairs: `status` open (default, by score), decided, merged, dismissed, related or closed (a
    rescan no longer found it); `entity`."""
    limit, offset = page()
    items = review.list_pairs(uow(), actor(), entity=request.args.get("entity") or None,
                              status=request.args.get("status") or "open", limit=limit, offset=offset)
    return reply({"items": items, "limit": limit, "offset": offset})


@bp.get("/duplicates/<int:pair_id>")
def get_pair(pair_id: int) -> Response:
    """A pair with both records side by side."""
    return reply(review.get_pair(uow(), actor(), pair_id))


@bp.post("/duplicates/<int:pair_id>/merge")
def merge_pair(pair_id: int) -> Response:
    """Merge the pair: `{"survivor_id": n, "choices": {field: "survivor"|"merged"}, "expected_revisions": {...}}`."""
    body = json_body()
    only_keys(body, {"survivor_id", "choices", "expected_revisions"})
    survivor_id = id_value(body.get("survivor_id"), "survivor_id", "an integer")
    choices = body.get("choices") or {}
    if not isinstance(choices, dict):
        raise BadRequest("'choices' must be an object of field → 'survivor' or 'merged'")
    revisions = body.get("expected_revisions") or {}
    if not isinstance(revisions, dict) or not all(k.isdigit() and int(k) <= MAX_ID for k in revisions):
        raise BadRequest("'expected_revisions' must be an object of record id → revision")
    detail = review.get_pair(uow(), actor(), pair_id)
    ids = (detail.a.id, detail.b.id)
    if survivor_id not in ids:
        raise BadRequest(f"'survivor_id' must be one of the pair's records: {ids[0]} or {ids[1]}")
    merged_id = ids[1] if survivor_id == ids[0] else ids[0]
    merge_id = merging.merge_records(uow(), actor(), survivor_id, merged_id, choices, now(), pair_id=pair_id,
                                     expected_revisions={int(k): _int(v, f"expected_revisions.{k}")
                                                         for k, v in revisions.items()})
    return reply(review.get_merge(uow(), actor(), merge_id), 201)


@bp.post("/duplicates/<int:pair_id>/related")
def mark_related(pair_id: int) -> Response:
    """Not one record but two related ones: `{"relationship": "<link kind>"}` (optional, default related)."""
    body = json_body() if request.get_data() else {}
    only_keys(body, {"relationship"})
    kind = body.get("relationship")
    if kind is not None and not isinstance(kind, str):
        raise BadRequest("'relationship' must be a code of the link catalog")
    return reply(review.mark_related(uow(), actor(), pair_id, kind, now()))


@bp.post("/duplicates/<int:pair_id>/dismiss")
def dismiss_pair(pair_id: int) -> Response:
    """Not a duplicate."""
    return reply(review.dismiss_pair(uow(), actor(), pair_id, now()))


@bp.post("/merges/<int:merge_id>/undo")
def undo_merge(merge_id: int) -> Response:
    """Undo a merge: both records as they were."""
    merging.undo_merge(uow(), actor(), merge_id, now())
    return reply(review.get_merge(uow(), actor(), merge_id))
