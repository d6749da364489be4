"""Derived items are first-class: a DFTT #8-style image (JPEGs renamed, in a zip with a wrong
extension, in a tar.gz, deleted, in documents, nested three archives deep) processed with the CLI
finds every planted JPEG; a known-bad file inside nested archives gives a finding whose location names
the whole chain; files --derived lists what came out of containers; warnings name the container."""
from __future__ import annotations

import gzip
import hashlib
import json

import pytest

from forensics.sample import build_fat_image
from tests.conftest import cli_for, require_tools
from tests.forensics.container_inputs import (docx_with, jpeg, ole_doc_with, pdf_with, seven_zip_bytes, tar_bytes,
                                              zip_bytes)


@pytest.fixture
def planted(tmp_path):
    require_tools("mkfs.vfat", "mcopy", "mdel")
    pictures = {name: jpeg(seed) for seed, name in enumerate(
        ["renamed.dat", "renamed.hmm", "in_boo", "in_tgz", "deleted", "in_pdf", "in_docx", "in_doc", "nested",
         "plain"], 1)}
    nested = zip_bytes({"layer2.tar.gz": gzip.compress(tar_bytes({"layer3.7z": seven_zip_bytes(
        {"deep/bad.jpg": pictures["nested"]})}), mtime=0)})
    files = {
        "pics/file1.dat": pictures["renamed.dat"],
        "pics/file2.hmm": pictures["renamed.hmm"],
        "pics/file7.jpg": pictures["plain"],
        "archive/file9.boo": zip_bytes({"file9.jpg": pictures["in_boo"]}),
        "archive/file10.tar.gz": gzip.compress(tar_bytes({"file10.jpg": pictures["in_tgz"]}), mtime=0),
        "docs/report.pdf": pdf_with(pictures["in_pdf"]),
        "docs/letter.docx": docx_with(pictures["in_docx"]),
        "docs/old.doc": ole_doc_with(pictures["in_doc"]),
        "gone/file5.jpg": pictures["deleted"],
        "backup/nested.zip": nested,
        "backup/hostile.zip": zip_bytes([("../../escape.txt", b"climb"), ("zeros.bin", b"\x00" * (40 << 20))]),
    }
    image = build_fat_image(tmp_path / "dftt8.img", files, delete=["gone/file5.jpg"], size_mib=48)
    return image, pictures


def test_every_planted_jpeg_is_found_and_a_nested_known_bad_file_names_its_chain(planted, tmp_path, monkeypatch):
    image, pictures = planted
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    cli = cli_for(f"sqlite:///{tmp_path / 'case.db'}")
    bad_md5 = hashlib.md5(pictures["nested"]).hexdigest()
    (tmp_path / "bad.md5").write_text(f"{bad_md5}\n")
    cli("hashset", "import", str(tmp_path / "bad.md5"), "--name", "bad", "--kind", "known-bad")
    cli("case", "create", "C")
    cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve")
    rows = [json.loads(line) for line in cli("files", "--case", "C", "--exhibit", "E", "--json").splitlines()]
    found = {r["md5"] for r in rows}
    missing = {name for name, data in pictures.items() if hashlib.md5(data).hexdigest() not in found}
    assert missing == set(), missing
    derived = [json.loads(line) for line in
               cli("files", "--case", "C", "--exhibit", "E", "--json", "--derived").splitlines()]
    walked = cli("files", "--case", "C", "--exhibit", "E", "--json", "--no-derived").splitlines()
    assert len(derived) + len(walked) == len(rows) and all(r["parent_id"] for r in derived)
    chain = "/backup/nested.zip!/layer2.tar.gz!/layer2.tar!/layer3.7z!/deep/bad.jpg"
    deep = next(r for r in derived if r["path"] == chain)
    assert deep["depth"] == 4 and deep["md5"] == bad_md5 and deep["mime_type"] == "image/jpeg"
    by_id = {r["id"]: r for r in rows}
    parents = []
    node = deep
    while node["parent_id"]:
        node = by_id[node["parent_id"]]
        parents.append(node["path"])
    assert parents[-1] == "/backup/nested.zip" and len(parents) == 4
    findings = [json.loads(line) for line in cli("findings", "--case", "C", "--json").splitlines()]
    assert any(f["path"] == chain and f["known"] == "known-bad" for f in findings)
    warnings = cli("warnings", "--case", "C", "--exhibit", "E")
    assert "/backup/hostile.zip: member '../../escape.txt' climbs out of the archive" in warnings
    assert "/backup/hostile.zip: zeros.bin: 41,943,040 bytes" in warnings and "decompression bomb?" in warnings
    runs = {json.loads(line)["stage"] for line in cli("runs", "--case", "C", "--exhibit", "E", "--json").splitlines()}
    assert {"expand", "derived"} <= runs


def test_no_expand_leaves_containers_closed(planted, tmp_path, monkeypatch):
    image, _ = planted
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    cli = cli_for(f"sqlite:///{tmp_path / 'case.db'}")
    cli("case", "create", "C")
    cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve", "--no-expand")
    assert cli("files", "--case", "C", "--exhibit", "E", "--derived") == ""


def test_a_carved_picture_links_to_the_derived_entry_with_its_content(tmp_path, monkeypatch):
    """A deleted, uncompressed zip: the walk still reads it, expansion lists its JPEG, and the carver
    finds the same JPEG in the freed clusters; the carved object points at the derived entry."""
    require_tools("mkfs.vfat", "mcopy", "mdel")
    import zipfile

    picture = jpeg(42, (160, 120))
    image = build_fat_image(tmp_path / "d.img", {"old/photos.zip": zip_bytes({"holiday.jpg": picture},
                                                                             zipfile.ZIP_STORED)},
                            delete=["old/photos.zip"], size_mib=16)
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    cli = cli_for(f"sqlite:///{tmp_path / 'case.db'}")
    cli("case", "create", "C")
    cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E")
    rows = {json.loads(line)["id"]: json.loads(line) for line in
            cli("files", "--case", "C", "--exhibit", "E", "--json", "--derived").splitlines()}
    (inner,) = [r for r in rows.values() if r["path"].endswith("hotos.zip!/holiday.jpg")]
    assert inner["allocated"] is False and inner["md5"] == hashlib.md5(picture).hexdigest()
    carved = [json.loads(line) for line in cli("carved", "--case", "C", "--exhibit", "E", "--json").splitlines()]
    assert any(c["sha256"] == inner["sha256"] and c["duplicate_of"] == inner["id"] for c in carved), carved


def test_pictures_in_an_alternate_data_stream_and_a_zip_hidden_in_one(tmp_path, monkeypatch):
    """NTFS: a JPEG in a named stream is hashed like any file; a zip hidden in a named stream is typed
    by its content and opened, its member's locator a ZIP path spec over the stream."""
    from tests.conftest import ntfs_mounted

    in_stream, in_zip = jpeg(71), jpeg(72)
    with ntfs_mounted(tmp_path) as (image, mount):
        (mount / "readme.txt").write_bytes(b"nothing to see\n")
        with open(f"{mount}/readme.txt:thumb", "wb") as handle:
            handle.write(in_stream)
        with open(f"{mount}/readme.txt:stash", "wb") as handle:
            handle.write(zip_bytes({"hidden/photo.jpg": in_zip}))
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    cli = cli_for(url)
    (tmp_path / "bad.md5").write_text(f"{hashlib.md5(in_stream).hexdigest()}\n{hashlib.md5(in_zip).hexdigest()}\n")
    cli("hashset", "import", str(tmp_path / "bad.md5"), "--name", "bad", "--kind", "known-bad")
    cli("case", "create", "C")
    cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve")
    rows = {r["path"]: r for r in map(json.loads, cli("files", "--case", "C", "--exhibit", "E", "--json").splitlines())}
    assert rows["/readme.txt:thumb"]["md5"] == hashlib.md5(in_stream).hexdigest()
    inner = rows["/readme.txt:stash!/hidden/photo.jpg"]
    assert inner["md5"] == hashlib.md5(in_zip).hexdigest() and '"type_indicator":"ZIP"' in inner["locator"]
    # what the report and the portal show: the stream named once, the chain and the extractor
    from evidence_store.db import Database
    from evidence_store.listings.files import FileFilter, file_rows
    from evidence_store.listings.findings import finding_rows
    from evidence_store.models import Case

    db = Database(url)
    with db.session() as session:
        case_id = session.query(Case).one().id
        locations = sorted(f.location.split(" > ")[-1] for f in finding_rows(session, case_id))
        listed = {r.path for r in file_rows(session, case_id, FileFilter(), limit=1000)}
    assert locations == ["/readme.txt:stash!/hidden/photo.jpg (inside 1 container, listed by zip/1)",
                         f"/readme.txt:thumb (inode {rows['/readme.txt:thumb']['inode']})"]
    assert "/readme.txt:thumb" in listed and "/readme.txt:thumb:thumb" not in listed


def test_encrypted_members_without_and_with_a_credential(tmp_path, monkeypatch):
    import subprocess

    require_tools("mkfs.vfat", "mcopy", "zip")
    (tmp_path / "secret.txt").write_bytes(b"the ledger\n")
    subprocess.run(["zip", "-q", "-j", "-P", "hunter2", str(tmp_path / "locked.zip"), str(tmp_path / "secret.txt")],
                   check=True)
    image = build_fat_image(tmp_path / "e.img", {"locked.zip": (tmp_path / "locked.zip").read_bytes()}, size_mib=16)
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    for number, extra in (("E1", []), ("E2", ["--credential", "password:wrong", "--credential", "password:hunter2"])):
        cli = cli_for(f"sqlite:///{tmp_path / number}.db")
        cli("case", "create", "C")
        cli("evidence", "add", str(image), "--case", "C", "--exhibit", number, "--examiner", "t")
        summary = cli("process", "--case", "C", "--exhibit", number, "--no-carve", *extra)
        (row,) = [json.loads(line) for line in cli("files", "--case", "C", "--exhibit", number, "--json",
                                                   "--derived").splitlines()]
        assert row["path"] == "/locked.zip!/secret.txt"
        if not extra:
            assert row["hash_status"] == "encrypted" and row["md5"] is None
            assert "1 encrypted, not opened" in summary
            assert "encrypted member: encrypted; no password given" in cli("warnings", "--case", "C", "--exhibit",
                                                                            number)
        else:
            assert row["md5"] == hashlib.md5(b"the ledger\n").hexdigest()
