"""Record types the matchers yield: small, frozen, storage-agnostic.

Hex digests are lower case. A finding is stored by the lead's code together with
(matcher name, matcher version, rule/hash-set digest); these records carry what matched.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

YaraStatus = Literal["matched", "clean", "timeout", "too-large", "error"]
PdqConvention = Literal["full-resolution", "cimg512"]
DIHEDRAL_NAMES = ("orig", "rot90", "rot180", "rot270", "flipx", "flipy", "flipplus1", "flipminus1")
"""Order of :attr:`PdqDigest.dihedral`: the C++ ``pdq-photo-hasher --pdqdih`` names and order."""


@dataclass(frozen=True)
class RuleSource:
    """One source file of a YARA rule set: its name (also its namespace) and content hash."""

    name: str
    sha256: str
    size: int


@dataclass(frozen=True)
class RuleSetInfo:
    """Identity of a compiled YARA rule set; ``sha256`` is defined in ``yara_rules.ruleset_digest``."""

    name: str
    version: str
    sha256: str
    sources: tuple[RuleSource, ...]
    rule_count: int
    compiled_path: str | None = None
    compiled_sha256: str | None = None
    warnings: tuple[str, ...] = ()        # compiler warnings (e.g. "string $b may slow down scanning")


@dataclass(frozen=True)
class YaraString:
    """One occurrence of a rule string; ``data_hex`` is what libyara kept (at most 512 bytes)."""

    identifier: str
    offset: int
    length: int
    data_hex: str


@dataclass(frozen=True)
class YaraMatch:
    rule: str
    namespace: str                        # the source file name the rule came from
    tags: tuple[str, ...]
    meta: tuple[tuple[str, str | int | bool], ...]
    strings: tuple[YaraString, ...]
    strings_truncated: bool = False       # more occurrences existed than were kept


@dataclass(frozen=True)
class YaraOutcome:
    """Result of scanning one file: every file gets one, so nothing is silently skipped."""

    status: YaraStatus
    matches: tuple[YaraMatch, ...] = ()
    message: str = ""
    scanned_bytes: int = 0


@dataclass(frozen=True)
class HashSetEntry:
    """One row of an imported hash set; hex in lower case, PhotoDNA as given (base64)."""

    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    category: str | None = None
    name: str | None = None
    size: int | None = None
    pdq: str | None = None
    photodna: str | None = None
    reference: str | None = None          # source's own key: NSRL package/product code, VICS MediaID...


@dataclass(frozen=True)
class HashSetWarning:
    """A line or record of a hash-set file that could not be used; the import goes on."""

    line: int                             # 1-based line (text formats) or record number (JSON, SQLite)
    message: str


@dataclass(frozen=True)
class PdqDigest:
    """PDQ hash (64 hex, C++ ``Hash256`` print order) and quality 0..100 of one image.

    ``dihedral`` holds the 8 hashes of the rotations/flips in :data:`DIHEDRAL_NAMES` order;
    ``dihedral[0] == hash_hex``. ``convention`` says how the pixels were prepared.
    """

    hash_hex: str
    quality: int
    convention: PdqConvention
    dihedral: tuple[str, ...]
    width: int = 0
    height: int = 0

    @property
    def reliable(self) -> bool:
        """ThreatExchange's advice: hashes of quality below 50 are too flat to match on."""
        return self.quality >= 50


@dataclass(frozen=True)
class PdqMatch:
    """A reference fingerprint within the distance threshold of one of the 8 transforms."""

    reference_id: int
    reference_hash: str
    distance: int
    transform: str                        # a DIHEDRAL_NAMES entry: which variant of the image matched
    category: str | None = None


@dataclass(frozen=True)
class TlshDigest:
    """TLSH digest (``T1`` + 70 hex) of a data stream of ``size`` bytes."""

    digest: str
    size: int
