"""Helpers for custody tests: build a chain, and tamper with it the way an insider would."""
from __future__ import annotations

from sqlalchemy import text

from evidence_store.custody.canonical import HASHED_FIELDS, event_hash
from evidence_store.custody.ledger import Event, append


def build_chain(db, case_name: str = "CASE-T", events: int = 12) -> None:
    from evidence_store.intake import create_case

    create_case(db, case_name, actor=("alice", "examiner"))
    with db.session() as session:
        for index in range(events - 1):
            append(session, Event(action="view", actor="alice", actor_role="examiner", case_name=case_name,
                                  exhibit=f"EX-{index % 3}", purpose=f"review {index}",
                                  idempotency_key=f"test-view:{case_name}:{index}"))


def tamper(db, *statements: tuple[str, dict]) -> None:
    """Runs SQL with the append-only guards out of the way (as a DBA could)."""
    with db.engine.begin() as connection:
        if db.dialect == "postgresql":
            connection.execute(text("SET LOCAL session_replication_role = replica"))
            for sql, params in statements:
                connection.execute(text(sql), params)
            return
        triggers = connection.execute(text(
            "SELECT name, sql FROM sqlite_master WHERE type='trigger' AND tbl_name LIKE 'custody_%'")).all()
        for name, _ in triggers:
            connection.execute(text(f"DROP TRIGGER {name}"))
        for sql, params in statements:
            connection.execute(text(sql), params)
        for _, sql in triggers:
            connection.execute(text(sql))


def rows(db, chain: str) -> list[dict]:
    """The chain's events with their database ids, typed as the verifier reads them."""
    from sqlalchemy import select

    from evidence_store.custody.service import event_rows
    from evidence_store.models import CustodyEvent

    with db.session() as session:
        ids = dict(session.execute(select(CustodyEvent.seq, CustodyEvent.id).where(CustodyEvent.chain == chain)).all())
        return [{**row, "id": ids[row["seq"]]} for row in event_rows(session, chain)]


def rehash(fields: dict) -> str:
    return event_hash({k: fields.get(k) for k in HASHED_FIELDS})
