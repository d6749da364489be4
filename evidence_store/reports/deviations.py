"""Deviations, exclusions and limitations, derived from the pipeline's own counters and warnings.

Nothing here is typed by an examiner: each statement is a count the database holds
(ISO/IEC 17025 7.8.2.1 and 7.8.3.1 a; SWGDE "Requirements for Report Writing"; NIST IR 8354
on the limits of digital examination).
"""
from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from evidence_store.models import (CarvedObjectRow, Exhibit, FileEntry, Finding, ProcessingRun, ProcessingWarning,
                                   Volume)
from evidence_store.reports.model import Deviation, MethodPart

LIMITATIONS: tuple[str, ...] = (
    "The results relate only to the items examined, as received and identified by the hashes stated in this report.",
    "Not all data present on a device is necessarily found: deleted data may have been overwritten, data may be "
    "encrypted, in formats the tools do not interpret, or outside the areas examined (NIST IR 8354).",
    "Carved objects are reconstructed from unallocated space without file-system metadata: they may be incomplete, "
    "may include extraneous bytes, and carry no names or timestamps of their own.",
    "Perceptual (PDQ) and similarity (TLSH) matches are leads: a near match to a reference does not prove that two "
    "images or documents are the same, and each must be confirmed by a person.",
    "Hash-set matches are only as reliable as the hash sets themselves; a file absent from a set is not thereby "
    "shown to be unknown or harmless.",
    "YARA rules find only what they describe; the absence of a rule match is not evidence of absence.",
    "Timestamps are reported as recorded by the file systems, in UTC; they were not verified against an external "
    "clock and can be altered by users or software.",
)


def deviations(session: Session, exhibit: Exhibit, method: MethodPart) -> Iterator[Deviation]:
    number = exhibit.number

    def item(kind: str, count: int, statement: str) -> Deviation:
        return Deviation(number, kind, count, statement)

    if exhibit.verification == "unverified":
        yield item("media hash", 1, "No acquisition hash was available (none given at intake, none stored in the "
                   "image): the media hashes recorded at intake are the first record of this image.")
    elif exhibit.verification == "override":
        yield item("media hash", 1, f"The media hash did not match the acquisition record; processing went ahead "
                   f"under a recorded override: {exhibit.override_reason}")
    elif exhibit.verification == "mismatch":
        yield item("media hash", 1, "The media hash does not match the acquisition record; processing was halted.")
    if not exhibit.results_trusted:
        yield item("integrity", 1, "The image's hash at the end of processing differed from intake; the results "
                   "are marked untrusted until reviewed.")
    if exhibit.status != "complete":
        yield item("processing", 1, f"Processing of this exhibit is not complete (status: {exhibit.status}).")
    yield from _volumes(session, exhibit, item)
    yield from _files(session, exhibit, method, item)
    yield from _runs(session, exhibit, item)


def _volumes(session: Session, exhibit: Exhibit, item) -> Iterator[Deviation]:
    rows = list(session.scalars(select(Volume).where(Volume.exhibit_id == exhibit.id).order_by(Volume.id)))
    encrypted = [v.volume_path for v in rows if v.kind == "encrypted"]
    if encrypted:
        yield item("encrypted volumes", len(encrypted), f"{len(encrypted)} encrypted volume(s) were not examined "
                   f"(no key was supplied): {', '.join(encrypted)}.")
    unrecognized = [v.volume_path for v in rows if v.kind in ("unrecognized", "missing")]
    if unrecognized:
        yield item("unrecognized volumes", len(unrecognized), f"{len(unrecognized)} volume(s) hold no file system "
                   f"the tools recognise or lie outside the image: {', '.join(unrecognized)}; their space was "
                   "searched by carving only.")
    snapshots = [v.volume_path for v in rows if v.kind == "snapshot"]
    if snapshots:
        yield item("snapshots", len(snapshots), f"{len(snapshots)} volume shadow snapshot(s) were listed but not "
                   "walked.")
    partial = [f"{v.volume_path} ({v.walk_status})" for v in rows if v.walk_status in ("partial", "failed")]
    if partial:
        yield item("walk incomplete", len(partial), "The walk of these file systems stopped early; entries read "
                   f"before the stop are reported: {', '.join(partial)}.")
    no_deleted = session.scalar(select(func.count(func.distinct(ProcessingWarning.volume_id))).where(
        ProcessingWarning.exhibit_id == exhibit.id, ProcessingWarning.stage == "walk",
        ProcessingWarning.message.contains("deleted entries are not listed"))) or 0
    if no_deleted:
        yield item("deleted entries", no_deleted, f"{no_deleted} file system(s) could not be opened by The Sleuth "
                   "Kit and were walked through dfvfs, which lists allocated entries only: deleted entries of "
                   "these file systems are not reported (their space was still carved).")


def _files(session: Session, exhibit: Exhibit, method: MethodPart, item) -> Iterator[Deviation]:
    def files(*where) -> int:
        return session.scalar(select(func.count()).select_from(FileEntry).where(
            FileEntry.exhibit_id == exhibit.id, *where)) or 0

    unreadable = files(FileEntry.hash_status == "unreadable")
    if unreadable:
        yield item("unreadable files", unreadable, f"{unreadable} file(s) could not be read from the image; they "
                   "are listed but were neither hashed, typed nor matched.")
    short = session.scalar(select(func.count()).select_from(ProcessingWarning).where(
        ProcessingWarning.exhibit_id == exhibit.id, ProcessingWarning.stage.in_(("hash", "content")),
        ProcessingWarning.message.contains(" bytes (the file system holds no data"))) or 0
    if short:
        yield item("partial content", short, f"{short} file(s) had fewer readable bytes than their recorded size "
                   "(sparse or uninitialised); their hashes cover the bytes read.")
    for outcome, statement in (("timeout", "YARA scanning timed out"), ("too-large", "were over the YARA size cap "
                                                                                      "and not scanned by YARA"),
                               ("error", "YARA could not scan")):
        count = session.scalar(select(func.count()).select_from(Finding).where(
            Finding.exhibit_id == exhibit.id, Finding.matcher == "yara", Finding.outcome == outcome)) or 0
        if count:
            verb = f"{count} item(s) {statement}" if outcome == "too-large" else f"{statement} on {count} item(s)"
            yield item(f"YARA {outcome}", count, verb + "; rules may not have been applied to all of their content.")
    floor = _limit(method, "PDQ quality floor")
    if floor is not None:
        low = sum(session.scalar(select(func.count()).select_from(model).where(
            model.exhibit_id == exhibit.id, model.pdq_quality < floor)) or 0 for model in (FileEntry, CarvedObjectRow))
        if low:
            yield item("low-quality PDQ", low, f"{low} image(s) had a PDQ quality below {floor} (too flat or small to "
                       "fingerprint reliably) and were not compared with perceptual lists; their exact hashes were.")
    undecodable = session.scalar(select(func.count()).select_from(ProcessingWarning).where(
        ProcessingWarning.exhibit_id == exhibit.id, ProcessingWarning.stage.in_(("match", "content", "match-carved")),
        ProcessingWarning.message.contains(": PDQ: "))) or 0
    if undecodable:
        yield item("undecodable images", undecodable, f"{undecodable} file(s) typed as images could not be decoded "
                   "for PDQ fingerprinting; their exact hashes were still compared.")
    partial = session.scalar(select(func.count()).select_from(CarvedObjectRow).where(
        CarvedObjectRow.exhibit_id == exhibit.id, CarvedObjectRow.status == "partial")) or 0
    if partial:
        yield item("partial carves", partial, f"{partial} carved object(s) are flagged partial (fragmented or "
                   "truncated): their content may be incomplete or include extraneous bytes.")
    unmatched = files(FileEntry.hash_status == "hashed", FileEntry.match_status == "pending")
    if unmatched:
        yield item("not matched", unmatched, f"{unmatched} hashed file(s) were not compared with the rule and hash "
                   "sets (the match stage did not run on them).")


def _runs(session: Session, exhibit: Exhibit, item) -> Iterator[Deviation]:
    runs = session.execute(select(ProcessingRun.stage, ProcessingRun.parameters).where(
        ProcessingRun.exhibit_id == exhibit.id)).all()
    plans = [params or {} for stage, params in runs if stage == "carve" and (params or {}).get("plan")]
    if not plans:
        yield item("carving", 1, "Unallocated space was not carved.")
    elif not any(p.get("slack") for p in plans):
        yield item("slack", 1, "File slack was not carved (carving covered unallocated space, partition gaps and "
                   "unpartitioned areas).")
    content = [params or {} for stage, params in runs if stage == "content"]
    if not any(p.get("match") for p in content):
        yield item("matching", 1, "No rule or hash set was applied to this exhibit.")
    elif any(p.get("skip_known_good") for p in content):
        yield item("known-good skipped", 1, "Content on a known-good hash set was not scanned with YARA, PDQ or "
                   "TLSH, at the examiner's request (its hashes were compared).")
    failed = session.execute(select(ProcessingRun.stage, func.count()).where(
        ProcessingRun.exhibit_id == exhibit.id, or_(ProcessingRun.outcome == "failed",
                                                    ProcessingRun.outcome == "halted"))
        .group_by(ProcessingRun.stage)).all()
    for stage, count in failed:
        yield item("failed runs", count, f"{count} run(s) of the {stage} stage failed or halted; where a later run "
                   "succeeded its results are reported.")


def _limit(method: MethodPart, label: str) -> int | None:
    for name, value in method.limits:
        if name == label:
            try:
                return max(int(v) for v in value.split(", "))
            except ValueError:
                return None
    return None
