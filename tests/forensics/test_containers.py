"""Looking inside containers (forensics.containers): every member at every depth with the bytes the
archivers' own tools extract, documents' pictures byte for byte, and hostile archives refused with a
warning that names the container, nothing written outside the store."""
from __future__ import annotations

import gzip
import hashlib
import subprocess
import zipfile
from pathlib import Path


from forensics.carving.sink import DirectorySink
from forensics.containers import ContainerWarning, Derived, Limits
from forensics.containers.context import Context
from forensics.containers.expand import expand
from forensics.containers.registry import EXTRACTORS, extractor_for
from forensics.locator import os_path_spec, to_locator
from forensics.reader import StreamReader
from tests.conftest import require_tools
from tests.forensics.container_inputs import (docx_with, jpeg, ole_doc_with, pdf_with, seven_zip_bytes, tar_bytes,
                                              write, zip_bytes)


def _expand(path: Path, store: Path, limits: Limits = Limits(), passwords=()) -> tuple[dict, list[str]]:
    import magic

    ctx = Context(limits, DirectorySink(store), tuple(passwords))
    reader = StreamReader()
    found, warnings = {}, []
    for item in expand(to_locator(os_path_spec(str(path))), "/" + path.name, magic.from_file(str(path), mime=True),
                       ctx, reader):
        if isinstance(item, ContainerWarning):
            warnings.append(f"{item.path}: {item.message}")
        else:
            found[item.path] = item
    return found, warnings


def _sha256(reader: StreamReader, item: Derived) -> str:
    return hashlib.sha256(b"".join(reader.chunks(item.locator))).hexdigest()


def test_registry_entries_are_named_and_versioned():
    names = [e.name for e in EXTRACTORS]
    assert len(names) == len(set(names)) and all(e.version for e in EXTRACTORS)
    assert extractor_for("application/vnd.openxmlformats-officedocument.wordprocessingml.document").name == "zip"
    assert extractor_for("application/x-7z-compressed").name == "libarchive"
    assert extractor_for("image/jpeg") is None


def test_nested_mixed_archives_equal_what_unzip_tar_and_7z_extract(tmp_path):
    """zip ⊃ tar.gz ⊃ 7z ⊃ files, three containers deep: every member is listed with the SHA-256 the
    archivers themselves extract, and dfvfs path specs name the members of zip, gzip and tar."""
    require_tools("unzip", "tar", "7z")
    inner = seven_zip_bytes({"deep/photo.jpg": jpeg(1), "deep/notes.txt": b"three levels down\n"})
    tgz = gzip.compress(tar_bytes({"mid/inner.7z": inner, "mid/readme.txt": b"middle\n"}), mtime=0)
    outer = write(tmp_path / "in" / "outer.zip", zip_bytes({"backup.tar.gz": tgz, "top.txt": b"top\n"}))
    found, warnings = _expand(outer, tmp_path / "store")
    assert warnings == []
    # what the archivers extract
    work = tmp_path / "x"
    (work / "1").mkdir(parents=True)
    subprocess.run(["unzip", "-q", str(outer), "-d", str(work / "1")], check=True)
    subprocess.run(["tar", "xzf", str(work / "1" / "backup.tar.gz"), "-C", str(work / "1")], check=True)
    subprocess.run(["7z", "x", "-y", f"-o{work / '2'}", str(work / "1" / "mid" / "inner.7z")], check=True,
                   capture_output=True)
    expected = {
        "/outer.zip!/top.txt": work / "1" / "top.txt",
        "/outer.zip!/backup.tar.gz": outer.parent / "unused",
        "/outer.zip!/backup.tar.gz!/backup.tar!/mid/readme.txt": work / "1" / "mid" / "readme.txt",
        "/outer.zip!/backup.tar.gz!/backup.tar!/mid/inner.7z": work / "1" / "mid" / "inner.7z",
        "/outer.zip!/backup.tar.gz!/backup.tar!/mid/inner.7z!/deep/photo.jpg": work / "2" / "deep" / "photo.jpg",
        "/outer.zip!/backup.tar.gz!/backup.tar!/mid/inner.7z!/deep/notes.txt": work / "2" / "deep" / "notes.txt",
    }
    reader = StreamReader()
    for path, extracted in expected.items():
        assert path in found, (path, sorted(found))
        if extracted.exists():
            assert _sha256(reader, found[path]) == hashlib.sha256(extracted.read_bytes()).hexdigest(), path
    deepest = found["/outer.zip!/backup.tar.gz!/backup.tar!/mid/inner.7z!/deep/photo.jpg"]
    assert deepest.depth == 4 and deepest.extractor == "libarchive/1"
    assert '"type_indicator":"TAR"' in found["/outer.zip!/backup.tar.gz!/backup.tar!/mid/readme.txt"].locator
    assert '"type_indicator":"GZIP"' in found["/outer.zip!/backup.tar.gz!/backup.tar"].locator


def test_document_pictures_keep_their_bytes(tmp_path):
    """JPEGs inside a PDF (and a PDF attachment), a DOCX and a legacy OLE2 .doc come out byte for byte."""
    pictures = {name: jpeg(seed) for seed, name in enumerate(("pdf", "attached", "docx", "doc"), 10)}
    pdf = write(tmp_path / "in" / "report.pdf", pdf_with(pictures["pdf"], ("scan.jpg", pictures["attached"])))
    docx = write(tmp_path / "in" / "letter.docx", docx_with(pictures["docx"]))
    doc = write(tmp_path / "in" / "old.doc", ole_doc_with(pictures["doc"]))
    reader = StreamReader()
    md5s = set()
    for path in (pdf, docx, doc):
        found, warnings = _expand(path, tmp_path / "store")
        assert warnings == [], warnings
        md5s |= {hashlib.md5(b"".join(reader.chunks(d.locator))).hexdigest() for d in found.values() if d.locator}
    assert {hashlib.md5(p).hexdigest() for p in pictures.values()} <= md5s
    found, _ = _expand(doc, tmp_path / "store")
    assert any(p.startswith("/old.doc!/Data@") and p.endswith(".jpg") for p in found)


def test_hostile_names_are_warned_and_nothing_is_written_outside_the_store(tmp_path):
    archive = write(tmp_path / "in" / "evil.zip", zip_bytes([("../../escaped.txt", b"climb"),
                                                               ("/etc/absolute.txt", b"absolute"),
                                                               ("same.txt", b"first copy"),
                                                               ("same.txt", b"second copy"),
                                                               ("ok.txt", b"fine")]))
    store = tmp_path / "store"
    found, warnings = _expand(archive, store)
    text = "\n".join(warnings)
    assert "'../../escaped.txt' climbs out of the archive" in text
    assert "'/etc/absolute.txt' has an absolute path" in text
    assert "'same.txt' shares its name with another member" in text
    assert {"/evil.zip!/same.txt", "/evil.zip!/same.txt (copy 2)"} <= set(found)
    assert all(w.startswith("/evil.zip: ") for w in warnings)
    reader = StreamReader()
    contents = sorted(b"".join(reader.chunks(d.locator)) for d in found.values())
    assert contents == sorted([b"climb", b"absolute", b"first copy", b"second copy", b"fine"])
    assert not list(tmp_path.rglob("escaped.txt")) and not list(tmp_path.rglob("absolute.txt"))
    assert all(p.is_relative_to(store) for p in tmp_path.rglob("*") if p.is_file() and "in" not in p.parts)


def test_bombs_are_refused_by_ratio_bytes_and_depth(tmp_path):
    zeros = b"\x00" * (40 << 20)
    single = write(tmp_path / "in" / "bomb.zip", zip_bytes({"zeros.bin": zeros}))
    found, warnings = _expand(single, tmp_path / "store")
    assert found == {} and any("a decompression bomb?" in w for w in warnings)
    leaf = zip_bytes({f"z{i}.bin": zeros for i in range(2)})
    level = zip_bytes({f"l{i}.zip": leaf for i in range(8)})
    nested = write(tmp_path / "in" / "42.zip", zip_bytes({f"t{i}.zip": level for i in range(8)}))
    found, warnings = _expand(nested, tmp_path / "store")
    assert sum("a decompression bomb?" in w for w in warnings) == 128     # every leaf member, none expanded
    assert max(d.size or 0 for d in found.values()) < 1 << 20
    gz = write(tmp_path / "in" / "zeros.gz", gzip.compress(zeros))
    found, warnings = _expand(gz, tmp_path / "store")
    assert found == {} and "a decompression bomb?" in warnings[0]
    deep = b"core"
    for level_number in range(7):
        deep = zip_bytes({f"level{level_number}.zip" if level_number else "core.txt": deep})
    onion = write(tmp_path / "in" / "onion.zip", deep)
    found, warnings = _expand(onion, tmp_path / "store", Limits(max_depth=3))
    assert max(d.depth for d in found.values()) == 3 and any("depth limit 3" in w for w in warnings)
    small = Limits(max_total_bytes=10_000)
    found, warnings = _expand(write(tmp_path / "in" / "many.zip", zip_bytes({f"f{i}": b"x" * 4000 for i in range(5)})),
                              tmp_path / "store", small)
    assert len(found) == 2 and sum("total limit" in w for w in warnings) == 3


def test_truncated_and_corrupt_archives_keep_what_can_be_read(tmp_path):
    whole = zip_bytes({f"part{i}.txt": f"member {i}\n".encode() * 50 for i in range(6)}, zipfile.ZIP_STORED)
    cut = write(tmp_path / "in" / "cut.zip", whole[: len(whole) * 2 // 3])
    found, warnings = _expand(cut, tmp_path / "store")
    assert any("not readable as ZIP" in w and "libarchive" in w for w in warnings)
    assert 2 <= len(found) < 6                                    # the members before the cut
    good = gzip.compress(b"line of a log file\n" * 5000)
    bad = bytearray(good)
    bad[len(bad) // 2: len(bad) // 2 + 64] = b"\xff" * 64
    found, warnings = _expand(write(tmp_path / "in" / "broken.log.gz", bytes(bad)), tmp_path / "store")
    assert found == {} and warnings and "corrupt gzip stream" in warnings[0]


def test_encrypted_members_are_recorded_and_passwords_tried(tmp_path):
    require_tools("zip")
    source = tmp_path / "plain"
    source.mkdir()
    (source / "secret.txt").write_bytes(b"hidden content\n")
    archive = tmp_path / "in" / "locked.zip"
    archive.parent.mkdir()
    subprocess.run(["zip", "-q", "-j", "-P", "hunter2", str(archive), str(source / "secret.txt")], check=True)
    found, warnings = _expand(archive, tmp_path / "store")
    item = found["/locked.zip!/secret.txt"]
    assert item.encrypted and item.locator is None and "no password given" in item.note
    found, _ = _expand(archive, tmp_path / "store", passwords=("wrong", "hunter2"))
    item = found["/locked.zip!/secret.txt"]
    assert item.note == "decrypted with --credential password #2"
    assert b"".join(StreamReader().chunks(item.locator)) == b"hidden content\n"


def test_dfvfs_test_archives_with_absolute_paths(tmp_path):
    """dfvfs's own test archives (corpus): members with absolute names are listed and copied."""
    from tests.conftest import corpus_path

    for name in ("zip/absolute_paths.zip", "tar/absolute_paths.tar"):
        path = corpus_path(f"dfvfs/{name}")
        found, warnings = _expand(path, tmp_path / "store")
        assert found and any("absolute path" in w for w in warnings), (name, warnings)
        reader = StreamReader()
        assert all(b"".join(reader.chunks(d.locator)) is not None for d in found.values())


def test_an_iso_image_inside_the_file_system_is_opened(tmp_path):
    """ISO 9660 (written here with libarchive's own writer) is read with libarchive; members copied."""
    import libarchive

    picture = jpeg(5)
    iso = tmp_path / "in" / "disc.iso"
    iso.parent.mkdir()
    with libarchive.file_writer(str(iso), "iso9660") as archive:
        archive.add_file_from_memory("photos/photo.jpg", len(picture), picture)
        archive.add_file_from_memory("readme.txt", 6, b"a disc")
    found, warnings = _expand(iso, tmp_path / "store")
    assert warnings == []
    item = found["/disc.iso!/photos/photo.jpg"]
    assert item.extractor == "libarchive/1"
    assert hashlib.sha256(b"".join(StreamReader().chunks(item.locator))).hexdigest() == hashlib.sha256(
        picture).hexdigest()


def test_member_count_and_time_limits(tmp_path):
    many = write(tmp_path / "in" / "many.zip", zip_bytes({f"m{i}.txt": b"x" for i in range(12)}))
    found, warnings = _expand(many, tmp_path / "store", Limits(max_members=5))
    assert len(found) == 5 and any("more than 5 members" in w for w in warnings)
    found, warnings = _expand(many, tmp_path / "store", Limits(max_seconds=-1))
    assert found == {} and any("time limit" in w for w in warnings)


def test_a_rar_archive_is_read_with_libarchive(tmp_path):
    from tests.forensics.container_inputs import rar4_stored

    picture = jpeg(6)
    rar = write(tmp_path / "in" / "photos.rar", rar4_stored({"trip/photo.jpg": picture, "list.txt": b"1 photo"}))
    found, warnings = _expand(rar, tmp_path / "store")
    assert warnings == [] and set(found) == {"/photos.rar!/trip/photo.jpg", "/photos.rar!/list.txt"}
    reader = StreamReader()
    assert b"".join(reader.chunks(found["/photos.rar!/trip/photo.jpg"].locator)) == picture
