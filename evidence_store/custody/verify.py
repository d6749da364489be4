"""Verifying a custody chain: hashes, links, sequence, and signed checkpoints.

One pass over the events in sequence order (streamed, bounded memory). The first
problem is named with its sequence number, exhibit and kind:

- ``edited``     an event's stored fields no longer give its hash;
- ``deleted``    sequence numbers are missing (or later events were renumbered down);
- ``inserted``   an event that was not in the chain sits between two that were;
- ``reordered``  events carry each other's sequence numbers;
- ``relinked``   an event's own hash is valid but it does not point to its predecessor;
- ``rewritten``  the chain is self-consistent but differs from a signed checkpoint;
- ``truncated``  a checkpoint was signed for a sequence number the chain no longer reaches;
- ``bad-signature`` / ``unknown-key``  a checkpoint that does not verify, or was signed by a key
  outside the trusted set.

Limit: events appended after the last checkpoint and then removed cannot be
detected (nothing signed ever mentioned them); the report states how many events
follow the last checkpoint.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from evidence_store.custody.canonical import GENESIS, HASHED_FIELDS, checkpoint_bytes, event_hash

SEARCH_WINDOW = 1000


@dataclass(frozen=True)
class Problem:
    kind: str
    seq: int
    exhibit: str | None
    message: str


@dataclass
class Report:
    chain: str
    events: int = 0
    last_seq: int = 0
    checkpoints: int = 0
    last_checkpoint_seq: int = 0
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def unprotected_tail(self) -> int:
        """Events after the last checkpoint: their removal could not be detected."""
        return max(0, self.last_seq - self.last_checkpoint_seq)


def _original_seq(fields: dict[str, Any], stored_hash: str) -> int | None:
    """The sequence number under which these fields were hashed, if it was a nearby one."""
    seq = fields["seq"]
    for delta in range(1, SEARCH_WINDOW + 1):
        for candidate in (seq - delta, seq + delta):
            if candidate > 0 and event_hash({**fields, "seq": candidate}) == stored_hash:
                return candidate
    return None


def verify_chain(chain: str, events: Iterable[dict[str, Any]], checkpoints: list[dict[str, Any]],
                 trusted: dict[str, Any]) -> Report:
    """``events``: dicts of the hashed fields plus ``event_hash``, in sequence order.

    ``trusted``: key fingerprint -> Ed25519 public key object (cryptography).
    """
    report = Report(chain=chain, checkpoints=len(checkpoints))
    signed = _check_signatures(report, checkpoints, trusted)
    pending: deque[dict[str, Any]] = deque()
    stream = _peekable(iter(events), pending)
    expected, prev_hash, previous = 1, GENESIS, None
    recent: deque[tuple[int, str | None]] = deque(maxlen=SEARCH_WINDOW)  # (seq, exhibit) just passed
    for row in stream:
        report.events += 1
        report.last_seq = row["seq"]
        if not report.problems:
            problem = _check_row(row, expected, prev_hash, previous, stream, recent)
            if problem:
                report.problems.append(problem)
        for checkpoint in signed.get(row["seq"], ()):
            if checkpoint["head_hash"] != row["event_hash"] and not report.problems:
                report.problems.append(Problem(
                    "rewritten", _after_last_good(signed, row["seq"], checkpoint), row.get("exhibit"),
                    f"event {row['seq']} hash {row['event_hash'][:16]}… differs from the head "
                    f"{checkpoint['head_hash'][:16]}… signed at {checkpoint['signed_at']}: the chain was "
                    "rewritten after that checkpoint was signed"))
            checkpoint["_seen"] = checkpoint["head_hash"] == row["event_hash"]
        expected, prev_hash, previous = row["seq"] + 1, row["event_hash"], row
        recent.append((row["seq"], row.get("exhibit")))
    for seq in sorted(signed):
        report.last_checkpoint_seq = max(report.last_checkpoint_seq, seq)
        if seq > report.last_seq:
            report.problems.append(Problem(
                "truncated", report.last_seq + 1, None,
                f"a checkpoint signed sequence {seq}, but the chain ends at {report.last_seq}: "
                f"{seq - report.last_seq} or more events were removed from its end"))
            break
    report.problems.sort(key=lambda p: p.seq)
    return report


def _after_last_good(signed: dict[int, list[dict]], seq: int, checkpoint: dict) -> int:
    earlier = [s for s, cps in signed.items() if s < seq and all(c.get("_seen") for c in cps)]
    return (max(earlier) + 1) if earlier else 1


def _check_row(row, expected, prev_hash, previous, stream, recent) -> Problem | None:
    seq, exhibit = row["seq"], row.get("exhibit")
    if seq != expected:
        return Problem("deleted", expected, previous.get("exhibit") if previous else None,
                       f"sequence jumps from {expected - 1} to {seq}: {seq - expected} event(s) deleted")
    fields = {k: row.get(k) for k in HASHED_FIELDS}
    if event_hash(fields) != row["event_hash"]:
        original = _original_seq(fields, row["event_hash"])
        if original is None:
            nxt = stream.peek()
            if nxt is not None and _original_seq({k: nxt.get(k) for k in HASHED_FIELDS}, nxt["event_hash"]) == seq:
                return Problem("inserted", seq, exhibit, f"event {seq} was not in the chain: the event after it "
                               f"was originally number {seq}")
            return Problem("edited", seq, exhibit, f"event {seq} ({row.get('action')}) was changed after it "
                           "was recorded: its fields no longer give its hash")
        if original > seq:
            for later in stream.lookahead(SEARCH_WINDOW):
                fields_later = {k: later.get(k) for k in HASHED_FIELDS}
                if _original_seq(fields_later, later["event_hash"]) == seq:
                    return Problem("reordered", seq, exhibit, f"event recorded as number {original} now sits at "
                                   f"{seq}, and the original event {seq} sits at {later['seq']}")
            return Problem("deleted", seq, exhibit, f"event(s) {seq}..{original - 1} were deleted and the "
                           "later events renumbered")
        inserted_exhibit = next((ex for s, ex in recent if s == original), exhibit)
        return Problem("inserted", original, inserted_exhibit, f"event(s) {original}..{seq - 1} were inserted: "
                       f"the event now numbered {seq} was recorded as {original}")
    if row["prev_hash"] != prev_hash:
        return Problem("relinked", seq, exhibit, f"event {seq} does not point to event {seq - 1} "
                       "(its predecessor was replaced or removed)")
    return None


def _check_signatures(report: Report, checkpoints: list[dict], trusted: dict[str, Any]) -> dict[int, list[dict]]:
    """Checkpoints whose signature verifies with a trusted key, by sequence number."""
    from cryptography.exceptions import InvalidSignature

    valid: dict[int, list[dict]] = {}
    for checkpoint in checkpoints:
        key = trusted.get(checkpoint["key_fingerprint"])
        if key is None:
            report.problems.append(Problem("unknown-key", checkpoint["seq"], None,
                                           f"checkpoint at {checkpoint['seq']} is signed by key "
                                           f"{checkpoint['key_fingerprint'][:16]}…, which is not trusted"))
            continue
        try:
            key.verify(bytes.fromhex(checkpoint["signature"]), checkpoint_bytes(checkpoint))
        except (InvalidSignature, ValueError):
            report.problems.append(Problem("bad-signature", checkpoint["seq"], None,
                                           f"checkpoint at {checkpoint['seq']} has an invalid signature"))
            continue
        valid.setdefault(checkpoint["seq"], []).append(dict(checkpoint))
    return valid


class _peekable:
    """An iterator with bounded look-ahead (rows looked at are kept, then yielded in order)."""

    def __init__(self, iterator: Iterator[dict], buffer: deque) -> None:
        self._iterator, self._buffer = iterator, buffer

    def __iter__(self):
        return self

    def __next__(self) -> dict:
        return self._buffer.popleft() if self._buffer else next(self._iterator)

    def peek(self) -> dict | None:
        if not self._buffer:
            try:
                self._buffer.append(next(self._iterator))
            except StopIteration:
                return None
        return self._buffer[0]

    def lookahead(self, limit: int) -> Iterator[dict]:
        for index in range(limit):
            while len(self._buffer) <= index:
                try:
                    self._buffer.append(next(self._iterator))
                except StopIteration:
                    return
            yield self._buffer[index]
