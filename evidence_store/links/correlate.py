"""Links of one case to every other case in the database, strongest first, each with its evidence.

Four kinds of evidence, all from ``link_values`` (the ``links`` stage):

- ``content``: the same SHA-256 on both sides;
- ``pdq``: images within the PDQ radius (the multi-index of forensics.matchers.pdq_index, exact);
- ``tlsh``: documents within the TLSH cut-off (compared only where TLSH's length term allows it);
- ``indicator``: the same normalised identifier (e-mail, wallet, phone, SID, volume serial...).

Weight. Each shared value has a base weight by kind (``BASE``: a wallet or a SID says more than a
domain or a user name), scaled down with its distance for near matches and with how common it is
across cases: ``rarity = log((N+1)/n) / log((N+1)/2)`` for a value in ``n`` of the ``N`` cases that
have link values (1 when only two cases share it); a value every case holds (from three cases on), or
more than half of them (from ``COMMON_FROM`` cases on), links nothing. Known-good content (flagged,
or in a known-good hash set now) never links. A link's weight combines its evidence as independent
clues, ``1 - prod(1 - w)``; its evidence is listed strongest first.
"""
from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session, aliased

from evidence_store.links.index import CONTENT_KINDS
from evidence_store.models import Case, Exhibit, HashSet, HashSetEntry, LinkValue

BASE: dict[str, float] = {
    "sha256": 1.0, "pdq": 0.9, "tlsh": 0.6,
    "bitcoin": 1.0, "ethereum": 1.0, "monero": 1.0, "sid": 1.0, "card": 0.9, "volume-serial": 0.9,
    "email": 0.8, "phone": 0.7, "url": 0.5, "ipv4": 0.3, "ipv6": 0.4, "domain": 0.3, "user": 0.2,
}
SMALL_CONTENT = 256          # bytes: content this short is often boilerplate; it counts for less
SMALL_FACTOR = 0.4
COMMON_FROM = 4              # from this many cases on, a value in more than half of them links nothing
TLSH_MAX = 40                # the TLSH paper's cut-off at 0.07 % false positives
PDQ_RADIUS = 31
TYPES = ("content", "pdq", "tlsh", "indicator")
NEAR = ("pdq", "tlsh")       # compared by distance, not joined on equal values


@dataclass(frozen=True)
class Side:
    """Where one side of a shared value is: case, exhibit, item and location (byte offset for identifiers)."""

    case_id: int
    case: str
    exhibit: str
    item: str
    item_id: int
    location: str
    offset: int | None
    occurrences: int
    restricted: bool


@dataclass(frozen=True)
class Evidence:
    type: str                 # content | pdq | tlsh | indicator
    kind: str                 # sha256 | pdq | tlsh | email | bitcoin | ...
    value: str                # as found on this case's side
    weight: float
    cases_with_value: int
    distance: int | None
    here: Side
    there: Side | None        # None when the viewer may not see the other case (access.redact)


@dataclass(frozen=True)
class Link:
    case_id: int
    other_case_id: int
    other_case: str | None    # None when redacted
    contact: str | None
    weight: float
    evidence: tuple[Evidence, ...]
    revealed: bool = True
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def types(self) -> tuple[str, ...]:
        return tuple(t for t in TYPES if self.counts.get(t))


@dataclass(frozen=True)
class Settings:
    pdq_radius: int = PDQ_RADIUS
    tlsh_max: int = TLSH_MAX
    min_weight: float = 0.0


def rarity(n: int, total: int) -> float:
    """1 for a value two cases share, falling to 0 as every case has it (see module doc)."""
    if n < 2:
        return 0.0
    if (total >= COMMON_FROM and n > total / 2) or (total >= 3 and n >= total):
        return 0.0
    total = max(total, n)
    return max(0.0, min(1.0, math.log((total + 1) / n) / math.log((total + 1) / 2)))


def combine(weights: Iterable[float]) -> float:
    remaining = 1.0
    for w in weights:
        remaining *= 1.0 - min(max(w, 0.0), 1.0)
    return round(1.0 - remaining, 4)


def _type(kind: str) -> str:
    return {"sha256": "content", "pdq": "pdq", "tlsh": "tlsh"}.get(kind, "indicator")


def _base(kind: str, size: int | None) -> float:
    base = BASE.get(kind, 0.5)
    if kind in CONTENT_KINDS and size is not None and size < SMALL_CONTENT:
        base *= SMALL_FACTOR
    return base


def cases_with_values(session: Session) -> int:
    """N in the rarity formula: cases with any link value (one index probe per case, not a table scan)."""
    return session.scalar(select(func.count()).select_from(Case).where(
        exists().where(LinkValue.case_id == Case.id))) or 0


def _known_good(session: Session, sha256s: set[str]) -> set[str]:
    found: set[str] = set()
    keys = sorted(sha256s)
    for start in range(0, len(keys), 900):
        found.update(session.scalars(
            select(HashSetEntry.sha256).join(HashSet, HashSet.id == HashSetEntry.hashset_id)
            .where(HashSet.kind == "known-good", HashSetEntry.sha256.in_(keys[start:start + 900]))))
    return found


_COLUMNS = (LinkValue.case_id, Case.name.label("case"), Exhibit.number.label("exhibit"), LinkValue.item,
            LinkValue.item_id, LinkValue.location, LinkValue.offset, LinkValue.occurrences, LinkValue.restricted)


def _side(row, prefix: str = "") -> Side:
    return Side(*(getattr(row, prefix + name) for name in
                  ("case_id", "case", "exhibit", "item", "item_id", "location", "offset", "occurrences",
                   "restricted")))


def _exact(session: Session, case_id: int, total: int, scope=None) -> list[tuple[int, Evidence]]:
    """Equal content and equal identifiers: one indexed self-join of link_values on value_key."""
    # this case's values (a covering index) probe the (value_key, case_id) index for other cases' rows, so only
    # shared values reach the GROUP BY. Joined on value_key alone (it names the kind, except that a content's
    # pdq/tlsh rows share its SHA-256, which both sides exclude): an equality on kind too lets SQLite's planner
    # pick the (kind, case_id) index.
    mine = aliased(LinkValue)
    df = select(mine.kind, mine.value_key, (func.count(func.distinct(LinkValue.case_id)) + 1).label("n")) \
        .join(LinkValue, (LinkValue.value_key == mine.value_key) & (LinkValue.case_id != mine.case_id)) \
        .where(mine.case_id == case_id, mine.kind.not_in(NEAR), LinkValue.kind.not_in(NEAR),
               *([mine.exhibit_id.in_(scope)] if scope is not None else [])) \
        .group_by(mine.kind, mine.value_key)
    shared = {(kind, key): n for kind, key, n in session.execute(df)}
    shared = {k: n for k, n in shared.items() if rarity(n, total) > 0}
    bad = _known_good(session, {key for kind, key in shared if kind == "sha256"})
    shared = {k: n for k, n in shared.items() if not (k[0] == "sha256" and k[1] in bad)}
    if not shared:
        return []
    here_case, here_exhibit = aliased(Case), aliased(Exhibit)
    there, there_case, there_exhibit = aliased(LinkValue), aliased(Case), aliased(Exhibit)
    found: dict[tuple[int, str, str], Evidence] = {}
    keys = sorted({key for _, key in shared})
    for start in range(0, len(keys), 900):
        query = select(
            LinkValue.kind, LinkValue.value_key, LinkValue.value, LinkValue.size,
            *(c.label(f"a_{c.key}") for c in (LinkValue.case_id, LinkValue.item, LinkValue.item_id, LinkValue.location,
                                               LinkValue.offset, LinkValue.occurrences, LinkValue.restricted)),
            here_case.name.label("a_case"), here_exhibit.number.label("a_exhibit"),
            *(c.label(f"b_{c.key}") for c in (there.case_id, there.item, there.item_id, there.location, there.offset,
                                               there.occurrences, there.restricted)),
            there_case.name.label("b_case"), there_exhibit.number.label("b_exhibit"),
        ).join(here_exhibit, here_exhibit.id == LinkValue.exhibit_id).join(here_case, here_case.id == LinkValue.case_id) \
            .join(there, (there.value_key == LinkValue.value_key) & (there.case_id != LinkValue.case_id)) \
            .join(there_exhibit, there_exhibit.id == there.exhibit_id).join(there_case, there_case.id == there.case_id) \
            .where(LinkValue.case_id == case_id, LinkValue.value_key.in_(keys[start:start + 900]),
                   LinkValue.kind.not_in(NEAR), there.kind.not_in(NEAR),
                   *([LinkValue.exhibit_id.in_(scope)] if scope is not None else [])) \
            .order_by(LinkValue.exhibit_id, LinkValue.id, there.exhibit_id, there.id)
        for row in session.execute(query):
            n = shared.get((row.kind, row.value_key))
            key = (row.b_case_id, row.kind, row.value_key)
            if n is None or key in found:
                continue
            weight = round(_base(row.kind, row.size) * rarity(n, total), 4)
            found[key] = Evidence(_type(row.kind), row.kind, row.value, weight, n, None, _side(row, "a_"),
                                  _side(row, "b_"))
    return [(other, evidence) for (other, _, _), evidence in found.items()]


def _digests(session: Session, kind: str, *where) -> list:
    return session.execute(select(LinkValue.value, LinkValue.value_key, LinkValue.size, *_COLUMNS)
                           .join(Case, Case.id == LinkValue.case_id).join(Exhibit, Exhibit.id == LinkValue.exhibit_id)
                           .where(LinkValue.kind == kind, *where).order_by(LinkValue.id)).all()


def _near(session: Session, case_id: int, total: int, kind: str, pairs, limit: int,
          scope=None) -> list[tuple[int, Evidence]]:
    """Near matches (PDQ or TLSH): ``pairs(mine, others)`` yields (my row, their row, distance). How common a
    digest is counts every other case holding the same content or a near one; pairs of the same content
    are then left to the content evidence."""
    in_scope = [LinkValue.exhibit_id.in_(scope)] if scope is not None else []
    mine = _digests(session, kind, LinkValue.case_id == case_id, *in_scope)
    if not mine:
        return []
    others = _digests(session, kind, LinkValue.case_id != case_id)
    near = list(pairs(mine, others))
    bad = _known_good(session, {a.value_key for a, _, _ in near} | {b.value_key for _, b, _ in near})
    near = [(a, b, d) for a, b, d in near if a.value_key not in bad and b.value_key not in bad]
    reach: dict[str, set[int]] = defaultdict(set)
    for a, b, _ in near:
        reach[a.value_key].add(b.case_id)
    matches = [(a, b, d) for a, b, d in near if a.value_key != b.value_key]
    best: dict[tuple[int, str], Evidence] = {}
    for a, b, d in matches:
        n = len(reach[a.value_key]) + 1
        weight = round(_base(kind, min(a.size or 0, b.size or 0)) * (1 - 0.5 * d / (limit + 1)) * rarity(n, total), 4)
        key = (b.case_id, a.value_key)
        if weight > 0 and (key not in best or best[key].distance > d):
            best[key] = Evidence(kind, kind, a.value, weight, n, int(d), _side(a), _side(b))
    return [(other, evidence) for (other, _), evidence in best.items()]


def _pdq_pairs(radius: int):
    def pairs(mine, others):
        from forensics.matchers.pdq_index import PdqIndex

        if not others:
            return
        index = PdqIndex.build((i, row.value) for i, row in enumerate(others))
        q, r, d = index.search([row.value for row in mine], radius=radius)
        for qi, ri, di in zip(q.tolist(), r.tolist(), d.tolist()):
            yield mine[qi], others[int(index.ids[ri])], di
    return pairs


def _pair_table():
    """Distance between two body bytes: four 2-bit codes, |x - y| each, 6 where it is 3 (TLSH's h_distance)."""
    import numpy as np

    a, b = np.meshgrid(np.arange(256), np.arange(256), indexing="ij")
    total = np.zeros((256, 256), dtype=np.int32)
    for shift in (0, 2, 4, 6):
        d = np.abs(((a >> shift) & 3) - ((b >> shift) & 3))
        total += np.where(d == 3, 6, d)
    return total


def tlsh_matrix(digests: list[str]):
    """Digests as an (N, 35) uint8 array: checksum, length, ratios, 32 body bytes (hex order kept)."""
    import numpy as np

    raw = [bytes.fromhex(d[2:] if d.startswith("T1") else d) for d in digests]
    matrix = np.frombuffer(b"".join(raw), dtype=np.uint8).reshape(len(raw), 35).astype(np.int32)
    swapped = ((matrix[:, 1] & 0x0F) << 4) | (matrix[:, 1] >> 4)
    return np.column_stack([matrix[:, 0], swapped, matrix[:, 2] >> 4, matrix[:, 2] & 0x0F, matrix[:, 3:]])


def tlsh_distances(query, others, table):
    """tlsh.diff (length term included) of one digest row against every row, vectorised (numpy)."""
    import numpy as np

    def circular(a, b, size):
        d = np.abs(a - b)
        return np.minimum(d, size - d)

    dl = circular(others[:, 1], query[1], 256)
    total = np.where(dl <= 1, dl, dl * 12)
    for column in (2, 3):
        dq = circular(others[:, column], query[column], 16)
        total = total + np.where(dq <= 1, dq, (dq - 1) * 12)
    total = total + (others[:, 0] != query[0])
    return total + table[query[4:][None, :], others[:, 4:]].sum(axis=1)


def _tlsh_pairs(limit: int):
    """Every pair within ``limit``: the exact TLSH distance, one vectorised pass per digest of this case."""
    def pairs(mine, others):
        import numpy as np

        if not others:
            return
        table = _pair_table()
        matrix = tlsh_matrix([row.value for row in others])
        for a, query in zip(mine, tlsh_matrix([row.value for row in mine])):
            distances = tlsh_distances(query, matrix, table)
            for index in np.flatnonzero(distances <= limit).tolist():
                yield a, others[index], int(distances[index])
    return pairs


def links_of(session: Session, case_id: int, settings: Settings = Settings(),
             exhibit_ids: Iterable[int] | None = None) -> list[Link]:
    """Every case linked to ``case_id`` (``exhibit_ids``: through these of its exhibits only), strongest
    first; not yet redacted (see access.visible_links)."""
    scope = sorted(exhibit_ids) if exhibit_ids is not None else None
    total = cases_with_values(session)
    found = _exact(session, case_id, total, scope)
    found += _near(session, case_id, total, "pdq", _pdq_pairs(settings.pdq_radius), settings.pdq_radius, scope)
    found += _near(session, case_id, total, "tlsh", _tlsh_pairs(settings.tlsh_max), settings.tlsh_max, scope)
    by_case: dict[int, list[Evidence]] = defaultdict(list)
    for other, evidence in found:
        if evidence.weight > 0:
            by_case[other].append(evidence)
    links = []
    for other, evidence in by_case.items():
        evidence.sort(key=lambda e: (-e.weight, e.type, e.value))
        case = session.get(Case, other)
        counts = {t: sum(1 for e in evidence if e.type == t) for t in TYPES}
        link = Link(case_id, other, case.name, case.contact, combine(e.weight for e in evidence), tuple(evidence),
                    counts=counts)
        if link.weight >= settings.min_weight:
            links.append(link)
    links.sort(key=lambda link: (-link.weight, link.other_case_id))
    return links


def redacted(link: Link) -> Link:
    """The link as someone who may not see the other case sees it: it exists, its types and weight, the
    owning case's contact; this side's evidence stays, the other side's case, paths and names do not."""
    return replace(link, other_case=None, revealed=False,
                   evidence=tuple(replace(e, there=None) for e in link.evidence))
