"""The custody ledger: events, signing keys, signed checkpoints."""
from __future__ import annotations

from typing import Optional

from sqlalchemy import BigInteger, Boolean, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from evidence_store.models.base import Base, intpk


class CustodyEvent(Base):
    """One entry of an append-only, hash-chained custody ledger (docs/custody.md).

    Every column below except ``id`` is covered by ``event_hash``; times are kept as
    canonical strings so that what is hashed is exactly what is stored.
    """

    __tablename__ = "custody_events"
    __table_args__ = (UniqueConstraint("chain", "seq"), UniqueConstraint("idempotency_key"))
    id: Mapped[intpk]
    chain: Mapped[str] = mapped_column(String(200))          # case name, or "lab" for lab-wide events
    seq: Mapped[int] = mapped_column(BigInteger)
    prev_hash: Mapped[str] = mapped_column(String(64))
    event_hash: Mapped[str] = mapped_column(String(64))
    idempotency_key: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(40))
    case_name: Mapped[Optional[str]] = mapped_column(String(200))
    exhibit: Mapped[Optional[str]] = mapped_column(String(200))
    root_exhibit: Mapped[Optional[str]] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(100))
    witness: Mapped[Optional[str]] = mapped_column(String(200))
    occurred_at: Mapped[str] = mapped_column(String(40))     # UTC, canonical
    occurred_offset: Mapped[str] = mapped_column(String(8))  # the actor's own UTC offset, e.g. +02:00
    recorded_at: Mapped[str] = mapped_column(String(40))
    location: Mapped[Optional[str]] = mapped_column(Text)
    purpose: Mapped[Optional[str]] = mapped_column(Text)
    authority: Mapped[Optional[str]] = mapped_column(Text)
    from_custodian: Mapped[Optional[str]] = mapped_column(String(200))
    to_custodian: Mapped[Optional[str]] = mapped_column(String(200))
    seals_removed: Mapped[Optional[str]] = mapped_column(Text)   # canonical JSON list
    seals_applied: Mapped[Optional[str]] = mapped_column(Text)
    seal_intact: Mapped[Optional[bool]] = mapped_column(Boolean)
    hash_algorithm: Mapped[Optional[str]] = mapped_column(String(20))
    hash_before: Mapped[Optional[str]] = mapped_column(String(128))
    hash_after: Mapped[Optional[str]] = mapped_column(String(128))
    hash_match: Mapped[Optional[bool]] = mapped_column(Boolean)
    tool_name: Mapped[Optional[str]] = mapped_column(String(100))
    tool_version: Mapped[Optional[str]] = mapped_column(String(40))
    tool_parameters: Mapped[Optional[str]] = mapped_column(Text)  # canonical JSON object
    outcome: Mapped[Optional[str]] = mapped_column(String(20))
    details: Mapped[Optional[str]] = mapped_column(Text)          # canonical JSON object


class CustodyKey(Base):
    """A lab signing key's public half, registered before it signs anything."""

    __tablename__ = "custody_keys"
    __table_args__ = (UniqueConstraint("fingerprint"),)
    id: Mapped[intpk]
    fingerprint: Mapped[str] = mapped_column(String(64))     # SHA-256 of the raw Ed25519 public key
    public_key: Mapped[str] = mapped_column(String(64))      # raw public key, hex
    label: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[str] = mapped_column(String(40))


class CustodyCheckpoint(Base):
    """A signed statement: chain X had head H at sequence S, at time T."""

    __tablename__ = "custody_checkpoints"
    __table_args__ = (UniqueConstraint("chain", "seq", "key_fingerprint"),)
    id: Mapped[intpk]
    chain: Mapped[str] = mapped_column(String(200))
    seq: Mapped[int] = mapped_column(BigInteger)
    head_hash: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[str] = mapped_column(String(40))
    key_fingerprint: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str] = mapped_column(String(128))      # Ed25519, hex
