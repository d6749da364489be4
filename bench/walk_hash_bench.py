#!/usr/bin/env python3
"""Walk + hash + type benchmark: our pipeline against The Sleuth Kit + hashdeep + file.

Builds (or reuses) a multi-partition raw disk image of real files (see disk_image.py), runs

  ours:       forensics case create / evidence add / process      (the CLI, one process each)
  toolchain:  tsk_recover -e per partition, hashdeep -c md5,sha1,sha256 -r, file -b on each file

measuring wall time and peak RSS of each command's whole process tree (measure.py), and
prints a table plus WORKDIR/results.json. Speed lives here as reported figures, never as
timed assertions in the test suite.

    .venv/bin/python bench/walk_hash_bench.py [--size-gb 1.0] [--workdir DIR] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

sys.dont_write_bytecode = True  # keep bench/ free of __pycache__
sys.path.insert(0, str(Path(__file__).resolve().parent))

import disk_image  # noqa: E402  (bench/ is not a package; these sit next to this script)
import measure  # noqa: E402
from disk_image import MIB, log  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
DEFAULT_WORKDIR = Path("/tmp/forensics-bench")
TARGET_RSS_MIB = 500
TOOL_ENV = dict(os.environ, LC_ALL="C.UTF-8", TZ="UTC")
_HASH_COLUMNS = ("sha256", "sha256_hex", "sha256_digest")
_SIZE_COLUMNS = ("bytes_hashed", "size", "size_bytes", "file_size", "content_size", "data_size", "length")


# --- ours -----------------------------------------------------------------------------------

def find_forensics(explicit: str | None) -> str | None:
    candidates = [explicit] if explicit else [
        str(Path(sys.executable).parent / "forensics"), str(REPO / ".venv" / "bin" / "forensics"),
        shutil.which("forensics")]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


def _db_counts(db: Path) -> dict | None:
    """Files and bytes hashed, read from the case database without knowing its schema:
    the table with the most rows carrying a SHA-256 (the evidence's own row loses to the
    per-file rows), its size column summed over those rows."""
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    best: dict | None = None
    try:
        tables = [row[0] for row in con.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            columns = {row[1].lower(): row[1] for row in con.execute(f'PRAGMA table_info("{table}")')}
            hash_col = next((columns[c] for c in _HASH_COLUMNS if c in columns), None)
            if hash_col is None:
                continue
            size_col = next((columns[c] for c in _SIZE_COLUMNS if c in columns), None)
            size_sum = f'COALESCE(SUM("{size_col}"), 0)' if size_col else "NULL"
            count, size = con.execute(f'SELECT COUNT(*), {size_sum} FROM "{table}" '
                                      f'WHERE "{hash_col}" IS NOT NULL').fetchone()
            if best is None or count > best["files"]:
                best = {"files": count, "bytes": size, "source": f"{db.name}:{table}.{hash_col}"
                        + (f" (bytes: SUM({size_col}))" if size_col else " (no size column)")}
    finally:
        con.close()
    return best


def run_ours(exe: str | None, image: Path, workdir: Path, logdir: Path, prepare) -> dict:
    if exe is None:
        return {"available": False, "reason": "no forensics executable found (pip install -e . in the venv)"}
    probe = subprocess.run([exe, "--help"], capture_output=True, text=True, check=False,
                           stdin=subprocess.DEVNULL)
    if probe.returncode != 0:
        reason = (probe.stderr or probe.stdout).strip().splitlines()
        return {"available": False, "reason": f"`{exe} --help` failed: {reason[-1] if reason else probe.returncode}"}
    db = workdir / "bench.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    base = [exe, "--db", f"sqlite:///{db}"]
    commands = [
        ("case-create", [*base, "case", "create", "BENCH"], False),
        ("evidence-add", [*base, "evidence", "add", str(image), "--case", "BENCH", "--exhibit", "E1",
                          "--examiner", "bench"], True),
        ("process", [*base, "process", "--case", "BENCH", "--exhibit", "E1", "--no-carve", "--no-match"], True),
    ]
    steps: list[measure.Step] = []
    for name, argv, reads_image in commands:
        if reads_image:
            prepare(image)
        log(f"ours: {name} ...")
        steps.append(measure.run(f"ours-{name}", argv, logdir))
        log(f"ours: {name}: exit {steps[-1].returncode}, {steps[-1].wall_seconds:.1f} s")
        if not steps[-1].ok:
            break
    counts = _db_counts(db) if steps[-1].ok else None
    if counts is not None:  # the CLI's own summary line, as a cross-check of the schema guess
        said = re.search(r"(\d+) hashed", Path(steps[-1].stdout).read_text(errors="replace"))
        counts["cli_reported_hashed"] = int(said.group(1)) if said else None
    return {"available": True, "steps": steps, "counts": counts}


# --- the independent toolchain --------------------------------------------------------------------

def _hashdeep_totals(output: Path) -> tuple[int, int]:
    """(files, bytes) from hashdeep's "size,md5,sha1,sha256,filename" lines."""
    files = size = 0
    with output.open(errors="replace") as handle:
        for line in handle:
            head = line.split(",", 1)[0]
            if head.isdigit():
                files += 1
                size += int(head)
    return files, size


def run_toolchain(image: Path, manifest: dict, workdir: Path, logdir: Path, prepare, keep: bool) -> dict:
    outdir = workdir / "tsk_recover"
    shutil.rmtree(outdir, ignore_errors=True)
    outdir.mkdir(parents=True)
    steps: list[measure.Step] = []
    recovered: dict[str, int] = {}
    try:
        for part in manifest["partitions"]:
            prepare(image)
            name = f"tsk_recover-p{part['number']}"
            log(f"toolchain: {name} ({part['fs']}) ...")
            steps.append(measure.run(name, ["tsk_recover", "-e", "-o", str(part["start_sector"]), str(image),
                                            str(outdir / f"p{part['number']}")], logdir, env=TOOL_ENV))
            found = re.search(r"Files Recovered:\s*(\d+)", Path(steps[-1].stdout).read_text(errors="replace"))
            recovered[name] = int(found.group(1)) if found else -1
        log("toolchain: hashdeep ...")
        steps.append(measure.run("hashdeep", ["hashdeep", "-c", "md5,sha1,sha256", "-r", str(outdir)],
                                 logdir, env=TOOL_ENV))
        files, size = _hashdeep_totals(Path(steps[-1].stdout))
        log("toolchain: file ...")
        file_list = logdir / "toolchain-files.list0"
        steps.append(measure.run("find", ["find", str(outdir), "-type", "f", "-print0"], logdir,
                                 stdout=file_list, env=TOOL_ENV))
        steps.append(measure.run("file", ["xargs", "-0", "-a", str(file_list), "file", "-b"], logdir,
                                 env=TOOL_ENV))
        with Path(steps[-1].stdout).open("rb") as handle:
            typed = sum(1 for _ in handle)
    finally:
        if not keep:
            shutil.rmtree(outdir, ignore_errors=True)
    return {"steps": steps, "counts": {"files": files, "bytes": size, "typed": typed,
                                       "source": "hashdeep output", "tsk_recover": recovered}}


# --- report ---------------------------------------------------------------------------------------

def _row(label: str, files: int | None, size: int | None, steps: list[measure.Step]) -> dict:
    wall = sum(s.wall_seconds for s in steps)
    ok = bool(steps) and all(s.ok for s in steps)
    return {"label": label, "ok": ok, "files": files, "bytes_hashed": size,
            "mb_hashed": None if size is None else size / MIB, "wall_seconds": round(wall, 3),
            "files_per_s": files / wall if files and wall else None,
            "mb_per_s": size / MIB / wall if size and wall else None,
            "peak_rss_mb": max(s.peak_rss for s in steps) / MIB if steps else None}


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _fmt(value: float | int | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summarize(image_size: int, ours: dict, tools: dict | None) -> dict:
    rows: list[dict] = []
    if ours.get("available") and ours["steps"]:
        steps = {s.name.removeprefix("ours-"): s for s in ours["steps"]}
        counts = ours.get("counts") or {}
        if "evidence-add" in steps:
            rows.append(_row("ours: evidence add (media hash)", None, image_size, [steps["evidence-add"]]))
        if "process" in steps:
            rows.append(_row("ours: process (walk+hash+type)", counts.get("files"), counts.get("bytes"),
                             [steps["process"]]))
        total_bytes = image_size + counts["bytes"] if counts.get("bytes") is not None else None
        rows.append(_row("ours: total (3 commands)", counts.get("files"), total_bytes, ours["steps"]))
    if tools is not None:
        c = tools["counts"]
        rows.append(_row("toolchain: tsk_recover+hashdeep+file", c["files"], c["bytes"], tools["steps"]))
    ratios = {}
    tool_row = next((r for r in rows if r["label"].startswith("toolchain")), None)
    for row in rows:
        if tool_row and row["label"].startswith(("ours: process", "ours: total")):
            key = "process" if "process" in row["label"] else "total"
            ratios[key] = {k: _ratio(row[k], tool_row[k]) for k in
                           ("files", "mb_hashed", "wall_seconds", "files_per_s", "mb_per_s", "peak_rss_mb")}
    return {"rows": rows, "ratios_ours_over_toolchain": ratios}


def print_report(summary: dict, ours: dict, tools: dict | None, manifest: dict) -> None:
    parts = ", ".join(f"p{p['number']} {p['fs']} {p['size'] // MIB} MiB: {p['files']} files "
                      f"({p['data_bytes'] / MIB:.0f} MiB), {len(p['deleted'])} deleted"
                      for p in manifest["partitions"])
    print(f"\nimage {manifest['image']} ({manifest['size'] / MIB:.0f} MiB): {parts}")
    print(f"peak RSS = max(psutil sampled sum over the process tree, ru_maxrss via "
          f"{'/usr/bin/time -v' if measure.GNU_TIME else 'wait4'}); MB = MiB (2**20 bytes)\n")
    header = f"{'':40} {'files':>8} {'MB hashed':>10} {'wall s':>8} {'files/s':>9} {'MB/s':>8} {'peak RSS MB':>12}"
    print(header)
    print("-" * len(header))
    for row in summary["rows"]:
        flag = "" if row["ok"] else "  FAILED"
        print(f"{row['label']:40} {_fmt(row['files'], 'd'):>8} {_fmt(row['mb_hashed'], '.1f'):>10} "
              f"{row['wall_seconds']:>8.2f} {_fmt(row['files_per_s'], '.0f'):>9} "
              f"{_fmt(row['mb_per_s'], '.1f'):>8} {_fmt(row['peak_rss_mb'], '.1f'):>12}{flag}")
    for key, ratio in summary["ratios_ours_over_toolchain"].items():
        print(f"{'ratio ours ' + key + ' / toolchain':40} {_fmt(ratio['files'], '.2f'):>8} "
              f"{_fmt(ratio['mb_hashed'], '.2f'):>10} {_fmt(ratio['wall_seconds'], '.2f'):>8} "
              f"{_fmt(ratio['files_per_s'], '.2f'):>9} {_fmt(ratio['mb_per_s'], '.2f'):>8} "
              f"{_fmt(ratio['peak_rss_mb'], '.2f'):>12}")
    print()
    for line in target_lines(summary, ours):
        print(line)
    for name, result in (("ours", ours), ("toolchain", tools)):
        for step in (result or {}).get("steps", []):
            if not step.ok:
                print(f"{name}: {step.name} exited {step.returncode}; stderr tail ({step.stderr}):\n"
                      f"  " + step.error_tail().replace("\n", "\n  "))
    for name, result in (("ours", ours), ("toolchain", tools)):
        if result and result.get("all_runs_wall_seconds"):
            print(f"{name}: total wall of each run {result['all_runs_wall_seconds']} (fastest shown)")
    if ours.get("counts"):
        print(f"ours counted from {ours['counts']['source']}; the CLI itself reported "
              f"{ours['counts']['cli_reported_hashed']} hashed")
    if tools:
        c = tools["counts"]
        print(f"toolchain: tsk_recover {c['tsk_recover']}, hashdeep {c['files']} files, file typed {c['typed']}")


def target_lines(summary: dict, ours: dict) -> list[str]:
    if not ours.get("available"):
        return [f"ours: not measured -- {ours.get('reason')}",
                "targets (ours no slower than the toolchain; ours peak RSS < 500 MB): not evaluated"]
    failed = [s.name for s in ours["steps"] if not s.ok]
    if failed:
        return [f"targets not evaluated: ours failed at {failed[0]}"]
    lines = []
    for key, ratio in summary["ratios_ours_over_toolchain"].items():
        wall = ratio["wall_seconds"]
        verdict = "-" if wall is None else ("met" if wall <= 1.0 else "NOT met")
        lines.append(f"target ours {key} no slower than the toolchain (wall ratio <= 1.00): "
                     f"{_fmt(wall, '.2f')} -> {verdict}")
    peaks = [s.peak_rss for s in ours["steps"]]
    peak = max(peaks) / MIB if peaks else None
    verdict = "-" if peak is None else ("met" if peak < TARGET_RSS_MIB else "NOT met")
    lines.append(f"target ours peak RSS < {TARGET_RSS_MIB} MB: {_fmt(peak, '.1f')} MB -> {verdict}")
    return lines


def _jsonable(result: dict | None) -> dict | None:
    if result is None:
        return None
    return {k: ([s.as_dict() for s in v] if k == "steps" else v) for k, v in result.items()}


def _fastest(runs: list[dict]) -> dict:
    """The run with the least total wall time (failed runs last), with every run's total."""
    def total(run: dict) -> float:
        steps = run.get("steps") or []
        return sum(s.wall_seconds for s in steps) if steps and all(s.ok for s in steps) else float("inf")
    best = dict(min(runs, key=total))
    if len(runs) > 1:
        best["all_runs_wall_seconds"] = [round(total(r), 3) for r in runs]
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=1.0, help="disk image size in GiB (default 1.0)")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR,
                        help=f"image cache, case DB, logs, results.json (default {DEFAULT_WORKDIR})")
    parser.add_argument("--keep", action="store_true",
                        help="keep the build staging tree / fs images and tsk_recover's output")
    parser.add_argument("--rebuild", action="store_true", help="rebuild the image even if cached")
    parser.add_argument("--cold", action="store_true",
                        help="drop the image from the page cache before each run (default: read it "
                             "through first, so both sides start warm)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="run each side N times (alternating) and report its fastest run")
    parser.add_argument("--skip-ours", action="store_true")
    parser.add_argument("--skip-toolchain", action="store_true")
    parser.add_argument("--forensics", help="path of the forensics CLI (default: next to this python)")
    args = parser.parse_args(argv)

    workdir = args.workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    logdir = workdir / "logs"
    shutil.rmtree(logdir, ignore_errors=True)
    manifest = disk_image.ensure_image(workdir, args.size_gb, rebuild=args.rebuild, keep=args.keep)
    image = Path(manifest["image"])
    prepare = measure.evict_from_cache if args.cold else measure.read_through

    load_before = os.getloadavg()
    if load_before[0] > 0.5:
        log(f"warning: load average {load_before[0]:.2f} before measuring; other work on this "
            "machine will inflate and scatter the wall times (try --repeat 3)")
    ours_runs: list[dict] = []
    tool_runs: list[dict] = []
    exe = find_forensics(args.forensics)
    for number in range(1, max(1, args.repeat) + 1):
        if args.repeat > 1:
            log(f"--- run {number} of {args.repeat}")
        if args.skip_ours:
            ours_runs.append({"available": False, "reason": "--skip-ours"})
        else:
            ours_runs.append(run_ours(exe, image, workdir, logdir / f"run{number}", prepare))
            if not ours_runs[-1].get("available"):
                log(f"ours: skipped: {ours_runs[-1]['reason']}")
        if not args.skip_toolchain:
            tool_runs.append(run_toolchain(image, manifest, workdir, logdir / f"run{number}", prepare,
                                           args.keep))
    ours, tools = _fastest(ours_runs), (_fastest(tool_runs) if tool_runs else None)

    summary = summarize(manifest["size"], ours, tools)
    print_report(summary, ours, tools, manifest)
    results = {
        "generated": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "cache": "cold" if args.cold else "warm",
        "repeat": args.repeat,
        "load_average_before_after": [list(load_before), list(os.getloadavg())],
        "rss_method": f"max(psutil tree sum every {measure.POLL}s, ru_maxrss via "
                      f"{'/usr/bin/time -v' if measure.GNU_TIME else 'wait4'})",
        "units": {"mb": "MiB (2**20 bytes)"},
        "image": manifest,
        "ours": _jsonable(ours),
        "toolchain": _jsonable(tools),
        **summary,
        "targets": {"ours_wall_over_toolchain_max": 1.0, "ours_peak_rss_mb_max": TARGET_RSS_MIB,
                    "verdicts": target_lines(summary, ours)},
    }
    (workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(f"\nresults: {workdir / 'results.json'}; command output: {logdir}")
    failed = [s for r in (ours, tools or {}) for s in r.get("steps", []) if not s.ok]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
