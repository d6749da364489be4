"""Custody operations the CLI, the stages and reports call."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.custody.canonical import HASHED_FIELDS
from evidence_store.custody.ledger import CustodyError, Event, Recorded, append, default_actor
from evidence_store.custody.signing import sign_checkpoint, load_private, trusted_keys
from evidence_store.custody.verify import Report, verify_chain
from evidence_store.db import Database
from evidence_store.models import CustodyCheckpoint, CustodyEvent
from evidence_store.store import get_case, get_exhibit

ROW_FIELDS = HASHED_FIELDS + ("event_hash",)


def event_rows(session: Session, chain: str) -> Iterator[dict[str, Any]]:
    """The chain's events in sequence order, streamed."""
    columns = [getattr(CustodyEvent, name) for name in ROW_FIELDS]
    query = select(*columns).where(CustodyEvent.chain == chain).order_by(CustodyEvent.seq)
    for row in session.execute(query.execution_options(yield_per=5000)):
        yield dict(zip(ROW_FIELDS, row))


def checkpoint_rows(session: Session, chain: str) -> list[dict[str, Any]]:
    rows = session.scalars(select(CustodyCheckpoint).where(CustodyCheckpoint.chain == chain)
                           .order_by(CustodyCheckpoint.seq, CustodyCheckpoint.id))
    return [{"chain": r.chain, "seq": r.seq, "head_hash": r.head_hash, "signed_at": r.signed_at,
             "key_fingerprint": r.key_fingerprint, "signature": r.signature} for r in rows]


def chains(session: Session) -> list[str]:
    names = set(session.scalars(select(CustodyEvent.chain).distinct()))
    names |= set(session.scalars(select(CustodyCheckpoint.chain).distinct()))
    return sorted(names)


def verify(db: Database, chain: str | None = None, trusted_files: list[Path] = ()) -> tuple[list[Report], str]:
    """Verifies one chain (a case name, or 'lab') or every chain in the database."""
    with db.session() as session:
        keys, anchor = trusted_keys(session, list(trusted_files))
        names = [chain] if chain else chains(session)
        reports = [verify_chain(name, event_rows(session, name), checkpoint_rows(session, name), keys)
                   for name in names]
    return reports, anchor


def checkpoint(db: Database, chain: str | None = None) -> list[CustodyCheckpoint]:
    key = load_private()
    if key is None:
        raise CustodyError("no signing key: create one with 'forensics custody keygen'")
    with db.session() as session:
        return [cp for name in ([chain] if chain else chains(session))
                if (cp := sign_checkpoint(session, name, key)) is not None]


def auto_checkpoint(session: Session, chain: str) -> str | None:
    """The periodic checkpoint (end of each processing run), when the lab key is here.

    Returns None when a checkpoint was signed, else why not (said loudly by the caller: without
    checkpoints, events removed from the end of the chain go unnoticed)."""
    from evidence_store.custody.signing import key_dir

    key = load_private()
    if key is None:
        return (f"no lab signing key in {key_dir()} (FORENSICS_KEY_DIR): no custody checkpoint was signed, so "
                "events removed from the end of the chain would go unnoticed; create one with "
                "forensics custody keygen")
    try:
        sign_checkpoint(session, chain, key)
    except CustodyError as exc:
        return f"no custody checkpoint was signed: {exc} (forensics custody register-key)"
    return None


def unsigned_tail(session: Session, chain: str) -> str | None:
    """Why the chain's checkpoints cannot keep up (no lab key here, or it is not registered), or
    None when they can (each processing run then ends by signing one)."""
    from sqlalchemy import func

    from evidence_store.custody.ledger import head
    from evidence_store.custody.signing import fingerprint, key_dir
    from evidence_store.models import CustodyKey

    last, _ = head(session, chain)
    if last == 0:
        return None
    signed = session.scalar(select(func.max(CustodyCheckpoint.seq)).where(CustodyCheckpoint.chain == chain)) or 0
    key = load_private()
    if key is None:
        return (f"no lab signing key in {key_dir()} (FORENSICS_KEY_DIR): {last - signed} custody event(s) after "
                "the last signed checkpoint, so events removed from the end of the chain would go unnoticed; "
                "create one with forensics custody keygen")
    if session.scalar(select(CustodyKey.id).where(CustodyKey.fingerprint == fingerprint(key.public_key()))) is None:
        return ("the lab signing key is not registered in this case database, so no checkpoint can be signed "
                "(forensics custody register-key)")
    return None


def transfer(db: Database, case_name: str, exhibit: str, *, from_custodian: str, to_custodian: str,
             purpose: str, location: str | None = None, authority: str | None = None,
             witness: str | None = None, seals_removed: tuple[str, ...] = (), seals_applied: tuple[str, ...] = (),
             seal_intact: bool | None = None, occurred: datetime | None = None,
             actor: tuple[str, str] | None = None) -> Recorded:
    """Hands an exhibit from one custodian to another; the holder on record must match."""
    actor = actor or default_actor()
    with db.session() as session:
        row = get_exhibit(session, case_name, exhibit)
        if row.custodian and row.custodian != from_custodian:
            raise CustodyError(f"exhibit {exhibit} is held by {row.custodian!r}, not {from_custodian!r}")
        row.custodian = to_custodian
        when = occurred.isoformat() if occurred else "now"
        return append(session, Event(
            action="transfer", actor=actor[0], actor_role=actor[1], case_name=case_name, exhibit=exhibit,
            idempotency_key=f"transfer:{case_name}:{exhibit}:{from_custodian}:{to_custodian}:{when}:{purpose}",
            from_custodian=from_custodian, to_custodian=to_custodian, purpose=purpose, location=location,
            authority=authority, witness=witness, seals_removed=tuple(seals_removed) or None,
            seals_applied=tuple(seals_applied) or None, seal_intact=seal_intact, occurred=occurred))


def review(db: Database, case_name: str, exhibit: str, reason: str, actor: tuple[str, str] | None = None) -> None:
    """A reviewer accepts an exhibit's results after an integrity mismatch was examined."""
    actor = actor or default_actor()
    with db.session() as session:
        row = get_exhibit(session, case_name, exhibit)
        row.results_trusted = True
        append(session, Event(action="review", actor=actor[0], actor_role=actor[1], case_name=case_name,
                              exhibit=exhibit, purpose=reason,
                              idempotency_key=f"review:{case_name}:{exhibit}:{datetime.now().isoformat()}"))


def log(db: Database, case_name: str) -> list[dict[str, Any]]:
    with db.session() as session:
        get_case(session, case_name)
        return list(event_rows(session, case_name))
