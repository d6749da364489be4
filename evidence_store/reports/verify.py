"""``forensics report verify FILE``: is this file a report the lab issued, unchanged, and still true?

Checks, each named in the result: the file's SHA-256 is recorded in a custody ledger (and at
which step); the report's own embedded data is consistent; the signed ledger head in an
issued report verifies with a trusted key and is part of the chain, and the chain verifies;
the findings embedded in the file equal the findings the database holds now (and which
differ, if any).
"""
from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from evidence_store.custody.canonical import checkpoint_bytes
from evidence_store.db import Database
from evidence_store.models import Case, CustodyEvent, Exhibit, Report
from evidence_store.reports.attachments import canonical_lines
from evidence_store.listings.findings import finding_rows

REPORT_ACTIONS = ("report-draft", "report-authorise", "report-issue")


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None        # None: not applicable
    detail: str


@dataclass
class Verification:
    path: Path
    sha256: str
    report_id: str | None = None
    state: str | None = None
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(check.ok is not False for check in self.checks) and any(c.ok for c in self.checks)

    @property
    def issued(self) -> bool:
        return self.state == "issued"


def embedded(path: Path) -> tuple[dict | None, bytes | None, str | None]:
    """(report.json, findings.json bytes, problem) from a PDF's attachments or the HTML's data blocks."""
    data = path.read_bytes()
    if data.startswith(b"%PDF"):
        try:
            import pikepdf

            with pikepdf.open(path) as pdf:
                files = {name: spec.get_file().read_bytes() for name, spec in pdf.attachments.items()}
        except Exception as exc:  # noqa: BLE001 - any parse failure is reported as the file's problem
            return None, None, f"the PDF cannot be parsed ({type(exc).__name__}: {exc})"
        report, findings = files.get("report.json"), files.get("findings.json")
    else:
        text = data.decode("utf-8", "replace")
        report = _block(text, r'<script type="application/json" id="report-data">')
        encoded = _block(text, r'<script type="application/octet-stream" id="findings-data" data-encoding="base64">')
        try:
            findings = base64.b64decode(encoded, validate=True) if encoded is not None else None
        except ValueError:
            findings = None
    try:
        parsed = json.loads(report) if report else None
    except ValueError:
        return None, findings, "the embedded report.json is not valid JSON"
    if parsed is None:
        return None, findings, "no embedded report.json (not a report made by this tool)"
    return parsed, findings, None


def _block(text: str, opening: str) -> bytes | None:
    """The text of one inert data block (JSON escapes '<', '>', '&' as \\u00XX, which json.loads reads)."""
    match = re.search(re.escape(opening) + r"(.*?)</script>", text, re.S)
    return match.group(1).encode("utf-8") if match else None


def verify_file(db: Database, path: Path, trusted_files: list[Path] = ()) -> Verification:
    from evidence_store.custody.service import checkpoint_rows, event_rows
    from evidence_store.custody.signing import trusted_keys
    from evidence_store.custody.verify import verify_chain

    result = Verification(path, _sha256(path))
    report, findings_bytes, problem = embedded(path)
    if report:
        result.report_id, result.state = report.get("report_id"), report.get("state")
    with db.reading() as session:
        event = session.scalar(select(CustodyEvent).where(CustodyEvent.action.in_(REPORT_ACTIONS),
                                                          CustodyEvent.hash_after == result.sha256))
        if event is not None:
            details = json.loads(event.details or "{}")
            result.report_id = result.report_id or details.get("report_id")
            result.checks.append(Check("hash recorded", True, f"SHA-256 {result.sha256} is recorded in the custody "
                                       f"ledger of case {event.chain} at sequence {event.seq} ({event.action}, "
                                       f"{event.occurred_at}, by {event.actor})"))
        else:
            row = session.scalar(select(Report).where(Report.report_id == result.report_id)) if result.report_id \
                else None
            known = (f"; report {row.report_id} is recorded with SHA-256 {row.sha256} ({row.state.value})"
                     if row is not None else "")
            result.checks.append(Check("hash recorded", False, f"SHA-256 {result.sha256} of this file is not "
                                       f"recorded in any custody ledger: the file was altered or not produced "
                                       f"by this lab{known}"))
        if problem or report is None:
            result.checks.append(Check("embedded data", False, problem or "no embedded report data"))
            return result
        if event is not None and json.loads(event.details or "{}").get("report_id") != report.get("report_id"):
            result.checks.append(Check("embedded data", False, "the report id inside the file differs from the one "
                                       "recorded with its hash"))
        embedded_digest = hashlib.sha256(findings_bytes or b"").hexdigest()
        consistent = findings_bytes is not None and embedded_digest == report.get("findings_sha256")
        result.checks.append(Check("embedded data", consistent, "findings.json matches the digest printed in the "
                                   "report" if consistent else "the embedded findings.json does not match the digest "
                                   f"printed in the report ({embedded_digest[:16]} vs "
                                   f"{str(report.get('findings_sha256'))[:16]})"))
        result.checks.append(_head_check(session, report, trusted_files, trusted_keys, verify_chain, event_rows,
                                         checkpoint_rows))
        result.checks.append(_findings_check(session, report, findings_bytes))
    return result


def _head_check(session, report: dict, trusted_files, trusted_keys, verify_chain, event_rows, checkpoint_rows) -> Check:
    head = report.get("ledger_head") or {}
    if report.get("state") != "issued":
        return Check("signed ledger head", None, f"not applicable: this is a {report.get('state')} rendering, not "
                     "an issued report (only an issued report carries a signed head)")
    if not head.get("signature"):
        return Check("signed ledger head", False, "an issued report must carry a signed ledger head; this one has none")
    keys, anchor = trusted_keys(session, list(trusted_files))
    key = keys.get(head.get("key_fingerprint"))
    if key is None:
        return Check("signed ledger head", False, f"the head was signed by key {head.get('key_fingerprint')}, which is "
                     f"not trusted here ({anchor})")
    try:
        key.verify(bytes.fromhex(head["signature"]), checkpoint_bytes(head))
    except Exception:  # noqa: BLE001 - cryptography raises InvalidSignature; any failure means "does not verify"
        return Check("signed ledger head", False, "the ledger head's signature does not verify")
    stored = session.scalar(select(CustodyEvent.event_hash).where(CustodyEvent.chain == head["chain"],
                                                                 CustodyEvent.seq == head["seq"]))
    if stored != head["head_hash"]:
        return Check("signed ledger head", False, f"the chain {head['chain']} has {stored or 'no event'} at sequence "
                     f"{head['seq']}, not the signed head {head['head_hash']}")
    chain = verify_chain(head["chain"], event_rows(session, head["chain"]), checkpoint_rows(session, head["chain"]),
                         keys)
    if not chain.ok:
        first = chain.problems[0]
        return Check("signed ledger head", False, f"the signed head is in the chain, but the chain fails verification "
                     f"at sequence {first.seq} ({first.kind}: {first.message})")
    return Check("signed ledger head", True, f"signature by {head['key_fingerprint'][:16]} verifies ({anchor}); "
                 f"the head is event {head['seq']} of chain {head['chain']}, which verifies ({chain.events} events)")


def _findings_check(session, report: dict, findings_bytes: bytes | None) -> Check:
    case = session.scalar(select(Case).where(Case.name == report.get("case")))
    if case is None:
        return Check("findings", False, f"case {report.get('case')!r} is not in this database")
    ids = []
    for number in report.get("exhibits") or []:
        exhibit = session.scalar(select(Exhibit).where(Exhibit.case_id == case.id, Exhibit.number == number))
        if exhibit is None:
            return Check("findings", False, f"exhibit {number} of the report is no longer in the database")
        ids.append(exhibit.id)
    now = b"".join(canonical_lines(finding_rows(session, case.id, ids)))
    if hashlib.sha256(now).hexdigest() == report.get("findings_sha256") and now == (findings_bytes or b""):
        return Check("findings", True, f"the {report.get('findings')} finding(s) in the report equal the database's")
    return Check("findings", False, "the findings differ from the database's: " + _difference(findings_bytes, now))


def _difference(reported: bytes | None, current: bytes) -> str:
    def by_id(data: bytes | None) -> dict[int, dict]:
        try:
            return {row["id"]: row for row in json.loads(data or b"[]")}
        except (ValueError, TypeError, KeyError):
            return {}

    old, new = by_id(reported), by_id(current)
    parts = []
    missing = sorted(set(old) - set(new))
    added = sorted(set(new) - set(old))
    changed = sorted(i for i in set(old) & set(new) if old[i] != new[i])
    if missing:
        parts.append(f"{len(missing)} in the report but no longer in the database (finding id(s) "
                     f"{', '.join(map(str, missing[:10]))}{' ...' if len(missing) > 10 else ''})")
    if added:
        parts.append(f"{len(added)} in the database but not in the report (id(s) "
                     f"{', '.join(map(str, added[:10]))}{' ...' if len(added) > 10 else ''})")
    for finding_id in changed[:5]:
        fields = sorted(k for k in old[finding_id] if old[finding_id].get(k) != new[finding_id].get(k))
        parts.append(f"finding {finding_id} changed ({', '.join(fields)})")
    return "; ".join(parts) or "the embedded list cannot be read"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
