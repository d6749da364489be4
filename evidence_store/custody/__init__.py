"""The chain of custody: an append-only, hash-chained, signed ledger (docs/custody.md)."""
from __future__ import annotations
