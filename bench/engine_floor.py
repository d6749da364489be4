#!/usr/bin/env python3
"""The native engines alone: the CPU the content pass cannot avoid for a set of files, on one core.

    .venv/bin/python bench/engine_floor.py --db URL --files DIR [--known-good HASH_SET] [--json]

Takes the rule sets and options of a case database (``FORENSICS_DATA_DIR`` as for the CLI) exactly
as a content worker prepares them (evidence_store.matching.Knowledge) and feeds every distinct content
under DIR (by SHA-256; files up to the in-memory cap) to the engines the content pass calls, one call
after another on one core, timing each with ``time.process_time``: the three digests (hashlib), the
MIME type (libmagic, on the first 256 KiB as the pass does), TLSH, YARA-X and libyara (a mixed set's
two halves apart). Nothing else runs: no evidence reading, no database, no Python around the calls.

The sum is a floor: a pipeline that calls these engines on this content needs at least that much CPU,
so on N cores at least sum / N seconds of wall, whatever it does around them. bench/pipeline_bench.py
``--floor`` runs this on the toolchain's extracted files (the allocated files both sides examine) and
prints it beside the time the ratio target allows. With ``--known-good``, content whose SHA-256 is in
that list is digested and typed but not matched (``--skip-known-good``). Figures printed, never asserted.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ENGINES = ("digests", "libmagic", "tlsh", "yara-x", "libyara")


def contents(root: Path, cap: int):
    """(sha256, bytes) of each distinct file under root up to ``cap`` bytes, in path order."""
    seen: set[str] = set()
    for directory, _, names in sorted(os.walk(root)):
        for name in sorted(names):
            path = Path(directory, name)
            if path.is_symlink() or not path.is_file() or path.stat().st_size > cap:
                continue
            data = path.read_bytes()
            sha256 = hashlib.sha256(data).hexdigest()
            if sha256 not in seen:
                seen.add(sha256)
                yield sha256, data


def floor(db_url: str, files: Path, known_good: set[str] | None = None) -> dict:
    import tlsh

    from evidence_store.db import Database
    from evidence_store.matching import Knowledge
    from evidence_store.stages.options import StageOptions
    from forensics.content import MAGIC_BYTES
    from forensics.filetype import TypeIdentifier
    from forensics.matchers.tlsh_digest import finish as finish_tlsh
    from forensics.matchers.yara_rules import externals_for

    options = StageOptions()
    knowledge = Knowledge(Database(db_url), options)
    halves = []                                   # (engine, scanner)
    for _, scanner in knowledge.scanners:
        if scanner.engine == "mixed":
            halves += [(scanner.modern.engine, scanner.modern), (scanner.classic.engine, scanner.classic)]
        else:
            halves.append((scanner.engine, scanner))
    types = TypeIdentifier()
    spent = dict.fromkeys(ENGINES, 0.0)
    counted = matched = size = 0
    clock = time.process_time
    for sha256, data in contents(files, options.yara_size_cap):
        counted += 1
        size += len(data)
        started = clock()
        hashlib.md5(data).digest(), hashlib.sha1(data).digest(), hashlib.sha256(data).digest()
        spent["digests"] += clock() - started
        started = clock()
        mime = types.mime_of_head(data[:MAGIC_BYTES])
        spent["libmagic"] += clock() - started
        if known_good is not None and sha256 in known_good:
            continue
        matched += 1
        if not mime.startswith("image/"):          # as the content pass: a state fed the bytes, then finished
            started = clock()
            state = tlsh.Tlsh()
            state.update(data)
            finish_tlsh(state, len(data))
            spent["tlsh"] += clock() - started
        externals = externals_for(f"/{sha256}", mime)
        for engine, scanner in halves:
            started = clock()
            scanner.scan_bytes(data, externals)
            spent[engine] += clock() - started
    return {"files": counted, "bytes": size, "matched": matched,
            "seconds": {name: round(value, 2) for name, value in spent.items()},
            "total": round(sum(spent.values()), 2)}


def known_sha256(path: Path) -> set[str]:
    """The SHA-256 values of a hash-set file, read as ``forensics hashset import`` reads it."""
    from forensics.matchers.hashsets import read_hashset
    from forensics.matchers.models import HashSetEntry

    return {entry.sha256 for entry in read_hashset(path) if isinstance(entry, HashSetEntry) and entry.sha256}


def describe(result: dict) -> str:
    parts = ", ".join(f"{name} {seconds:.1f}" for name, seconds in result["seconds"].items())
    return (f"{result['files']:,} distinct contents ({result['bytes'] / 2**20:,.0f} MiB; matchers on "
            f"{result['matched']:,}): {parts} = {result['total']:.1f} CPU s on one core")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="the case database whose rule sets are used")
    parser.add_argument("--files", type=Path, required=True, help="a directory of files (e.g. extracted)")
    parser.add_argument("--known-good", type=Path, help="a hash set of SHA-256s: digested, typed, not matched")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    args = parser.parse_args()
    result = floor(args.db, args.files, known_sha256(args.known_good) if args.known_good else None)
    print(json.dumps(result) if args.json else describe(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
