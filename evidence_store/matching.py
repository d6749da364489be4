"""The lab's knowledge applied to examined content: hash sets, YARA, PDQ, TLSH, reuse.

``prepared(db, options)`` builds, once per worker process and again only when the rule sets,
hash sets or limits change: the compiled rule sets (the latest version of each name), the hash
sets, the PDQ indexes of the known lists and the ``Examiner`` that reads each stream once
(forensics.content). Every finding names the matcher and its version, the rule set or hash set
(name, version, SHA-256) and the processing run, so it can be reproduced; re-running adds no
rows (unique finding keys, the same as before the one-read redesign).

Equal content is examined once: the results for a SHA-256 (with the YARA externals that rule
sets use, when they use path externals) are kept in the worker and found again in the case
database, and attached to every other entry or carved object with that content.
"""
from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from evidence_store import hashset_tables
from evidence_store.db import Database
from evidence_store.models import (CarvedObjectRow, Exhibit, FileEntry, Finding, HashSet, HashSetEntry, RuleSet)
from evidence_store.store import record_warning, upsert
from forensics.lru import SizedLRU

RESTRICTED_HINTS = ("csam", "csem", "cam", "abuse", "child", "category 1", "category 2", "vics 1", "vics 2")
HASHSET_LOOKUP = "hashset-lookup/2"   # /2: one finding per set, algorithm and category
# What a worker keeps about content it has seen, bounded by bytes so its memory stays flat with the
# size of the exhibit: examined content (reused for equal content) and hash-set results by SHA-256.
REUSE_BYTES = 16 << 20
LOOKUP_BYTES = 8 << 20
NAMES_KEPT = 10          # entry names a hash-set finding quotes when a set lists the value more than once
PATH_EXTERNALS = ("filename", "filepath", "extension")
DIGEST_ALGORITHMS = ("md5", "sha1", "sha256")    # in the order their findings are listed
PROBES_PER_STATEMENT = 500                         # values in one IN (...) (SQLite allows 32,766 parameters)
PROBE_SIZES = (1, 2, 4, 8, 16, 32, 64, 128, 256, PROBES_PER_STATEMENT)   # IN lists padded to these lengths


@dataclass
class Subject:
    """One file entry or carved object going through the content pass."""

    kind: str                          # file | carved
    id: int
    path: str
    size: int | None                   # what the file system (or carver) says
    volume_id: int | None = None
    digests: Any = None                # forensics.content.Digests
    examined: Any = None               # forensics.content.Examined
    findings: list[dict[str, Any]] = field(default_factory=list)
    reused: Reused | None = None
    skipped: bool = False              # known-good, content matchers skipped on request
    error: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Reused:
    """Results of equal content examined before: what the content matchers found and computed."""

    tlsh: str | None
    pdq: tuple[str, int, str] | None   # (hash, quality, convention)
    findings: tuple[dict[str, Any], ...]


def _defines(rule_set: RuleSet) -> dict:
    return dict((rule_set.externals or {}).get("defines") or {})


def _engine_of(rule_set: RuleSet, versions: dict[str, str], namespace: str | None = None) -> dict[str, str]:
    """The versions of the engine that scanned with this set (with one of its files, for a match):
    YARA-X's, or yara-python's and libyara's; both for a mixed set's outcome as a whole."""
    engine = rule_set.engine or "libyara"
    if engine == "mixed" and namespace is not None:
        engine = "libyara" if namespace in (rule_set.engine_split or {}).get("libyara", ()) else "yara-x"
    if engine == "yara-x":
        return {"yara-x": versions.get("yara-x", "")}
    return dict(versions) if engine == "mixed" else {k: v for k, v in versions.items() if k != "yara-x"}


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()


def _hashset_key(hashset_id: int, entry_id: int, algorithm: str) -> str:
    """``_key("hashset", hashset_id, entry_id, algorithm)`` without the JSON encoder (the same text:
    two integers and a name; it runs for every hash-set hit)."""
    return hashlib.sha256(f'["hashset", {int(hashset_id)}, {int(entry_id)}, "{algorithm}"]'.encode()).hexdigest()


class Knowledge:
    """Prepared once per worker process (native imports happen here)."""

    def __init__(self, db: Database, options) -> None:
        from forensics.content import Examiner
        from forensics.filetype import TypeIdentifier
        from forensics.matchers import MATCHERS
        from forensics.matchers.pdq_index import PdqIndex

        self.options = options
        self.versions = {name: spec.version for name, spec in MATCHERS.items()}
        with db.session() as session:
            latest: dict[str, RuleSet] = {}
            for rule_set in session.scalars(select(RuleSet).order_by(RuleSet.id)):
                latest[rule_set.name] = rule_set
            self.hashsets = {h.id: h for h in session.scalars(select(HashSet))}
        self.rulesets = list(latest.values())
        self.scanners = [(r, MATCHERS["yara"].prepare(r.compiled_path, timeout=options.yara_timeout,
                                                      size_cap=max(options.yara_size_cap, 1 << 40),
                                                      defines=_defines(r), engine=r.engine or "libyara",
                                                      engine_path=r.engine_path, engine_sha256=r.engine_sha256,
                                                      split=r.engine_split))
                         for r in self.rulesets]
        self.path_externals = sorted({name for r in self.rulesets for name in PATH_EXTERNALS
                                      if any(re.search(rf"\b{name}\b", s.get("text", "")) for s in r.sources)})
        self.yara_engine = MATCHERS["yara"].engine_versions() if self.rulesets else {}
        self.pdq_engine = MATCHERS["pdq"].engine_versions()
        self.indexes = [(h, PdqIndex.load(h.pdq_index_path)) for h in self.hashsets.values() if h.pdq_index_path]
        self.examiner = Examiner(TypeIdentifier(), [(r.sha256, scanner) for r, scanner in self.scanners],
                                 MATCHERS["pdq"].prepare(convention="full-resolution"), tlsh=True,
                                 memory_cap=options.yara_size_cap, indicators=options.indicators)
        self.digest = _key(sorted(r.sha256 + (":" + json.dumps(_defines(r), sort_keys=True) if _defines(r) else "")
                                  + ("" if (r.engine or "libyara") == "libyara" else f":{r.engine}")
                                  for r in self.rulesets),
                           sorted((h.sha256, h.kind) for h in self.hashsets.values()),
                           options.matching(), self.versions, HASHSET_LOOKUP)[:16]
        self.identity = identity(db)
        self.filters, self.filter_state = _filters(self.hashsets.values())
        self._set_fields = {h.id: dict(matcher="hashset", matcher_version=HASHSET_LOOKUP, engine_versions={},
                                       set_name=h.name, set_version=h.version, set_sha256=h.sha256,
                                       outcome="match", known=h.kind) for h in self.hashsets.values()}
        self._mark = "?" if db.dialect == "sqlite" else "%s"
        self._seen: SizedLRU[tuple, Reused] = SizedLRU(REUSE_BYTES, _reused_bytes)
        self._looked_up: SizedLRU[str, list[dict[str, Any]]] = SizedLRU(LOOKUP_BYTES, _found_bytes)

    def parameters(self) -> dict[str, Any]:
        """What the content runs record: the knowledge applied and its limits."""
        return {"rulesets": [(r.name, r.version, r.sha256, r.engine or "libyara") for r in self.rulesets],
                "hashsets": [(h.name, h.version, h.sha256) for h in self.hashsets.values()],
                "options": self.options.matching(), "matchers": self.versions, "knowledge": self.digest,
                "hashset_filters": self.filter_state}

    # --- hash sets ---------------------------------------------------------------------------------------
    def lookup(self, session: Session, digests) -> list[dict[str, Any]]:
        """Hash-set findings for one stream (``lookup_many`` of one)."""
        return self.lookup_many(session, [digests])[0]

    def lookup_many(self, session: Session, streams: Sequence) -> list[list[dict[str, Any]]]:
        """Hash-set findings for each of ``streams`` (their Digests), by MD5, SHA-1 and SHA-256. The sets'
        digest filters rule most digests out in memory; the others are probed in the database together
        (one ``IN`` statement per algorithm for the whole group, not one round trip per stream). Results
        depend on the content only and are kept per worker by SHA-256.

        One finding per hash set, algorithm and category, however many of the set's entries carry the
        value: a set that lists one hash under many names (NSRL rows per product and file name, a list
        built from paths) would otherwise give every copy of, say, the empty file one finding per name
        (557 x 557 on the bench disk). The finding names the first entry (lowest id, as before) and
        counts the others."""
        if not self.hashsets:
            return [[] for _ in streams]
        results: list[list[dict[str, Any]] | None] = [None] * len(streams)
        todo: dict[str, list[int]] = {}                # SHA-256 -> positions (a group may repeat content)
        for position, digests in enumerate(streams):
            cached = self._looked_up.get(digests.sha256)
            if cached is not None:
                results[position] = cached
            else:
                todo.setdefault(digests.sha256, []).append(position)
        if todo:
            firsts = [streams[positions[0]] for positions in todo.values()]
            rows = self._probe_many(session, {a: self._maybe([getattr(d, a) for d in firsts])
                                              for a in DIGEST_ALGORITHMS})
            for digests in firsts:
                hits: list[tuple] = []
                if rows:
                    for algorithm in DIGEST_ALGORITHMS:
                        hits.extend(rows.get((algorithm, getattr(digests, algorithm)), ()))
                found = self._findings(digests, hits) if hits else []
                if found or self.filters is None:       # with filters, "in no set" is cheaper to ask again
                    self._looked_up.put(digests.sha256, found)
                for position in todo[digests.sha256]:
                    results[position] = found
        return [[dict(f, detail=dict(f["detail"])) for f in found] if found else [] for found in results]

    def _maybe(self, values: list[str]) -> dict[int | None, list[str]]:
        """The digests (of one algorithm) each set may hold, by set id: without filters all of them, for
        every set at once (``None``: the ``hashset_entries`` union, which also holds a set whose import
        commits while this worker runs); with them, per set only those its filter does not rule out
        (most streams: none, and the database is not asked)."""
        if self.filters is None:
            return {None: sorted(set(values))} if values else {}
        wanted: dict[int | None, list[str]] = {}
        for hashset_id, digest_filter in self.filters.items():
            answers = digest_filter.maybe_many(values) if len(values) >= 16 else map(digest_filter.maybe, values)
            maybe = sorted({value for value, answer in zip(values, answers) if answer})
            if maybe:
                wanted[hashset_id] = maybe
        return wanted

    def _probe_many(self, session: Session, wanted: dict[str, dict[int | None, list[str]]]
                    ) -> dict[tuple[str, str], list[tuple]]:
        """Indexed probes of each set's table (or of all sets, ``None``) for the values its filter lets
        through, sent as driver SQL (building a Core select per group cost more than the probes); rows
        by (algorithm, value), each list in entry id order. SQLite: one ``IN`` statement per algorithm
        and set, padded to a few lengths so they stay prepared; PostgreSQL: the whole group in one
        statement (a round trip and a plan per statement cost more than the probes in it)."""
        arms = [(algorithm, hashset_id, values[start:start + PROBES_PER_STATEMENT])
                for algorithm, by_set in wanted.items()
                for hashset_id, values in sorted(by_set.items(), key=lambda item: -1 if item[0] is None else item[0])
                for start in range(0, len(values), PROBES_PER_STATEMENT)]
        found: dict[tuple[str, str], list[tuple]] = {}
        if not arms:
            return found

        def select(algorithm: str, hashset_id: int | None, test: str) -> str:
            source = "hashset_entries" if hashset_id is None else hashset_tables.table_name(hashset_id)
            return (f"SELECT '{algorithm}', {algorithm}, id, hashset_id, category, name, size, reference "
                    f"FROM {source} WHERE {algorithm} {test}")

        if self._mark == "?":
            statements = [(select(algorithm, hashset_id, f"IN ({', '.join('?' * len(chunk))})") + " ORDER BY id", chunk)
                          for algorithm, hashset_id, chunk in ((a, i, _padded(c)) for a, i, c in arms)]
        else:
            statements = [(" UNION ALL ".join(f"({select(a, i, '= ANY(%s)')})" for a, i, _ in arms) + " ORDER BY 3",
                           [chunk for _, _, chunk in arms])]
        cursor = session.connection().connection.dbapi_connection.cursor()
        try:
            for statement, parameters in statements:
                cursor.execute(statement, parameters)
                for algorithm, value, *row in cursor.fetchall():
                    found.setdefault((algorithm, value), []).append((algorithm, *row))
        finally:
            cursor.close()
        return found

    def _findings(self, digests, rows: list[tuple]) -> list[dict[str, Any]]:
        groups: dict[tuple, dict[str, Any]] = {}
        for algorithm, entry_id, hashset_id, category, name, size, reference in rows:   # ordered by algorithm, id
            base = self._set_fields.get(hashset_id)
            if base is None:
                continue
            group = groups.get((algorithm, hashset_id, category))
            if group is not None:
                detail = group["detail"]
                detail["entries"] += 1
                if name and name not in detail["names"] and len(detail["names"]) < NAMES_KEPT:
                    detail["names"].append(name)
                continue
            groups[(algorithm, hashset_id, category)] = dict(
                base, rule=algorithm, category=category,
                detail={"entry_id": entry_id, "name": name, "size": size,
                        "reference": reference, "matched_on": algorithm, "value": getattr(digests, algorithm),
                        "entries": 1, "names": [name] if name else []},
                key=_hashset_key(hashset_id, entry_id, algorithm))
        return list(groups.values())

    # --- equal content examined once ----------------------------------------------------------------------
    def _reuse_key(self, digests, path: str) -> tuple:
        from forensics.matchers.yara_rules import externals_for

        externals = externals_for(path, digests.mime)
        return (digests.sha256, *(externals[name] for name in self.path_externals))

    def reuse(self, session: Session, case_id: int, subject: Subject,
              earlier: dict[str, Reused] | None = None) -> Reused | None:
        """What equal content was found to be: examined by this worker before, or in the case database
        (``earlier``, from ``reuse_many`` for the subject's group; without it, asked here)."""
        key = self._reuse_key(subject.digests, subject.path)
        seen = self._seen.get(key)
        if seen is not None:
            return seen
        if self.path_externals:
            return None              # path-dependent rules: only the same path in this worker reuses
        if earlier is None:
            earlier = self.reuse_many(session, case_id, [(subject, subject.digests)])
        reused = earlier.get(subject.digests.sha256)
        if reused is not None:
            self._remember(key, reused)
        return reused

    def reuse_many(self, session: Session, case_id: int, streams: Sequence[tuple[Subject, Any]]) -> dict[str, Reused]:
        """Content of ``streams`` (subject, digests) that the case has examined against the same knowledge
        already, by SHA-256: a few statements for the whole group (the first entry, else carved object,
        with that content, and its YARA and PDQ findings)."""
        if self.path_externals:
            return {}
        wanted = sorted({digests.sha256 for subject, digests in streams
                         if self._seen.get(self._reuse_key(digests, subject.path)) is None})
        found: dict[str, Reused] = {}
        for model in (FileEntry, CarvedObjectRow):
            wanted = [sha256 for sha256 in wanted if sha256 not in found]
            for start in range(0, len(wanted), PROBES_PER_STATEMENT):
                chunk = wanted[start:start + PROBES_PER_STATEMENT]
                first = (select(func.min(model.id)).join(Exhibit, Exhibit.id == model.exhibit_id)
                         .where(Exhibit.case_id == case_id, model.sha256.in_(chunk), model.match_status == self.digest)
                         .group_by(model.sha256))
                rows = session.execute(select(model.id, model.sha256, model.tlsh, model.pdq_hash, model.pdq_quality,
                                              model.pdq_convention).where(model.id.in_(first))).all()
                if not rows:
                    continue
                column = Finding.file_entry_id if model is FileEntry else Finding.carved_object_id
                findings: dict[int, list[dict[str, Any]]] = {}
                for f in session.scalars(select(Finding).where(column.in_([r.id for r in rows]),
                                                               Finding.matcher.in_(("yara", "pdq")))
                                         .order_by(Finding.id)):
                    findings.setdefault(getattr(f, column.key), []).append(self._finding_dict(f))
                for row in rows:
                    found[row.sha256] = Reused(row.tlsh, (row.pdq_hash, row.pdq_quality, row.pdq_convention)
                                               if row.pdq_hash else None, tuple(findings.get(row.id, ())))
        return found

    def _hashset_id(self, name: str, sha256: str) -> int | None:
        return next((h.id for h in self.hashsets.values() if h.name == name and h.sha256 == sha256), None)

    def _finding_dict(self, f: Finding) -> dict[str, Any]:
        if f.matcher == "yara":
            key = _key("yara", f.set_sha256, f.detail.get("namespace"), f.detail.get("rule")) if f.outcome == "match" \
                else _key("yara-status", f.set_sha256)
        else:
            key = _key("pdq", self._hashset_id(f.set_name, f.set_sha256), int(f.rule))
        return dict(matcher=f.matcher, matcher_version=f.matcher_version, engine_versions=f.engine_versions,
                    set_name=f.set_name, set_version=f.set_version, set_sha256=f.set_sha256, outcome=f.outcome,
                    rule=f.rule, category=f.category, known=f.known, detail=f.detail, key=key)

    def remember(self, subject: Subject) -> None:
        examined = subject.examined
        if examined is None or not examined.matched:
            return
        pdq = examined.pdq
        content = tuple(f for f in subject.findings if f["matcher"] in ("yara", "pdq"))
        self._remember(self._reuse_key(subject.digests, subject.path),
                       Reused(examined.tlsh.digest if examined.tlsh else None,
                              (pdq.hash_hex, pdq.quality, pdq.convention) if pdq else None, content))

    def _remember(self, key: tuple, reused: Reused) -> None:
        self._seen.put(key, reused)

    # --- YARA and PDQ findings ----------------------------------------------------------------------------
    def content_findings(self, session: Session, subject: Subject) -> list[str]:
        """Adds the YARA and PDQ findings of an examined stream; returns item problems for warnings."""
        examined = subject.examined
        problems = list(examined.problems)
        by_digest = {r.sha256: r for r in self.rulesets}
        for digest, outcome in examined.yara:
            rule_set = by_digest[digest]
            identity = dict(matcher="yara", matcher_version=self.versions["yara"],
                            engine_versions=_engine_of(rule_set, self.yara_engine),
                            set_name=rule_set.name, set_version=rule_set.version, set_sha256=rule_set.sha256,
                            known=None, category=None)
            for match in outcome.matches:
                subject.findings.append(dict(identity, engine_versions=_engine_of(rule_set, self.yara_engine,
                                                                                  match.namespace),
                                             outcome="match", rule=f"{match.namespace}:{match.rule}", detail={
                    "namespace": match.namespace, "rule": match.rule, "tags": list(match.tags),
                    "meta": dict(match.meta),
                    "strings": [[s.identifier, s.offset, s.length, s.data_hex] for s in match.strings],
                    "strings_truncated": match.strings_truncated},
                    key=_key("yara", rule_set.sha256, match.namespace, match.rule)))
            if outcome.status in ("timeout", "too-large", "error"):
                subject.findings.append(dict(identity, outcome=outcome.status, rule=None,
                                             detail={"message": outcome.message,
                                                     "scanned_bytes": outcome.scanned_bytes},
                                             key=_key("yara-status", rule_set.sha256)))
                problems.append(f"YARA {rule_set.name}: {outcome.status}: {outcome.message}")
        digest = examined.pdq
        if digest is not None:
            matches = []
            for hashset, index in self.indexes:
                for match in index.match(digest, radius=self.options.pdq_radius,
                                         min_quality=self.options.pdq_min_quality):
                    matches.append((hashset, match))
            categories = dict(session.execute(select(HashSetEntry.id, HashSetEntry.category).where(
                HashSetEntry.id.in_([m.reference_id for _, m in matches]))).all()) if matches else {}
            for hashset, match in matches:
                key = _key("pdq", hashset.id, match.reference_id)
                subject.findings.append(dict(
                    matcher="pdq", matcher_version=self.versions["pdq"], engine_versions=self.pdq_engine,
                    set_name=hashset.name, set_version=hashset.version, set_sha256=hashset.sha256,
                    outcome="match", rule=str(match.reference_id), category=categories.get(match.reference_id),
                    known=hashset.kind,
                    detail={"reference_hash": match.reference_hash, "distance": match.distance,
                            "transform": match.transform, "radius": self.options.pdq_radius,
                            "hash": digest.hash_hex, "quality": digest.quality, "convention": digest.convention},
                    key=key))
        return problems


def _padded(values: list[str]) -> list[str]:
    """``values`` with the last repeated up to the next of a few list lengths (``IN`` ignores repeats):
    a handful of statement texts, which SQLite's driver keeps prepared, instead of one per length
    (preparing one took longer than probing a few values; psycopg2 prepares nothing, so PostgreSQL's
    lists go as they are)."""
    size = next((n for n in PROBE_SIZES if n >= len(values)), len(values))
    return values + values[-1:] * (size - len(values))


def _filters(hashsets) -> tuple[dict[int, Any] | None, str]:
    """Each hash set's digest filter, checked against the SHA-256 its import recorded; ``None`` (every
    lookup asks the database, as before filters existed) when a set holding digests has no usable
    filter — a set imported before migration 0015, one still being imported, a missing or altered
    file — with the reason, recorded in the content runs' parameters."""
    from evidence_store.knowledge import open_filter

    loaded: dict[int, Any] = {}
    for hashset in hashsets:
        opened, state = open_filter(hashset)
        if state == "not needed":
            continue
        if opened is None:
            return None, (f"off: hash set {hashset.name} {hashset.version} has no digest filter" if state == "none"
                          else f"off: hash set {hashset.name} {hashset.version}: {state}")
        loaded[hashset.id] = opened
    return loaded, f"on ({len(loaded)} sets)"


def _found_bytes(key: str, found: list[dict[str, Any]]) -> int:
    """About what a cached lookup holds: the key and list, and per finding its two dicts (~3 KiB by
    sys.getsizeof over keys and values, shared strings counted) plus the texts it quotes. Counted
    without encoding anything: this runs for every stream looked up."""
    return 150 + len(key) + sum(3000 + len(f["set_name"]) + len(f["detail"]["name"] or "")
                                + len(str(f["detail"]["reference"] or "")) + len(f["category"] or "")
                                + sum(map(len, f["detail"]["names"])) for f in found)


def _reused_bytes(key: tuple, reused: Reused) -> int:
    return 400 + sum(len(str(k)) for k in key) + len(reused.tlsh or "") + \
        sum(3 * len(json.dumps(f, default=str)) for f in reused.findings)


_PREPARED: dict[str, Knowledge] = {}


def identity(db: Database) -> tuple:
    """What the prepared knowledge depends on in the database (checked before reusing it)."""
    with db.reading() as session:
        return (tuple(session.execute(select(RuleSet.id, RuleSet.sha256).order_by(RuleSet.id)).all()),
                tuple(session.execute(select(HashSet.id, HashSet.sha256, HashSet.entries).order_by(HashSet.id)).all()))


def prepared(db: Database, options) -> Knowledge:
    """The worker's knowledge, rebuilt only when rule sets, hash sets or limits changed."""
    key = json.dumps([db.url, options.matching()], sort_keys=True)
    cached = _PREPARED.get(key)
    if cached is not None and cached.identity == identity(db):
        return cached
    _PREPARED.clear()
    _PREPARED[key] = Knowledge(db, options)
    return _PREPARED[key]


def restricted(subject: Subject) -> bool:
    """Known-bad image material: a PDQ match on a known-bad list, or a known-bad hash of an image."""
    mime = subject.digests.mime if subject.digests else ""
    for finding in subject.findings:
        if finding["known"] != "known-bad":
            continue
        category = (finding.get("category") or "").lower()
        if finding["matcher"] == "pdq" or mime.startswith("image/") or \
                any(hint in category for hint in RESTRICTED_HINTS):
            return True
    return False


def indicator_rows(session: Session, sha256: str, found) -> None:
    """Identifiers of one content, stored once per SHA-256: every entry or carved object with that content
    has them (duplicates are not examined again, and need no copies)."""
    from evidence_store.models import ContentIndicator

    from forensics.indicators import value_key

    unique = {}
    for i in found:     # a text-layer offset may equal a byte offset of the same value: keep one row per key
        unique.setdefault((i.kind, i.value, i.offset), i)
    rows = [dict(sha256=sha256, kind=i.kind, value=i.value, value_key=value_key(i.kind, i.value),
                 offset=i.offset, length=i.length, context=i.context, encoding=i.encoding, extractor=i.extractor)
            for i in unique.values()]
    for start in range(0, len(rows), 500):
        upsert(session, ContentIndicator, rows[start:start + 500], keys=["sha256", "kind", "value_key", "offset"])


def write(session: Session, exhibit_id: int, run_id: int, subjects: list[Subject],
          knowledge: Knowledge | None) -> int:
    """Writes one chunk: digests and type, what matched, and warnings; returns findings recorded."""
    files, carved, rows = [], [], []
    for subject in subjects:
        file_id = subject.id if subject.kind == "file" else None
        if subject.error is not None:
            if subject.kind == "file":
                files.append({"id": subject.id, "hash_status": "unreadable"})
            record_warning(session, exhibit_id, "content" if subject.kind == "file" else "match-carved",
                           f"cannot read {subject.path}: {subject.error}", path=subject.path, run_id=run_id,
                           volume_id=subject.volume_id, file_entry_id=file_id)
            continue
        d = subject.digests
        values: dict[str, Any] = {"id": subject.id}
        if subject.kind == "file":
            values.update(md5=d.md5, sha1=d.sha1, sha256=d.sha256, bytes_hashed=d.size, mime_type=d.mime,
                          description=d.description, extension_mismatch=d.extension_mismatch, hash_status="hashed")
            if subject.size is not None and d.size != subject.size:
                record_warning(session, exhibit_id, "content", f"{subject.path}: read {d.size} of {subject.size} "
                               "bytes (the file system holds no data for the rest, e.g. sparse or uninitialized); "
                               "hashes cover what was read", path=subject.path, run_id=run_id,
                               volume_id=subject.volume_id, file_entry_id=file_id)
        if knowledge is not None:
            problems: list[str] = []
            if subject.reused is not None:
                subject.findings.extend(dict(f) for f in subject.reused.findings)
                tlsh, pdq = subject.reused.tlsh, subject.reused.pdq
            else:
                examined = subject.examined
                tlsh = examined.tlsh.digest if examined and examined.tlsh else None
                pdq = (examined.pdq.hash_hex, examined.pdq.quality, examined.pdq.convention) \
                    if examined and examined.pdq else None
                problems = subject.problems
            values.update(match_status=knowledge.digest,
                          known_good=any(f["known"] == "known-good" for f in subject.findings),
                          restricted=restricted(subject), tlsh=tlsh, pdq_hash=pdq[0] if pdq else None,
                          pdq_quality=pdq[1] if pdq else None, pdq_convention=pdq[2] if pdq else None)
            examined = subject.examined
            if subject.reused is None and examined is not None and examined.indicators:
                indicator_rows(session, d.sha256, examined.indicators)
            for finding in subject.findings:
                row = {k: v for k, v in finding.items() if k != "key"}
                row.update(exhibit_id=exhibit_id, run_id=run_id, finding_key=_key(subject.kind, subject.id, finding["key"]),
                           file_entry_id=file_id, carved_object_id=subject.id if subject.kind == "carved" else None)
                rows.append(row)
            for problem in problems:
                record_warning(session, exhibit_id, "content" if subject.kind == "file" else "match-carved",
                               f"{subject.path}: {problem}", path=subject.path, run_id=run_id,
                               volume_id=subject.volume_id, file_entry_id=file_id)
        (files if subject.kind == "file" else carved).append(values)
    for group in _same_keys(files):
        session.execute(update(FileEntry), group)
    for group in _same_keys(carved):
        session.execute(update(CarvedObjectRow), group)
    upsert(session, Finding, rows, keys=["exhibit_id", "finding_key"])
    return len(rows)


def _same_keys(rows: list[dict]) -> list[list[dict]]:
    """executemany needs the same columns in every row: group the updates by their keys."""
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        groups.setdefault(tuple(sorted(row)), []).append(row)
    return list(groups.values())
