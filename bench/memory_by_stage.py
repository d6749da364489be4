#!/usr/bin/env python3
"""Where the pipeline's memory goes: peak RSS per stage, main process and workers apart.

Runs `forensics process` on an image (a new case in a new SQLite database in WORKDIR) and samples,
every --interval seconds, the RSS of the forensics process and of each of its children, together
with the stage the case database says is running; prints, per stage, the peak of the whole tree, of
the main process and of the largest worker, and the number of processes. RSS counts file pages a
process has mapped (SQLite's mmap) as well as its own memory; USS (memory only this process holds)
is sampled beside it.

    .venv/bin/python bench/memory_by_stage.py IMAGE [--rules DIR] [--workdir DIR] [forensics process options, e.g. --no-expand]
"""
from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
FORENSICS = str(ROOT / ".venv" / "bin" / "forensics")
MIB = 1 << 20


def running_stage(db: Path) -> str:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            row = connection.execute("SELECT stage FROM processing_runs WHERE outcome = 'running' "
                                     "ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error:
        return "?"
    return row[0] if row else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("image", type=Path)
    parser.add_argument("--rules", default=None, help="a YARA rule file or directory to add first")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--interval", type=float, default=0.25)
    args, process_options = parser.parse_known_args()      # the rest goes to forensics process
    process_options = [o for o in process_options if o != "--"]
    work = args.workdir or Path(tempfile.mkdtemp(prefix="memory-by-stage-"))
    work.mkdir(parents=True, exist_ok=True)
    db = work / "cases.db"
    env = {**os.environ, "FORENSICS_KEY_DIR": str(work / "keys"), "FORENSICS_DATA_DIR": str(work / "data")}

    def cli(*command: str) -> None:
        subprocess.run([FORENSICS, "--db", f"sqlite:///{db}", *command], check=True, env=env,
                       stdout=subprocess.DEVNULL)
    if args.rules:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from pipeline_bench import usable_rules       # the files libyara compiles, as the pipeline bench takes

        rules, _refused = usable_rules(Path(args.rules), work)
        cli("rules", "add", "BENCH", *map(str, rules))
    cli("case", "create", "MEM")
    cli("evidence", "add", str(args.image), "--case", "MEM", "--exhibit", "1", "--examiner", "bench")
    started = time.perf_counter()
    process = subprocess.Popen([FORENSICS, "--db", f"sqlite:///{db}", "process", "--case", "MEM", "--exhibit", "1",
                                *process_options], env=env, stdout=subprocess.DEVNULL)
    root = psutil.Process(process.pid)
    peaks: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    while process.poll() is None:
        stage = running_stage(db)
        try:
            children = root.children(recursive=True)
            main_rss, main_uss = root.memory_info().rss, root.memory_full_info().uss
            workers = []
            for child in children:
                try:
                    workers.append((child.memory_info().rss, child.memory_full_info().uss))
                except psutil.Error:
                    pass
        except psutil.Error:
            break
        peak = peaks[stage]
        tree = main_rss + sum(r for r, _ in workers)
        for key, value in (("tree", tree), ("tree_uss", main_uss + sum(u for _, u in workers)), ("main", main_rss),
                           ("main_uss", main_uss), ("worker", max((r for r, _ in workers), default=0)),
                           ("worker_uss", max((u for _, u in workers), default=0)), ("processes", 1 + len(workers))):
            peak[key] = max(peak[key], value)
        time.sleep(args.interval)
    elapsed = time.perf_counter() - started
    print(f"forensics process: exit {process.returncode}, {elapsed:.1f} s; peak RSS (USS) in MiB per stage:")
    print(f"  {'stage':14} {'tree':>14} {'main':>14} {'largest worker':>16} {'processes':>9}")
    for stage, peak in peaks.items():
        print(f"  {stage:14} {peak['tree'] / MIB:7.0f} ({peak['tree_uss'] / MIB:4.0f}) {peak['main'] / MIB:7.0f} "
              f"({peak['main_uss'] / MIB:4.0f}) {peak['worker'] / MIB:9.0f} ({peak['worker_uss'] / MIB:4.0f}) "
              f"{peak['processes']:9.0f}")
    return process.returncode


if __name__ == "__main__":
    sys.exit(main())
