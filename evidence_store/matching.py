"""The match stage: known hash sets, YARA rule sets, PDQ fingerprints and TLSH, per batch.

Runs over the same id-range batches as hashing (files) and over the exhibit's carved
objects. Every finding row names the matcher and its version, the rule set or hash
set (name, version, SHA-256 of its content) and the processing run, so the result
can be reproduced. Re-running adds no rows (unique finding keys).
"""
from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select, update

from evidence_store.db import Database
from evidence_store.models import CarvedObjectRow, Exhibit, FileEntry, Finding, HashSet, HashSetEntry, RuleSet
from evidence_store.runs import RunContext, stage_run
from evidence_store.store import record_warning, upsert

MATCH_COMMIT = 200


@dataclass(frozen=True)
class MatchOptions:
    """Limits an examiner may set; recorded in each match run's parameters.

    Defaults come from the environment (so Airflow workers share them):
    FORENSICS_YARA_TIMEOUT (seconds per file), FORENSICS_YARA_SIZE_CAP (bytes),
    FORENSICS_PDQ_RADIUS (Hamming distance), FORENSICS_PDQ_MIN_QUALITY.
    """

    yara_timeout: int = field(default_factory=lambda: int(os.environ.get("FORENSICS_YARA_TIMEOUT", 60)))
    yara_size_cap: int = field(default_factory=lambda: int(os.environ.get("FORENSICS_YARA_SIZE_CAP", 128 << 20)))
    pdq_radius: int = field(default_factory=lambda: int(os.environ.get("FORENSICS_PDQ_RADIUS", 31)))
    pdq_min_quality: int = field(default_factory=lambda: int(os.environ.get("FORENSICS_PDQ_MIN_QUALITY", 50)))
RESTRICTED_HINTS = ("csam", "csem", "cam", "abuse", "child", "category 1", "category 2", "vics 1", "vics 2")
Credentials = Sequence[tuple[str, str]]


@dataclass
class Subject:
    """One file or carved object to match."""

    kind: str                  # file | carved
    id: int
    path: str
    locator: str | None        # file entries are read through the image
    artifact: str | None       # carved objects are read from the artifact store
    size: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    mime: str | None
    volume_id: int | None = None
    findings: list[dict[str, Any]] = field(default_factory=list)
    pdq: Any = None            # PdqDigest, for images
    tlsh: Any = None           # TlshDigest, for everything else


class Matchers:
    """Prepared once per task: compiled rule sets, PDQ indexes, hashers (native imports happen here)."""

    def __init__(self, db: Database, credentials: Credentials = (), options: MatchOptions | None = None) -> None:
        from forensics.reader import StreamReader
        from forensics.matchers import MATCHERS

        self.reader = StreamReader(credentials)
        self.options = options or MatchOptions()
        self.versions = {name: spec.version for name, spec in MATCHERS.items()}
        with db.session() as session:
            latest: dict[str, RuleSet] = {}
            for rule_set in session.scalars(select(RuleSet).order_by(RuleSet.id)):
                latest[rule_set.name] = rule_set
            self.hashsets = {h.id: h for h in session.scalars(select(HashSet))}
        self.rulesets = list(latest.values())
        self.scanners = [(r, MATCHERS["yara"].prepare(r.compiled_path, timeout=self.options.yara_timeout,
                                                      size_cap=self.options.yara_size_cap)) for r in self.rulesets]
        self.yara_engine = MATCHERS["yara"].engine_versions() if self.rulesets else {}
        self.pdq = MATCHERS["pdq"].prepare(convention="full-resolution")
        self.pdq_engine = MATCHERS["pdq"].engine_versions()
        self.tlsh = MATCHERS["tlsh"].prepare()
        self.indexes = []
        from forensics.matchers.pdq_index import PdqIndex
        for hashset in self.hashsets.values():
            if hashset.pdq_index_path:
                self.indexes.append((hashset, PdqIndex.load(hashset.pdq_index_path)))
        # what a subject was matched against: new rule sets, hash sets or limits mean matching again
        self.knowledge = _key(sorted(r.sha256 for r in self.rulesets),
                              sorted((h.sha256, h.kind) for h in self.hashsets.values()),
                              self.options.__dict__, self.versions)[:16]

    def chunks(self, subject: Subject):
        if subject.artifact:
            with open(subject.artifact, "rb") as handle:
                yield from iter(lambda: handle.read(1 << 20), b"")
        else:
            yield from self.reader.chunks(subject.locator)


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def match_files(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
                credentials: Credentials = (), options: MatchOptions | None = None) -> int:
    """Matches the hashed files with lo <= id <= hi; returns findings recorded."""
    lo, hi = int(id_range[0]), int(id_range[1])
    matchers = Matchers(db, credentials, options)
    with db.session() as session:
        rows = session.execute(select(FileEntry).where(
            FileEntry.exhibit_id == exhibit_id, FileEntry.id.between(lo, hi), FileEntry.hash_status == "hashed",
            FileEntry.match_status != matchers.knowledge).order_by(FileEntry.id)).scalars().all()
        subjects = [Subject("file", r.id, r.path, r.locator, None, r.size, r.md5, r.sha1, r.sha256, r.mime_type,
                            r.volume_id) for r in rows]
    return _run(db, exhibit_id, subjects, ctx, matchers, ("files", lo, hi))


def match_carved(db: Database, exhibit_id: int, ctx: RunContext, credentials: Credentials = (),
                 options: MatchOptions | None = None) -> int:
    """Matches every carved object of the exhibit not matched yet against the current knowledge."""
    matchers = Matchers(db, credentials, options)
    with db.session() as session:
        rows = session.scalars(select(CarvedObjectRow).where(
            CarvedObjectRow.exhibit_id == exhibit_id, CarvedObjectRow.match_status != matchers.knowledge)
            .order_by(CarvedObjectRow.id)).all()
        subjects = [Subject("carved", r.id, f"carved/{r.id}.{r.extension}", None, r.artifact_path, r.size, r.md5,
                            r.sha1, r.sha256, r.mime_type) for r in rows]
    return _run(db, exhibit_id, subjects, ctx, matchers, ("carved",))


def _run(db, exhibit_id, subjects, ctx, matchers: Matchers, key_parts) -> int:
    exhibit = db_exhibit(db, exhibit_id)
    params = {"rulesets": [(r.name, r.version, r.sha256) for r in matchers.rulesets],
              "hashsets": [(h.name, h.version, h.sha256) for h in matchers.hashsets.values()],
              "options": matchers.options.__dict__, "matchers": matchers.versions}
    recorded = 0
    with stage_run(db, ctx, "match", case_id=exhibit.case_id, exhibit_id=exhibit_id, parameters=params,
                   key_parts=(*key_parts, matchers.knowledge)) as run:
        for start in range(0, len(subjects), MATCH_COMMIT):
            chunk = subjects[start:start + MATCH_COMMIT]
            with db.session() as session:
                _hashsets(session, matchers, chunk)
            problems = [_content(matchers, subject) for subject in chunk]   # reads outside transactions
            with db.session() as session:
                _pdq_categories(session, chunk)
                recorded += _write(session, exhibit_id, run.id, matchers, chunk, problems)
    return recorded


def db_exhibit(db: Database, exhibit_id: int) -> Exhibit:
    with db.session() as session:
        return session.get(Exhibit, exhibit_id)


def _hashsets(session, matchers: Matchers, chunk: list[Subject]) -> None:
    """Looks every subject up by MD5, SHA-1 and SHA-256 (three indexed IN queries per chunk)."""
    by = {"md5": {}, "sha1": {}, "sha256": {}}
    for subject in chunk:
        for algorithm in by:
            value = getattr(subject, algorithm)
            if value:
                by[algorithm].setdefault(value, []).append(subject)
    for algorithm, wanted in by.items():
        if not wanted:
            continue
        column = getattr(HashSetEntry, algorithm)
        for entry in session.scalars(select(HashSetEntry).where(column.in_(list(wanted)))):
            hashset = matchers.hashsets[entry.hashset_id]
            for subject in wanted[getattr(entry, algorithm)]:
                subject.findings.append(dict(
                    matcher="hashset", matcher_version="hashset-lookup/1", engine_versions={},
                    set_name=hashset.name, set_version=hashset.version, set_sha256=hashset.sha256,
                    outcome="match", rule=algorithm, category=entry.category, known=hashset.kind,
                    detail={"entry_id": entry.id, "name": entry.name, "size": entry.size,
                            "reference": entry.reference, "matched_on": algorithm,
                            "value": getattr(entry, algorithm)},
                    key=_key("hashset", hashset.id, entry.id, algorithm)))


def _pdq_categories(session, chunk: list[Subject]) -> None:
    """A PDQ match carries the category of the reference entry it matched (UK A/B/C, CAID, ...)."""
    wanted = {int(f["rule"]) for s in chunk for f in s.findings if f["matcher"] == "pdq"}
    if not wanted:
        return
    categories = dict(session.execute(select(HashSetEntry.id, HashSetEntry.category).where(
        HashSetEntry.id.in_(wanted))).all())
    for subject in chunk:
        for finding in subject.findings:
            if finding["matcher"] == "pdq" and finding["category"] is None:
                finding["category"] = categories.get(int(finding["rule"]))


def _content(matchers: Matchers, subject: Subject) -> list[str]:
    """YARA, PDQ (images) and TLSH (others) from the subject's bytes; returns item problems."""
    from forensics.errors import ItemError
    from forensics.matchers.yara_rules import externals_for

    problems: list[str] = []
    for rule_set, scanner in matchers.scanners:
        try:
            outcome = scanner.scan_chunks(matchers.chunks(subject), externals_for(subject.path, subject.mime or ""),
                                          size=subject.size)
        except ItemError as exc:
            problems.append(f"YARA {rule_set.name}: {exc}")
            continue
        identity = dict(matcher="yara", matcher_version=matchers.versions["yara"],
                        engine_versions=matchers.yara_engine, set_name=rule_set.name, set_version=rule_set.version,
                        set_sha256=rule_set.sha256, known=None, category=None)
        for match in outcome.matches:
            subject.findings.append(dict(identity, outcome="match", rule=f"{match.namespace}:{match.rule}", detail={
                "namespace": match.namespace, "rule": match.rule, "tags": list(match.tags), "meta": dict(match.meta),
                "strings": [[s.identifier, s.offset, s.length, s.data_hex] for s in match.strings],
                "strings_truncated": match.strings_truncated}, key=_key("yara", rule_set.sha256, match.namespace,
                                                                       match.rule)))
        if outcome.status in ("timeout", "too-large", "error"):
            subject.findings.append(dict(identity, outcome=outcome.status, rule=None,
                                         detail={"message": outcome.message, "scanned_bytes": outcome.scanned_bytes},
                                         key=_key("yara-status", rule_set.sha256)))
            problems.append(f"YARA {rule_set.name}: {outcome.status}: {outcome.message}")
    if (subject.mime or "").startswith("image/"):
        try:
            digest = matchers.pdq.digest_chunks(matchers.chunks(subject), subject.size)
        except ItemError as exc:
            problems.append(f"PDQ: {exc}")
        else:
            subject.pdq = digest
            for hashset, index in matchers.indexes:
                for match in index.match(digest, radius=matchers.options.pdq_radius,
                                         min_quality=matchers.options.pdq_min_quality):
                    subject.findings.append(dict(
                        matcher="pdq", matcher_version=matchers.versions["pdq"], engine_versions=matchers.pdq_engine,
                        set_name=hashset.name, set_version=hashset.version, set_sha256=hashset.sha256,
                        outcome="match", rule=str(match.reference_id), category=None, known=hashset.kind,
                        detail={"reference_hash": match.reference_hash, "distance": match.distance,
                                "transform": match.transform, "radius": matchers.options.pdq_radius,
                                "hash": digest.hash_hex,
                                "quality": digest.quality, "convention": digest.convention},
                        key=_key("pdq", hashset.id, match.reference_id)))
    else:
        try:
            subject.tlsh = matchers.tlsh.digest(matchers.chunks(subject)) if subject.size and subject.size >= 50 else None
        except ItemError as exc:
            problems.append(f"TLSH: {exc}")
    return problems


def _restricted(subject: Subject) -> bool:
    """Known-bad image material: a PDQ match on a known-bad list, or a known-bad hash of an image."""
    for finding in subject.findings:
        if finding["known"] != "known-bad":
            continue
        category = (finding.get("category") or "").lower()
        if finding["matcher"] == "pdq" or (subject.mime or "").startswith("image/") or \
                any(hint in category for hint in RESTRICTED_HINTS):
            return True
    return False


def _write(session, exhibit_id: int, run_id: int, matchers: Matchers, chunk: list[Subject], problems) -> int:
    rows, updates_files, updates_carved = [], [], []
    for subject, issues in zip(chunk, problems):
        pdq, tlsh = subject.pdq, subject.tlsh
        values = {"id": subject.id, "match_status": matchers.knowledge,
                  "known_good": any(f["known"] == "known-good" for f in subject.findings),
                  "restricted": _restricted(subject),
                  "pdq_hash": pdq.hash_hex if pdq else None, "pdq_quality": pdq.quality if pdq else None,
                  "pdq_convention": pdq.convention if pdq else None, "tlsh": tlsh.digest if tlsh else None}
        (updates_files if subject.kind == "file" else updates_carved).append(values)
        for finding in subject.findings:
            row = {k: v for k, v in finding.items() if k != "key"}
            row.update(exhibit_id=exhibit_id, run_id=run_id, finding_key=_key(subject.kind, subject.id, finding["key"]),
                       file_entry_id=subject.id if subject.kind == "file" else None,
                       carved_object_id=subject.id if subject.kind == "carved" else None)
            rows.append(row)
        for issue in issues:
            record_warning(session, exhibit_id, "match", f"{subject.path}: {issue}", path=subject.path,
                           run_id=run_id, volume_id=subject.volume_id,
                           file_entry_id=subject.id if subject.kind == "file" else None)
    if updates_files:
        session.execute(update(FileEntry), updates_files)
    if updates_carved:
        session.execute(update(CarvedObjectRow), updates_carved)
    upsert(session, Finding, rows, keys=["exhibit_id", "finding_key"])
    return len(rows)
