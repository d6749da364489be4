"""Canonical bytes of custody events and checkpoints (specified in docs/custody.md).

Kept free of SQLAlchemy so that the same functions serve the ledger, the verifier
and the exported bundle; an auditor re-implements them in a few lines.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Any

EVENT_DOMAIN = b"forensics-custody-event-v1\n"
CHECKPOINT_DOMAIN = b"forensics-custody-checkpoint-v1\n"
GENESIS = "0" * 64
HASHED_FIELDS = (
    "chain", "seq", "prev_hash", "idempotency_key", "action", "case_name", "exhibit", "root_exhibit",
    "actor", "actor_role", "witness", "occurred_at", "occurred_offset", "recorded_at", "location",
    "purpose", "authority", "from_custodian", "to_custodian", "seals_removed", "seals_applied",
    "seal_intact", "hash_algorithm", "hash_before", "hash_after", "hash_match", "tool_name",
    "tool_version", "tool_parameters", "outcome", "details",
)
CHECKPOINT_FIELDS = ("chain", "seq", "head_hash", "signed_at", "key_fingerprint")


def canonical_json(value: Any) -> str:
    """JSON with sorted keys, no insignificant spaces, UTF-8 text (no \\u escapes)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def utc_text(moment: datetime) -> str:
    """An aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC."""
    if moment.tzinfo is None:
        raise ValueError("custody times must carry a UTC offset")
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def offset_text(moment: datetime) -> str:
    """The UTC offset the actor gave, e.g. ``+02:00``."""
    offset = moment.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def event_bytes(fields: dict[str, Any]) -> bytes:
    return EVENT_DOMAIN + canonical_json({k: fields.get(k) for k in HASHED_FIELDS}).encode("utf-8")


def event_hash(fields: dict[str, Any]) -> str:
    return hashlib.sha256(event_bytes(fields)).hexdigest()


def checkpoint_bytes(fields: dict[str, Any]) -> bytes:
    return CHECKPOINT_DOMAIN + canonical_json({k: fields[k] for k in CHECKPOINT_FIELDS}).encode("utf-8")
