"""Who is asking and what they may do, for every request, from ``rules.RULES``.

``need(permission)`` is a FastAPI dependency: it finds the signed-in principal (session cookie
or bearer token), checks the role against the rules table and, for a case-scoped permission
with a ``{case}`` in the path, membership of that case. Items reached by id (files, carved
objects, reports) are checked against their own case with ``Access.case_of``. A non-member is
told the case does not exist (404), so case names cannot be probed.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import unquote

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.accounts import Principal, is_member
from evidence_store.models import Case
from evidence_store.portal.auth import COOKIE, Signed, csrf_ok
from evidence_store.portal.rules import CASE_SCOPED, Permission, allowed

MAX_NAME = 200


class Denied(Exception):
    """A refusal with its HTTP status and a one-line reason (never a traceback)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Access:
    signed: Signed
    case_id: int | None
    case_name: str | None

    @property
    def principal(self) -> Principal:
        return self.signed.principal

    @property
    def actor(self) -> tuple[str, str]:
        return self.principal.actor

    def may(self, permission: Permission) -> bool:
        return allowed(self.principal.role, permission)

    def case_of(self, session: Session, case_id: int, permission: Permission) -> Case:
        """The item's case, if the principal may use ``permission`` in it (else 404 / 403)."""
        case = session.get(Case, case_id)
        if case is None or not is_member(session, self.principal.id, case_id):
            raise Denied(404, "no such item")
        if not self.may(permission):
            raise Denied(403, f"the {self.principal.role.value} role may not do this")
        return case


def signed_in(request: Request) -> Signed:
    sessions = request.app.state.sessions
    signed = sessions.from_bearer(request.headers.get("authorization"))
    if signed is None and request.headers.get("authorization"):
        raise Denied(401, "the bearer token is not valid")
    signed = signed or sessions.from_cookie(request.cookies.get(COOKIE))
    if signed is None:
        raise Denied(401, "sign in first")
    return signed


SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def need(permission: Permission) -> Callable[..., Access]:
    """Dependency: the principal may use ``permission`` (in the path's case, when it has one);
    a state-changing request made with the session cookie must carry its CSRF token."""

    async def dependency(request: Request) -> Access:
        token = request.headers.get("x-csrf-token")
        if request.method not in SAFE_METHODS and token is None and \
                request.headers.get("content-type", "").startswith(("application/x-www-form-urlencoded",
                                                                     "multipart/form-data")):
            token = (await request.form()).get("csrf_token")
        return await run_in_threadpool(_check, request, permission, token)

    dependency.permission = permission     # read by the authorisation-matrix test
    return dependency


def _check(request: Request, permission: Permission, token: str | None) -> Access:
    signed = signed_in(request)
    role = signed.principal.role
    case_name = request.path_params.get("case")
    case_name = unquote(case_name) if case_name is not None else None
    case_id = None
    if case_name is not None and permission in CASE_SCOPED:
        if len(case_name) > MAX_NAME:
            raise Denied(400, "case name too long")
        with request.app.state.db.reading() as session:
            case_id = session.scalar(select(Case.id).where(Case.name == case_name))
            if case_id is None or not is_member(session, signed.principal.id, case_id):
                raise Denied(404, f"no case {case_name!r}")
    if not allowed(role, permission):
        raise Denied(403, f"the {role.value} role may not do this")
    if request.method not in SAFE_METHODS and not csrf_ok(signed, token):
        raise Denied(403, "missing or wrong CSRF token")
    return Access(signed, case_id, case_name)


def is_browser(request: Request) -> bool:
    """Browsers send Origin on posts and Sec-Fetch-Site on everything; scripts and curl send neither."""
    return "origin" in request.headers or "sec-fetch-site" in request.headers


def wants_json(request: Request) -> bool:
    prefix = request.scope.get("root_path", "").rstrip("/")
    accept = request.headers.get("accept", "")
    return request.url.path.startswith(prefix + "/api/") or "application/json" in accept or \
        (not is_browser(request) and "text/html" not in accept)
