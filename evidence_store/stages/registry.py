"""The pipeline's stages, declared once, in order.

``forensics process`` runs them in this order, the Airflow DAG builds one task (or a plan task
and a mapped run task) per stage with these dependencies, docs/architecture.md lists them, and the
tests check all three agree. A stage has one name everywhere: the registry entry, the DAG task
(group), the ``processing_runs.stage`` value and the custody events of its runs.

Each entry names its functions by import path (resolved when the stage runs, so importing this
module stays cheap): ``run(db, exhibit_id, item, ctx, options) -> int`` and, for a stage that runs
once per item, ``plan(db, exhibit_id, ctx, options) -> list[item]`` (items are JSON values: ids
or [first, last] id ranges). ``option`` names the ``StageOptions`` flag that turns a stage on.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Stage:
    name: str
    version: str
    summary: str
    run: str
    plan: str | None = None
    after: tuple[str, ...] = ()
    option: str | None = None
    split: str | None = None     # an item whose worker died -> smaller items, to find the one that kills it
    lost: str | None = None      # records an item that killed its worker (then the run goes on)

    @property
    def per_item(self) -> bool:
        return self.plan is not None

    def function(self, which: str = "run") -> Callable:
        module, _, name = getattr(self, which).partition(":")
        return getattr(importlib.import_module(module), name)

    def enabled(self, options) -> bool:
        return self.option is None or bool(getattr(options, self.option))


STAGES: tuple[Stage, ...] = (
    Stage("register", "1", "checks the exhibit passed intake verification (hashing the media if it never was)",
          "evidence_store.stages.volumes:run_register"),
    Stage("scan", "1", "records every volume and file system dfvfs finds (partitions, LVM, APFS, encrypted, VSS)",
          "evidence_store.stages.volumes:run_scan", after=("register",)),
    Stage("walk", "1", "lists every entry of one file system, deleted entries and NTFS streams too (TSK on dfvfs)",
          "evidence_store.stages.volumes:run_walk", plan="evidence_store.stages.volumes:plan_walk",
          after=("scan",)),
    Stage("content", "2", "reads each data stream once: MD5/SHA-1/SHA-256, type, hash sets, YARA, PDQ, TLSH; "
          "equal content is examined once", "evidence_store.stages.content:run_batch",
          plan="evidence_store.stages.content:plan_batches", after=("walk",),
          split="evidence_store.stages.content:split_batch", lost="evidence_store.stages.content:record_lost"),
    Stage("expand", "1", "opens every container typed by content (ZIP/OOXML/ODF, TAR, GZIP, BZIP2, XZ, 7z, RAR, ISO, "
          "PDF, OLE2) recursively and records each inner file as a derived entry", "evidence_store.stages.expand:run_batch",
          plan="evidence_store.stages.expand:plan", after=("content",), option="expand",
          split="evidence_store.stages.expand:split", lost="evidence_store.stages.expand:record_lost"),
    Stage("derived", "1", "gives the derived entries the content pass (digests, type, hash sets, YARA, PDQ, TLSH)",
          "evidence_store.stages.content:run_derived", plan="evidence_store.stages.content:plan_derived",
          after=("expand",), option="expand", split="evidence_store.stages.content:split_batch",
          lost="evidence_store.stages.content:record_lost"),
    Stage("carve", "1", "carves unallocated space, partition gaps and unpartitioned areas (and slack on request)",
          "evidence_store.stages.carve:run_batch", plan="evidence_store.stages.carve:plan", after=("scan",),
          option="carve"),
    Stage("match-carved", "1", "passes carved objects through the same matchers (content equal to a walked "
          "file's reuses its results)", "evidence_store.stages.content:run_carved", after=("carve", "content"),
          option="carve"),
    Stage("links", "1", "records what the exhibit can share with other cases: content, PDQ and TLSH digests, "
          "identifiers (docs/links.md)", "evidence_store.stages.links:run", after=("content", "derived", "match-carved")),
    Stage("finalize", "1", "re-hashes the image, links carved duplicates, signs a custody checkpoint, marks the "
          "exhibit complete", "evidence_store.stages.finish:run_finalize", after=("links",)),
    Stage("report", "1", "drafts the exhibit's case report (docs/reports.md)", "evidence_store.stages.finish:run_report",
          after=("finalize",), option="report"),
)

BY_NAME: dict[str, Stage] = {stage.name: stage for stage in STAGES}


def described() -> list[dict]:
    """The registry as data (``forensics stages --json``)."""
    return [{"name": s.name, "version": s.version, "per_item": s.per_item, "after": list(s.after),
             "option": s.option, "summary": s.summary} for s in STAGES]


def markdown() -> str:
    """The registry as the table docs/architecture.md shows (a test keeps the two equal)."""
    lines = ["| # | stage | version | runs | after | turned on by | what it does |",
             "|---|---|---|---|---|---|---|"]
    for number, s in enumerate(STAGES, 1):
        runs = "per item (`plan` + mapped `run`)" if s.per_item else "once"
        option = f"`{s.option}`" if s.option else "always"
        lines.append(f"| {number} | **{s.name}** | {s.version} | {runs} | {', '.join(s.after) or '—'} | "
                     f"{option} | {s.summary} |")
    return "\n".join(lines) + "\n"
