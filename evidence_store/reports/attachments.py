"""The machine-readable findings a report carries (JSON and CSV), written by streaming.

``findings.json`` is canonical: one JSON object per finding (sorted keys, no spaces, UTF-8)
inside a JSON array, one per line, in exhibit then finding-id order. Its SHA-256 is printed
in the report and recomputed from the database by ``forensics report verify``.
"""
from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from evidence_store.custody.canonical import canonical_json
from evidence_store.listings import as_json, text_value
from evidence_store.listings.findings import FINDING_COLUMNS, FindingRow, finding_rows


@dataclass(frozen=True)
class FindingsFile:
    count: int
    sha256: str
    json_path: Path
    csv_path: Path


def canonical_lines(rows: Iterator[FindingRow]) -> Iterator[bytes]:
    """The bytes of findings.json, a line at a time."""
    yield b"["
    first = True
    for row in rows:
        yield (b"\n" if first else b",\n") + canonical_json(as_json(row)).encode("utf-8")
        first = False
    yield b"\n]\n"


def findings_digest(session: Session, case_id: int, exhibit_ids: Sequence[int]) -> tuple[int, str]:
    """(count, SHA-256 of findings.json) as the database gives them now."""
    digest, count = hashlib.sha256(), 0

    def rows() -> Iterator[FindingRow]:
        nonlocal count
        for row in finding_rows(session, case_id, exhibit_ids):
            count += 1
            yield row

    for line in canonical_lines(rows()):
        digest.update(line)
    return count, digest.hexdigest()


def write_findings(session: Session, case_id: int, exhibit_ids: Sequence[int], directory: Path) -> FindingsFile:
    """Writes findings.json and findings.csv in one pass over the findings."""
    directory.mkdir(parents=True, exist_ok=True)
    json_path, csv_path = directory / "findings.json", directory / "findings.csv"
    digest, count = hashlib.sha256(), 0
    with open(json_path, "wb") as out_json, open(csv_path, "w", newline="", encoding="utf-8") as out_csv:
        writer = csv.writer(out_csv)
        writer.writerow([c.name for c in FINDING_COLUMNS])

        def rows() -> Iterator[FindingRow]:
            nonlocal count
            for row in finding_rows(session, case_id, exhibit_ids):
                count += 1
                writer.writerow([_csv_cell(getattr(row, c.name), c.kind) for c in FINDING_COLUMNS])
                yield row

        for line in canonical_lines(rows()):
            digest.update(line)
            out_json.write(line)
    return FindingsFile(count, digest.hexdigest(), json_path, csv_path)


def _csv_cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == "list":
        return ";".join(f"{a}+{b}" for a, b in value)
    if kind == "bytes":
        return str(value)
    value = text_value(value, kind)
    # a cell that a spreadsheet would run as a formula is quoted (OWASP CSV injection)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
