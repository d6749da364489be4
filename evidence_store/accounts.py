"""Accounts: people, their one role, the cases they are members of, and API tokens.

Passwords are hashed with argon2id (argon2-cffi); tokens are random 32-byte values shown
once and stored as SHA-256. Every change is a custody ``account`` event on the lab chain,
so an auditor can say who could see a case at any time.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.custody.ledger import Event, append
from evidence_store.db import Database
from evidence_store.models import ApiToken, Case, CaseMember, Role, User
from evidence_store.store import StoreError, get_case

MIN_PASSWORD = 12


class AccountError(StoreError):
    """An account operation that cannot be done as asked."""


@dataclass(frozen=True)
class Principal:
    """Who is asking: an enabled user with one role."""

    id: int
    name: str
    role: Role

    @property
    def actor(self) -> tuple[str, str]:
        return self.name, self.role.value


def _hasher():
    from argon2 import PasswordHasher

    return PasswordHasher()


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher().hash(password)


_DUMMY = None


def check_password(user: User | None, password: str) -> bool:
    """Constant work whether or not the user exists (no account enumeration by timing)."""
    from argon2.exceptions import InvalidHashError, VerificationError

    global _DUMMY
    if _DUMMY is None:
        _DUMMY = _hasher().hash(secrets.token_hex(16))
    try:
        return _hasher().verify(user.password_hash if user else _DUMMY, password) and user is not None
    except (VerificationError, InvalidHashError):
        return False


def _event(session: Session, actor: tuple[str, str], what: str, **details) -> None:
    append(session, Event(action="account", actor=actor[0], actor_role=actor[1],
                          idempotency_key=f"account:{what}:{details.get('user')}:{datetime.now(timezone.utc).isoformat()}",
                          details={"change": what, **details}))


def add_user(db: Database, name: str, role: str, password: str, cases: list[str] = (),
             actor: tuple[str, str] = ("cli", "admin")) -> User:
    name = name.strip()
    if not name or len(name) > 200 or any(c in name for c in "\r\n\t"):
        raise AccountError("a user name must be 1-200 printable characters")
    try:
        role_value = Role(role)
    except ValueError:
        raise AccountError(f"unknown role {role!r}: one of {', '.join(r.value for r in Role)}") from None
    if role_value == Role.ADMIN and cases:
        raise AccountError("an admin manages accounts and is a member of no case")
    digest = hash_password(password)
    with db.session() as session:
        if session.scalar(select(User).where(User.name == name)) is not None:
            raise AccountError(f"user {name!r} already exists")
        user = User(name=name, role=role_value, password_hash=digest)
        session.add(user)
        session.flush()
        for case_name in cases:
            session.add(CaseMember(user_id=user.id, case_id=get_case(session, case_name).id))
        _event(session, actor, "user-added", user=name, role=role_value.value, cases=list(cases))
        return user


def set_membership(db: Database, name: str, case_name: str, member: bool,
                   actor: tuple[str, str] = ("cli", "admin")) -> None:
    with db.session() as session:
        user = _user(session, name)
        if user.role == Role.ADMIN and member:
            raise AccountError("an admin is a member of no case")
        case = get_case(session, case_name)
        row = session.scalar(select(CaseMember).where(CaseMember.user_id == user.id, CaseMember.case_id == case.id))
        if member and row is None:
            session.add(CaseMember(user_id=user.id, case_id=case.id))
            _event(session, actor, "member-added", user=name, case=case_name)
        elif not member and row is not None:
            session.delete(row)
            _event(session, actor, "member-removed", user=name, case=case_name)


def disable_user(db: Database, name: str, actor: tuple[str, str] = ("cli", "admin")) -> None:
    from evidence_store.models import PortalSession

    with db.session() as session:
        user = _user(session, name)
        user.disabled = True
        for token in session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)):
            token.revoked = True
        for row in session.scalars(select(PortalSession).where(PortalSession.user_id == user.id)):
            session.delete(row)
        _event(session, actor, "user-disabled", user=name)


def set_password(db: Database, name: str, password: str, actor: tuple[str, str] = ("cli", "admin")) -> None:
    digest = hash_password(password)
    with db.session() as session:
        _user(session, name).password_hash = digest
        _event(session, actor, "password-set", user=name)


def issue_token(db: Database, name: str, label: str = "", actor: tuple[str, str] = ("cli", "admin")) -> str:
    """A new bearer token for ``name`` (printed once; only its SHA-256 is kept)."""
    token = secrets.token_urlsafe(32)
    with db.session() as session:
        user = _user(session, name)
        if user.disabled:
            raise AccountError(f"user {name!r} is disabled")
        session.add(ApiToken(user_id=user.id, token_sha256=token_digest(token), label=label))
        _event(session, actor, "token-issued", user=name, label=label)
    return token


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def list_users(db: Database) -> list[tuple[User, list[str]]]:
    with db.session() as session:
        users = list(session.scalars(select(User).order_by(User.name)))
        cases = {}
        for user_id, name in session.execute(select(CaseMember.user_id, Case.name)
                                             .join(Case, Case.id == CaseMember.case_id).order_by(Case.name)):
            cases.setdefault(user_id, []).append(name)
        return [(user, cases.get(user.id, [])) for user in users]


def member_cases(session: Session, user_id: int) -> list[Case]:
    return list(session.scalars(select(Case).join(CaseMember, CaseMember.case_id == Case.id)
                                .where(CaseMember.user_id == user_id).order_by(Case.name)))


def is_member(session: Session, user_id: int, case_id: int) -> bool:
    return session.scalar(select(CaseMember.id).where(CaseMember.user_id == user_id,
                                                      CaseMember.case_id == case_id)) is not None


def _user(session: Session, name: str) -> User:
    user = session.scalar(select(User).where(User.name == name))
    if user is None:
        raise AccountError(f"no user {name!r} (forensics user list)")
    return user


def principal_named(db: Database, name: str) -> Principal:
    """The enabled account ``name`` as a principal (the CLI's ``--user``: whoever runs the lab's CLI
    already holds the database, so the name is taken as given, as ``FORENSICS_ACTOR`` is)."""
    with db.session() as session:
        user = _user(session, name)
        if user.disabled:
            raise AccountError(f"user {name!r} is disabled")
        return Principal(user.id, user.name, user.role)
