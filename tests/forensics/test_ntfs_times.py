"""NTFS $FILE_NAME times beside $STANDARD_INFORMATION's, and the timestomping flags, on a volume
written by ntfs-3g whose $SI creation times were then rewritten (as backdating tools do)."""
from __future__ import annotations

import struct
from datetime import datetime, timezone

import pytest

from forensics.ntfs_times import TICKS_PER_SECOND, anomaly, filetime
from tests.conftest import exhibit_cli, ntfs_mounted


def _ticks(when: datetime) -> int:
    return int((when - datetime(1601, 1, 1, tzinfo=timezone.utc)).total_seconds() * TICKS_PER_SECOND)


def test_anomaly_rules():
    fn = _ticks(datetime(2026, 5, 1, 10, 0, 0, tzinfo=timezone.utc)) + 1234567
    same = filetime(fn)
    assert anomaly(same, 1234567, fn) is None
    early = datetime(2001, 1, 1, tzinfo=timezone.utc)
    assert "earlier than $FILE_NAME created" in anomaly(early, 0, fn)
    whole = filetime(fn - 1234567)
    assert anomaly(whole, 0, fn) == "$STANDARD_INFORMATION creation time has no sub-second part; $FILE_NAME's has"
    assert anomaly(None, None, fn) is None and anomaly(same, 5, 0) is None


@pytest.fixture
def stomped_ntfs(tmp_path):
    with ntfs_mounted(tmp_path) as (image, mount):
        for name in ("honest.txt", "backdated.txt", "whole.txt"):
            (mount / name).write_text(f"{name}\n")
    # rewrite only $STANDARD_INFORMATION's creation time in the MFT record, as a backdating tool does
    _set_si_created(image, "backdated.txt", lambda created: _ticks(datetime(2001, 1, 1, tzinfo=timezone.utc)))
    _set_si_created(image, "whole.txt", lambda created: created - created % TICKS_PER_SECOND)
    return image


def _set_si_created(image, name: str, change) -> None:
    """Finds the file's MFT record ("FILE" at a 1 KiB boundary holding its UTF-16 name) and rewrites the
    creation time of its $STANDARD_INFORMATION attribute (type 0x10) in place."""
    data = bytearray(image.read_bytes())
    needle = name.encode("utf-16-le")
    at = 0
    while (at := data.find(needle, at + 1)) != -1:
        record = at - at % 1024
        if data[record:record + 4] != b"FILE":
            continue
        attr = record + struct.unpack_from("<H", data, record + 0x14)[0]
        while struct.unpack_from("<I", data, attr)[0] not in (0x10, 0xFFFFFFFF):
            attr += struct.unpack_from("<I", data, attr + 4)[0]
        assert struct.unpack_from("<I", data, attr)[0] == 0x10
        content = attr + struct.unpack_from("<H", data, attr + 0x14)[0]
        created = struct.unpack_from("<Q", data, content)[0]
        if created % TICKS_PER_SECOND == 0:
            pytest.skip("this clock gave a whole-second creation time")
        struct.pack_into("<Q", data, content, change(created))
        image.write_bytes(bytes(data))
        return
    raise AssertionError(f"no MFT record for {name}")


def test_walk_records_both_times_and_flags_the_rewritten(stomped_ntfs):
    from forensics.volumes import scan_volumes
    from forensics.walk import walk_file_system

    (volume,) = [v for v in scan_volumes(str(stomped_ntfs)) if v.kind == "filesystem"]
    records = {r.path: r for r in walk_file_system(volume.locator) if hasattr(r, "fn_crtime")}
    honest, backdated, whole = (records[f"/{n}.txt"] for n in ("honest", "backdated", "whole"))
    assert honest.fn_crtime is not None and honest.time_anomaly is None
    assert abs((honest.crtime - honest.fn_crtime).total_seconds()) < 1
    assert backdated.crtime.year == 2001 and backdated.fn_crtime.year >= 2026
    assert "earlier than $FILE_NAME created" in backdated.time_anomaly
    assert whole.time_anomaly == "$STANDARD_INFORMATION creation time has no sub-second part; $FILE_NAME's has"
    assert all(r.fn_mtime and r.fn_atime and r.fn_ctime for r in (honest, backdated, whole))


def test_files_json_shows_both_times(stomped_ntfs, tmp_path, monkeypatch):
    import json



    cli, _url = exhibit_cli(tmp_path, monkeypatch, stomped_ntfs, "C", "E")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve", "--no-match")
    rows = {r["path"]: r for r in map(json.loads, cli("files", "--case", "C", "--exhibit", "E", "--json").splitlines())}
    assert rows["/backdated.txt"]["crtime"].startswith("2001-01-01")
    assert rows["/backdated.txt"]["fn_crtime"][:4] >= "2026" and rows["/backdated.txt"]["time_anomaly"]
    assert rows["/honest.txt"]["time_anomaly"] is None and rows["/honest.txt"]["fn_crtime"]


def test_report_shows_the_disagreeing_times(stomped_ntfs, tmp_path, monkeypatch):
    """The case report counts them and lists each with both creation times and why."""
    from evidence_store.db import Database
    from evidence_store.intake import add_exhibit, create_case
    from evidence_store.lab import configure
    from evidence_store.pipeline import process_exhibit
    from evidence_store.reports.workflow import create
    from evidence_store.stages.options import StageOptions

    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    monkeypatch.setenv("FORENSICS_DATA_DIR", str(tmp_path / "data"))
    db = Database(f"sqlite:///{tmp_path / 'case.db'}")
    db.migrate()
    configure(db, name="Test Lab", address="1 Test Street", declaration="I declare.", actor=("t", "technician"))
    create_case(db, "C")
    exhibit = add_exhibit(db, "C", "E", str(stomped_ntfs), "t")
    process_exhibit(db, exhibit.id, options=StageOptions(carve=False, match=False))
    row = create(db, "C", examiner="E. X", fmt="html", actor=("t", "examiner"))
    text = open(row.path, encoding="utf-8").read()
    assert "NTFS creation times that disagree" in text and "/backdated.txt" in text
    assert "2001-01-01" in text and "earlier than $FILE_NAME created" in text
