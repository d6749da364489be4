"""Signing in: sessions in signed cookies, CSRF tokens, bearer tokens, and a brake on guessing.

- The cookie holds a random session id signed with the portal secret (itsdangerous); the
  database keeps only its SHA-256, so a stolen database cannot be replayed as cookies. A new
  id is made at every sign-in (no session fixation) and deleted at sign-out.
- Every state-changing request made with the cookie must carry the session's CSRF token
  (form field ``csrf_token`` or header ``X-CSRF-Token``). Bearer-token requests carry no
  cookie and so cannot be forged cross-site.
- Failed sign-ins are counted per account name (``MAX_FAILURES``) and per client address
  (``MAX_ADDRESS_FAILURES``) over ``WINDOW``; past either, sign-ins are refused for the rest of
  the window, with the same message whether or not the account exists.
"""
from __future__ import annotations

import hashlib
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from sqlalchemy import delete, func, select

from evidence_store.accounts import Principal, check_password, token_digest
from evidence_store.db import Database, data_dir
from evidence_store.models import ApiToken, LoginAttempt, PortalSession, User

COOKIE = "forensics_session"
LOGIN_COOKIE = "forensics_login"
SESSION_HOURS = 12
MAX_FAILURES = 5             # per account name
MAX_ADDRESS_FAILURES = 20    # per client address (several people may share one)
WINDOW = timedelta(minutes=15)


class SignInRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(frozen=True)
class Signed:
    principal: Principal
    csrf: str | None          # None for bearer tokens
    via: str                  # session | token


def portal_secret(db: Database) -> str:
    """$FORENSICS_PORTAL_SECRET, else a random secret kept (0600) beside the case database."""
    if os.environ.get("FORENSICS_PORTAL_SECRET"):
        return os.environ["FORENSICS_PORTAL_SECRET"]
    path = Path(data_dir(db.url)) / "portal-secret"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(32))
    return path.read_text().strip()


class Sessions:
    def __init__(self, db: Database, secret: str) -> None:
        from itsdangerous import URLSafeSerializer

        self.db = db
        self._signer = URLSafeSerializer(secret, salt="forensics-portal-session")

    # --- sign in / out -----------------------------------------------------------------------------
    def sign_in(self, name: str, password: str, address: str) -> tuple[str, Signed]:
        """(cookie value, who) or SignInRefused (429 while braked, 401 otherwise; same wording)."""
        now = datetime.now(timezone.utc)
        with self.db.session() as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - WINDOW))
            by_name = session.scalar(select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.name == name)) or 0
            by_address = session.scalar(select(func.count()).select_from(LoginAttempt).where(
                LoginAttempt.address == address)) or 0
            if by_name >= MAX_FAILURES or by_address >= MAX_ADDRESS_FAILURES:
                raise SignInRefused(429, "too many failed sign-ins: try again in 15 minutes")
            user = session.scalar(select(User).where(User.name == name))
            refused = not check_password(user, password) or user.disabled
            if refused:          # recorded (committed) before the refusal is raised
                session.add(LoginAttempt(name=name[:200], address=address[:100], at=now))
        if refused:
            raise SignInRefused(401, "wrong user name or password")
        with self.db.session() as session:
            session.execute(delete(LoginAttempt).where(LoginAttempt.name == name))
            session_id, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            session.add(PortalSession(id_sha256=_digest(session_id), user_id=user.id, csrf_token=csrf,
                                      expires_at=now + timedelta(hours=SESSION_HOURS)))
            signed = Signed(Principal(user.id, user.name, user.role), csrf, "session")
        return self._signer.dumps(session_id), signed

    def sign_out(self, cookie: str | None) -> None:
        session_id = self._session_id(cookie)
        if session_id:
            with self.db.session() as session:
                session.execute(delete(PortalSession).where(PortalSession.id_sha256 == _digest(session_id)))

    # --- who is asking -------------------------------------------------------------------------------
    def from_cookie(self, cookie: str | None) -> Signed | None:
        session_id = self._session_id(cookie)
        if not session_id:
            return None
        with self.db.reading() as session:
            row = session.execute(select(PortalSession, User).join(User, User.id == PortalSession.user_id)
                                  .where(PortalSession.id_sha256 == _digest(session_id))).first()
        if row is None:
            return None
        stored, user = row
        expires = stored.expires_at if stored.expires_at.tzinfo else stored.expires_at.replace(tzinfo=timezone.utc)
        if user.disabled or expires < datetime.now(timezone.utc):
            with self.db.session() as session:
                session.execute(delete(PortalSession).where(PortalSession.id == stored.id))
            return None
        return Signed(Principal(user.id, user.name, user.role), stored.csrf_token, "session")

    def from_bearer(self, header: str | None) -> Signed | None:
        if not header or not header.lower().startswith("bearer "):
            return None
        token = header[7:].strip()
        with self.db.reading() as session:
            row = session.execute(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                                  .where(ApiToken.token_sha256 == token_digest(token))).first()
            if row is None or row[0].revoked or row[1].disabled:
                return None
            return Signed(Principal(row[1].id, row[1].name, row[1].role), None, "token")

    def _session_id(self, cookie: str | None) -> str | None:
        from itsdangerous import BadSignature

        if not cookie or len(cookie) > 512:
            return None
        try:
            return self._signer.loads(cookie)
        except BadSignature:
            return None


def csrf_ok(signed: Signed, token: str | None) -> bool:
    if signed.via == "token":
        return True
    return bool(token) and signed.csrf is not None and secrets.compare_digest(token, signed.csrf)


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()
