"""Every fuzz target (tests/fuzz/targets.py) runs briefly under atheris, coverage-guided, from its
seeds: a crash, an unexpected exception or a hang (10 s per input) fails the test with the input
libFuzzer saved. Longer runs: bench/fuzz.py. Inputs that once failed are replayed from regressions/."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fuzz.targets import TARGETS

ROOT = Path(__file__).resolve().parents[2]
REGRESSIONS = Path(__file__).with_name("regressions")

pytestmark = pytest.mark.skipif(importlib.util.find_spec("atheris") is None, reason="atheris is not installed")


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_short_fuzz_run(name, tmp_path):
    if name == "walker":
        from tests.conftest import require_tools
        require_tools("mkfs.vfat", "mcopy")
    run = subprocess.run([sys.executable, "-m", "tests.fuzz.run", name, "-runs=300", "-max_total_time=4",
                          "-timeout=10", "-rss_limit_mb=2048", f"-artifact_prefix={tmp_path}/",
                          f"-corpus={tmp_path / 'corpus'}"], cwd=ROOT, capture_output=True, text=True, timeout=180)
    saved = sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(("crash-", "timeout-", "oom-")))
    assert run.returncode == 0 and not saved, f"{name}: {saved}\n{run.stderr[-3000:]}"


@pytest.mark.parametrize("path", sorted(p for p in REGRESSIONS.glob("*/*") if p.is_file()) or [None])
def test_regressions_stay_fixed(path):
    if path is None:
        pytest.skip("no regression inputs recorded")
    function, _ = TARGETS[path.parent.name]
    function(path.read_bytes())
