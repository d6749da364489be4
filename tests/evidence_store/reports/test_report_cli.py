"""The report commands from the shell: lab configure, case/evidence details, report create/authorise/issue/list."""
from __future__ import annotations

import json
import re
from pathlib import Path

from click.testing import CliRunner

from tests.evidence_store.reports.report_tools import pdf_pages, sha256


def test_report_workflow_from_the_command_line(tmp_path, demo_image, monkeypatch):
    from evidence_store.cli import main

    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    runner = CliRunner()

    def run(*args, code: int = 0) -> str:
        result = runner.invoke(main, ["--db", url, *args])
        assert result.exit_code == code, result.output
        return result.output

    declaration = tmp_path / "declaration.txt"
    declaration.write_text("I, the undersigned, declare this report true.\n")
    assert "case 'C-0' does not exist" in run("report", "create", "--case", "C-0", "--examiner", "E", code=3)
    run("case", "create", "C-0")
    assert "lab is not configured" in run("report", "create", "--case", "C-0", "--examiner", "E", code=3)
    run("lab", "configure", "--name", "Cli Lab", "--address", "3 Shell Road", "--accreditation", "UKAS 7",
        "--declaration-file", str(declaration))
    assert "Cli Lab" in run("lab", "show")
    run("case", "create", "C-1", "--title", "Cli case", "--requester", "DS Smith", "--request-reference", "R-77",
        "--authority", "Warrant 1/26")
    run("case", "update", "C-1", "--contact", "unit-7@example.org")
    run("evidence", "add", str(demo_image), "--case", "C-1", "--exhibit", "JS/1", "--examiner", "E. One",
        "--description", "Laptop SSD", "--seal", "S-1", "--seal", "S-2", "--condition", "bag intact",
        "--received", "2026-11-30T09:15:00+01:00")
    out = run("report", "create", "--case", "C-1", "--examiner", "E. One", code=3)
    assert "exhibit JS/1 is registered, not complete" in out and "--allow-incomplete" in out
    run("process", "--case", "C-1", "--exhibit", "JS/1")
    out = run("report", "create", "--case", "C-1", "--examiner", "E. One", "-o", str(tmp_path / "draft.pdf"))
    report_id = re.search(r"report (\S+): draft", out).group(1)
    assert report_id == "C-1-R001" and (tmp_path / "draft.pdf").exists()
    first = pdf_pages(tmp_path / "draft.pdf")[0]
    for text in ("Cli Lab", "3 Shell Road", "UKAS 7", "DS Smith", "R-77", "Warrant 1/26", "DRAFT"):
        assert text in first, text
    assert "reviewer must be a different person" in run("report", "authorise", report_id, "--reviewer", "e one",
                                                        code=3)
    run("report", "authorise", report_id, "--reviewer", "R. Two")
    assert "no lab signing key" in run("report", "issue", report_id, code=3)
    run("custody", "keygen")
    out = run("report", "issue", report_id)
    path = Path(re.search(r"file: (\S+)", out).group(1))
    listed = [json.loads(line) for line in run("report", "list", "--case", "C-1", "--json").splitlines()]
    assert listed == [dict(listed[0], id=report_id, state="issued", sha256=sha256(path), file=str(path))]
    assert "VERIFIED" in run("report", "verify", str(path))
    text = " ".join(pdf_pages(path))
    for expected in ("Laptop SSD", "S-1", "S-2", "bag intact", "2026-11-30 08:15:00Z", "R. Two", "ISSUED"):
        assert expected in text, expected
