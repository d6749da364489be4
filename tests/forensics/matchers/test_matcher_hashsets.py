"""Hash-set parsers: real samples (md5deep's repository) and files the tests write."""
from __future__ import annotations

import hashlib
import json
import sqlite3
import tracemalloc

import pytest

from forensics.matchers.errors import HashSetFormatError
from forensics.matchers.hashsets import (
    FORMATS,
    detect_format,
    read_hashkeeper_descriptor,
    read_hashset,
    read_rdsv3_packages,
)
from forensics.matchers.models import HashSetEntry, HashSetWarning
from tests.conftest import corpus_path

SAMPLES = "hashsets/hashdeep-repo/"


def _split(records):
    records = list(records)
    return ([r for r in records if isinstance(r, HashSetEntry)],
            [r for r in records if isinstance(r, HashSetWarning)])


@pytest.mark.parametrize("name, fmt, count", [
    ("sample-hashes__hashdeep.txt", "hashdeep", 3),
    ("sample-hashes__md5deep.txt", "hash-list", 4),
    ("sample-hashes__md5deep-size.txt", "hash-list", 4),
    ("tests__testfiles__bsd-hashes.txt", "hash-list", 5),
    ("sample-hashes__nsrl__NSRL-2.0.txt", "nsrl-rds2", 218),
    ("sample-hashes__nsrl__NSRL-1.5.txt", "nsrl-rds2", 218),
    ("tests__testfiles__nsrlfile.txt", "nsrl-rds2", 2),
    ("sample-hashes__hashkeeper__Z00236.hsh", "hashkeeper", 6994),
    ("sample-hashes__ilookv3.hsh", "ilook", 5),
    ("sample-hashes__ilookv4.hsh", "ilook", 5),
])
def test_corpus_samples(name, fmt, count):
    path = corpus_path(SAMPLES + name)
    assert detect_format(path) == fmt
    entries, warnings = _split(read_hashset(path))
    assert len(entries) == count and warnings == []
    for entry in entries:
        for value, length in ((entry.md5, 32), (entry.sha1, 40), (entry.sha256, 64)):
            assert value is None or (len(value) == length and value == value.lower())


def test_corpus_values_are_read_from_the_right_columns():
    hashdeep = list(read_hashset(corpus_path(SAMPLES + "sample-hashes__hashdeep.txt")))
    assert hashdeep[0] == HashSetEntry(
        md5="6f4a8ac099c4fe85164b8631c7f0bd2b",
        sha256="2f1cf7a397bb8eed63b225d5d4fd5e2fc71788c8ae12db94147d1f5e227a4118",
        name="/Users/jessek/projects/md5deep/sample-hashes/ilookv3.hsh", size=622)
    sized = list(read_hashset(corpus_path(SAMPLES + "sample-hashes__md5deep-size.txt")))
    assert sized[0] == HashSetEntry(md5="92e792c43c35e96fed3f9566083326fc", name="/Users/jessek/a.out",
                                    size=669416)
    rds15, rds20 = (list(read_hashset(corpus_path(SAMPLES + f"sample-hashes__nsrl__NSRL-{v}.txt")))
                    for v in ("1.5", "2.0"))
    assert rds15 == rds20  # same rows, columns in another order
    nsrl = list(read_hashset(corpus_path(SAMPLES + "tests__testfiles__nsrlfile.txt")))
    assert nsrl[1] == HashSetEntry(md5="d41d8cd98f00b204e9800998ecf8427e",
                                   sha1="da39a3ee5e6b4b0d3255bfef95601890afd80709",
                                   name="    ___", size=0, reference="7828")
    keeper = next(iter(read_hashset(corpus_path(SAMPLES + "sample-hashes__hashkeeper__Z00236.hsh"))))
    assert keeper == HashSetEntry(md5="9497acf3cf8a2e90ae82dae37b6373e4", name="acsetups.pdb",
                                  size=91136, reference="671")
    ilook = next(iter(read_hashset(corpus_path(SAMPLES + "sample-hashes__ilookv4.hsh"))))
    assert (ilook.md5, ilook.sha1, ilook.size) == ("b5e254df3bb37efcdfd883d69897770a",
                                                   "2cc793143bbe3bb8a2b9949b53583606885241e1", 10429)
    bsd = list(read_hashset(corpus_path(SAMPLES + "tests__testfiles__bsd-hashes.txt")))
    assert bsd[1] == HashSetEntry(md5="deadbeefb303ba89ae055ad0234eb7e8", name="deadbeef.txt")


def test_hashkeeper_descriptor_gives_the_notable_flag():
    (descriptor,) = read_hashkeeper_descriptor(corpus_path(SAMPLES + "sample-hashes__hashkeeper__Z00236.hke"))
    assert descriptor.hashset_id == "671" and not descriptor.notable
    assert descriptor.name == "Z00236 Microsoft Windows 2000 Server"


def test_bad_lines_are_warnings_and_the_rest_is_read():
    entries, warnings = _split(read_hashset(corpus_path(SAMPLES + "tests__testfiles__known.txt")))
    assert [e.md5 for e in entries] == ["07ff3b8f4f2990192b595ca148d284bd"]
    assert warnings == [HashSetWarning(2, "not a hash-list line: 'hello world!'")]
    entries, warnings = _split(read_hashset(corpus_path(SAMPLES + "tests__testfiles__ilookv4.hsh")))
    assert len(entries) == 5 and [w.line for w in warnings] == [7]


def test_coreutils_lists(tmp_path):
    data = {"a.txt": b"alpha", "b c.bin": b"beta", "back\\slash": b"gamma"}
    md5 = tmp_path / "list.md5"
    md5.write_text("".join(f"{hashlib.md5(v).hexdigest()}  {k}\n" for k, v in data.items() if "\\" not in k)
                   + f"\\{hashlib.md5(b'gamma').hexdigest()}  back\\\\slash\n")
    sha1 = tmp_path / "list.sha1"
    sha1.write_text("# made by sha1sum -b\n\n" + "".join(
        f"{hashlib.sha1(v).hexdigest().upper()} *{k}\n" for k, v in data.items()), newline="\r\n")
    sha256 = tmp_path / "list.sha256"
    sha256.write_text("".join(f"SHA256 ({k}) = {hashlib.sha256(v).hexdigest()}\n" for k, v in data.items())
                      + hashlib.sha256(b"bare").hexdigest() + "\n")
    for path, field, hasher in ((md5, "md5", hashlib.md5), (sha1, "sha1", hashlib.sha1),
                                (sha256, "sha256", hashlib.sha256)):
        assert detect_format(path) == "hash-list"
        entries, warnings = _split(read_hashset(path))
        assert warnings == []
        got = {e.name: getattr(e, field) for e in entries}
        assert {k: got[k] for k in data} == {k: hasher(v).hexdigest() for k, v in data.items()}
    assert list(read_hashset(sha256))[-1] == HashSetEntry(sha256=hashlib.sha256(b"bare").hexdigest())


def test_hashdeep_with_sha1_and_commas_in_names(tmp_path):
    path = tmp_path / "known.hashdeep"
    path.write_text("%%%% HASHDEEP-1.0\n%%%% size,sha1,filename\n## comment\n"
                    f"5,{hashlib.sha1(b'alpha').hexdigest()},/docs/a, b.txt\n"
                    "3,nothex,/docs/bad\n"
                    "%%%% HASHDEEP-1.0\n%%%% size,md5,filename\n"
                    f"4,{hashlib.md5(b'beta').hexdigest()},/docs/c.txt\n")
    entries, warnings = _split(read_hashset(path))
    assert entries == [HashSetEntry(sha1=hashlib.sha1(b"alpha").hexdigest(), name="/docs/a, b.txt", size=5),
                       HashSetEntry(md5=hashlib.md5(b"beta").hexdigest(), name="/docs/c.txt", size=4)]
    assert [w.line for w in warnings] == [5]


RDSV3_SCHEMA = """
CREATE TABLE FILE (sha256 VARCHAR NOT NULL, sha1 VARCHAR NOT NULL, md5 VARCHAR NOT NULL,
  crc32 VARCHAR NOT NULL, file_name VARCHAR NOT NULL, file_size INTEGER NOT NULL,
  package_id INTEGER NOT NULL,
  CONSTRAINT PK_FILE__FILE PRIMARY KEY (sha256, sha1, md5, crc32, file_name, file_size, package_id));
CREATE TABLE MFG (manufacturer_id INTEGER NOT NULL, name VARCHAR NOT NULL);
CREATE TABLE OS (operating_system_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
  manufacturer_id INTEGER NOT NULL);
CREATE TABLE PKG (package_id INTEGER NOT NULL, name VARCHAR NOT NULL, version VARCHAR NOT NULL,
  operating_system_id INTEGER NOT NULL, manufacturer_id INTEGER NOT NULL, language VARCHAR NOT NULL,
  application_type VARCHAR NOT NULL);
CREATE TABLE VERSION (version VARCHAR UNIQUE NOT NULL, build_set VARCHAR NOT NULL,
  build_date TIMESTAMP, release_date TIMESTAMP, description VARCHAR NOT NULL);
CREATE VIEW DISTINCT_HASH AS SELECT DISTINCT sha256, sha1, md5, crc32 FROM FILE;
"""


def _rdsv3(path, rows):
    connection = sqlite3.connect(path)
    connection.executescript(RDSV3_SCHEMA)
    connection.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", rows)
    connection.executescript("""
        INSERT INTO MFG VALUES (1, 'Microsoft');
        INSERT INTO OS VALUES (10, 'Windows', '11', 1);
        INSERT INTO PKG VALUES (100, 'Office', '2021', 10, 1, 'English', 'Office suite');
        INSERT INTO VERSION VALUES ('2024.03.1', 'modern', NULL, NULL, 'test');""")
    connection.commit()
    connection.close()


def test_nsrl_rdsv3_sqlite(tmp_path):
    rows = []
    for n, content in enumerate([b"one", b"two", b"one"]):
        rows.append((hashlib.sha256(content).hexdigest().upper(), hashlib.sha1(content).hexdigest().upper(),
                     hashlib.md5(content).hexdigest().upper(), "00000000", f"file{n}.dll", len(content), 100))
    path = tmp_path / "RDS_2024.03.1_modern_minimal.db"
    _rdsv3(path, rows)
    assert detect_format(path) == "nsrl-rdsv3"
    entries, warnings = _split(read_hashset(path))
    assert warnings == [] and len(entries) == 3
    assert entries[1] == HashSetEntry(sha256=hashlib.sha256(b"two").hexdigest(), sha1=hashlib.sha1(b"two").hexdigest(),
                                      md5=hashlib.md5(b"two").hexdigest(), name="file1.dll", size=3, reference="100")
    distinct, _ = _split(read_hashset(path, distinct=True))
    assert len(distinct) == 2 and distinct[0].name is None
    (package,) = read_rdsv3_packages(path)
    assert (package.package_id, package.name, package.operating_system, package.manufacturer) == (
        100, "Office", "Windows 11", "Microsoft")


def test_other_sqlite_databases_are_refused(tmp_path):
    path = tmp_path / "other.db"
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE hashes (md5 TEXT)")
    connection.close()
    with pytest.raises(HashSetFormatError, match="not an NSRL RDSv3"):
        detect_format(path)


def _vics_media(n: int, **extra) -> dict:
    content = f"image {n}".encode()
    media = {"MediaID": n, "Category": n % 4, "MD5": hashlib.md5(content).hexdigest().upper(),
             "SHA1": hashlib.sha1(content).hexdigest().upper(), "MediaSize": 1000 + n,
             "PhotoDNA": "QUJD" * 4, "MediaFiles": [{"FileName": f"img{n}.jpg", "FilePath": "C:\\x"}],
             "IsDistributed": False}
    media.update(extra)
    return media


def test_vics_flat_media_export(tmp_path):
    path = tmp_path / "vics1.json"
    media = [_vics_media(1), _vics_media(2, PDQ="AB" * 32), _vics_media(3, MD5="short"),
             {"MediaID": 4, "Category": 1}]
    path.write_text(json.dumps({"odata.metadata": "http://github.com/ICMEC/ProjectVic/DataModels/1.3.xml/"
                                "$metadata#Media", "value": media}))
    assert detect_format(path) == "vics"
    records = list(read_hashset(path))
    assert [type(r).__name__ for r in records] == ["HashSetEntry", "HashSetEntry", "HashSetWarning",
                                                   "HashSetWarning"]
    assert records[0] == HashSetEntry(md5=hashlib.md5(b"image 1").hexdigest(),
                                      sha1=hashlib.sha1(b"image 1").hexdigest(), category="1",
                                      name="img1.jpg", size=1001, photodna="QUJD" * 4, reference="1")
    assert records[1].pdq == "ab" * 32
    assert records[3] == HashSetWarning(4, "media record 4 has no hash")


def test_vics_2_cases_with_nested_media_and_alternative_hashes(tmp_path):
    path = tmp_path / "vics2.json"
    cases = [{"CaseID": "c1", "Media": [_vics_media(1), _vics_media(2, AlternativeHashes=[
                 {"HashName": "SHA256", "HashValue": "00" * 32}, {"HashName": "PDQ", "HashValue": "CD" * 32}])],
              "CaseNumber": "2024-1"},
             {"CaseID": "c2", "Media": [_vics_media(3, SHA256="EF" * 32)]}]
    path.write_text(json.dumps({"@odata.context": "http://github.com/VICSDATAMODEL/ProjectVic/DataModels/"
                                "2.0.xml/US/$metadata#Cases", "value": cases}, indent=2))
    entries, warnings = _split(read_hashset(path))
    assert warnings == [] and [e.reference for e in entries] == ["1", "2", "3"]
    assert entries[1].pdq == "cd" * 32 and entries[2].sha256 == "ef" * 32


def test_vics_cases_with_media_far_from_the_start(tmp_path):
    path = tmp_path / "late.json"
    cases = [{"CaseID": "c1", "Notes": "x" * 100_000, "Media": [_vics_media(1), _vics_media(2)]}]
    path.write_text(json.dumps({"@odata.context": "x/$metadata#Cases", "value": cases}))
    entries, warnings = _split(read_hashset(path))
    assert warnings == [] and [e.reference for e in entries] == ["1", "2"]


def _vics_file(path, count):
    with path.open("w") as handle:
        handle.write('{"@odata.context": "x/$metadata#Media", "value": [')
        handle.write(",".join(json.dumps(_vics_media(n)) for n in range(count)))
        handle.write("]}")
    return path


def _peak_while_reading(path) -> tuple[int, int]:
    tracemalloc.start()
    count = sum(1 for r in read_hashset(path) if isinstance(r, HashSetEntry))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return count, peak


def test_vics_is_streamed_and_truncation_is_reported(tmp_path):
    small, big = _vics_file(tmp_path / "small.json", 1_000), _vics_file(tmp_path / "big.json", 5_000)
    list(read_hashset(small))  # imports and caches outside the measurement
    (small_count, small_peak), (big_count, big_peak) = _peak_while_reading(small), _peak_while_reading(big)
    assert (small_count, big_count) == (1_000, 5_000)
    assert big_peak < small_peak * 1.5 < big.stat().st_size  # memory does not grow with the file
    cut = tmp_path / "cut.json"
    cut.write_bytes(big.read_bytes()[: big.stat().st_size // 2])
    entries, warnings = _split(read_hashset(cut))
    assert len(entries) > 2_000 and len(warnings) == 1 and "stops being valid" in warnings[0].message


def test_pdq_lists_are_named_explicitly(tmp_path):
    path = tmp_path / "known.pdq"
    path.write_text("pdq,category\n" + "AB" * 32 + ",csam-a\n" + "cd" * 32 + "\n"
                    + "ef" * 32 + "\tterror\n" + "not a hash\n")
    ambiguous = tmp_path / "ambiguous.txt"
    ambiguous.write_text("ab" * 32 + "\n" + "cd" * 32 + "\n")
    assert detect_format(ambiguous) == "hash-list"  # 64 hex per line is also a SHA-256 list
    entries, warnings = _split(read_hashset(path, "pdq-list"))
    assert entries == [HashSetEntry(pdq="ab" * 32, category="csam-a"), HashSetEntry(pdq="cd" * 32),
                       HashSetEntry(pdq="ef" * 32, category="terror")]
    assert [w.line for w in warnings] == [5]


def test_unknown_files_and_formats_are_refused(tmp_path):
    prose = tmp_path / "prose.txt"
    prose.write_text("Dear examiner,\nplease find attached.\n")
    with pytest.raises(HashSetFormatError, match="not a known hash-set format"):
        detect_format(prose)
    (tmp_path / "empty.txt").write_text("")
    with pytest.raises(HashSetFormatError, match="empty"):
        detect_format(tmp_path / "empty.txt")
    with pytest.raises(HashSetFormatError, match="unknown hash-set format"):
        read_hashset(prose, "encase")
    assert set(FORMATS) >= {"nsrl-rdsv3", "nsrl-rds2", "hashkeeper", "ilook", "hashdeep", "hash-list",
                            "vics", "pdq-list"}
