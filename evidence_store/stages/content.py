"""The content stage: every data stream read once (forensics.content), per batch of entries.

The same chunks give MD5/SHA-1/SHA-256, the type and the extension check, TLSH, YARA and PDQ.
Streams are read in groups; once a group's digests are known they are looked up together (hash
sets, behind their digest filters, and content the case examined before), then each stream is
matched: known-good content can skip the content matchers (``--skip-known-good``) and content
already examined in the case is not examined again (its results are attached to the new entry).
``run_carved`` passes the carved objects through the same machinery, reading them from the
artifact store.
"""
from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from evidence_store.db import Database
from evidence_store.matching import Knowledge, Subject, prepared, write
from evidence_store.models import CarvedObjectRow, Exhibit, FileEntry
from evidence_store.runs import RunContext, stage_run
from evidence_store.stages.options import StageOptions
from evidence_store.store import id_ranges

MAX_BATCHES = 256          # far below Airflow's max_map_length (1024 by default)
MIN_BATCH = 500
COMMIT = 200


def plan_batches(db: Database, exhibit_id: int, ctx: RunContext | None = None, options: StageOptions | None = None,
                 *, max_batches: int = MAX_BATCHES, min_batch: int | None = None, derived: bool = False
                 ) -> list[list[int]]:
    """Splits the exhibit's readable walked entries (``derived``: the entries found inside containers)
    into at most ``max_batches`` id ranges of at least ``min_batch`` entries (default: the run's
    ``batch_entries``; an Airflow task costs seconds to start, so Celery deployments want larger ones)."""
    if min_batch is None:
        min_batch = options.batch_entries if options is not None else MIN_BATCH
    which = FileEntry.parent_id.is_not(None) if derived else FileEntry.parent_id.is_(None)
    with db.session() as session:
        total = session.scalar(select(func.count()).select_from(FileEntry).where(
            FileEntry.exhibit_id == exhibit_id, FileEntry.has_content.is_(True), which)) or 0
        if total == 0:
            return []
        buckets = max(1, min(max_batches, -(-total // min_batch)))
        return id_ranges(session, FileEntry.id, FileEntry.exhibit_id == exhibit_id,
                         FileEntry.has_content.is_(True), which, buckets=buckets)


def plan_derived(db: Database, exhibit_id: int, ctx: RunContext | None = None,
                 options: StageOptions | None = None) -> list[list[int]]:
    return plan_batches(db, exhibit_id, ctx, options, derived=True)


def run_derived(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
                options: StageOptions) -> int:
    """The content pass over entries found inside containers (the ``derived`` stage)."""
    return run_batch(db, exhibit_id, id_range, ctx, options, stage="derived")


def _parameters(options: StageOptions, knowledge: Knowledge | None, **extra) -> dict:
    params = {**extra, "match": options.match, "skip_known_good": options.skip_known_good,
              "item_seconds": options.item_seconds, "worker_memory": options.worker_memory}
    if knowledge is not None:
        params.update(knowledge.parameters())
    return params


def run_batch(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
              options: StageOptions, stage: str = "content") -> int:
    """Reads, digests, types and matches every entry with first <= id <= last not yet done."""
    from forensics.reader import StreamReader

    lo, hi = int(id_range[0]), int(id_range[1])
    knowledge = prepared(db, options) if options.match else None
    with db.session() as session:
        case_id = session.get(Exhibit, exhibit_id).case_id
        query = select(FileEntry.id, FileEntry.locator, FileEntry.path, FileEntry.volume_id, FileEntry.size).where(
            FileEntry.exhibit_id == exhibit_id, FileEntry.id.between(lo, hi), FileEntry.has_content.is_(True))
        if knowledge is not None:
            query = query.where((FileEntry.hash_status != "hashed") | (FileEntry.match_status != knowledge.digest))
        else:
            query = query.where(FileEntry.hash_status != "hashed")
        todo = session.execute(query.order_by(FileEntry.id)).all()
    recorded = 0
    with stage_run(db, ctx, stage, case_id=case_id, exhibit_id=exhibit_id, key_parts=(
            lo, hi, knowledge.digest if knowledge else "digests"),
            parameters=_parameters(options, knowledge, first_id=lo, last_id=hi)) as run:
        reader = StreamReader(options.credentials)
        examiner = knowledge.examiner if knowledge else _plain_examiner()
        for start in range(0, len(todo), COMMIT):
            subjects = [Subject("file", r.id, r.path, r.size, r.volume_id) for r in todo[start:start + COMMIT]]
            locators = {r.id: r.locator for r in todo[start:start + COMMIT]}
            with db.reading() as session:               # reads outside any write transaction
                _examine_group(session, [(s, reader.chunks(locators[s.id])) for s in subjects], examiner,
                               knowledge, case_id, options)
            with db.session() as session:
                recorded += write(session, exhibit_id, run.id, subjects, knowledge)
    return recorded


def run_carved(db: Database, exhibit_id: int, item: None, ctx: RunContext, options: StageOptions) -> int:
    """The carved objects not matched against the current knowledge yet, read from the artifact store."""
    if not options.match:
        return 0
    knowledge = prepared(db, options)
    with db.session() as session:
        case_id = session.get(Exhibit, exhibit_id).case_id
        todo = session.execute(select(CarvedObjectRow.id, CarvedObjectRow.extension, CarvedObjectRow.artifact_path,
                                      CarvedObjectRow.size).where(
            CarvedObjectRow.exhibit_id == exhibit_id, CarvedObjectRow.match_status != knowledge.digest)
            .order_by(CarvedObjectRow.id)).all()
    recorded = 0
    with stage_run(db, ctx, "match-carved", case_id=case_id, exhibit_id=exhibit_id, key_parts=(knowledge.digest,),
                   parameters=_parameters(options, knowledge)) as run:
        for start in range(0, len(todo), COMMIT):
            rows = todo[start:start + COMMIT]
            subjects = [Subject("carved", r.id, f"carved/{r.id}.{r.extension}", r.size) for r in rows]
            paths = {r.id: r.artifact_path for r in rows}
            with db.reading() as session:
                _examine_group(session, [(s, _artifact(paths[s.id])) for s in subjects], knowledge.examiner,
                               knowledge, case_id, options)
            with db.session() as session:
                recorded += write(session, exhibit_id, run.id, subjects, knowledge)
    return recorded


def _examine_group(session: Session, items: Sequence[tuple[Subject, Iterator[bytes]]], examiner,
                   knowledge: Knowledge | None, case_id: int, options: StageOptions) -> None:
    """Reads each stream once, then looks the digests of what was read up together (hash sets and
    content the case examined before: a few statements per group instead of several per stream), then
    decides and matches each. Bytes kept for the matchers wait in memory meanwhile, so a group is cut
    when they reach the in-memory cap (``yara_size_cap``) or a stream had to be spooled."""
    waiting: list[tuple[Subject, object, float]] = []
    held = 0
    try:
        with alarm_handler():           # one SIGALRM handler for the group; a timer per item
            for subject, chunks in items:
                started = time.monotonic()
                read = _read(subject, chunks, examiner, options)
                if read is None:
                    continue
                waiting.append((subject, read, time.monotonic() - started))   # its reading counts to its time limit
                held += read.held
                if held >= options.yara_size_cap or read.spooled:
                    _conclude(session, waiting, examiner, knowledge, case_id, options)
                    waiting, held = [], 0
            if waiting:
                _conclude(session, waiting, examiner, knowledge, case_id, options)
                waiting = []
    finally:
        for _, read, _ in waiting:
            read.close()


def _read(subject: Subject, chunks: Iterator[bytes], examiner, options: StageOptions):
    try:
        with time_limit(options.item_seconds):
            _test_fault(subject.path)
            return examiner.read(chunks, subject.path)
    except Exception as exc:                     # MemoryError and ItemTimeout too
        if not _item_failed(subject, exc, options):
            raise
        return None


def _item_failed(subject: Subject, exc: BaseException, options: StageOptions) -> bool:
    """The item's problem as its error (recorded as a warning; the other items go on)."""
    from forensics.errors import ItemError

    if isinstance(exc, ItemError):
        subject.error = str(exc)
    elif isinstance(exc, ItemTimeout):
        subject.error = f"reading and matching it took longer than {options.item_seconds} s (item time limit); skipped"
    elif isinstance(exc, MemoryError):
        subject.error = (f"reading and matching it needed more memory than the worker's limit "
                         f"({options.worker_memory:,} bytes); skipped")
    else:
        return False
    return True


def _conclude(session: Session, waiting: list[tuple[Subject, object, float]], examiner,
              knowledge: Knowledge | None, case_id: int, options: StageOptions) -> None:
    from forensics.content import worth_describing

    found = knowledge.lookup_many(session, [read.digests for _, read, _ in waiting]) if knowledge else None
    earlier = knowledge.reuse_many(session, case_id, [(s, read.digests) for s, read, _ in waiting]) \
        if knowledge else {}
    for position, (subject, read, reading) in enumerate(waiting):
        def describe(examined) -> bool:
            return worth_describing(examined) or any(f["known"] == "known-bad" for f in subject.findings) or \
                bool(subject.reused is not None and subject.reused.findings)

        subject.digests = read.digests
        try:
            match = False
            if knowledge is not None:
                subject.findings = found[position]
                subject.reused = knowledge.reuse(session, case_id, subject, earlier)
                if subject.reused is None:
                    if options.skip_known_good and any(f["known"] == "known-good" for f in subject.findings):
                        subject.skipped = True
                    else:
                        match = True
            left = max(options.item_seconds - reading, 0.001) if options.item_seconds > 0 else 0
            with time_limit(left):
                subject.examined = examiner.conclude(read, match, describe)
            subject.digests = subject.examined.digests      # with the description, where one was made
        except Exception as exc:
            if not _item_failed(subject, exc, options):
                raise
            continue
        finally:
            read.close()
        if knowledge is not None and subject.examined.matched:
            subject.problems = knowledge.content_findings(session, subject)
            knowledge.remember(subject)


class ItemTimeout(Exception):
    """One data stream took longer than the item time limit."""


class _Alarm:
    """SIGALRM's handler while the content pass holds it: raises ItemTimeout while an item's limit is
    armed, and ignores an alarm that arrives after its item ended."""

    installed = False
    armed = False

    @classmethod
    def expired(cls, signum, frame) -> None:
        if cls.armed:
            cls.armed = False
            raise ItemTimeout()


@contextmanager
def alarm_handler():
    """Holds SIGALRM for a group of items (main thread only), so that ``time_limit`` only sets and clears
    the timer per item: installing and restoring a handler per item cost about 40 us (the signal
    module's enum conversions), 2-3 % of a content worker's time. Nested use is a no-op."""
    if _Alarm.installed or threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGALRM, _Alarm.expired)
    _Alarm.installed = True
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _Alarm.installed = _Alarm.armed = False
        signal.signal(signal.SIGALRM, previous)


@contextmanager
def time_limit(seconds: float):
    """Raises ItemTimeout in this thread after ``seconds`` (main thread only: SIGALRM; elsewhere, and
    with 0, no limit). Code inside native libraries is interrupted when it returns to Python; a
    library that never returns is the worker watchdog's (docs/architecture.md, crash isolation).
    Inside ``alarm_handler`` only the timer is set; alone, it holds the handler for its own duration."""
    if seconds <= 0 or threading.current_thread() is not threading.main_thread():
        yield
        return
    if not _Alarm.installed:
        with alarm_handler(), time_limit(seconds):
            yield
        return
    _Alarm.armed = True
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        _Alarm.armed = False


def _test_fault(path: str, stage: str = "content") -> None:
    """Fault injection for the crash-isolation tests only: FORENSICS_TEST_FAULT=crash|stall|hog[@stage]:<path
    end> makes reading that item (in that stage; default: content) kill the process (SIGSEGV), hang, or
    allocate without bound."""
    fault = os.environ.get("FORENSICS_TEST_FAULT")
    if not fault:
        return
    kind, _, where = fault.partition(":")
    kind, _, only = kind.partition("@")
    if not path.endswith(where) or (only or "content") != stage:
        return
    if kind == "crash":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif kind == "stall":
        time.sleep(3600)
    elif kind == "hog":
        hoard = []
        while True:
            hoard.append(bytearray(256 << 20))


def split_batch(db: Database, exhibit_id: int, id_range: Sequence[int], ctx: RunContext,
                options: StageOptions) -> list[list[int]]:
    """A batch whose worker died, as one item per entry, to find the entry that kills it."""
    lo, hi = int(id_range[0]), int(id_range[1])
    with db.session() as session:
        return [[i, i] for i in session.scalars(select(FileEntry.id).where(
            FileEntry.exhibit_id == exhibit_id, FileEntry.id.between(lo, hi), FileEntry.has_content.is_(True),
            FileEntry.hash_status != "hashed").order_by(FileEntry.id))]


def record_lost(db: Database, exhibit_id: int, item: Sequence[int], ctx: RunContext, options: StageOptions,
                reason: str) -> None:
    """The entry whose reading killed its worker: unreadable, with a warning naming it; the rest go on."""
    from evidence_store.store import record_warning

    with db.session() as session:
        for entry in session.scalars(select(FileEntry).where(
                FileEntry.exhibit_id == exhibit_id, FileEntry.id.between(int(item[0]), int(item[1])))):
            entry.hash_status = "unreadable"
            record_warning(session, exhibit_id, "content", f"{entry.path}: {reason}; skipped (the other entries "
                           "were processed)", path=entry.path, file_entry_id=entry.id, volume_id=entry.volume_id)


def _artifact(path: str) -> Iterator[bytes]:
    with open(path, "rb") as handle:
        yield from iter(lambda: handle.read(1 << 20), b"")


_PLAIN: list = []


def _plain_examiner():
    """Digests and type only (processing without matching)."""
    from forensics.content import Examiner

    if not _PLAIN:
        _PLAIN.append(Examiner(tlsh=False))
    return _PLAIN[0]
