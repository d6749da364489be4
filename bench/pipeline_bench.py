#!/usr/bin/env python3
"""The whole pipeline against the shell toolchain a lab scripts today, on the same disk, in alternation.

    .venv/bin/python bench/pipeline_bench.py --rules DIR_OR_FILE [--size-gb 2.0] [--pairs 2]
        [--known-good-os] [--count-bytes] [--floor] [--workdir DIR] [--rebuild]

Builds (or reuses) an MBR disk of real files from this machine with ext4, NTFS and FAT32 partitions
(bench/disk_image.py, ``ntfs=True``), takes a public YARA rule set (a file or a directory of
``.yar`` files; files libyara refuses are listed and left out on both sides), a known-bad MD5 list
and a PDQ list, and runs, alternating, ``--pairs`` times:

  ours       forensics case create; rules add; hashset import (known-bad MD5, PDQ[, known-good]);
             evidence add (media MD5/SHA-1/SHA-256); process (walk, three digests, type, hash sets,
             YARA, PDQ, TLSH, carving, custody, finalize re-hash)
  toolchain  yarac (the rule set compiled, timed as ours is in `rules add`); tsk_recover -e per
             partition; hashdeep -c md5,sha1,sha256 -r; file -b on every file; yara -C -p 2 -r;
             blkls | foremost per partition

Each command's wall time and peak RSS (whole process tree, bench/measure.py) are printed, with our
per-stage times from the case database, files/s, MB/s, and the ratio. ``--known-good-os`` adds a
run of ours with a known-good set built from the image's own OS paths (files under /usr/lib and
/usr/share as the first run recorded them) and ``--skip-known-good``. ``--count-bytes`` runs each
side once more under strace and counts the bytes read from the image file (not timed). ``--floor``
times the native engines alone on the toolchain's extracted files (bench/engine_floor.py) after the first
pair and prints the best ratio they leave ours, given what ours spent outside its content stage.
Speed is a figure printed here, never a test assertion.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True
sys.path.insert(0, str(Path(__file__).resolve().parent))

import disk_image  # noqa: E402
import measure  # noqa: E402
from disk_image import MIB, log  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = Path("/tmp/forensics-pipeline-bench")
ENV = dict(os.environ, LC_ALL="C.UTF-8", TZ="UTC")


def usable_rules(source: Path, workdir: Path) -> tuple[list[Path], list[str]]:
    """The rule files libyara compiles (each alone) and the refused ones."""
    import yara

    files = sorted(source.rglob("*.yar")) if source.is_dir() else [source]
    files = [f for f in files if "deprecated" not in f.parts and "mobile_malware" not in f.parts
             and not f.name.endswith("_index.yar") and f.name not in ("index.yar", "index_w_mobile.yar")]
    ok, refused = [], []
    for path in files:
        try:
            yara.compile(filepath=str(path))
            ok.append(path)
        except yara.Error as exc:
            refused.append(f"{path.name}: {str(exc)[:100]}")
    return ok, refused


def reference_lists(workdir: Path, manifest: dict) -> tuple[Path, Path]:
    """A known-bad MD5 list (random values plus a few files of the image) and a PDQ list."""
    rng = random.Random(42)
    bad = workdir / "known-bad.md5"
    lines = [f"{hashlib.md5(rng.randbytes(16)).hexdigest()}  sample{i}.bin" for i in range(5000)]
    picked = 0
    for source in manifest.get("sources", []):
        for root, _, names in os.walk(source):
            for name in sorted(names)[:1]:
                path = Path(root, name)
                if path.is_file() and not path.is_symlink() and path.stat().st_size < 4 * MIB and picked < 20:
                    lines.append(f"{hashlib.md5(path.read_bytes()).hexdigest()}  {name}")
                    picked += 1
    bad.write_text("\n".join(lines) + "\n")
    pdq = workdir / "known-bad.pdq"
    pdq.write_text("".join(f"{rng.randbytes(32).hex()},bench\n" for _ in range(2000)))
    return bad, pdq


def os_known_good(db: Path, out: Path) -> int:
    """Known-good SHA-256s: the files under /usr/lib and /usr/share of the image, as a run recorded them."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT DISTINCT sha256, path FROM file_entries WHERE sha256 IS NOT NULL AND "
                       "(path LIKE '/usr/lib/%' OR path LIKE '/usr/share/%')").fetchall()
    con.close()
    out.write_text("".join(f"{sha}  {path.rsplit('/', 1)[-1]}\n" for sha, path in rows))
    return len(rows)


def run_ours(exe: str, image: Path, workdir: Path, logdir: Path, rules: list[Path], bad: Path, pdq: Path,
             tag: str, known_good: Path | None = None, prefix: list[str] | None = None,
             expand: bool = False) -> dict:
    db = workdir / f"ours-{tag}.db"
    data = workdir / f"ours-{tag}-data"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(data, ignore_errors=True)
    env = dict(ENV, FORENSICS_DATA_DIR=str(data), FORENSICS_KEY_DIR=str(workdir / "no-keys"))
    base = [*(prefix or []), exe, "--db", f"sqlite:///{db}"]
    commands = [("case", [*base, "case", "create", "BENCH"]),
                ("rules", [*base, "rules", "add", "bench-rules", *map(str, rules), "--version", "bench"]),
                ("hashset-md5", [*base, "hashset", "import", str(bad), "--name", "bad-md5", "--kind", "known-bad"]),
                ("hashset-pdq", [*base, "hashset", "import", str(pdq), "--name", "bad-pdq", "--kind", "known-bad",
                                 "--format", "pdq-list"])]
    if known_good is not None:
        commands.append(("hashset-good", [*base, "hashset", "import", str(known_good), "--name", "os",
                                          "--kind", "known-good"]))
    commands += [("evidence-add", [*base, "evidence", "add", str(image), "--case", "BENCH", "--exhibit", "E1",
                                   "--examiner", "bench"]),
                 ("process", [*base, "process", "--case", "BENCH", "--exhibit", "E1"]
                  + (["--skip-known-good"] if known_good is not None else [])
                  # the toolchain does not look inside archives: like for like, expansion is measured
                  # on its own (bench/expand_bench.py) unless --expand asks for it here
                  + ([] if expand else ["--no-expand"]))]
    steps = []
    for name, argv in commands:
        log(f"ours[{tag}]: {name} ...")
        steps.append(measure.run(f"ours-{tag}-{name}", argv, logdir, env=env))
        if not steps[-1].ok:
            log(f"ours[{tag}]: {name} FAILED: {steps[-1].error_tail()}")
            break
    return {"steps": steps, "db": db, "data": data, "stages": stage_times(db) if steps[-1].ok else {},
            "counts": counts(db) if steps[-1].ok else {}}


def stage_times(db: Path) -> dict[str, float]:
    """Wall seconds per stage: from the first start to the last end of its runs."""
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute("SELECT stage, MIN(started_at), MAX(ended_at) FROM processing_runs GROUP BY stage "
                       "ORDER BY MIN(started_at)").fetchall()
    con.close()

    def seconds(value: str) -> float:
        from datetime import datetime
        return datetime.fromisoformat(value).timestamp()

    return {stage: round(seconds(end) - seconds(start), 1) for stage, start, end in rows if start and end}


def counts(db: Path) -> dict:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
    found = {"files": one("SELECT COUNT(*) FROM file_entries WHERE hash_status = 'hashed'"),
             "bytes": one("SELECT COALESCE(SUM(size), 0) FROM file_entries WHERE hash_status = 'hashed'"),
             "entries": one("SELECT COUNT(*) FROM file_entries"),
             "carved": one("SELECT COUNT(*) FROM carved_objects"),
             "carved_bytes": one("SELECT COALESCE(SUM(size), 0) FROM carved_objects"),
             "carve_range_bytes": one("SELECT COALESCE(SUM(length), 0) FROM carve_ranges"),
             "yara_hits": one("SELECT COUNT(*) FROM findings WHERE matcher = 'yara' AND outcome = 'match'"),
             "known_good_files": one("SELECT COUNT(*) FROM file_entries WHERE known_good = 1")}
    con.close()
    return found


def run_toolchain(image: Path, manifest: dict, workdir: Path, logdir: Path, rules: list[Path], tag: str,
                  prefix: list[str] | None = None, keep_files: bool = False) -> dict:
    out = workdir / f"toolchain-{tag}"
    shutil.rmtree(out, ignore_errors=True)
    (out / "files").mkdir(parents=True)
    steps = []

    def step(name: str, argv: list[str], stdout: Path | None = None) -> bool:
        log(f"toolchain[{tag}]: {name} ...")
        steps.append(measure.run(f"tools-{tag}-{name}", [*(prefix or []), *argv], logdir, stdout=stdout, env=ENV))
        return steps[-1].ok

    parts = manifest["partitions"]
    compiled = out / "rules.yarc"
    try:
        # compiling the rules is timed on both sides (ours: `rules add`)
        step("yarac", ["yarac", *(f"n{i}:{p}" for i, p in enumerate(rules)), str(compiled)])
        for p in parts:
            step(f"tsk_recover-p{p['number']}", ["tsk_recover", "-e", "-o", str(p["start_sector"]), str(image),
                                                  str(out / "files" / f"p{p['number']}")])
        step("hashdeep", ["hashdeep", "-c", "md5,sha1,sha256", "-r", str(out / "files")])
        files = 0
        with open(steps[-1].stdout, errors="replace") as handle:
            files = sum(1 for line in handle if line[:1].isdigit())
        listing = out / "files.list0"
        step("find", ["find", str(out / "files"), "-type", "f", "-print0"], stdout=listing)
        step("file", ["xargs", "-0", "-a", str(listing), "file", "-b"])
        step("yara", ["yara", "-C", "-p", "2", "-r", "-w", str(compiled), str(out / "files")])
        with open(steps[-1].stdout, errors="replace") as handle:
            hits = sum(1 for _ in handle)
        for p in parts:
            unalloc = out / f"unalloc-p{p['number']}"
            step(f"blkls-p{p['number']}", ["blkls", "-o", str(p["start_sector"]), str(image)], stdout=unalloc)
            step(f"foremost-p{p['number']}", ["foremost", "-q", "-i", str(unalloc), "-o",
                                               str(out / f"foremost-p{p['number']}")])
            unalloc.unlink(missing_ok=True)
        carved = sum(1 for f in out.glob("foremost-*/*/*") if f.is_file())
    finally:
        if not keep_files:                       # --floor reads them once more, then removes them
            shutil.rmtree(out / "files", ignore_errors=True)
    return {"steps": steps, "counts": {"files": files, "yara_hits": hits, "carved": carved}, "files": out / "files"}


def image_bytes_read(trace: Path, image: Path) -> int:
    """Sum of what read/pread64/preadv returned on file descriptors strace -y names as the image."""
    pattern = re.compile(r"\b(?:read|pread64|preadv2?)\((\d+)<([^>]*)>.*\)\s+=\s+(\d+)")
    total, name = 0, str(image)
    for path in trace.parent.glob(trace.name + "*"):
        with path.open(errors="replace") as handle:
            for line in handle:
                found = pattern.search(line)
                if found and found.group(2) == name:
                    total += int(found.group(3))
    return total


def yara_x_trial(rules: list[Path], manifest: dict, limit: int) -> dict:
    """yara-python (libyara) against YARA-X on the same rules and the same files (the image's sources,
    read into memory first): compile time, scan time on one core, and whether the matches are equal."""
    import yara

    try:
        import yara_x
    except ImportError:
        return {"available": False, "reason": "pip install yara-x to run the YARA-X trial"}
    files = []
    for source in manifest.get("sources", []):
        for root, _, names in os.walk(source):
            for name in sorted(names):
                path = Path(root, name)
                if path.is_file() and not path.is_symlink() and path.stat().st_size <= 32 * MIB:
                    files.append(path)
            if len(files) >= limit:
                break
        if len(files) >= limit:
            break
    data = [(str(f), f.read_bytes()) for f in files[:limit]]
    started = time.perf_counter()
    classic = yara.compile(filepaths={f"n{i}": str(p) for i, p in enumerate(rules)})
    classic_compile = time.perf_counter() - started
    started = time.perf_counter()
    compiler, refused = yara_x.Compiler(), []
    for i, path in enumerate(rules):
        compiler.new_namespace(f"n{i}")
        try:
            compiler.add_source(path.read_text(errors="replace"))
        except Exception as exc:                      # noqa: BLE001 (YARA-X rejects some libyara rules)
            refused.append(f"{path.name}: {str(exc).splitlines()[0][:100]}")
    modern = compiler.build()
    modern_compile = time.perf_counter() - started
    scanner = yara_x.Scanner(modern)
    refused_files = {r.split(":")[0] for r in refused}
    kept = {f"n{i}" for i, p in enumerate(rules) if p.name not in refused_files}
    started = time.perf_counter()
    a = {name: {(m.namespace, m.rule) for m in classic.match(data=blob) if m.namespace in kept}
         for name, blob in data}
    classic_scan = time.perf_counter() - started
    started = time.perf_counter()
    b = {name: {(r.namespace, r.identifier) for r in scanner.scan(blob).matching_rules} for name, blob in data}
    modern_scan = time.perf_counter() - started
    differ = [name for name in a if a[name] != b[name]]
    return {"available": True, "files": len(data), "mib": sum(len(x) for _, x in data) / MIB,
            "rule_files": len(rules), "refused_by_yara_x": refused, "libyara_compile_s": classic_compile,
            "yara_x_compile_s": modern_compile, "libyara_scan_s": classic_scan, "yara_x_scan_s": modern_scan,
            "files_with_different_matches": differ, "matches": sum(len(v) for v in a.values())}


def engine_floor(ours: dict, files: Path, known_good: Path | None) -> dict:
    """bench/engine_floor.py on ``files`` with the rule sets of our run's database (a subprocess: the
    engines are prepared as a content worker prepares them, from that run's data directory)."""
    argv = [sys.executable, str(Path(__file__).with_name("engine_floor.py")), "--db", f"sqlite:///{ours['db']}",
            "--files", str(files), "--json", *(["--known-good", str(known_good)] if known_good else [])]
    env = dict(ENV, FORENSICS_DATA_DIR=str(ours["data"]))
    done = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def report_floor(floor: dict, pair: dict, known: dict | None, what: str) -> dict:
    """The engines' CPU spread over this machine's cores, plus what ours spent outside the content stage:
    the least this pipeline could take with these engines, against what the ratio target allows."""
    import engine_floor as ef

    cores = os.cpu_count() or 1
    if known is None:
        total, content, target = pair["ours_total"], pair["stages"].get("content", 0.0), 0.5
    else:
        total, content, target = pair["known_good_total"], known["stages"].get("content", 0.0), 1 / 3
    outside = total - content
    best = outside + floor["total"] / cores
    print(f"  engines alone, {what}: {ef.describe(floor)}")
    print(f"    on {cores} cores >= {floor['total'] / cores:.1f} s; ours spent {outside:.1f} s outside the content "
          f"stage (setup commands and the other stages), so with these engines ours takes >= {best:.1f} s: "
          f"best ratio {best / pair['toolchain_total']:.2f} against the target {target:.2f} "
          f"({target * pair['toolchain_total']:.1f} s); the content stage took {content:.1f} s against the engines' "
          f"{floor['total'] / cores:.1f} s")
    return dict(floor, cores=cores, outside_content=outside, best_ratio=best / pair["toolchain_total"])


def wall(steps) -> float:
    return sum(s.wall_seconds for s in steps)


def cpu(steps) -> float:
    return sum(s.cpu_seconds for s in steps)


def peak(steps) -> float:
    return max(s.peak_rss for s in steps) / MIB


def report_pair(n: int, ours: dict, tools: dict, known_good: dict | None, image_mib: float) -> dict:
    for side, result in (("ours", ours), ("toolchain", tools), ("ours with known-good", known_good or {})):
        failed = [s for s in result.get("steps", []) if not s.ok]
        if failed:
            print(f"\npair {n}: {side} FAILED at {failed[0].name}; no ratio:\n  {failed[0].error_tail()}")
            return {"failed": f"{side}: {failed[0].name}"}
    o_process = next(s for s in ours["steps"] if s.name.endswith("-process"))
    o_total, t_total = wall(ours["steps"]), wall(tools["steps"])
    c = ours["counts"]
    print(f"\npair {n}")
    print(f"  {'side / command':44} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13}")
    for s in ours["steps"] + tools["steps"]:
        print(f"  {s.name:44} {s.wall_seconds:>8.1f} {s.cpu_seconds:>8.1f} {s.peak_rss / MIB:>13.0f}"
              f"{'' if s.ok else '  FAILED'}")
    print(f"  ours per stage (from processing_runs): {ours['stages']}")
    print(f"  ours:      total {o_total:7.1f} s ({cpu(ours['steps']):.1f} CPU s), process "
          f"{o_process.wall_seconds:7.1f} s, peak RSS "
          f"{peak(ours['steps']):5.0f} MiB; {c.get('files', 0):,} files hashed ({c.get('files', 0) / o_total:,.0f}"
          f" files/s), {(c.get('bytes', 0) / MIB + image_mib) / o_total:,.0f} MB/s read incl. media hash; "
          f"{c.get('yara_hits')} YARA hits, {c.get('carved')} carved")
    tc = tools["counts"]
    print(f"  toolchain: total {t_total:7.1f} s ({cpu(tools['steps']):.1f} CPU s), peak RSS "
          f"{peak(tools['steps']):5.0f} MiB; {tc['files']:,} files "
          f"({tc['files'] / t_total:,.0f} files/s), {tc['yara_hits']} YARA hits, {tc['carved']} carved")
    ratio = o_total / t_total
    print(f"  ratio ours/toolchain (wall): {ratio:.2f}  target <= 0.50 -> {'met' if ratio <= 0.5 else 'NOT met'}")
    result = {"ours_total": o_total, "ours_process": o_process.wall_seconds, "toolchain_total": t_total,
              "ours_cpu": cpu(ours["steps"]), "toolchain_cpu": cpu(tools["steps"]),
              "ratio": ratio, "ours_peak_mib": peak(ours["steps"]), "tools_peak_mib": peak(tools["steps"]),
              "stages": ours["stages"], "counts": c, "toolchain_counts": tc}
    if known_good is not None:
        k_total = wall(known_good["steps"])
        kratio = k_total / t_total
        print(f"  ours with an OS known-good set and --skip-known-good: total {k_total:.1f} s "
              f"({known_good['counts'].get('known_good_files', 0):,} known-good files), stages "
              f"{known_good['stages']}; ratio {kratio:.2f}  target <= 0.33 -> {'met' if kratio <= 1 / 3 else 'NOT met'}")
        result.update(known_good_total=k_total, known_good_ratio=kratio)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rules", type=Path, required=True, help="a YARA rule file or a directory of .yar files")
    parser.add_argument("--size-gb", type=float, default=2.0)
    parser.add_argument("--pairs", type=int, default=2)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--known-good-os", action="store_true")
    parser.add_argument("--count-bytes", action="store_true")
    parser.add_argument("--expand", action="store_true",
                        help="let ours open containers too (the toolchain does not; off for a like-for-like run)")
    parser.add_argument("--yara-x", type=int, default=0, metavar="FILES",
                        help="also compare yara-python with YARA-X on this many of the image's source files")
    parser.add_argument("--floor", action="store_true",
                        help="after the first pair, time the engines alone on the toolchain's extracted files "
                             "(bench/engine_floor.py) and print the best ratio they allow")
    parser.add_argument("--forensics", default=str(Path(sys.executable).with_name("forensics")))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    logdir = args.workdir / "logs"
    logdir.mkdir(exist_ok=True)

    manifest = disk_image.ensure_image(args.workdir, args.size_gb, rebuild=args.rebuild, ntfs=True)
    image = Path(manifest["image"])
    image_mib = manifest["size"] / MIB
    rules, refused = usable_rules(args.rules, args.workdir)
    bad, pdq = reference_lists(args.workdir, manifest)
    print(f"image {image} ({image_mib:,.0f} MiB): " + ", ".join(
        f"p{p['number']} {p['fs']} {p['files']:,} files ({p['data_bytes'] / MIB:,.0f} MiB)"
        for p in manifest["partitions"]))
    print(f"rules: {len(rules)} files from {args.rules} ({len(refused)} refused by libyara, left out on both "
          f"sides: {'; '.join(refused[:3])}{' ...' if len(refused) > 3 else ''})")
    results = []
    if args.yara_x:
        trial = yara_x_trial(rules, manifest, args.yara_x)
        results.append({"yara_x_trial": trial})
        if trial["available"]:
            print(f"YARA-X trial on {trial['files']:,} files ({trial['mib']:,.0f} MiB, in memory, one core): "
                  f"libyara compile {trial['libyara_compile_s']:.1f} s, scan {trial['libyara_scan_s']:.1f} s; "
                  f"YARA-X compile {trial['yara_x_compile_s']:.1f} s, scan {trial['yara_x_scan_s']:.1f} s; "
                  f"{len(trial['refused_by_yara_x'])} rule files YARA-X refuses; files whose matches differ "
                  f"(on the rules both take): {len(trial['files_with_different_matches'])} "
                  f"({', '.join(trial['files_with_different_matches'][:3])})")
        else:
            print(f"YARA-X trial: {trial['reason']}")
    known_good_list = None
    for n in range(1, args.pairs + 1):
        order = ("ours", "tools") if n % 2 else ("tools", "ours")
        done = {}
        for side in order:
            measure.read_through(image)            # both sides start with the image in the page cache
            if side == "ours":
                done["ours"] = run_ours(args.forensics, image, args.workdir, logdir, rules, bad, pdq, f"p{n}",
                                         expand=args.expand)
            else:
                done["tools"] = run_toolchain(image, manifest, args.workdir, logdir, rules, f"p{n}",
                                              keep_files=args.floor and n == 1)
        known = None
        if args.known_good_os:
            if known_good_list is None:
                known_good_list = args.workdir / "os-known-good.sha256"
                print(f"known-good set from the image's OS paths: {os_known_good(done['ours']['db'], known_good_list):,}"
                      f" SHA-256 values")
            measure.read_through(image)
            known = run_ours(args.forensics, image, args.workdir, logdir, rules, bad, pdq, f"p{n}-kg",
                             known_good=known_good_list, expand=args.expand)
        results.append(report_pair(n, done["ours"], done["tools"], known, image_mib))
        if args.floor and n == 1:
            files = done["tools"]["files"]
            try:
                if "failed" not in results[-1]:
                    floors = {"floor": report_floor(engine_floor(done["ours"], files, None), results[-1], None,
                                                    "one core, the toolchain's extracted files")}
                    if known is not None:
                        floors["floor_known_good"] = report_floor(
                            engine_floor(done["ours"], files, known_good_list), results[-1], known,
                            "known-good content digested and typed only")
                    results[-1].update(floors)
            finally:
                shutil.rmtree(files, ignore_errors=True)

    if args.count_bytes:
        trace = args.workdir / "strace"
        shutil.rmtree(trace, ignore_errors=True)
        trace.mkdir()
        strace = ["strace", "-ff", "-qq", "-y", "-e", "trace=read,pread64,preadv,preadv2", "-e", "signal=none",
                  "-o"]
        ours = run_ours(args.forensics, image, args.workdir, logdir, rules, bad, pdq, "bytes",
                        prefix=[*strace, str(trace / "ours")], expand=args.expand)
        tools = run_toolchain(image, manifest, args.workdir, logdir, rules, "bytes",
                              prefix=[*strace, str(trace / "tools")])
        ours_read, tools_read = image_bytes_read(trace / "ours", image), image_bytes_read(trace / "tools", image)
        c = ours["counts"]
        content = c.get("bytes", 0) + c.get("carve_range_bytes", 0)
        media = 2 * manifest["size"]                  # intake hash and finalize re-hash read the whole image
        print(f"\nbytes read from the image: ours {ours_read / MIB:,.0f} MiB (of which {media / MIB:,.0f} MiB "
              f"hashing the media at intake and finalize), toolchain {tools_read / MIB:,.0f} MiB")
        ratio = (ours_read - media) / content if content else None
        print(f"ours without the two media hashes / (file bytes + carved ranges = {content / MIB:,.0f} MiB): "
              f"{ratio:.2f}  target <= 1.3 -> {'met' if ratio is not None and ratio <= 1.3 else 'NOT met'}")
        results.append({"bytes_read": {"ours": ours_read, "toolchain": tools_read, "media_hashes": media,
                                       "files_and_carve_ranges": content}})
    (args.workdir / "results.json").write_text(json.dumps({"manifest": manifest, "results": results}, indent=2,
                                                          default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
