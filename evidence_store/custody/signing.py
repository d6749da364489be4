"""The lab's Ed25519 signing key and signed checkpoints of chain heads.

The private key lives outside the database (``FORENSICS_KEY_DIR``, default
``~/.forensics/keys``), readable by its owner only; the database records the
public key and its fingerprint (SHA-256 of the 32 raw public-key bytes).
"""
from __future__ import annotations

import hashlib
import os
from datetime import datetime, timezone
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from evidence_store.custody.canonical import checkpoint_bytes, utc_text
from evidence_store.custody.ledger import CustodyError, Event, append, head
from evidence_store.models import CustodyCheckpoint, CustodyKey

PRIVATE_NAME = "custody-signing-key.pem"
PUBLIC_NAME = "custody-signing-key.pub.pem"


def key_dir() -> Path:
    return Path(os.environ.get("FORENSICS_KEY_DIR") or Path.home() / ".forensics" / "keys")


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    return hashlib.sha256(raw_public(key)).hexdigest()


def create_key(directory: Path) -> Ed25519PrivateKey:
    """Writes a new key pair; refuses to overwrite an existing private key."""
    directory.mkdir(parents=True, exist_ok=True)
    private_path = directory / PRIVATE_NAME
    if private_path.exists():
        raise CustodyError(f"a signing key already exists at {private_path}; it is never overwritten")
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(pem)
    (directory / PUBLIC_NAME).write_bytes(key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
    return key


def load_private(directory: Path | None = None) -> Ed25519PrivateKey | None:
    path = (directory or key_dir()) / PRIVATE_NAME
    if not path.exists():
        return None
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise CustodyError(f"{path} is not an Ed25519 private key")
    return key


def load_public(path: Path) -> Ed25519PublicKey:
    data = path.read_bytes()
    key = serialization.load_pem_public_key(data) if data.startswith(b"-----") else \
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(data.decode().strip()))
    if not isinstance(key, Ed25519PublicKey):
        raise CustodyError(f"{path} is not an Ed25519 public key")
    return key


def register_key(session: Session, key: Ed25519PublicKey, label: str, actor: tuple[str, str]) -> CustodyKey:
    """Records the public key (idempotent) and a key-registered event on the lab chain."""
    fp = fingerprint(key)
    row = session.scalar(select(CustodyKey).where(CustodyKey.fingerprint == fp))
    if row is None:
        row = CustodyKey(fingerprint=fp, public_key=raw_public(key).hex(), label=label,
                         created_at=utc_text(datetime.now(timezone.utc)))
        session.add(row)
        append(session, Event(action="key-registered", actor=actor[0], actor_role=actor[1],
                              idempotency_key=f"key-registered:{fp}",
                              details={"fingerprint": fp, "public_key": raw_public(key).hex(), "label": label}))
    return row


def sign_checkpoint(session: Session, chain: str, key: Ed25519PrivateKey) -> CustodyCheckpoint | None:
    """Signs (chain, head sequence, head hash, time); None when the chain is empty."""
    seq, head_hash = head(session, chain)
    if seq == 0:
        return None
    fp = fingerprint(key.public_key())
    existing = session.scalar(select(CustodyCheckpoint).where(
        CustodyCheckpoint.chain == chain, CustodyCheckpoint.seq == seq, CustodyCheckpoint.key_fingerprint == fp))
    if existing is not None:
        return existing
    if session.scalar(select(CustodyKey.id).where(CustodyKey.fingerprint == fp)) is None:
        raise CustodyError("the signing key is not registered in this database: run 'forensics custody keygen' "
                           "or 'forensics custody register-key'")
    fields = {"chain": chain, "seq": seq, "head_hash": head_hash,
              "signed_at": utc_text(datetime.now(timezone.utc)), "key_fingerprint": fp}
    row = CustodyCheckpoint(**fields, signature=key.sign(checkpoint_bytes(fields)).hex())
    session.add(row)
    session.flush()
    return row


def trusted_keys(session: Session, extra: list[Path] = (), directory: Path | None = None
                 ) -> tuple[dict[str, Ed25519PublicKey], str]:
    """Keys whose checkpoints are trusted, and where that trust comes from.

    Trust is anchored outside the database: the public keys given on the command
    line and the lab key directory's public key. Only when neither exists are the
    keys registered in the database used, and the report says so.
    """
    keys = {fingerprint(k): k for k in (load_public(p) for p in extra)}
    public = (directory or key_dir()) / PUBLIC_NAME
    if public.exists():
        key = load_public(public)
        keys[fingerprint(key)] = key
    if keys:
        return keys, "key files outside the database"
    registered = {row.fingerprint: Ed25519PublicKey.from_public_bytes(bytes.fromhex(row.public_key))
                  for row in session.scalars(select(CustodyKey))}
    return registered, "keys registered in the database only (no trusted key file given)"
