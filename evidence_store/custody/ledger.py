"""Appending custody events, in the same transaction as the change they record."""
from __future__ import annotations

import getpass
import os
import socket
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.orm import Session

from evidence_store.custody.canonical import GENESIS, canonical_json, event_hash, offset_text, utc_text
from evidence_store.models import CustodyEvent

LAB_CHAIN = "lab"
# action -> fields that must be given (besides actor, role and time, always required)
REQUIRED: dict[str, tuple[str, ...]] = {
    "case-opened": ("case_name",),
    "intake": ("case_name", "exhibit", "location"),
    "hash-verification": ("case_name", "exhibit", "hash_algorithm", "hash_after"),
    "stage-start": ("case_name", "exhibit", "tool_name", "tool_version"),
    "stage-end": ("case_name", "exhibit", "tool_name", "tool_version", "outcome"),
    "integrity-check": ("case_name", "exhibit", "hash_algorithm", "hash_before", "hash_after", "hash_match"),
    "transfer": ("case_name", "exhibit", "from_custodian", "to_custodian", "purpose"),
    "view": ("case_name", "exhibit", "purpose"),
    "report": ("case_name", "purpose", "tool_name", "tool_version"),
    "export": ("case_name", "purpose", "tool_name", "tool_version"),
    "review": ("case_name", "exhibit", "purpose"),
    "hashset-import": ("tool_name", "tool_version", "details"),
    "ruleset-import": ("tool_name", "tool_version", "details"),
    "key-registered": ("details",),
    "case-updated": ("case_name", "details"),
    "view-refused": ("case_name", "purpose", "details"),       # a look at evidence that was not allowed
    # need to know across cases (evidence_store.links.access): each is recorded in both cases' chains
    "link-access": ("case_name", "purpose", "details"),          # a request to see another case's side, or its decision
    "link-revealed": ("case_name", "purpose", "details"),        # the other side of a link shown to a non-member
    "account": ("details",),                                   # users, roles, memberships, tokens (lab chain)
    "lab-configured": ("details",),
    # a report's file at each step of its workflow: hash_after is the SHA-256 of the file's bytes
    "report-draft": ("case_name", "hash_algorithm", "hash_after", "tool_name", "tool_version", "details"),
    "report-authorise": ("case_name", "hash_algorithm", "hash_after", "tool_name", "tool_version", "details"),
    "report-issue": ("case_name", "hash_algorithm", "hash_after", "tool_name", "tool_version", "details"),
}


class CustodyError(Exception):
    """A custody event that cannot be recorded as given (e.g. a mandatory field is missing)."""


@dataclass(frozen=True)
class Event:
    """What a caller states; the ledger adds sequence, links and hashes."""

    action: str
    actor: str
    actor_role: str
    idempotency_key: str
    case_name: str | None = None
    exhibit: str | None = None
    root_exhibit: str | None = None
    witness: str | None = None
    occurred: datetime | None = None          # aware; default: now, in UTC
    location: str | None = None
    purpose: str | None = None
    authority: str | None = None
    from_custodian: str | None = None
    to_custodian: str | None = None
    seals_removed: tuple[str, ...] | None = None
    seals_applied: tuple[str, ...] | None = None
    seal_intact: bool | None = None
    hash_algorithm: str | None = None
    hash_before: str | None = None
    hash_after: str | None = None
    hash_match: bool | None = None
    tool_name: str | None = None
    tool_version: str | None = None
    tool_parameters: dict[str, Any] | None = None
    outcome: str | None = None
    details: dict[str, Any] | None = field(default=None)


def default_actor() -> tuple[str, str]:
    """(actor, role) for commands run by a person at the lab's machine."""
    actor = os.environ.get("FORENSICS_ACTOR") or f"{getpass.getuser()}@{socket.gethostname()}"
    return actor, os.environ.get("FORENSICS_ACTOR_ROLE", "technician")


def validate(event: Event) -> None:
    if event.action not in REQUIRED:
        raise CustodyError(f"unknown custody action {event.action!r}")
    missing = [name for name in ("actor", "actor_role", "idempotency_key") if not getattr(event, name)]
    missing += [name for name in REQUIRED[event.action] if getattr(event, name) in (None, "", ())]
    if missing:
        subject = f" for exhibit {event.exhibit}" if event.exhibit else ""
        raise CustodyError(f"custody event {event.action!r}{subject} is missing mandatory "
                           f"field(s): {', '.join(missing)}")
    if event.occurred is not None and event.occurred.tzinfo is None:
        raise CustodyError(f"custody event {event.action!r}: the time must include its UTC offset")


def _fields(event: Event, chain: str, seq: int, prev_hash: str) -> dict[str, Any]:
    occurred = event.occurred or datetime.now(timezone.utc)
    values = asdict(event)
    values.pop("occurred")
    for name in ("seals_removed", "seals_applied"):
        values[name] = canonical_json(list(values[name])) if values[name] is not None else None
    for name in ("tool_parameters", "details"):
        values[name] = canonical_json(values[name]) if values[name] is not None else None
    values.update(chain=chain, seq=seq, prev_hash=prev_hash, occurred_at=utc_text(occurred),
                  occurred_offset=offset_text(occurred), recorded_at=utc_text(datetime.now(timezone.utc)))
    return values


def _lock_chain(session: Session, chain: str) -> None:
    """Serializes appends to one chain (PostgreSQL advisory lock; SQLite has one writer)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:chain))"), {"chain": chain})


def head(session: Session, chain: str) -> tuple[int, str]:
    """(last sequence number, its hash), or (0, GENESIS) for an empty chain."""
    row = session.execute(_HEAD, {"chain": chain}).first()
    return (int(row[0]), row[1]) if row else (0, GENESIS)


@dataclass(frozen=True)
class Recorded:
    """What the ledger wrote (or had already written under the same idempotency key)."""

    id: int
    chain: str
    seq: int
    event_hash: str


_TABLE = CustodyEvent.__table__
_INSERT = _TABLE.insert().returning(_TABLE.c.id)                    # compiled once, cached
_BY_KEY = select(_TABLE.c.id, _TABLE.c.chain, _TABLE.c.seq, _TABLE.c.event_hash).where(
    _TABLE.c.idempotency_key == bindparam("key"))
_HEAD = select(_TABLE.c.seq, _TABLE.c.event_hash).where(_TABLE.c.chain == bindparam("chain")) \
    .order_by(_TABLE.c.seq.desc()).limit(1)


def append(session: Session, event: Event) -> Recorded:
    """Adds ``event`` to its chain inside the caller's transaction; a repeated idempotency key adds nothing.

    Core statements, not ORM objects: an append is one indexed lookup of the key, one of
    the chain head, and one INSERT, whatever the length of the chain.
    """
    validate(event)
    session.flush()   # pending ORM changes of the same transaction go first
    existing = session.execute(_BY_KEY, {"key": event.idempotency_key}).first()
    if existing is not None:
        return Recorded(*existing)
    chain = event.case_name or LAB_CHAIN
    _lock_chain(session, chain)
    seq, prev = head(session, chain)
    values = _fields(event, chain, seq + 1, prev)
    values["event_hash"] = event_hash(values)
    new_id = session.execute(_INSERT, values).scalar_one()
    return Recorded(new_id, chain, seq + 1, values["event_hash"])
