#!/usr/bin/env python3
"""Indicator extraction throughput: forensics.indicators over real files, per extractor and in all.

Reads up to --mib MiB of files under the given directories (default /usr/share/doc and /usr/lib/python3)
into memory, then times extract() over them (all extractors, then each alone) on one core and prints
MB/s and what was found per kind. bulk_extractor, the peer, is run on the same files when it is installed
(`bulk_extractor -o OUT -R DIR`, email/url/ccn/domain features counted beside ours).

    .venv/bin/python bench/indicators_bench.py [--mib 200] [DIR ...]
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from forensics.indicators.extract import extract  # noqa: E402
from forensics.indicators.registry import EXTRACTORS  # noqa: E402

MIB = 1 << 20


def load(dirs: list[str], limit: int) -> list[bytes]:
    blobs, total = [], 0
    for root_dir in dirs:
        for root, _, names in os.walk(root_dir):
            for name in sorted(names):
                path = os.path.join(root, name)
                if os.path.isfile(path) and not os.path.islink(path) and os.path.getsize(path) <= 16 * MIB:
                    data = Path(path).read_bytes()
                    blobs.append(data)
                    total += len(data)
                    if total >= limit:
                        return blobs
    return blobs


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dirs", nargs="*", default=["/usr/share/doc", "/usr/lib/python3"])
    parser.add_argument("--mib", type=int, default=200)
    args = parser.parse_args()
    blobs = load(args.dirs, args.mib * MIB)
    size = sum(map(len, blobs)) / MIB
    print(f"{len(blobs):,} files, {size:,.0f} MiB from {', '.join(args.dirs)}")
    started = time.perf_counter()
    kinds = Counter(i.kind for blob in blobs for i in extract(blob))
    elapsed = time.perf_counter() - started
    print(f"all extractors: {elapsed:.1f} s, {size / elapsed:,.1f} MB/s; found {dict(sorted(kinds.items()))}")
    for extractor in EXTRACTORS:
        started = time.perf_counter()
        count = sum(len(extract(blob, extractors=(extractor,))) for blob in blobs)
        elapsed = time.perf_counter() - started
        print(f"  {extractor.label:<12} {elapsed:6.1f} s  {size / elapsed:8,.1f} MB/s  {count:,} found")
    peer = shutil.which("bulk_extractor")
    if peer is None:
        print("bulk_extractor: not installed (not packaged for this Debian release); no side-by-side figures")
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp, "in")
        source.mkdir()
        for number, blob in enumerate(blobs):
            (source / f"{number}.bin").write_bytes(blob)
        started = time.perf_counter()
        subprocess.run([peer, "-o", str(Path(tmp, "out")), "-R", str(source)], check=True, capture_output=True)
        elapsed = time.perf_counter() - started
        counts = {f: sum(1 for line in Path(tmp, "out", f"{f}.txt").read_text(errors="replace").splitlines()
                         if line and not line.startswith("#"))
                  for f in ("email", "url", "ccn", "domain") if Path(tmp, "out", f"{f}.txt").exists()}
        print(f"bulk_extractor: {elapsed:.1f} s, {size / elapsed:,.1f} MB/s; features {counts}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
