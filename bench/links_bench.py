#!/usr/bin/env python3
"""Cross-case links at scale: planted links found, controls unlinked, extraction MB/s, correlation time.

1. Builds five FAT images from forensics.link_material (three operation cases sharing a file, a PDQ
   variant, a TLSH variant, e-mail addresses and Bitcoin wallets; two control cases; a file all five
   hold; a known-good file), each padded with --filler random files, and runs `forensics process
   --indicators` on each: prints the content pass's wall time and the extraction rate (the same
   process without --indicators, the difference over the bytes read), and checks that every planted
   link is listed by `forensics links` and that no control case is linked to anything.
2. Adds --cases synthetic cases until the database holds --indicators identifier rows in link_values
   (values drawn so some are rare, some common, and --planted of them shared with OP-A), then times
   `links_of` for OP-A and for the largest synthetic case, beside the peer a lab would script: every
   case's values exported as text, `sort` and `join` (GNU coreutils) for the same question.

    .venv/bin/python bench/links_bench.py [--indicators 10000000] [--cases 200] [--db URL]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
FORENSICS = str(ROOT / ".venv" / "bin" / "forensics")
MB = 1_000_000


def run(url: str, *args: str) -> str:
    result = subprocess.run([FORENSICS, "--db", url, *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"forensics {' '.join(args)} failed: {result.stderr.strip() or result.stdout.strip()}")
    return result.stdout


def build_cases(work: Path, url: str, filler: int, filler_size: int) -> dict:
    from forensics.link_material import CONTROLS, OPERATIONS, link_material
    from forensics.sample import build_fat_image

    material = link_material(filler=filler, filler_size=filler_size)
    (work / "good.md5").write_text(material.known_good_md5)
    run(url, "hashset", "import", str(work / "good.md5"), "--name", "lab-os", "--kind", "known-good")
    timings = {}
    for number, name in enumerate((*OPERATIONS, *CONTROLS)):
        run(url, "case", "create", name, "--contact", f"unit {number}, duty desk")
        size = sum(map(len, material.files[name].values()))
        image = build_fat_image(work / f"{name}.img", material.files[name], size_mib=max(16, size * 2 // MB + 8),
                                volume_id=material.volume_ids[name])
        run(url, "evidence", "add", str(image), "--case", name, "--exhibit", "1", "--examiner", "bench")
        started = time.perf_counter()
        run(url, "process", "--case", name, "--exhibit", "1", "--no-carve", "--no-expand", "--indicators")
        with_indicators = time.perf_counter() - started
        run(url, "evidence", "add", str(image), "--case", name, "--exhibit", "plain", "--examiner", "bench")
        started = time.perf_counter()
        run(url, "process", "--case", name, "--exhibit", "plain", "--no-carve", "--no-expand")
        timings[name] = (size, with_indicators, time.perf_counter() - started)
    return {"material": material, "timings": timings}


def check(url: str, material) -> list[str]:
    from evidence_store.accounts import add_user
    from evidence_store.db import Database
    from forensics.link_material import CONTROLS, OPERATIONS

    add_user(Database(url), "bench-examiner", "examiner", "bench password 123", [*OPERATIONS, *CONTROLS])
    problems = []
    listed = {case: {row["other_case"]: row for row in map(json.loads, run(
        url, "links", "--case", case, "--json", "--user", "bench-examiner").splitlines())}
        for case in (*OPERATIONS, *CONTROLS)}
    for planted in material.planted:
        here, there = planted.cases
        evidence = listed[here].get(there, {}).get("evidence", [])
        if not any(e["type"] == planted.type and (planted.value is None or e["value"] == planted.value)
                   for e in evidence):
            problems.append(f"planted {planted.type} {planted.value or ''} between {here} and {there} not found")
    for control in CONTROLS:
        if listed[control]:
            problems.append(f"control {control} linked to {sorted(listed[control])}")
    return problems


def add_synthetic(url: str, cases: int, indicators: int, planted: int, seed: int = 5) -> tuple[int, int]:
    """Synthetic cases with one exhibit each and ``indicators`` identifier rows in all (link_values),
    written in bulk; returns (rows written, id of the largest synthetic case)."""
    from sqlalchemy import insert, select

    from evidence_store.db import Database
    from evidence_store.models import Case, Exhibit, LinkValue

    db = Database(url)
    rng = random.Random(seed)
    with db.session() as session:
        op_a = session.scalar(select(Case.id).where(Case.name == "OP-A"))
        op_a_values = [(v.kind, v.value, v.value_key) for v in session.scalars(
            select(LinkValue).where(LinkValue.case_id == op_a, LinkValue.kind.not_in(("sha256", "pdq", "tlsh"))))]
    # sizes: a few big cases, many small ones (Zipf-like), summing to `indicators`
    weights = [1 / (i + 1) for i in range(cases)]
    sizes = [max(1, int(indicators * w / sum(weights))) for w in weights]
    kinds = ("email", "url", "domain", "ipv4", "phone", "bitcoin")
    written, largest = 0, None
    common = [f"common{i}@mail.example" for i in range(50)]          # in many cases: weigh little or nothing
    for number, size in enumerate(sizes):
        with db.session() as session:
            case = Case(name=f"SYN-{number:04d}", contact=f"synthetic unit {number}")
            session.add(case)
            session.flush()
            exhibit = Exhibit(case_id=case.id, number="1", examiner="bench", image_path="/dev/null",
                              status="complete")
            session.add(exhibit)
            session.flush()
            largest = largest or case.id
            seen: set[str] = set()
            batch = []

            def add(kind: str, value: str, key: str | None = None) -> None:
                key = key or hashlib.sha256(f"{kind}\0{value}".encode()).hexdigest()
                if key in seen:
                    return
                seen.add(key)
                batch.append({"case_id": case.id, "exhibit_id": exhibit.id, "kind": kind, "value": value,
                              "value_key": key, "occurrences": 1, "size": None, "item": "file", "item_id": 0,
                              "location": f"/synthetic/{len(seen)}.txt", "offset": 0, "restricted": False})

            if number < planted and op_a_values:
                kind, value, key = op_a_values[number % len(op_a_values)]
                add(kind, value, key)
            for value in rng.sample(common, 5):
                add("email", value)
            while len(seen) < size:
                kind = kinds[len(seen) % len(kinds)]
                add(kind, f"{kind}-{rng.getrandbits(64):016x}")        # unique values: link nothing
                if len(batch) >= 50_000:
                    session.execute(insert(LinkValue), batch)
                    written += len(batch)
                    batch.clear()
            session.execute(insert(LinkValue), batch)
            written += len(batch)
        if (number + 1) % max(1, cases // 10) == 0:
            print(f"  synthetic cases: {number + 1}/{cases}, rows {written:,}", flush=True)
    return written, largest


def peer(url: str, case_id: int, work: Path) -> tuple[float, int]:
    """sort + join over every case's values exported as 'value_key case_id' lines."""
    from sqlalchemy import select

    from evidence_store.db import Database
    from evidence_store.models import LinkValue

    db = Database(url)
    every, mine = work / "all.txt", work / "mine.txt"
    with db.reading() as session, every.open("w") as out, mine.open("w") as own:
        for key, case in session.execute(select(LinkValue.value_key, LinkValue.case_id).execution_options(
                yield_per=100_000)):
            out.write(f"{key} {case}\n")
            if case == case_id:
                own.write(f"{key}\n")
    env = {**os.environ, "LC_ALL": "C"}
    started = time.perf_counter()
    subprocess.run(["sort", "-u", "-o", str(work / "all.sorted"), str(every)], check=True, env=env)
    subprocess.run(["sort", "-u", "-o", str(work / "mine.sorted"), str(mine)], check=True, env=env)
    joined = subprocess.run(["join", str(work / "mine.sorted"), str(work / "all.sorted")], check=True, env=env,
                            capture_output=True, text=True).stdout
    elapsed = time.perf_counter() - started
    others = {line.split()[1] for line in joined.splitlines() if line.split()[1] != str(case_id)}
    return elapsed, len(others)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--indicators", type=int, default=10_000_000, help="identifier rows in all (synthetic)")
    parser.add_argument("--cases", type=int, default=200, help="synthetic cases to spread them over")
    parser.add_argument("--planted", type=int, default=20, help="synthetic cases sharing one of OP-A's values")
    parser.add_argument("--filler", type=int, default=300, help="random files per real case")
    parser.add_argument("--filler-size", type=int, default=65536)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in the work directory)")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()

    from evidence_store.db import Database
    from evidence_store.links.correlate import links_of
    from evidence_store.models import Case
    from sqlalchemy import select

    work = args.work or Path(tempfile.mkdtemp(prefix="links-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FORENSICS_KEY_DIR", str(work / "keys"))
    url = args.db or f"sqlite:///{work / 'cases.db'}"
    print(f"work directory {work}; database {url.split('@')[-1]}")
    built = build_cases(work, url, args.filler, args.filler_size)
    print("\nreal cases (forensics process --no-carve --no-expand, FAT image each):")
    print(f"  {'case':8} {'MB':>7} {'with --indicators':>18} {'without':>9} {'extraction MB/s':>16}")
    for name, (size, on, off) in built["timings"].items():
        rate = size / MB / (on - off) if on > off else float("inf")
        print(f"  {name:8} {size / MB:7.1f} {on:16.1f} s {off:7.1f} s {rate:16.1f}")
    problems = check(url, built["material"])
    print(f"planted links: {len(built['material'].planted)}, all found, controls unlinked" if not problems else
          "PROBLEMS:\n  " + "\n  ".join(problems))

    print(f"\nscale: {args.cases} synthetic cases, {args.indicators:,} identifier rows")
    started = time.perf_counter()
    written, largest = add_synthetic(url, args.cases, args.indicators, args.planted)
    print(f"  written {written:,} rows in {time.perf_counter() - started:.1f} s")
    db = Database(url)
    with db.reading() as session:
        op_a = session.scalar(select(Case.id).where(Case.name == "OP-A"))
    for label, case_id in (("OP-A", op_a), ("largest synthetic", largest)):
        with db.reading() as session:
            started = time.perf_counter()
            found = links_of(session, case_id)
            ours = time.perf_counter() - started
        peer_time, peer_cases = peer(url, case_id, work)
        print(f"  links of {label}: ours {ours:.2f} s -> {len(found)} linked cases; "
              f"peer sort+join {peer_time:.2f} s -> {peer_cases} cases sharing any value (no weights, "
              f"no known-good, no near matches)")
        if label == "OP-A":
            names = {link.other_case for link in found}
            expected = {f"SYN-{n:04d}" for n in range(args.planted)} | {"OP-B"}
            missing = expected - names
            print("  every planted synthetic link found" if not missing else f"  MISSING: {sorted(missing)}")
            problems += [f"missing {m}" for m in missing]
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
