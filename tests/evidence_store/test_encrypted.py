"""An encrypted volume is reported without its key and walked with it.

Runs the CLI in fresh processes: dfvfs keeps unlocked keys per process, so each
run must be given the credential again (as each Airflow task is).
"""
from __future__ import annotations

import json
import subprocess
import sys

from forensics.sample import build_ext4_image, build_luks_image, sample_files
from tests.conftest import require_tools

PASSWORD = "s3cret-pass"


def _cli(db_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "evidence_store.cli", "--db", db_url, *args],
                          capture_output=True, text=True)


def test_luks_volume_locked_then_unlocked(tmp_path):
    require_tools("cryptsetup", "mke2fs", "debugfs")
    files = sample_files(1)
    inner = build_ext4_image(tmp_path / "inner.img", files, size_mib=8)
    image = build_luks_image(tmp_path / "luks.img", inner, PASSWORD)
    url = f"sqlite:///{tmp_path / 'case.db'}"
    assert _cli(url, "case", "create", "C-1").returncode == 0
    assert _cli(url, "evidence", "add", str(image), "--case", "C-1", "--exhibit", "LUKS",
                "--examiner", "t").returncode == 0

    locked = _cli(url, "process", "--case", "C-1", "--exhibit", "LUKS", "--credential", "password:wrong")
    assert locked.returncode == 0, locked.stderr
    volumes = [json.loads(line) for line in _cli(url, "volumes", "--case", "C-1", "--exhibit", "LUKS",
                                                 "--json").stdout.splitlines()]
    assert [v["kind"] for v in volumes] == ["encrypted"]
    warnings = _cli(url, "warnings", "--case", "C-1", "--exhibit", "LUKS").stdout
    assert "LUKSDE volume is locked" in warnings

    unlocked = _cli(url, "process", "--case", "C-1", "--exhibit", "LUKS", "--credential", f"password:{PASSWORD}")
    assert unlocked.returncode == 0, unlocked.stderr
    rows = [json.loads(line) for line in _cli(url, "files", "--case", "C-1", "--exhibit", "LUKS",
                                              "--json").stdout.splitlines()]
    by_path = {r["path"]: r for r in rows}
    import hashlib

    for path, content in files.items():
        assert by_path["/" + path]["sha256"] == hashlib.sha256(content).hexdigest()
    volumes = [json.loads(line) for line in _cli(url, "volumes", "--case", "C-1", "--exhibit", "LUKS",
                                                 "--json").stdout.splitlines()]
    assert sorted((v["kind"], v["fs_type"]) for v in volumes) == [("filesystem", "EXT"), ("unlocked", None)]
    runs = _cli(url, "runs", "--case", "C-1", "--exhibit", "LUKS", "--json").stdout
    assert PASSWORD not in runs and PASSWORD not in warnings        # secrets are never recorded
