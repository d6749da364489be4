#!/usr/bin/env python3
"""Longer fuzz runs of every target (tests/fuzz/targets.py), one after another; prints runs, time and
whether a crash, timeout or out-of-memory input was saved (under WORKDIR/<target>/).

    .venv/bin/python bench/fuzz.py [--seconds 60] [--only carver-jpeg,walker] [--workdir DIR]

A saved input is a bug: fix it, and keep the input as tests/fuzz/regressions/<target>/<name>.
"""
from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    from tests.fuzz.targets import TARGETS

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--only", default="")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/forensics-fuzz"))
    args = parser.parse_args()
    names = [n for n in sorted(TARGETS) if not args.only or n in args.only.split(",")]
    failed = 0
    print(f"{'target':22} {'runs':>10} {'seconds':>8}  result")
    for name in names:
        out = args.workdir / name
        (out / "corpus").mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        run = subprocess.run([sys.executable, "-m", "tests.fuzz.run", name, f"-max_total_time={args.seconds}",
                              "-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={out}/",
                              f"-corpus={out / 'corpus'}"], cwd=ROOT, capture_output=True, text=True)
        runs = re.search(r"Done (\d+) runs", run.stderr)
        saved = sorted(p.name for p in out.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
        failed += bool(saved) or run.returncode != 0
        result = "ok" if run.returncode == 0 and not saved else f"FAILED {saved or run.stderr[-300:]}"
        print(f"{name:22} {runs.group(1) if runs else '-':>10} {time.monotonic() - started:>8.0f}  {result}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
