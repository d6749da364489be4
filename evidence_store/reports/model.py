"""What a case report states, as frozen dataclasses assembled from the database only.

The templates render these; nothing in a report is typed by hand except the examiner's
declaration and the reviewer's note. ``ReportContent.digest()`` covers everything the
report states about the evidence (not its workflow state or the custody summary), so a
change in the data between authorisation and issue is detected.
"""
from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from evidence_store.custody.canonical import canonical_json
from evidence_store.listings import json_value


@dataclass(frozen=True)
class LabPart:
    name: str
    address: str
    accreditation: str | None
    location: str | None


@dataclass(frozen=True)
class CasePart:
    name: str
    title: str
    examiner: str
    requester: str | None
    request_reference: str | None
    legal_authority: str | None
    authorities: tuple[str, ...]            # authorities cited in custody transfers


@dataclass(frozen=True)
class Seal:
    number: str
    applied_at: str | None
    applied_by: str | None
    removed_at: str | None
    removed_by: str | None


@dataclass(frozen=True)
class VolumePart:
    path: str
    kind: str
    volume_system: str | None
    offset: int | None
    size: int | None
    fs_type: str | None
    walk_status: str
    entries: int | None
    note: str


@dataclass(frozen=True)
class Counts:
    volumes: int
    file_systems: int
    entries: int
    deleted: int
    hashed: int
    unreadable: int
    carved: int
    carved_new: int
    carved_partial: int
    extension_mismatches: int
    time_anomalies: int
    warnings: int
    findings: int
    matched_items: int
    known_bad_items: int
    restricted_items: int
    derived: int = 0                  # entries found inside containers (archives, documents)
    encrypted: int = 0                # of those, encrypted members no given password opened


@dataclass(frozen=True)
class Rehash:
    algorithm: str
    before: str | None
    after: str | None
    match: bool | None
    at: str


@dataclass(frozen=True)
class TimeAnomaly:
    """An NTFS entry whose $STANDARD_INFORMATION and $FILE_NAME creation times disagree."""
    path: str
    inode: int | None
    si_created: datetime | None
    fn_created: datetime | None
    why: str


@dataclass(frozen=True)
class ExhibitPart:
    number: str
    description: str | None
    image_name: str
    image_format: str | None
    segments: int
    media_size: int | None
    md5: str | None
    sha1: str | None
    sha256: str | None
    expected_sha256: str | None
    stored_hashes: tuple[tuple[str, str], ...]
    verification: str
    override_reason: str | None
    received_at: str | None
    received_by: str | None
    seals: tuple[Seal, ...]
    conditions: tuple[str, ...]
    custodian: str | None
    status: str
    rehash: Rehash | None
    results_trusted: bool
    counts: Counts
    volumes: tuple[VolumePart, ...]
    time_anomalies: tuple[TimeAnomaly, ...]        # the first TIME_ANOMALIES_LISTED; counts say how many
    work_started: datetime | None
    work_ended: datetime | None


@dataclass(frozen=True)
class StagePart:
    stage: str
    runs: int
    outcomes: tuple[tuple[str, int], ...]
    first_started: datetime | None
    last_ended: datetime | None
    tool_versions: tuple[str, ...]
    orchestrators: tuple[str, ...]


@dataclass(frozen=True)
class KnowledgePart:
    kind: str                 # rule set | hash set
    name: str
    version: str
    sha256: str
    detail: str               # "12 rules" / "known-bad, md5sum list, 3 entries, 1 PDQ"


@dataclass(frozen=True)
class MethodPart:
    tool: str
    tool_version: str
    stages: tuple[StagePart, ...]
    libraries: tuple[tuple[str, str], ...]
    matchers: tuple[tuple[str, str], ...]
    carvers: tuple[tuple[str, str], ...]
    knowledge: tuple[KnowledgePart, ...]
    limits: tuple[tuple[str, str], ...]       # PDQ radius, quality floor, YARA timeout and size cap, slack
    carving_ranges: tuple[tuple[str, int, int], ...]   # (source, ranges, bytes) searched


@dataclass(frozen=True)
class FindingGroup:
    matcher: str
    set_name: str
    set_version: str
    known: str | None
    outcome: str
    findings: int
    items: int


@dataclass(frozen=True)
class CategoryCount:
    category: str
    items: int


@dataclass(frozen=True)
class Deviation:
    exhibit: str
    kind: str
    count: int
    statement: str


@dataclass(frozen=True)
class Transfer:
    occurred_at: str
    from_custodian: str | None
    to_custodian: str | None
    purpose: str | None
    seals_applied: tuple[str, ...]
    seals_removed: tuple[str, ...]
    seal_intact: bool | None
    witness: str | None


@dataclass(frozen=True)
class CustodyPart:
    exhibit: str
    events: int
    actions: tuple[tuple[str, int], ...]
    transfers: tuple[Transfer, ...]
    viewers: tuple[tuple[str, int], ...]     # who viewed the exhibit's content, how many times


@dataclass(frozen=True)
class LedgerHead:
    chain: str
    seq: int
    head_hash: str
    signed_at: str | None
    key_fingerprint: str | None
    signature: str | None
    verified: bool
    note: str


@dataclass(frozen=True)
class ThumbnailPart:
    item: str
    item_id: int
    path: str
    data_uri: str
    width: int
    height: int


@dataclass(frozen=True)
class LinkEvidencePart:
    kind: str
    value: str
    weight: float
    distance: int | None
    cases_with_value: int
    exhibit: str
    location: str
    offset: int | None


@dataclass(frozen=True)
class LinkPart:
    """A link to another case as need to know allows in a report: its reference, contact, weight and
    this case's side of the evidence, never the other case's name, paths or content."""

    reference: str
    contact: str | None
    weight: float
    counts: tuple[tuple[str, int], ...]
    evidence: tuple[LinkEvidencePart, ...]
    more: int


@dataclass(frozen=True)
class ReportContent:
    report_id: str
    edition: str
    lab: LabPart
    case: CasePart
    exhibits: tuple[ExhibitPart, ...]
    method: MethodPart
    groups: tuple[FindingGroup, ...]
    categories: tuple[CategoryCount, ...]
    deviations: tuple[Deviation, ...]
    limitations: tuple[str, ...]
    incomplete: tuple[str, ...]
    findings: int
    findings_sha256: str
    work_started: datetime | None
    work_ended: datetime | None
    custody: tuple[CustodyPart, ...] = ()
    thumbnails: tuple[ThumbnailPart, ...] = ()
    withheld_thumbnails: int = 0
    links: tuple[LinkPart, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)

    STATED = ("report_id", "edition", "lab", "case", "exhibits", "method", "groups", "categories", "deviations",
              "limitations", "incomplete", "findings", "findings_sha256")

    def stated(self) -> dict[str, Any]:
        """What the report states about the evidence (not workflow, custody or pictures)."""
        return {name: to_json(getattr(self, name)) for name in self.STATED}

    def digest(self) -> str:
        return hashlib.sha256(canonical_json(self.stated()).encode()).hexdigest()


def to_json(value: Any) -> Any:
    if dataclasses.is_dataclass(value):
        return {f.name: to_json(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_json(v) for k, v in value.items()}
    return json_value(value)
