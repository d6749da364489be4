"""What an examiner chooses for one processing run (CLI flags, DAG params), in one place.

Recorded in every run's parameters (``recorded()``; credentials by kind only, never the secret).
Matching limits default from the environment so Airflow workers share them:
FORENSICS_YARA_TIMEOUT (seconds per file), FORENSICS_YARA_SIZE_CAP (bytes kept in memory for one
scan; larger content is spooled to disk and still scanned), FORENSICS_PDQ_RADIUS,
FORENSICS_PDQ_MIN_QUALITY. Crash isolation limits likewise: FORENSICS_ITEM_SECONDS (one data stream's
read and matching; 0 = none), FORENSICS_WORKER_MEMORY (bytes of address space per worker process).
FORENSICS_BATCH_ENTRIES: entries per content batch at least (500; one mapped Airflow task each);
FORENSICS_CARVE_BATCH_BYTES: bytes of carve ranges per carve batch at least (256 MiB; likewise).
Container expansion limits (per top-level container): FORENSICS_EXPAND_DEPTH, FORENSICS_EXPAND_MAX_BYTES,
FORENSICS_EXPAND_MAX_RATIO, FORENSICS_EXPAND_SECONDS.
"""
from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields


def _env(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


@dataclass(frozen=True)
class StageOptions:
    credentials: tuple[tuple[str, str], ...] = ()
    expand: bool = True
    expand_depth: int = field(default_factory=lambda: _env("FORENSICS_EXPAND_DEPTH", 5))
    expand_max_bytes: int = field(default_factory=lambda: _env("FORENSICS_EXPAND_MAX_BYTES", 4 << 30))
    expand_max_ratio: int = field(default_factory=lambda: _env("FORENSICS_EXPAND_MAX_RATIO", 500))
    expand_seconds: int = field(default_factory=lambda: _env("FORENSICS_EXPAND_SECONDS", 600))
    carve: bool = True
    slack: bool = False
    match: bool = True
    skip_known_good: bool = False
    # extract identifiers in the content pass (forensics.indicators); off by default until extraction is
    # faster than ~7 MB/s per core (bench/indicators_bench.py): on, it would double the content pass
    indicators: bool = False
    report: bool = False
    report_format: str = "pdf"
    examiner: str | None = None
    yara_timeout: int = field(default_factory=lambda: _env("FORENSICS_YARA_TIMEOUT", 60))
    # bytes of one stream held in memory for the matchers; a larger one goes to a spool file that libyara
    # and YARA-X map (32 MiB: two workers each holding a 128 MiB file made the peak of the whole run)
    yara_size_cap: int = field(default_factory=lambda: _env("FORENSICS_YARA_SIZE_CAP", 32 << 20))
    pdq_radius: int = field(default_factory=lambda: _env("FORENSICS_PDQ_RADIUS", 31))
    pdq_min_quality: int = field(default_factory=lambda: _env("FORENSICS_PDQ_MIN_QUALITY", 50))
    batch_entries: int = field(default_factory=lambda: _env("FORENSICS_BATCH_ENTRIES", 500))
    carve_batch_bytes: int = field(default_factory=lambda: _env("FORENSICS_CARVE_BATCH_BYTES", 256 << 20))
    item_seconds: int = field(default_factory=lambda: _env("FORENSICS_ITEM_SECONDS", 900))
    worker_memory: int = field(default_factory=lambda: _env("FORENSICS_WORKER_MEMORY", 16 << 30))

    MATCHING = ("yara_timeout", "yara_size_cap", "pdq_radius", "pdq_min_quality", "skip_known_good", "indicators")

    def recorded(self) -> dict:
        values = asdict(self)
        values["credentials"] = [kind for kind, _ in self.credentials]
        return values

    def matching(self) -> dict:
        """The options that change what matching finds (part of the knowledge digest)."""
        return {name: getattr(self, name) for name in self.MATCHING}

    @classmethod
    def from_params(cls, params: dict) -> StageOptions:
        """From an Airflow run's params (unknown keys ignored, credentials as [kind, value] pairs)."""
        known = {f.name for f in fields(cls)}
        given = {k: v for k, v in params.items() if k in known and v is not None and v != ""}
        if "credentials" in given:
            given["credentials"] = tuple((str(kind), str(value)) for kind, value in given["credentials"])
        return cls(**given)
