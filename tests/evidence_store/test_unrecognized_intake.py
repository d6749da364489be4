"""An exhibit whose format nobody recognizes still has its hashes and size recorded at intake, and
the message says what its first sectors hold (issue: hardening, impossible images)."""
from __future__ import annotations

import hashlib
import json
import struct
import subprocess

import pytest
from sqlalchemy import select

from evidence_store.models import CustodyEvent, Exhibit
from forensics.sniff import describe
from tests.conftest import cli_for, require_tools


@pytest.fixture
def impossible_fat32(tmp_path):
    """A 128 MiB file whose FAT32 boot sector claims 1 TiB."""
    require_tools("mkfs.vfat")
    path = tmp_path / "impossible.img"
    with open(path, "wb") as handle:
        handle.truncate(128 << 20)
    subprocess.run(["mkfs.vfat", "-F", "32", str(path)], check=True, capture_output=True)
    with open(path, "r+b") as handle:
        handle.seek(32)
        handle.write(struct.pack("<I", (1 << 40) // 512 - 1))     # total sectors: just under 1 TiB
    return path


def test_first_sectors_are_described(impossible_fat32, tmp_path):
    said = describe(str(impossible_fat32))
    assert said.startswith("a FAT32 boot sector claiming 1024.0 GiB") and "in a 128.0 MiB file" in said
    assert said.endswith("(impossible: larger than the file)")
    text = tmp_path / "notes.txt"
    text.write_text("just text\n" * 100)
    assert describe(str(text)) is None


def test_unrecognized_exhibit_is_hashed_and_the_custody_record_shows_it(impossible_fat32, tmp_path, monkeypatch):
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    cli = cli_for(url)
    cli("case", "create", "C")
    refused = cli("evidence", "add", str(impossible_fat32), "--case", "C", "--exhibit", "E-9", "--examiner", "t", code=3)
    assert "E-9" in refused and "FAT32 boot sector claiming" in refused and "impossible" in refused
    data = impossible_fat32.read_bytes()
    from evidence_store.db import Database

    db = Database(url)
    with db.session() as session:
        exhibit = session.scalar(select(Exhibit).where(Exhibit.number == "E-9"))
        assert (exhibit.md5, exhibit.sha1, exhibit.sha256) == (hashlib.md5(data).hexdigest(),
                                                               hashlib.sha1(data).hexdigest(),
                                                               hashlib.sha256(data).hexdigest())
        assert exhibit.media_size == len(data) and exhibit.image_format == "unrecognized"
        assert exhibit.status == "failed"
        events = session.scalars(select(CustodyEvent).where(CustodyEvent.action == "hash-verification")).all()
        assert {(e.hash_algorithm, e.hash_after) for e in events} == {
            ("md5", exhibit.md5), ("sha1", exhibit.sha1), ("sha256", exhibit.sha256)}
    log = cli("custody", "log", "--case", "C", "--json")
    assert exhibit.sha256 in log
    assert json.loads(log.splitlines()[-1])          # the ledger lists as JSON
    assert cli("custody", "verify", "--case", "C").startswith("C: OK")
