"""Response hardening and the read-only rule at the edge: security headers on every response, the session cookie's
flags, and no write request of a read-only actor (auditor) reaching any view."""

from __future__ import annotations

import os

from flask import Flask, g, request
from werkzeug.wrappers import Response

from engine.errors import Forbidden
from engine.services.access import can, changes_nothing
from web.i18n import t

# Every script and style comes from /static: no inline code, no eval, nothing framed, forms post only here.
CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    )
)
HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Write-method endpoints that change no data: signing in and out, the API's filter queries (a JSON body), and
# choosing one's own list columns (a view setting of the user, no business data), and one's own display settings
# (language, time zone) on the profile page, which an auditor needs as much as anyone.
READ_ONLY_ENDPOINTS = frozenset({"auth.login", "auth.logout", "auth.profile", "api.find_records", "api.count_records",
                                 "records.save_columns"})
# Writes whose service refuses auditors itself: an inbound event keeps even its refusal in the audit trail.
REFUSED_BY_SERVICE = frozenset({"api.post_event"})
TRUE = ("1", "true", "yes", "on")


def cookie_secure(demo: bool, environ: dict[str, str] | None = None) -> bool:
    """FLOWCRM_COOKIE_SECURE (1/0), on by default outside demo mode (which runs on plain http://127.0.0.1)."""
    value = (environ if environ is not None else os.environ).get("FLOWCRM_COOKIE_SECURE", "").strip().lower()
    return (value in TRUE) if value else not demo


def add_security_headers(response: Response) -> Response:
    """after_request: the security headers, unless a view set its own."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def refuse_read_only_writes() -> None:
    """before_request (after the actor is known): an auditor's write request is refused with 403 before any view
    runs, so a route added later cannot forget the rule."""
    who = g.get("actor")
    if who is None or request.method not in WRITE_METHODS:
        return
    if request.endpoint in READ_ONLY_ENDPOINTS or request.endpoint in REFUSED_BY_SERVICE:
        return
    if changes_nothing(who):
        raise Forbidden(t("security.read_only", user=who.username, method=request.method, path=request.path))


def may(permission: str) -> bool:
    """Templates: whether the signed-in user holds a named permission (engine/services/access.py PERMISSIONS)."""
    who = g.get("actor")
    return who is not None and can(who, permission)


def init_app(app: Flask) -> None:
    """Register the headers, the read-only rule (after web.auth.load_actor) and `may()` for templates."""
    app.before_request(refuse_read_only_writes)
    app.after_request(add_security_headers)
    app.add_template_global(may)
