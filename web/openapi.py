"""The OpenAPI 3.1 document of the JSON API (/api/v1), kept as data next to the routes it describes."""

from __future__ import annotations

import copy
from functools import cache
from typing import Any

Schema = dict[str, Any]


def _ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(type_: str, **extra: Any) -> Schema:
    return {"type": [type_, "null"], **extra}


def _object(properties: dict[str, Schema], *, required: list[str] | None = None, closed: bool = True) -> Schema:
    """An object schema; by default every property is required and no other is allowed (responses)."""
    schema: Schema = {"type": "object", "properties": properties,
                      "required": list(properties) if required is None else required}
    if closed:
        schema["additionalProperties"] = False
    return schema


def _json(schema: Schema) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _ok(description: str, schema: Schema, status: str = "200", location: bool = False) -> dict[str, Any]:
    response: dict[str, Any] = {"description": description, "content": _json(schema)}
    if location:
        response["headers"] = {"Location": {"description": "URL of the created resource",
                                            "schema": {"type": "string"}}}
    return {status: response}


def _errors(*codes: int) -> dict[str, Any]:
    return {str(c): {"$ref": f"#/components/responses/{ERROR_RESPONSES[c]}"} for c in (401, *codes)}


ERROR_RESPONSES = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound",
                   405: "MethodNotAllowed", 409: "Conflict", 413: "TooLarge", 422: "Unprocessable"}


def _list_of(name: str) -> Schema:
    return _object({"items": {"type": "array", "items": _ref(name)}})


def _body(schema: Schema, description: str) -> dict[str, Any]:
    return {"required": True, "description": description, "content": _json(schema)}


def _param(name: str, where: str, schema: Schema, description: str) -> Schema:
    return {"name": name, "in": where, "required": where == "path", "description": description, "schema": schema}


_TIME = {"type": "string", "format": "date-time"}
_TIME_OR_NULL = _nullable("string", format="date-time")
_ANY: Schema = {}

_CODED: dict[str, Schema] = {  # a message the engine coded: its code and parameters beside the rendered text
    "code": {"type": "string", "description": "the message's code in engine/messages (render it in any catalog "
                                              "language with params)"},
    "params": {"type": "object", "additionalProperties": {"type": "string"}},
}

SCHEMAS: dict[str, Schema] = {
    "Error": _object({"error": {"type": "string"},
                      "message": {"type": "string", "description": "in the language of Accept-Language, else the "
                                                                   "token holder's"}, **_CODED},
                     required=["error", "message"]),
    "ValidationErrorBody": _object({
        "error": {"const": "ValidationError"}, "message": {"type": "string"}, **_CODED,
        "fields": {"type": "object", "description": "field name ('' = the whole object) -> messages",
                   "additionalProperties": {"type": "array", "items": {"type": "string"}}}}, required=["fields"],
        closed=False),
    "Reminder": _object({
        "id": {"type": "integer"}, "record_id": {"type": "integer"}, "record_title": _nullable("string"),
        "due_at": _TIME, "note": {"type": "string"}, "created_at": _TIME, "fired_at": _TIME_OR_NULL,
        "task_id": _nullable("string", description="the task the reminder became when it fired")}),
    "NewReminder": _object({"due_at": {**_TIME, "description": "when to remind, with a UTC offset; in the future"},
                            "note": {"type": "string", "maxLength": 1000, "default": ""}}, required=["due_at"]),
    "Problem": _object({"file": {"type": "string"}, "line": _nullable("integer"), "element": _nullable("string"),
                        "message": {"type": "string"}, **_CODED},
                       required=["file", "line", "element", "message"]),
    "ConfigErrorBody": _object({"error": {"const": "ConfigError"}, "message": {"type": "string"}, **_CODED,
                                "problems": {"type": "array", "items": _ref("Problem")}},
                               required=["error", "message", "problems"]),
    "NewEvent": _object({
        "business_key": _nullable("string", description="correlate events: the record id or the value of the "
                                                        "record field events.yaml names (a number is read as text)"),
        "data": {"type": "object", "description": "the payload: merged into the waiting task's data, or mapped "
                                                  "to record fields (data.<key>)"}}, required=[]),
    "EventResult": _object({
        "id": {"type": "integer", "description": "the inbound_event row"}, "name": {"type": "string"},
        "outcome": {"enum": ["correlated", "started"]}, "detail": {"type": "string"}, "received_at": _TIME,
        "record_id": _nullable("integer", description="the created record, or the one the event correlated to"),
        "instance_ids": {"type": "array", "items": {"type": "integer"},
                         "description": "instances started, or that received the message"}}),
    "Me": _object({"id": {"type": "integer"}, "username": {"type": "string"}, "display_name": {"type": "string"},
                   "roles": {"type": "array", "items": {"enum": ["sales", "head_of_sales", "designer", "admin",
                                                                 "auditor"]}},
                   "team": _nullable("string"), "locale": {"type": "string"},
                   "timezone": {**_nullable("string"), "description": "IANA zone the user chose on the profile page "
                                "(null: the bundle's `timezone` setting); the API itself speaks UTC"}}),
    "Task": _object({
        "id": {"type": "string"},
        "instance_id": _nullable("integer", description="null for a standalone task (made by a rule, no process)"),
        "record_id": _nullable("integer"),
        "record_title": _nullable("string"), "element_id": {"type": "string", "description": "BPMN element id"},
        "title": {"type": "string", "description": "in the reader's language (Accept-Language, else their locale)"},
        "form_key": _nullable("string"),
        "candidate_groups": {"type": "array", "items": {"type": "string"}},
        "candidate_users": {"type": "array", "items": {"type": "string"}},
        "assignee": _nullable("string", description="login name"),
        "state": {"enum": ["open", "completed", "cancelled"]}, "due_at": _TIME_OR_NULL, "created_at": _TIME,
        "completed_at": _TIME_OR_NULL, "completed_by": _nullable("string"),
        "process": _nullable("string", description="the process's name; null for a standalone task, and in the "
                                                   "task of a claim, unclaim or completion"),
        "title_labels": _nullable("object", description="a standalone task's title per locale ({en, ru}) when "
                                                        "its maker gave several (a rule's task, a reminder)"),
        "assignee_name": _nullable("string", description="the assignee's display name, as pages show them "
                                                         "(`assignee` stays the login name)")}),
    "TaskDetail": _object({
        "task": _ref("Task"),
        "form_schema": _nullable("object", description="the form's JSON Schema (draft 2020-12) with entity "
                                                        "field types, labels (x-label: {en, ru}) and enums filled in"),
        "form_ui": {"type": "object", "description": "UI hints (field order, widgets)"},
        "values": {"type": "object", "description": "current record values of the form's record fields"},
        "process_name": {"type": "string"}, "can_claim": {"type": "boolean"}, "can_unclaim": {"type": "boolean"},
        "can_complete": {"type": "boolean"}}),
    "TaskList": _object({"items": {"type": "array", "items": _ref("Task")},
                         "scope": {"enum": ["mine", "pool", "overdue", "team", "all"]}, "limit": {"type": "integer"},
                         "offset": {"type": "integer"}, "after": _nullable("string"), "before": _nullable("string"),
                         "next_after": _nullable("string", description="the task id to pass as `after` for the "
                                                                       "next page; null: this is the last page"),
                         "prev_before": _nullable("string", description="the task id to pass as `before` for the "
                                                                        "previous page; null: no page before")}),
    "Record": _object({
        "id": {"type": "integer"}, "entity": {"type": "string"}, "title": {"type": "string"},
        "data": {"type": "object", "description": "field name -> value, as the entity YAML defines them"},
        "owner": _nullable("string"), "created_at": _TIME, "updated_at": _TIME,
        "revision": {"type": "integer", "description": "send back as expected_revision when changing it"},
        "merged_into_id": _nullable("integer", description="set when merged into that record: read-only (409)")}),
    "RecordFields": {"type": "object", "description": "field name -> value (decimal/money as strings like "
                     "\"1200.50\", date YYYY-MM-DD, reference = record id, multi_enum = list of codes)"},
    "RecordChanges": _object({
        "changes": {"$ref": "#/components/schemas/RecordFields"},
        "expected_revision": _nullable("integer", description="the revision you read; 409 if it moved on. "
                                                              "null or absent = last write wins")},
        required=["changes"]),
    "FieldChange": _object({"at": _TIME, "actor": {"type": "string"},
                            "source": {"type": "string", "description": "create, edit, claim or the process step"},
                            "field": {"type": "string"}, "old_value": _ANY, "new_value": _ANY,
                            "origin_id": _nullable("integer", description="set when the change was made on a "
                                                   "record since merged into this one: that record's id")}),
    "Link": _object({
        "id": {"type": "integer"},
        "record_id": {"type": "integer", "description": "the record at the other end"},
        "entity": {"type": "string"}, "title": {"type": "string"},
        "kind": {"type": "string", "description": "reference (kept for a reference field) or a code of the link "
                                                  "catalog (settings.link_catalog)"},
        "field": _nullable("string", description="the reference field, for kind reference"),
        "created_at": _TIME, "created_by": {"type": "string"},
        "openable": {"type": "boolean", "description": "false: the caller may not read the record at the other end "
                                                       "(named by its title all the same)"}}),
    "Links": _object({"outgoing": {"type": "array", "items": _ref("Link")},
                      "incoming": {"type": "array", "items": _ref("Link")}}),
    "NewLink": _object({"to_record_id": {"type": "integer"},
                        "kind": {"type": "string", "description": "a code of the link catalog"}}),
    "Instance": _object({
        "id": {"type": "integer"}, "process_id": {"type": "string"}, "process_name": {"type": "string"},
        "version": {"type": "integer"}, "record_id": _nullable("integer"), "status": {"type": "string"},
        "started_at": _TIME, "started_by": {"type": "string"}, "ended_at": _TIME_OR_NULL}),
    "Step": _object({
        "at": _TIME, "actor": {"type": "string"},
        "kind": {"type": "string", "description": "instance_started, step, task_completed, claimed, unclaimed, "
                                                  "instance_completed, ..."},
        "element_id": _nullable("string"), "element_name": _nullable("string"), "element_type": _nullable("string"),
        "data": _nullable("object", description="the submitted form of a task_completed step")}),
    "InstanceDetail": _object({"instance": _ref("Instance"), "steps": {"type": "array", "items": _ref("Step")},
                               "tasks": {"type": "array", "items": _ref("Task")}}),
    "StartInstance": _object({"process_id": {"type": "string", "minLength": 1},
                              "record_id": _nullable("integer")}, required=["process_id"]),
    "ProcessVersion": _object({
        "id": {"type": "integer"}, "process_id": {"type": "string"}, "name": {"type": "string"},
        "version": {"type": "integer"}, "file": {"type": "string"}, "entity": _nullable("string"),
        "start_on": _nullable("string"), "deployed_at": _TIME, "deployed_by": {"type": "string"},
        "running": {"type": "integer", "description": "running instances of this version"}}),
    "Deployment": _object({"files": {
        "type": "object", "minProperties": 1,
        "description": "bundle path (e.g. processes/x.bpmn, forms/x.json, crm_model/entities/x.yaml) -> text; "
                       "merged over the active configuration's files; null deletes a file",
        "additionalProperties": _nullable("string")}}),
    "DeployReport": _object({
        "config_version_id": {"type": "integer"},
        "config_changed": {"type": "boolean"},
        "new_versions": {"type": "array", "items": _ref("ProcessVersion")},
        "unchanged": {"type": "array", "items": {"type": "string"}, "description": "process ids"}}),
    "TaskReassignment": _object({"task_ids": {"type": "array", "items": {"type": "string"}, "minItems": 1,
                                              "maxItems": 500},
                                 "to": {"type": "string", "description": "login name of the new assignee"}}),
    "RecordReassignment": _object({"record_ids": {"type": "array", "items": {"type": "integer"}, "minItems": 1,
                                                  "maxItems": 500},
                                   "to": {"type": "string", "description": "login name of the new owner"}}),
    "Redistribution": _object({"strategy": {"enum": ["round_robin", "fewest_open"], "default": "round_robin"}},
                              required=[]),
    "Reassigned": _object({
        "to": {"type": "array", "items": {"type": "string"}, "description": "who received work"},
        "task_ids": {"type": "array", "items": {"type": "string"}},
        "record_ids": {"type": "array", "items": {"type": "integer"}}}),
}

RESPONSES = {
    "BadRequest": {"description": "Malformed request: not JSON, not an object, unknown keys, bad query parameter",
                   "content": _json(_ref("Error"))},
    "Unauthorized": {"description": "Missing, unknown or revoked bearer token",
                     "headers": {"WWW-Authenticate": {"schema": {"type": "string"}}},
                     "content": _json(_ref("Error"))},
    "Forbidden": {"description": "The token holder's roles do not allow this", "content": _json(_ref("Error"))},
    "NotFound": {"description": "Unknown id, or not visible to the token holder", "content": _json(_ref("Error"))},
    "MethodNotAllowed": {"description": "The path is not an id: /records/<not a number> names an entity's records, "
                                        "which take GET and POST only", "content": _json(_ref("Error"))},
    "Conflict": {"description": "A concurrent change won (already claimed or completed, stale revision)",
                 "content": _json(_ref("Error"))},
    "TooLarge": {"description": "The request body is larger than the server accepts (JSON: 2 MiB)",
                 "content": _json(_ref("Error"))},
    "Unprocessable": {"description": "Invalid data, with messages per field", "content": _json(
        {"oneOf": [_ref("ValidationErrorBody"), _ref("Error")]})},
}

PARAMETERS = {
    "limit": _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                    "page size"),
    "offset": _param("offset", "query", {"type": "integer", "minimum": 0, "default": 0}, "items to skip"),
    "task_id": _param("task_id", "path", {"type": "string"}, "task id"),
    "record_id": _param("record_id", "path", {"type": "integer"}, "record id"),
    "instance_id": _param("instance_id", "path", {"type": "integer"}, "process instance id"),
    "link_id": _param("link_id", "path", {"type": "integer"}, "link id (Link.id)"),
    "reminder_id": _param("reminder_id", "path", {"type": "integer"}, "reminder id (Reminder.id)"),
    "entity": _param("entity", "path", {"type": "string"}, "entity name as in the configuration, e.g. Lead"),
}


def _p(*names: str) -> list[Schema]:
    return [{"$ref": f"#/components/parameters/{n}"} for n in names]


def _op(summary: str, operation_id: str, tag: str, responses: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"summary": summary, "operationId": operation_id, "tags": [tag], "responses": responses, **extra}


_SCOPE = _param("scope", "query", {"enum": ["mine", "pool", "overdue", "team", "all"], "default": "mine"},
                "mine = assigned to me; pool = claimable by my groups; overdue = mine or claimable by me and past "
                "the due time; team = assigned to my team (head of sales, "
                "admin, auditor); all = every open task (admin, auditor)")

_TASK_FILTERS = [
    _param("sort", "query", {"enum": ["task", "record", "due", "assignee", "process", "created"]},
           "sort by this column (empty values last; assignee: by display name); default: soonest due first"),
    _param("dir", "query", {"enum": ["asc", "desc"], "default": "asc"}, "the sort's direction"),
    _param("task", "query", {"type": "string"}, "the task's name contains this (case-insensitive)"),
    _param("record", "query", {"type": "string"}, "the record's title contains this (case-insensitive)"),
    _param("assignee", "query", {"type": "string"}, "the assignee's display name or login name contains this "
           "(case-insensitive, any script)"),
    _param("process", "query", {"type": "string"}, "a process id: only its tasks"),
    _param("due_from", "query", _TIME, "due at or after this moment (with offset)"),
    _param("due_before", "query", _TIME, "due before this moment (with offset)"),
    _param("after", "query", {"type": "string"}, "keyset paging: the page after this task (a reply's "
           "`next_after`), in the same sort and filters; stable while tasks come and go; not with `offset`"),
    _param("before", "query", {"type": "string"}, "keyset paging: the page before this task (a reply's "
           "`prev_before`); not with `after` or `offset`"),
]

PATHS: dict[str, Any] = {
    "/openapi.json": {"get": _op("This document", "getOpenapi", "meta", {"200": {
        "description": "OpenAPI 3.1 document", "content": _json({"type": "object"})}}, security=[])},
    "/me": {"get": _op("The token holder", "getMe", "meta", {**_ok("The user", _ref("Me")), **_errors()})},
    "/tasks": {"get": _op("Open tasks of a scope", "listTasks", "tasks",
                          {**_ok("Tasks, soonest due first", _ref("TaskList")), **_errors(400, 403, 422)},
                          parameters=[_SCOPE, *_TASK_FILTERS, *_p("limit", "offset")])},
    "/tasks/{task_id}": {"get": _op("A task with its form schema", "getTask", "tasks",
                                    {**_ok("The task", _ref("TaskDetail")), **_errors(404)},
                                    parameters=_p("task_id"))},
    "/tasks/{task_id}/claim": {"post": _op(
        "Claim a pooled task", "claimTask", "tasks",
        {**_ok("The claimed task", _ref("Task")), **_errors(403, 404, 409)}, parameters=_p("task_id"),
        description="Of two racing claimers exactly one wins; the other gets 409.")},
    "/tasks/{task_id}/unclaim": {"post": _op(
        "Give a claimed task back to its pool", "unclaimTask", "tasks",
        {**_ok("The task", _ref("Task")), **_errors(403, 404, 409)}, parameters=_p("task_id"))},
    "/tasks/{task_id}/complete": {"post": _op(
        "Complete a task with its form data", "completeTask", "tasks",
        {**_ok("The completed task", _ref("Task")), **_errors(400, 403, 404, 409, 422)}, parameters=_p("task_id"),
        requestBody=_body({"type": "object"}, "the form values, validated against TaskDetail.form_schema"),
        description="Record fields of the form are written to the record (with history); the process moves on. "
                    "An unclaimed task is claimed by the completer. Of two racing completions exactly one wins; "
                    "the other gets 409.")},
    "/records/{entity}": {
        "get": _op("Records of an entity", "listRecords", "records",
                   {**_ok("Records, newest first", _object({
                       "items": {"type": "array", "items": _ref("Record")}, "limit": {"type": "integer"},
                       "offset": {"type": "integer"}, "after": _nullable("integer"),
                       "next_after": _nullable("integer", description="the record id to pass as `after` for the "
                                                                      "next page; null: this is the last page")})),
                    **_errors(400, 403, 404, 422)},
                   parameters=[*_p("entity", "limit", "offset"), _param(
                       "after", "query", {"type": "integer", "minimum": 1},
                       "keyset paging: the records older than this one (a reply's `next_after`); stable while "
                       "records are added; not with `offset`")]),
        "post": _op("Create a record", "createRecord", "records",
                    {**_ok("The created record", _ref("Record"), "201", location=True),
                     **_errors(400, 403, 404, 422)},
                    parameters=_p("entity"), requestBody=_body(_ref("RecordFields"), "the record's fields"),
                    description="Processes whose flowcrm.startOn is create start on the new record.")},
    "/records/{record_id}": {
        "get": _op("A record", "getRecord", "records", {**_ok("The record", _ref("Record")), **_errors(404)},
                   parameters=_p("record_id")),
        "patch": _op("Change some fields of a record", "updateRecord", "records",
                     {**_ok("The changed record", _ref("Record")), **_errors(400, 403, 404, 405, 409, 422)},
                     parameters=_p("record_id"),
                     requestBody=_body(_ref("RecordChanges"), "the changed fields and the revision you read"),
                     description="Without expected_revision the last write wins: a write that lost a race with "
                                 "another one is retried over it, so concurrent changes all answer 200. With it, "
                                 "a revision that moved on answers 409 and nothing changes.")},
    "/records/{record_id}/history": {"get": _op(
        "Field history of a record, newest first, a page at a time", "recordHistory", "records",
        {**_ok("One page of changes, newest first", _object({
            "items": {"type": "array", "items": _ref("FieldChange")}, "limit": {"type": "integer"},
            "older": _nullable("integer", description="pass as `before` for the next, older page; null on the "
                               "oldest page")})),
         **_errors(400, 404)},
        parameters=[*_p("record_id"),
                    _param("before", "query", {"type": "integer"}, "`older` of the previous page"),
                    _param("limit", "query", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50},
                           "changes per page")],
        description="Keyset paging: a page reads `limit` changes however long the history. Changes of records "
                    "merged into this one are included, with `origin_id`. A `before` that is not a change of "
                    "this record's history is a 400 naming it.")},
    "/records/{record_id}/instances": {"get": _op(
        "Process instances of a record", "recordInstances", "records",
        {**_ok("Instances", _list_of("Instance")), **_errors(404)}, parameters=_p("record_id"))},
    "/records/{record_id}/links": {
        "get": _op("Links of a record, both directions", "recordLinks", "records",
                   {**_ok("Outgoing and incoming links, oldest first", _ref("Links")), **_errors(404)},
                   parameters=_p("record_id"),
                   description="Links to records the token holder cannot see are left out."),
        "post": _op("Link a record to another one", "linkRecords", "records",
                    {**_ok("The new outgoing link", _ref("Link"), "201"), **_errors(400, 403, 404, 409, 422)},
                    parameters=_p("record_id"), requestBody=_body(_ref("NewLink"), "the other record and the kind"),
                    description="Both records note the link in their field history as `link:<kind>`.")},
    "/links/{link_id}": {"delete": _op(
        "Remove a hand-made link", "unlinkRecords", "records",
        {"204": {"description": "Removed"}, **_errors(403, 404, 409, 422)}, parameters=_p("link_id"),
        description="Reference links (kind reference) go away by clearing their field: 422.")},
    "/records/{record_id}/reminders": {
        "get": _op("My pending reminders on a record", "recordReminders", "records",
                   {**_ok("Reminders, soonest first", _list_of("Reminder")), **_errors(404)},
                   parameters=_p("record_id")),
        "post": _op("Remind me about a record", "setReminder", "records",
                    {**_ok("The new reminder", _ref("Reminder"), "201"), **_errors(400, 403, 404, 409, 422)},
                    parameters=_p("record_id"), requestBody=_body(_ref("NewReminder"), "when, and a note"),
                    description="When due, the worker turns it into a task assigned to the token holder. "
                                "Auditors change nothing: 403.")},
    "/reminders/{reminder_id}": {"delete": _op(
        "Cancel one of my reminders", "cancelReminder", "records",
        {"204": {"description": "Cancelled"}, **_errors(403, 404, 409)}, parameters=_p("reminder_id"),
        description="Others' reminders answer 404; one that already fired answers 409; auditors get 403.")},
    "/tasks/reassign": {"post": _op(
        "Reassign open tasks to one person", "reassignTasks", "tasks",
        {**_ok("What moved", _ref("Reassigned")), **_errors(400, 403, 422)},
        requestBody=_body(_ref("TaskReassignment"), "up to 500 task ids and the new assignee"),
        description="Head of sales (tasks of their team, to a member of it) or admin. One transaction: if any id "
                    "is unknown, not open or not theirs, nothing moves and 422 lists the ids. Each task's "
                    "instance history gets a `reassigned` step with from/to.")},
    "/records/reassign": {"post": _op(
        "Give records to a new owner", "reassignRecords", "records",
        {**_ok("What moved", _ref("Reassigned")), **_errors(400, 403, 409, 422)},
        requestBody=_body(_ref("RecordReassignment"), "up to 500 record ids and the new owner"),
        description="Head of sales (records of their team or unowned) or admin; all or nothing; the owner change "
                    "is written to each record's field history.")},
    "/users/{username}/redistribute": {"post": _op(
        "A user leaves: deactivate them and spread their work", "redistributeUser", "tasks",
        {**_ok("What moved and to whom", _ref("Reassigned")), **_errors(400, 403, 404, 409, 422)},
        parameters=[_param("username", "path", {"type": "string"}, "login name")],
        requestBody={"required": False, "description": "optional balance strategy",
                     "content": _json(_ref("Redistribution"))},
        description="Admin, or the head of sales of the user's team. Open tasks and owned records go round-robin "
                    "(or to the least loaded) over the remaining active members of the team; 409 when no one is "
                    "left.")},
    "/instances": {"post": _op(
        "Start a process", "startInstance", "instances",
        {**_ok("The started instance", _ref("Instance"), "201", location=True),
         **_errors(400, 403, 404, 409, 422)},
        requestBody=_body(_ref("StartInstance"), "the process id and, for processes on an entity, the record"))},
    "/instances/{instance_id}": {"get": _op(
        "An instance with its steps and tasks", "getInstance", "instances",
        {**_ok("The instance", _ref("InstanceDetail")), **_errors(404)}, parameters=_p("instance_id"))},
    "/process-versions": {"get": _op(
        "Deployed process versions", "listProcessVersions", "definitions",
        {**_ok("Versions, newest first per process", _list_of("ProcessVersion")), **_errors(403)})},
    "/events/{name}": {"post": _op(
        "Post an inbound event (webhook)", "postEvent", "events",
        {**_ok("What the event did", _ref("EventResult"), "201"), **_errors(400, 403, 404, 409, 422)},
        parameters=[_param("name", "path", {"type": "string"}, "an event name of crm_model/events.yaml")],
        requestBody=_body(_ref("NewEvent"), "the business key and the payload"),
        description="Admins, designers (integration users), sales and heads of sales. `correlate` events deliver "
                    "their BPMN message to every instance waiting for it on a matching record (409 when none "
                    "waits); `start` events create a record from the payload and start its processes (422 with "
                    "messages per payload path). Every event, accepted or refused, is kept in inbound_event.")},
    "/deployments": {"post": _op(
        "Deploy configuration files", "deploy", "definitions",
        {**_ok("What changed", _ref("DeployReport")), **_errors(400, 403),
         "422": {"description": "The resulting bundle is broken (problems per file and line), or a file text "
                                "contains what no file may (messages per field); nothing was deployed",
                 "content": _json({"oneOf": [_ref("ConfigErrorBody"), _ref("ValidationErrorBody")]})}},
        requestBody=_body(_ref("Deployment"), "changed files"),
        description="Designers and admins. Changed processes get a new version; running instances keep theirs.")},
}

DOCUMENT: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "flowcrm API", "version": "1.0.0",
             "description": "Tasks, records, process instances and deployments of a flowcrm server. Every route "
                            "but this document needs `Authorization: Bearer <token>`; issue tokens with "
                            "`flowcrm create-token USERNAME`. Errors are JSON objects with `error` and `message`."},
    "servers": [{"url": "/api/v1"}],
    "security": [{"bearer": []}],
    "tags": [{"name": n} for n in ("meta", "tasks", "records", "instances", "definitions", "events")],
    "paths": PATHS,
    "components": {"schemas": SCHEMAS, "responses": RESPONSES, "parameters": PARAMETERS,
                   "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer",
                                                  "description": "a token from `flowcrm create-token`"}}},
}


# feature areas documented in web/apidoc/<name>.py: PATHS, SCHEMAS, PARAMETERS, TAGS
PART_MODULES: tuple[str, ...] = ("audit", "reports", "imports", "duplicates", "find", "segments", "incidents",
                                 "engine_rest", "cards", "boards", "search")


def openapi_document() -> dict[str, Any]:
    """A copy of the OpenAPI document with every feature part merged in (callers may change it freely)."""
    return copy.deepcopy(_merged_document())


@cache
def _merged_document() -> dict[str, Any]:
    """The document with the parts merged, built once per process."""
    import importlib

    document = copy.deepcopy(DOCUMENT)
    for name in PART_MODULES:
        part = importlib.import_module(f"web.apidoc.{name}")
        for section, target in (("PATHS", document["paths"]), ("SCHEMAS", document["components"]["schemas"]),
                                ("PARAMETERS", document["components"]["parameters"])):
            extra = copy.deepcopy(getattr(part, section, {}))
            clash = set(extra) & set(target)
            if clash:
                raise ValueError(f"web/apidoc/{name}.py redefines {section} {sorted(clash)}")
            target.update(extra)
        document["tags"] += [{"name": tag} for tag in getattr(part, "TAGS", ())]
    _add_edge_responses(document)
    return document


_METHODS = frozenset({"get", "put", "post", "delete", "patch", "head", "options", "trace"})


def _add_edge_responses(document: dict[str, Any]) -> None:
    """The answers web.edge gives before any route runs, on every operation they can happen to: 400 for a bad
    query parameter or a malformed or too deeply nested JSON body, 413 for a body too large, 422 for a text or
    number a body holds that cannot be stored, 404 for an id beyond the id columns."""
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method not in _METHODS or operation.get("security") == []:
                continue
            shared = document["components"]["parameters"]
            wheres = {shared[p["$ref"].rsplit("/", 1)[1]]["in"] if "$ref" in p else p["in"]
                      for p in operation.get("parameters", [])}
            codes = set()
            if "query" in wheres:
                codes.add(400)
            if "{" in path:
                codes.add(404)
            if "requestBody" in operation:
                codes |= {400, 413, 422}
            for code in sorted(codes):
                operation["responses"].setdefault(
                    str(code), {"$ref": f"#/components/responses/{ERROR_RESPONSES[code]}"})
