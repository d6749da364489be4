"""Assembling a report's content from the case database and the custody ledger.

Every statement is a query: exhibits and their intake hashes, what was run with which
versions and limits (processing runs), what was found (findings), what could not be
done (deviations, from the pipeline's own counters and warnings), and custody.
"""
from __future__ import annotations

import json
import os
from collections import Counter, defaultdict
from collections.abc import Sequence

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from evidence_store.carving import carving_summary
from evidence_store.lab import settings
from evidence_store.listings import utc
from evidence_store.models import (CarvedObjectRow, CarveRangeRow, Case, CustodyEvent, Exhibit, FileEntry, Finding,
                                   HashSet, ProcessingRun, ProcessingWarning, RuleSet, Volume)
from evidence_store.reports.deviations import LIMITATIONS, deviations
from evidence_store.stages.registry import STAGES
from evidence_store.reports.model import (CasePart, CategoryCount, Counts, CustodyPart, ExhibitPart, FindingGroup,
                                          KnowledgePart, LabPart, LinkEvidencePart, LinkPart, MethodPart, Rehash, ReportContent, Seal, StagePart,
                                          TimeAnomaly, Transfer, VolumePart)

TIME_ANOMALIES_LISTED = 100       # NTFS $SI/$FN disagreements listed per exhibit (all are counted)
STAGE_ORDER = ("intake",) + tuple(stage.name for stage in STAGES)


def assemble(session: Session, case: Case, exhibits: Sequence[Exhibit], *, report_id: str, edition: str,
             findings: int, findings_sha256: str, incomplete: Sequence[str] = ()) -> ReportContent:
    lab = settings(session)
    exhibit_ids = [e.id for e in exhibits]
    runs = list(session.scalars(select(ProcessingRun).where(ProcessingRun.exhibit_id.in_(exhibit_ids))
                                .order_by(ProcessingRun.id)))
    parts = tuple(_exhibit(session, e, [r for r in runs if r.exhibit_id == e.id]) for e in exhibits)
    started = [p.work_started for p in parts if p.work_started]
    ended = [p.work_ended for p in parts if p.work_ended]
    method = _method(session, runs, exhibit_ids)
    return ReportContent(
        report_id=report_id, edition=edition,
        lab=LabPart(lab.name, lab.address, lab.accreditation, lab.location),
        case=CasePart(case.name, case.title, case.examiner, case.requester, case.request_reference,
                      case.legal_authority, _authorities(session, case.name, exhibits)),
        exhibits=parts, method=method, groups=_groups(session, exhibit_ids),
        categories=_categories(session, exhibit_ids),
        deviations=tuple(d for e in exhibits for d in deviations(session, e, method)),
        limitations=LIMITATIONS, incomplete=tuple(incomplete), findings=findings, findings_sha256=findings_sha256,
        work_started=min(started) if started else None, work_ended=max(ended) if ended else None)


def _authorities(session: Session, case_name: str, exhibits: Sequence[Exhibit]) -> tuple[str, ...]:
    numbers = [e.number for e in exhibits]
    rows = session.scalars(select(CustodyEvent.authority).distinct().where(
        CustodyEvent.chain == case_name, CustodyEvent.authority.is_not(None),
        (CustodyEvent.exhibit.in_(numbers)) | CustodyEvent.exhibit.is_(None)))
    return tuple(sorted(a for a in rows if a))


def _events(session: Session, case_name: str, number: str) -> list[CustodyEvent]:
    return list(session.scalars(select(CustodyEvent).where(
        CustodyEvent.chain == case_name, CustodyEvent.exhibit == number).order_by(CustodyEvent.seq)))


def _exhibit(session: Session, exhibit: Exhibit, runs: list[ProcessingRun]) -> ExhibitPart:
    case_name = exhibit.case.name
    events = _events(session, case_name, exhibit.number)
    intake = next((e for e in events if e.action == "intake"), None)
    rehash = next((e for e in reversed(events) if e.action == "integrity-check"), None)
    started = [utc(r.started_at) for r in runs if r.started_at]
    ended = [utc(r.ended_at) for r in runs if r.ended_at]
    volumes = tuple(VolumePart(v.volume_path, v.kind, v.volume_system, v.offset, v.size, v.fs_type, v.walk_status,
                               v.entry_count, v.note)
                    for v in session.scalars(select(Volume).where(Volume.exhibit_id == exhibit.id).order_by(Volume.id)))
    return ExhibitPart(
        number=exhibit.number, description=exhibit.description, image_name=os.path.basename(exhibit.image_path),
        image_format=exhibit.image_format, segments=len(exhibit.segments or []), media_size=exhibit.media_size,
        md5=exhibit.md5, sha1=exhibit.sha1, sha256=exhibit.sha256, expected_sha256=exhibit.expected_sha256,
        stored_hashes=tuple(sorted((exhibit.stored_hashes or {}).items())), verification=exhibit.verification,
        override_reason=exhibit.override_reason,
        received_at=intake.occurred_at if intake else None, received_by=intake.to_custodian if intake else None,
        seals=_seals(events), conditions=_conditions(events), custodian=exhibit.custodian, status=exhibit.status,
        rehash=Rehash(rehash.hash_algorithm or "", rehash.hash_before, rehash.hash_after, rehash.hash_match,
                      rehash.occurred_at) if rehash else None,
        results_trusted=exhibit.results_trusted, counts=_counts(session, exhibit.id, volumes), volumes=volumes,
        time_anomalies=tuple(TimeAnomaly(*row) for row in session.execute(
            select(FileEntry.path, FileEntry.inode, FileEntry.crtime, FileEntry.fn_crtime, FileEntry.time_anomaly)
            .where(FileEntry.exhibit_id == exhibit.id, FileEntry.time_anomaly.is_not(None))
            .order_by(FileEntry.path).limit(TIME_ANOMALIES_LISTED))),
        work_started=min(started) if started else None, work_ended=max(ended) if ended else None)


def _seals(events: list[CustodyEvent]) -> tuple[Seal, ...]:
    seals: dict[str, dict] = {}
    for event in events:
        for number in json.loads(event.seals_applied or "[]"):
            seals[number] = {"applied_at": event.occurred_at, "applied_by": event.actor,
                             "removed_at": None, "removed_by": None}
        for number in json.loads(event.seals_removed or "[]"):
            seal = seals.setdefault(number, {"applied_at": None, "applied_by": None})
            seal.update(removed_at=event.occurred_at, removed_by=event.actor)
    return tuple(Seal(number, **values) for number, values in seals.items())


def _conditions(events: list[CustodyEvent]) -> tuple[str, ...]:
    found = []
    for event in events:
        details = json.loads(event.details or "{}")
        if details.get("condition"):
            found.append(f"{event.occurred_at[:10]} ({event.action}): {details['condition']}")
        if event.seal_intact is not None:
            state = "intact" if event.seal_intact else "NOT intact"
            found.append(f"{event.occurred_at[:10]} ({event.action}): seal {state}")
    return tuple(found)


def _counts(session: Session, exhibit_id: int, volumes: tuple[VolumePart, ...]) -> Counts:
    def files(*where) -> int:
        return session.scalar(select(func.count()).select_from(FileEntry).where(
            FileEntry.exhibit_id == exhibit_id, *where)) or 0

    def matched(model, *where) -> int:
        return session.scalar(select(func.count()).select_from(model).where(model.exhibit_id == exhibit_id, *where)) or 0

    carved = carving_summary(session, exhibit_id)
    finding_items = select(Finding.file_entry_id, Finding.carved_object_id).where(
        Finding.exhibit_id == exhibit_id, Finding.outcome == "match").distinct().subquery()
    known_bad = select(Finding.file_entry_id, Finding.carved_object_id).where(
        Finding.exhibit_id == exhibit_id, Finding.known == "known-bad").distinct().subquery()
    return Counts(
        volumes=len(volumes), file_systems=sum(1 for v in volumes if v.kind == "filesystem"),
        entries=files(), deleted=files(FileEntry.allocated.is_(False)),
        hashed=files(FileEntry.hash_status == "hashed"), unreadable=files(FileEntry.hash_status == "unreadable"),
        carved=carved["carved"], carved_new=carved["carved_new"], carved_partial=carved["carved_partial"],
        extension_mismatches=files(FileEntry.extension_mismatch.is_(True)),
        time_anomalies=files(FileEntry.time_anomaly.is_not(None)),
        warnings=matched(ProcessingWarning), findings=matched(Finding),
        matched_items=session.scalar(select(func.count()).select_from(finding_items)) or 0,
        known_bad_items=session.scalar(select(func.count()).select_from(known_bad)) or 0,
        restricted_items=files(FileEntry.restricted.is_(True)) + matched(CarvedObjectRow,
                                                                         CarvedObjectRow.restricted.is_(True)),
        derived=files(FileEntry.parent_id.is_not(None)), encrypted=files(FileEntry.hash_status == "encrypted"))


def _method(session: Session, runs: list[ProcessingRun], exhibit_ids: list[int]) -> MethodPart:
    import forensics
    from forensics.matchers import MATCHERS

    by_stage: dict[str, list[ProcessingRun]] = defaultdict(list)
    for run in runs:
        by_stage[run.stage].append(run)
    order = [s for s in STAGE_ORDER if s in by_stage] + sorted(s for s in by_stage if s not in STAGE_ORDER)
    stages = tuple(StagePart(
        stage=name, runs=len(items), outcomes=tuple(sorted(Counter(r.outcome for r in items).items())),
        first_started=min((utc(r.started_at) for r in items if r.started_at), default=None),
        last_ended=max((utc(r.ended_at) for r in items if r.ended_at), default=None),
        tool_versions=tuple(sorted({r.tool_version for r in items})),
        orchestrators=tuple(sorted({r.orchestrator for r in items}))) for name, items in
        ((s, by_stage[s]) for s in order))
    libraries: dict[str, set[str]] = defaultdict(set)
    carvers: dict[str, set[str]] = defaultdict(set)
    limits: dict[str, set[str]] = defaultdict(set)
    rulesets, hashsets = set(), set()
    for run in runs:
        for name, value in (run.library_versions or {}).items():
            libraries[name].add(str(value))
        params = run.parameters or {}
        for name, value in (params.get("carvers") or {}).items():
            carvers[name].add(str(value))
        if run.stage in ("content", "match-carved") and params.get("match", True) and "rulesets" in params:
            rulesets.update(tuple(r) for r in params.get("rulesets") or [])
            hashsets.update(tuple(h) for h in params.get("hashsets") or [])
            for name, value in (params.get("options") or {}).items():
                limits[name].add("yes" if value is True else "no" if value is False else str(value))
        if run.stage == "carve" and params.get("plan"):
            limits["carve_slack"].add("yes" if params.get("slack") else "no")
    for name, value in _engine_versions(session, exhibit_ids).items():
        libraries[name].add(value)
    knowledge = tuple(_knowledge(session, rulesets, hashsets))
    labels = {"pdq_radius": "PDQ match radius (Hamming distance)", "pdq_min_quality": "PDQ quality floor",
              "yara_timeout": "YARA timeout per file (s)", "yara_size_cap": "YARA size cap (bytes)",
              "carve_slack": "File slack carved",
              "skip_known_good": "Known-good content skipped YARA, PDQ and TLSH"}
    ranges = session.execute(select(CarveRangeRow.source, func.count(), func.sum(CarveRangeRow.length)).where(
        CarveRangeRow.exhibit_id.in_(exhibit_ids)).group_by(CarveRangeRow.source).order_by(CarveRangeRow.source))
    return MethodPart(
        tool=forensics.TOOL_NAME, tool_version=forensics.__version__, stages=stages,
        libraries=tuple(sorted((k, ", ".join(sorted(v))) for k, v in libraries.items())),
        matchers=tuple((spec.name, spec.version) for spec in MATCHERS.values()),
        carvers=tuple(sorted((k, ", ".join(sorted(v))) for k, v in carvers.items())),
        knowledge=knowledge,
        limits=tuple((labels.get(k, k), ", ".join(sorted(v))) for k, v in sorted(limits.items())),
        carving_ranges=tuple((source, int(count), int(total or 0)) for source, count, total in ranges))


def _engine_versions(session: Session, exhibit_ids: list[int]) -> dict[str, str]:
    """Versions of the matching engines (yara, pdqhash, tlsh, Pillow) that produced findings."""
    found: dict[str, str] = {}
    first = select(func.min(Finding.id)).where(Finding.exhibit_id.in_(exhibit_ids)).group_by(
        Finding.matcher, Finding.matcher_version, Finding.set_sha256)      # rule sets differ in engine
    for versions in session.scalars(select(Finding.engine_versions).where(Finding.id.in_(first))):
        for name, value in (versions or {}).items():
            found[name] = str(value)
    return found


def _knowledge(session: Session, rulesets: set[tuple], hashsets: set[tuple]):
    for name, version, digest, *engine in sorted(rulesets):
        row = session.scalar(select(RuleSet).where(RuleSet.name == name, RuleSet.version == version))
        scanned = f", scanned with {engine[0] if engine else 'libyara'}"       # runs before YARA-X record none
        detail = (f"{row.rule_count} rules from {len(row.sources)} file(s){scanned}" if row
                  else "no longer in the database")
        yield KnowledgePart("YARA rule set", name, version, digest, detail)
    for name, version, digest in sorted(hashsets):
        row = session.scalar(select(HashSet).where(HashSet.name == name, HashSet.version == version))
        detail = (f"{row.kind}, {row.format}, {row.entries:,} entries" + (f", {row.pdq_entries:,} PDQ" if row.pdq_entries
                                                                         else "")) if row else "no longer in the database"
        yield KnowledgePart("hash set", name, version, digest, detail)


def _groups(session: Session, exhibit_ids: list[int]) -> tuple[FindingGroup, ...]:
    items = func.count(distinct(func.coalesce(Finding.file_entry_id, -Finding.carved_object_id)))
    query = (select(Finding.matcher, Finding.set_name, Finding.set_version, Finding.known, Finding.outcome,
                    func.count(), items)
             .where(Finding.exhibit_id.in_(exhibit_ids))
             .group_by(Finding.matcher, Finding.set_name, Finding.set_version, Finding.known, Finding.outcome)
             .order_by(Finding.matcher, Finding.set_name, Finding.set_version, Finding.outcome))
    return tuple(FindingGroup(*row) for row in session.execute(query))


def _categories(session: Session, exhibit_ids: list[int]) -> tuple[CategoryCount, ...]:
    """Restricted items per category of the known-bad entry they matched (e.g. UK A/B/C, CAID/VICS)."""
    per_item: dict[tuple, str] = {}
    query = (select(Finding.file_entry_id, Finding.carved_object_id, Finding.category, Finding.matcher)
             .outerjoin(FileEntry, FileEntry.id == Finding.file_entry_id)
             .outerjoin(CarvedObjectRow, CarvedObjectRow.id == Finding.carved_object_id)
             .where(Finding.exhibit_id.in_(exhibit_ids), Finding.known == "known-bad",
                    func.coalesce(FileEntry.restricted, CarvedObjectRow.restricted).is_(True))
             .order_by(Finding.id))
    for file_id, carved_id, category, matcher in session.execute(query):
        key = (file_id, carved_id)
        label = category or ("uncategorised (PDQ near-match)" if matcher == "pdq" else "uncategorised")
        if key not in per_item or per_item[key].startswith("uncategorised"):
            per_item[key] = label
    counts = Counter(per_item.values())
    return tuple(CategoryCount(category, count) for category, count in sorted(counts.items()))


def custody_parts(session: Session, case_name: str, exhibits: Sequence[Exhibit]) -> tuple[CustodyPart, ...]:
    parts = []
    for exhibit in exhibits:
        events = _events(session, case_name, exhibit.number)
        transfers = tuple(Transfer(e.occurred_at, e.from_custodian, e.to_custodian, e.purpose,
                                   tuple(json.loads(e.seals_applied or "[]")), tuple(json.loads(e.seals_removed or "[]")),
                                   e.seal_intact, e.witness)
                          for e in events if e.action in ("intake", "transfer"))
        viewers = Counter(f"{e.actor} ({e.actor_role})" for e in events if e.action == "view")
        parts.append(CustodyPart(exhibit.number, len(events), tuple(sorted(Counter(e.action for e in events).items())),
                                 transfers, tuple(sorted(viewers.items()))))
    return tuple(parts)


LINK_EVIDENCE_LISTED = 10


def link_parts(session: Session, case: Case, exhibits: Sequence[Exhibit]) -> tuple[LinkPart, ...]:
    """Links of the case to other cases through the reported exhibits, redacted (need to know): a report
    leaves the unit, so it names another case only by reference and contact."""
    from evidence_store.links.access import reference
    from evidence_store.links.correlate import links_of

    parts = []
    for link in links_of(session, case.id, exhibit_ids=[e.id for e in exhibits]):
        evidence = link.evidence
        counts = tuple((t, n) for t, n in link.counts.items() if n)
        listed = tuple(LinkEvidencePart(e.kind, e.value, e.weight, e.distance, e.cases_with_value, e.here.exhibit,
                                        e.here.location, e.here.offset) for e in evidence[:LINK_EVIDENCE_LISTED])
        parts.append(LinkPart(reference(link.other_case_id), link.contact, link.weight, counts, listed,
                              len(evidence) - len(listed)))
    return tuple(parts)
