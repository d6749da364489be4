"""``files --json`` says what each entry is (file, directory, link, virtual), as the portal does."""
from __future__ import annotations

import json

from evidence_store.listings.files import entry_type
from tests.conftest import cli_for


def test_entry_types_from_tsk_letters():
    assert [entry_type(n, m) for n, m in (("r", "r"), ("d", "d"), ("l", "l"), ("v", "v"), ("r", "-"), ("-", "-"))] \
        == ["file", "directory", "link", "virtual", "file", "other"]


def test_files_json_carries_the_entry_type(tmp_path, monkeypatch, sample_image):
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    cli = cli_for(url)
    cli("case", "create", "C")
    cli("evidence", "add", str(sample_image.path), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve", "--no-match")
    rows = {(r["volume"], r["path"]): r for r in map(json.loads, cli("files", "--case", "C", "--exhibit", "E",
                                                                     "--json").splitlines())}
    types = {r["path"]: r["entry_type"] for r in rows.values()}
    assert types["/docs"] == "directory" and types["/docs/report.pdf"] == "file"
    assert {"file", "directory"} <= set(types.values())
