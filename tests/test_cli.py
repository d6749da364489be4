"""The forensics command as a technician meets it: help, one-line errors, listings."""
from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from evidence_store.cli import main

COMMANDS = [[], ["case"], ["case", "create"], ["case", "list"], ["evidence"], ["evidence", "add"],
            ["evidence", "list"], ["evidence", "review"], ["process"], ["files"], ["warnings"], ["runs"],
            ["volumes"], ["demo"], ["carve"], ["carved"], ["content"], ["custody"], ["custody", "keygen"],
            ["custody", "register-key"], ["custody", "checkpoint"], ["custody", "verify"], ["custody", "export"],
            ["custody", "transfer"], ["custody", "log"]]


@pytest.fixture
def cli(tmp_path):
    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'cli.db'}"

    def run(*args: str):
        return runner.invoke(main, ["--db", url, *args], catch_exceptions=False)
    return run


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "forensics")
def test_every_command_has_help(command):
    result = CliRunner().invoke(main, [*command, "--help"])
    assert result.exit_code == 0
    assert "Usage:" in result.output and len(result.output.splitlines()) > 3


def test_submit_process_and_list(cli, sample_image):
    assert cli("case", "create", "C-1", "--examiner", "tester").exit_code == 0
    added = cli("evidence", "add", str(sample_image.path), "--case", "C-1", "--exhibit", "E-1",
                "--examiner", "tester")
    assert added.exit_code == 0, added.output
    assert "SHA-256" in added.output
    processed = cli("process", "--case", "C-1", "--exhibit", "E-1")
    assert processed.exit_code == 0, processed.output
    assert "complete" in processed.output
    listed = cli("files", "--case", "C-1", "--exhibit", "E-1", "--json")
    rows = [json.loads(line) for line in listed.output.splitlines()]
    planted = {"/" + f.path: f for f in sample_image.files}
    found = {r["path"]: r for r in rows if r["path"] in planted}
    assert {(r["volume"], r["path"]) for r in rows} and len(found) == len(planted)
    for path, row in found.items():
        assert row["sha256"] == planted[path].sha256
    deleted = cli("files", "--case", "C-1", "--exhibit", "E-1", "--deleted", "--json")
    deleted_rows = [json.loads(line) for line in deleted.output.splitlines()]
    assert deleted_rows and all(not r["allocated"] for r in deleted_rows)
    assert {f"/{f.path}" for f in sample_image.files if f.deleted} <= {r["path"] for r in deleted_rows}
    runs = cli("runs", "--case", "C-1", "--exhibit", "E-1", "--json")
    stages = [json.loads(line)["stage"] for line in runs.output.splitlines()]
    assert stages[:2] == ["intake", "scan"] and stages[-1] == "finalize"


def test_errors_are_one_line_naming_the_exhibit(cli, tmp_path):
    garbage = tmp_path / "junk.img"
    garbage.write_bytes(b"\x01\x02junk" * 10000)
    cli("case", "create", "C-1")
    result = CliRunner().invoke(main, ["--db", f"sqlite:///{tmp_path / 'cli.db'}", "evidence", "add",
                                       str(garbage), "--case", "C-1", "--exhibit", "E-9", "--examiner", "t"])
    assert result.exit_code == 3
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and "E-9" in lines[0] and "unknown-format" in lines[0]
    assert "Traceback" not in result.output
    warnings = cli("warnings", "--case", "C-1", "--exhibit", "E-9", "--json")
    assert "unknown-format" in json.loads(warnings.output.splitlines()[0])["message"]


def test_unknown_case_and_exhibit(cli):
    result = CliRunner().invoke(main, ["--db", "sqlite:///:memory:", "files", "--case", "NOPE", "--exhibit", "X"])
    assert result.exit_code == 3 and "case 'NOPE' does not exist" in result.output


def test_bad_credential_syntax(cli):
    result = CliRunner().invoke(main, ["process", "--case", "C", "--exhibit", "E", "--credential", "pin:1234"])
    assert result.exit_code == 2 and "TYPE:VALUE" in result.output
