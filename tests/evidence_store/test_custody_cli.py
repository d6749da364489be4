"""Custody from the command line, and exports an auditor verifies without our code."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from evidence_store.cli import main
from tests.conftest import cli_for

AUDITOR = Path(__file__).with_name("auditor_verify.py")


@pytest.fixture
def cli(tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("FORENSICS_ACTOR", "alice")
    url = f"sqlite:///{tmp_path / 'custody.db'}"

    def run(*args: str, code: int = 0):
        result = CliRunner().invoke(main, ["--db", url, *args], catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output
    return run


@pytest.fixture
def processed(cli, sample_image):
    cli("custody", "keygen")
    cli("case", "create", "C-1", "--examiner", "alice")
    cli("evidence", "add", str(sample_image.path), "--case", "C-1", "--exhibit", "E-1", "--examiner", "alice")
    cli("process", "--case", "C-1", "--exhibit", "E-1")
    return cli


def test_transfer_log_and_verify(processed, tmp_path):
    cli = processed
    out = cli("custody", "transfer", "--case", "C-1", "--exhibit", "E-1", "--from", "alice", "--to",
              "evidence store", "--purpose", "long-term storage", "--seal-applied", "S-100",
              "--authority", "warrant 2026/77", "--at", "2026-11-23T16:05:00+01:00")
    assert "alice -> evidence store" in out
    cli("custody", "transfer", "--case", "C-1", "--exhibit", "E-1", "--from", "bob", "--to", "carol",
        "--purpose", "x", code=3)                           # bob does not hold it
    log = cli("custody", "log", "--case", "C-1")
    assert "transfer alice -> evidence store" in log and "(+01:00)" in log
    assert "2026-11-23T15:05:00.000000Z" in log           # stored in UTC, offset kept
    events = [json.loads(line) for line in cli("custody", "log", "--case", "C-1", "--json").splitlines()]
    assert events[-1]["seals_applied"] == '["S-100"]' and events[-1]["authority"] == "warrant 2026/77"
    signed = [json.loads(line) for line in cli("custody", "checkpoint", "--case", "C-1").splitlines()]
    assert signed[0]["seq"] == events[-1]["seq"] and len(signed[0]["signature"]) == 128
    verified = cli("custody", "verify", "--case", "C-1")
    assert "C-1: OK" in verified and "0 events after it" in verified
    assert "key files outside the database" in verified


def test_verify_exits_nonzero_naming_the_problem(processed, tmp_path):
    cli = processed
    db_url = f"sqlite:///{tmp_path / 'custody.db'}"
    from evidence_store.db import Database
    from tests.evidence_store.custody_tools import tamper

    tamper(Database(db_url), ("UPDATE custody_events SET actor = 'mallory' WHERE chain = 'C-1' AND seq = 3", {}))
    out = cli("custody", "verify", code=1)                  # whole database
    assert "C-1: TAMPERED" in out and "first bad sequence 3 [edited] exhibit E-1" in out
    assert "lab: OK" in out


def test_jsonl_bundle_verifies_independently(processed, tmp_path):
    cli = processed
    bundle = tmp_path / "bundle.jsonl"
    cli("custody", "checkpoint")
    cli("custody", "export", "--case", "C-1", "--format", "jsonl", "-o", str(bundle))
    public_hex = next(json.loads(line)["public_key"] for line in bundle.read_text().splitlines()
                      if json.loads(line)["type"] == "key")
    result = subprocess.run([sys.executable, "-I", str(AUDITOR), str(bundle), public_hex],
                            capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("OK"), result.stdout + result.stderr
    lines = bundle.read_text().splitlines()                 # the auditor catches an edit too
    index = next(i for i, line in enumerate(lines) if '"action":"transfer"' in line or '"seq":5,' in line)
    lines[index] = lines[index].replace('"actor":"alice"', '"actor":"mallory"')
    bundle.write_text("\n".join(lines) + "\n")
    result = subprocess.run([sys.executable, "-I", str(AUDITOR), str(bundle), public_hex],
                            capture_output=True, text=True)
    assert result.returncode == 1 and "FAIL hash of event" in result.stdout


def test_case_uco_export_validates(processed, tmp_path):
    validator = shutil.which("case_validate") or str(Path(sys.executable).with_name("case_validate"))
    if not Path(validator).exists():
        pytest.skip("case-utils (case_validate) not installed")
    cli = processed
    output = tmp_path / "custody.jsonld"
    cli("custody", "export", "--case", "C-1", "--format", "case", "-o", str(output))
    graph = json.loads(output.read_text())["@graph"]
    types = {node["@type"] for node in graph}
    assert {"case-investigation:InvestigativeAction", "case-investigation:ProvenanceRecord"} <= types
    assert any(node.get("case-investigation:exhibitNumber") == "E-1" for node in graph)
    result = subprocess.run([validator, str(output)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0 and "Conforms: True" in result.stdout, result.stdout[-3000:]


def test_no_lab_key_is_said_loudly(tmp_path, monkeypatch, sample_image):
    """Without a lab signing key, processing signs no checkpoint: the summary, the warnings and
    custody verify say so (a silent gap would leave the end of the chain unprotected)."""
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "no-keys-here"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    cli = cli_for(url)
    cli("case", "create", "C")
    cli("evidence", "add", str(sample_image.path), "--case", "C", "--exhibit", "E", "--examiner", "t")
    said = " ".join(cli("process", "--case", "C", "--exhibit", "E", "--no-carve", "--no-match").split())
    assert "CUSTODY NOT SIGNED: no lab signing key in" in said and "forensics custody keygen" in said
    assert "no custody checkpoint was signed" in cli("warnings", "--case", "C", "--exhibit", "E")
    verified = cli("custody", "verify", "--case", "C")
    assert verified.startswith("C: OK") and "WARNING: no signed checkpoint on C" in verified
