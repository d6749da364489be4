"""The lab's reference knowledge: YARA rule sets and known-file hash sets (with PDQ lists).

Imports stream: a 50-million-line hash set is read, parsed and inserted in batches,
never held in memory. Each import is a custody event on the lab chain.
"""
from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

import forensics
from evidence_store import hashset_tables
from evidence_store.custody.ledger import Event, append, default_actor
from evidence_store.db import Database, data_dir
from evidence_store.models import HashSet, RuleSet
from evidence_store.store import StoreError

KINDS = ("known-good", "known-bad")


def lab_dir(db: Database) -> Path:
    return data_dir(db.url) / "lab"


ENGINES = ("auto", "yara-x", "libyara")


def add_ruleset(db: Database, name: str, paths: list[str], version: str | None = None,
                actor: tuple[str, str] | None = None, defines: dict | None = None,
                engine: str = "auto") -> RuleSet:
    """Compiles and stores a rule set; a source that does not compile raises RuleSetError.

    ``defines`` give fixed values to externals the pipeline does not fill (``rules add --define``);
    they are part of the set's identity (its default version and the matching digest).
    ``engine``: ``auto`` scans with YARA-X the source files it compiles and with libyara the others
    (the reason is kept), ``yara-x`` refuses a set YARA-X cannot compile whole, ``libyara`` never
    tries it."""
    import json

    from forensics.matchers import MATCHERS
    from forensics.matchers import yara_x_engine
    from forensics.matchers.errors import RuleSetError
    from forensics.matchers.yara_rules import compile_ruleset, externals_used, read_sources, ruleset_digest

    if engine not in ENGINES:
        raise StoreError(f"YARA engine must be one of {', '.join(ENGINES)}, not {engine!r}")

    actor = actor or default_actor()
    defines = dict(defines or {})
    sources_read = read_sources(paths)
    texts = dict(sources_read)
    if version is None:
        version = ruleset_digest(sources_read)[:12]
        if defines:
            version += "-" + hashlib.sha256(json.dumps(defines, sort_keys=True).encode()).hexdigest()[:6]
    target = lab_dir(db) / "rules" / f"{name}-{version}.yarc"
    target.parent.mkdir(parents=True, exist_ok=True)
    info, _ = compile_ruleset(name, version, paths, compiled_path=target, defines=defines)
    externals = {"uses": externals_used(sources_read, defines), "defines": defines}
    chosen, engine_path, engine_sha256, note, split = "libyara", None, None, None, None
    if engine == "libyara":
        note = "libyara chosen when the set was added (--engine libyara)"
    else:
        refused, relaxed = yara_x_engine.split_sources(sources_read, defines)
        why = "; ".join(f"YARA-X refuses {n}: {r}" for n, r in refused.items())
        if relaxed:
            why = "; ".join(filter(None, [why, f"YARA-X compiles {', '.join(relaxed)} under libyara's regexp "
                                               "syntax (relaxed_re_syntax)"]))
        if refused and engine == "yara-x":
            raise RuleSetError(f"{why} (add the set with --engine auto: those files are then scanned with libyara)")
        accepted = [(n, d) for n, d in sources_read if n not in refused]
        if len(refused) == len(sources_read):
            note = f"{why}; scanned with libyara"
        else:
            x_target = target.with_suffix(".yrx")
            yara_x_engine.compile_sources(accepted, defines, compiled_path=x_target, relaxed=bool(relaxed),
                                          checked=True)
            chosen, engine_path, engine_sha256 = "yara-x", str(x_target), _file_sha256(x_target)
            note = why or None
        if refused and accepted:
            part = target.with_suffix(".libyara-part.yarc")
            compile_ruleset(name, version, [p for p in paths if Path(p).name in refused], compiled_path=part,
                            defines=defines)
            chosen = "mixed"
            split = {"libyara": sorted(refused), "path": str(part), "sha256": _file_sha256(part),
                     "order": [n for n, _ in sources_read]}
            note = f"{why}; {len(refused)} of {len(sources_read)} files scanned with libyara, the rest with YARA-X"
    with db.session() as session:
        existing = session.scalar(select(RuleSet).where(RuleSet.name == name, RuleSet.version == version))
        if existing is not None:
            if existing.sha256 != info.sha256:
                raise StoreError(f"rule set {name} version {version} already exists with other content")
            return existing
        sources = [{"name": s.name, "sha256": s.sha256, "size": s.size,
                    "text": texts[s.name].decode("utf-8", "replace")} for s in info.sources]
        row = RuleSet(name=name, version=version, sha256=info.sha256, sources=sources, rule_count=info.rule_count,
                      compiled_path=str(target), compiled_sha256=info.compiled_sha256, externals=externals,
                      engine=chosen, engine_path=engine_path, engine_sha256=engine_sha256, engine_note=note,
                      engine_split=split)
        session.add(row)
        append(session, Event(action="ruleset-import", actor=actor[0], actor_role=actor[1],
                              tool_name="yara", tool_version=MATCHERS["yara"].version,
                              idempotency_key=f"ruleset-import:{name}:{version}:{info.sha256}",
                              details={"name": name, "version": version, "sha256": info.sha256,
                                       "rules": info.rule_count, "sources": [s["name"] for s in sources],
                                       "externals": externals, "engine": chosen, "engine_note": note}))
        return row


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_hashset(db: Database, path: str, name: str, kind: str, *, fmt: str | None = None,
                   version: str | None = None, category: str | None = None,
                   actor: tuple[str, str] | None = None, tick: Callable[[int], None] | None = None,
                   warn: Callable[[str], None] | None = None) -> HashSet:
    """Streams a hash-set file into the database in one bulk load (evidence_store/hashset_load.py);
    PDQ values also go into an on-disk index."""
    from evidence_store import hashset_load
    from forensics.matchers.hashsets import PARSER_VERSION, detect_format

    if kind not in KINDS:
        raise StoreError(f"hash set kind must be one of {', '.join(KINDS)}, not {kind!r}")
    actor = actor or default_actor()
    source = Path(path)
    if not source.is_file():
        raise StoreError(f"hash set file {path} does not exist")
    fmt = fmt or detect_format(source)
    content_sha256 = _file_sha256(source)
    version = version or content_sha256[:12]
    with db.session() as session:
        existing = session.scalar(select(HashSet).where(HashSet.name == name, HashSet.version == version))
        if existing is not None:
            return existing                      # importing the same set again adds nothing
        row = HashSet(name=name, version=version, kind=kind, format=fmt, sha256=content_sha256,
                      default_category=category)
        session.add(row)
        session.flush()
        hashset_id = row.id
    filter_path = _filter_path(db, hashset_id, name)
    try:
        entries, pdq, filter_sha256 = hashset_load.load(db, hashset_id, source, fmt, default_category=category,
                                                        tick=tick, warn=warn, filter_path=filter_path)
    except BaseException:
        with db.session() as session:             # the set is whole or absent: no row without its entries
            session.delete(session.get(HashSet, hashset_id))
        filter_path.unlink(missing_ok=True)
        raise
    index_path = _build_pdq_index(db, name, version, hashset_id) if pdq else None
    with db.session() as session:
        row = session.get(HashSet, hashset_id)
        row.entries, row.pdq_entries, row.pdq_index_path = entries, pdq, index_path
        row.filter_path, row.filter_sha256 = str(filter_path), filter_sha256
        append(session, Event(action="hashset-import", actor=actor[0], actor_role=actor[1],
                              tool_name=forensics.TOOL_NAME, tool_version=f"{forensics.__version__}/parser-{PARSER_VERSION}",
                              idempotency_key=f"hashset-import:{name}:{version}:{content_sha256}",
                              details={"name": name, "version": version, "kind": kind, "format": fmt,
                                       "sha256": content_sha256, "entries": entries, "pdq": pdq,
                                       "file": str(source)}))
        return row


def _filter_path(db: Database, hashset_id: int, name: str) -> Path:
    return lab_dir(db) / "hashsets" / f"{hashset_id}-{re.sub(r'[^A-Za-z0-9._-]', '_', name)[:60]}.filter"


def open_filter(row: HashSet):
    """(the set's digest filter, mapped and checked, or None; its state): ``ok``, ``not needed`` (no
    digests: a PDQ list), ``none`` (imported before filters existed) or what is wrong with the file
    (missing, altered, another set's). A set still being imported (no entry count yet) needs one."""
    from forensics.matchers.hashsets.digest_filter import DigestFilter, DigestFilterError

    if row.entries is not None and row.entries <= (row.pdq_entries or 0):
        return None, "not needed"
    if not row.filter_path or not row.filter_sha256:
        return None, "none"
    try:
        return DigestFilter(row.filter_path, row.id, row.filter_sha256), "ok"
    except DigestFilterError as exc:
        return None, str(exc)


def filter_status(row: HashSet) -> str:
    """The state of the set's digest filter (``open_filter``), for ``hashset list`` and ``hashset filter``."""
    opened, state = open_filter(row)
    if opened is not None:
        opened.close()
    return state


def rebuild_hashset_filter(db: Database, hashset_id: int) -> HashSet:
    """Writes a set's digest filter again from its rows in the database: sets imported before migration
    0015, or whose filter file was lost or damaged (``forensics hashset filter``). Until every set that
    holds digests has a good filter, the content pass asks the database for every stream."""
    from forensics.matchers.hashsets.digest_filter import FilterBuilder

    with db.session() as session:
        row = session.get(HashSet, hashset_id)
        if row is None:
            raise StoreError(f"no hash set with id {hashset_id}")
        builder = FilterBuilder(3 * (row.entries or 0))
        entries = hashset_tables.entries_of(hashset_id)
        query = select(entries.c.md5, entries.c.sha1, entries.c.sha256).execution_options(yield_per=100_000)
        for part in session.execute(query).partitions():
            for column in zip(*part):
                builder.add_hex(column)
        path = _filter_path(db, row.id, row.name)
        row.filter_sha256 = builder.save(path, row.id)
        row.filter_path = str(path)
        return row


def _build_pdq_index(db: Database, name: str, version: str, hashset_id: int) -> str:
    """Multi-index-hashing index over the set's PDQ values (ids = entry ids)."""
    from forensics.matchers.pdq_index import PdqIndex

    def items():
        with db.session() as session:
            entries = hashset_tables.entries_of(hashset_id)
            query = select(entries.c.id, entries.c.pdq).where(entries.c.pdq.is_not(None)).order_by(entries.c.id)
            yield from session.execute(query.execution_options(yield_per=50_000))

    index = PdqIndex.build(items())
    target = lab_dir(db) / "pdq" / f"{hashset_id}-{name}-{version}"
    target.mkdir(parents=True, exist_ok=True)
    index.save(target)
    return str(target)


def list_hashsets(db: Database) -> list[HashSet]:
    with db.session() as session:
        return list(session.scalars(select(HashSet).order_by(HashSet.id)))


def list_rulesets(db: Database) -> list[RuleSet]:
    with db.session() as session:
        return list(session.scalars(select(RuleSet).order_by(RuleSet.id)))


def known_bad_pdq(session, radius: int = 31):
    """A check ``near(hashes) -> bool``: is any PDQ hash within ``radius`` of a known-bad reference?

    Used before any picture leaves the lab (report thumbnails, portal thumbnails): quality is
    ignored on purpose, so a flat or tiny picture is checked too.
    """
    from forensics.matchers.pdq_index import PdqIndex

    indexes = [PdqIndex.load(row.pdq_index_path) for row in session.scalars(
        select(HashSet).where(HashSet.kind == "known-bad", HashSet.pdq_index_path.is_not(None)))]

    def near(hashes: list[str]) -> bool:
        for index in indexes:
            query_rows, _, _ = index.search(list(hashes), radius)
            if len(query_rows):
                return True
        return False

    return near
