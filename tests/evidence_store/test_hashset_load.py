"""The bulk hash-set load writes exactly what the parsers read (fast paths and slow), on SQLite and
PostgreSQL, in one transaction, and lookups use the partial indexes afterwards."""
from __future__ import annotations

import hashlib
import sqlite3

import pytest
from sqlalchemy import select

from evidence_store import hashset_load
from evidence_store.knowledge import import_hashset, lab_dir
from evidence_store.models import HashSet, HashSetEntry
from forensics.matchers.hashsets import ROW, bulk, read_hashset, read_rows
from forensics.matchers.hashsets.digest_filter import DigestFilter
from forensics.matchers.models import HashSetWarning
from tests.conftest import CORPUS

SAMPLES = "hashsets/hashdeep-repo/"
ACTOR = ("tester", "technician")


def _expected(path, fmt, category=None, **options):
    rows = []
    for item in read_hashset(path, fmt, **options):
        if isinstance(item, HashSetWarning):
            continue
        rows.append((item.md5, item.sha1, item.sha256, item.pdq, item.category or category, item.name, item.size,
                     item.reference))
    return sorted(rows, key=repr)


def _stored(db, name):
    with db.session() as session:
        set_id = session.scalar(select(HashSet.id).where(HashSet.name == name))
        rows = session.execute(select(*[getattr(HashSetEntry, f) for f in ROW])
                               .where(HashSetEntry.hashset_id == set_id)).all()
    return sorted((tuple(r) for r in rows), key=repr)


def _list_with_every_kind_of_line(path):
    lines = [f"{hashlib.md5(str(i).encode()).hexdigest()}  dir/file {i}.txt" for i in range(300)]
    lines += [
        "# a comment",
        "",
        f"{hashlib.sha1(b'x').hexdigest()} *binary.exe",
        f"{hashlib.sha256(b'y').hexdigest().upper()}  UPPER.TXT",               # upper-case hex
        f"\\{hashlib.md5(b'z').hexdigest()}  line\\nbreak\\\\slash",             # coreutils escaped name
        f"MD5 (bsd style.txt) = {hashlib.md5(b'bsd').hexdigest()}",
        f"1234  {hashlib.md5(b'sized').hexdigest()}  sized.bin",                 # md5deep -z
        f"{hashlib.md5(b'tab').hexdigest()}  tab\there",                         # a tab in a name
        hashlib.md5(b"bare").hexdigest(),                                        # no name
        "not a hash line at all",
    ]
    path.write_text("\n".join(lines) + "\n")
    return path


def _clean_list(path, count=5000, algorithm=hashlib.sha1):
    path.write_text("".join(f"{algorithm(str(i).encode()).hexdigest()}  lib{i}.so\n" for i in range(count)))
    return path


def _rdsv3(path, good=400):
    connection = sqlite3.connect(path)
    connection.execute("CREATE TABLE FILE (sha256 VARCHAR, sha1 VARCHAR, md5 VARCHAR, crc32 VARCHAR, "
                       "file_name VARCHAR, file_size INTEGER, package_id INTEGER)")
    rows = [(hashlib.sha256(str(i).encode()).hexdigest().upper(), hashlib.sha1(str(i).encode()).hexdigest().upper(),
             hashlib.md5(str(i).encode()).hexdigest().upper(), "0", f"name\t{i}.dll" if i % 50 == 0 else f"f{i}.dll",
             i, 100 + i % 3) for i in range(good)]
    rows.append(("short", hashlib.sha1(b"a").hexdigest(), hashlib.md5(b"a").hexdigest(), "0", "bad.dll", 1, 1))
    rows.append((" " + hashlib.sha256(b"b").hexdigest() + " ", hashlib.sha1(b"b").hexdigest(),
                 hashlib.md5(b"b").hexdigest(), "0", "padded.dll", 2, 2))        # whitespace: cleaned, kept
    rows.append((hashlib.sha256(b"c").hexdigest(), hashlib.sha1(b"c").hexdigest(), hashlib.md5(b"c").hexdigest(),
                 "0", None, None, None))                                       # no name, size or package
    connection.executemany("INSERT INTO FILE VALUES (?,?,?,?,?,?,?)", rows)
    connection.commit()
    connection.close()
    return path


@pytest.mark.parametrize("in_process", [False, True], ids=["inline", "second-process"])
def test_every_format_loads_what_the_parser_reads(db, tmp_path, monkeypatch, in_process):
    if in_process:        # small files too: the second process is what large files use on PostgreSQL
        monkeypatch.setattr(hashset_load, "IN_PROCESS_BYTES", 0)
    sources = [(_list_with_every_kind_of_line(tmp_path / "mixed.txt"), "hash-list", None),
               (_clean_list(tmp_path / "clean.txt"), "hash-list", "lab-tools"),   # the fast path, with a category
               (_rdsv3(tmp_path / "RDS_2026.03.1_minimal.db"), "nsrl-rdsv3", None)]
    for name, fmt in (("sample-hashes__hashdeep.txt", "hashdeep"), ("sample-hashes__nsrl__NSRL-2.0.txt", "nsrl-rds2"),
                      ("sample-hashes__hashkeeper__Z00236.hsh", "hashkeeper")):
        path = CORPUS / SAMPLES / name
        if path.exists():
            sources.append((path, fmt, None))
    warnings = []
    for number, (path, fmt, category) in enumerate(sources):
        row = import_hashset(db, str(path), f"set-{number}", "known-good", fmt=fmt, category=category, actor=ACTOR,
                             warn=warnings.append)
        expected = _expected(path, fmt, category)
        assert row.entries == len(expected), path
        assert _stored(db, f"set-{number}") == expected, path
        digest_filter = DigestFilter(row.filter_path, row.id, row.filter_sha256)   # built from the same rows
        stored = [v for r in expected for v in r[:3] if v]
        assert stored and all(digest_filter.maybe(v) for v in stored), path
    assert any("not a hash-list line: 'not a hash line at all'" in w for w in warnings)
    assert any("FILE row 401" in w and "'short'" in w for w in warnings)          # rowid of the bad RDSv3 row


@pytest.mark.parametrize("chunk", [bulk.CHUNK, 64], ids=["one-block", "clean-and-bad-blocks"])
def test_fast_paths_give_the_parsers_rows(tmp_path, monkeypatch, chunk):
    """Blocks of 64 rows: the RDSv3 rows fall in blocks taken whole and one block (holding the bad
    rows) checked row by row; the rows and warnings are the row-by-row parser's either way."""
    monkeypatch.setattr(bulk, "CHUNK", chunk)
    warned = [w.line for w in bulk.pieces(_rdsv3(tmp_path / "warned.db"), "nsrl-rdsv3", mode="rows", hashset_id=1)
              if isinstance(w, HashSetWarning)]
    assert warned == [401]
    for path, fmt in ((_list_with_every_kind_of_line(tmp_path / "mixed.txt"), "hash-list"),
                      (_clean_list(tmp_path / "clean.txt", algorithm=hashlib.sha256), "hash-list"),
                      (_rdsv3(tmp_path / "rds.db"), "nsrl-rdsv3")):
        slow = sorted((r for r in read_rows(path, fmt) if not isinstance(r, HashSetWarning)), key=repr)
        fast = []
        for piece in bulk.pieces(path, fmt, mode="rows", hashset_id=1):
            if isinstance(piece, HashSetWarning):
                continue
            for fields, rows, count in piece:
                assert len(rows) == count
                for values in rows:
                    row = [None] * len(ROW)
                    for field, value in zip(fields, values):
                        row[field] = value
                    fast.append(tuple(row))
        assert sorted(fast, key=repr) == slow == _expected(path, fmt)


def test_copy_text_escapes_names_and_writes_nulls():
    line = bulk._copy_line(7, (0, 5, 6))
    assert line(("ab" * 16, "tab\there\\ and\nnewline", None)) == "7\t" + "ab" * 16 + "\ttab\\there\\\\ and\\nnewline\t\\N\n"


def test_a_failed_import_leaves_nothing(db, tmp_path, monkeypatch):
    path = _clean_list(tmp_path / "clean.txt", count=bulk.CHUNK + 10)
    real = bulk.pieces

    def failing(*args, **kwargs):          # the first piece is written, then the source fails
        for piece in real(*args, **kwargs):
            yield piece
            raise OSError("disk went away")

    monkeypatch.setattr(bulk, "pieces", failing)
    with pytest.raises(OSError, match="disk went away"):
        import_hashset(db, str(path), "broken", "known-good", actor=ACTOR)
    with db.session() as session:
        assert session.scalars(select(HashSet.id)).all() == []
        assert session.scalars(select(HashSetEntry.id).limit(1)).all() == []
    assert not list((lab_dir(db) / "hashsets").glob("*.filter*"))
    monkeypatch.setattr(bulk, "pieces", real)
    row = import_hashset(db, str(path), "broken", "known-good", actor=ACTOR)   # and the same import works after
    assert row.entries == bulk.CHUNK + 10


def test_a_second_set_loads_into_its_own_table_and_lookups_find_both(db, tmp_path):
    """Each set has its own table with its own indexes (the second set never goes through the first's);
    entry ids stay unique across sets; the ``hashset_entries`` union reads both; lookups find both."""
    from sqlalchemy import func, inspect

    from evidence_store import hashset_tables
    from evidence_store.matching import Knowledge
    from evidence_store.stages.options import StageOptions
    from forensics.content import Digests

    first = _clean_list(tmp_path / "first.txt", count=3000, algorithm=hashlib.md5)
    second = _rdsv3(tmp_path / "second.db")
    one = import_hashset(db, str(first), "first", "known-good", actor=ACTOR)
    two = import_hashset(db, str(second), "second", "known-bad", actor=ACTOR)
    with db.engine.connect() as connection:
        assert hashset_tables.set_ids(connection) == [one.id, two.id]
    for row in (one, two):
        name = hashset_tables.table_name(row.id)
        assert {i["name"] for i in inspect(db.engine).get_indexes(name)} >= {
            f"ix_{name}_md5", f"ix_{name}_sha1", f"ix_{name}_sha256"}
    with db.session() as session:
        spans = {}
        for row in (one, two):
            entries = hashset_tables.entries_of(row.id)
            spans[row.id] = session.execute(select(func.min(entries.c.id), func.max(entries.c.id),
                                                   func.count())).one()
            assert spans[row.id][2] == row.entries
            assert session.scalar(select(func.count()).select_from(HashSetEntry)
                                  .where(HashSetEntry.hashset_id == row.id)) == row.entries
        assert spans[one.id][1] < spans[two.id][0]                      # ids above the first set's
        assert session.scalar(select(func.count(func.distinct(HashSetEntry.id)))) == one.entries + two.entries
    knowledge = Knowledge(db, StageOptions())
    content = b"7"
    digests = Digests(1, hashlib.md5(content).hexdigest(), hashlib.sha1(content).hexdigest(),
                      hashlib.sha256(content).hexdigest(), "text/plain", "", False)
    with db.reading() as session:
        found = knowledge.lookup(session, digests)
    assert sorted((f["set_name"], f["rule"]) for f in found) == [
        ("first", "md5"), ("second", "md5"), ("second", "sha1"), ("second", "sha256")]


def test_the_digest_filters_spare_the_database_and_change_no_answer(db, tmp_path, monkeypatch):
    """Streams no set holds are ruled out in memory; every answer equals the database's alone; a
    filter file altered after the import is refused (lookups ask the database, the run says why)."""
    from evidence_store.matching import Knowledge
    from evidence_store.stages.options import StageOptions
    from forensics.content import Digests

    import_hashset(db, str(_clean_list(tmp_path / "first.txt", count=3000, algorithm=hashlib.md5)), "first",
                   "known-good", actor=ACTOR)
    import_hashset(db, str(_rdsv3(tmp_path / "second.db")), "second", "known-bad", actor=ACTOR)

    def digests(content: bytes):
        return Digests(len(content), hashlib.md5(content).hexdigest(), hashlib.sha1(content).hexdigest(),
                       hashlib.sha256(content).hexdigest(), "text/plain", "", False)

    streams = [digests(str(i).encode()) for i in range(0, 600, 3)] + \
        [digests(f"absent {i}".encode()) for i in range(400)]

    def answers(knowledge, together=False):
        probes = []                      # (algorithm, value) asked of the database
        real = knowledge._probe_many
        monkeypatch.setattr(knowledge, "_probe_many", lambda session, wanted: probes.extend(
            (a, s, v) for a, by_set in wanted.items() for s, values in by_set.items() for v in values)
            or real(session, wanted))
        with db.reading() as session:
            results = knowledge.lookup_many(session, streams) if together else \
                [knowledge.lookup(session, d) for d in streams]
        found = [sorted((f["set_name"], f["rule"], f["detail"]["entry_id"]) for f in r) for r in results]
        return found, probes

    filtered = Knowledge(db, StageOptions())
    assert filtered.filter_state == "on (2 sets)"
    assert filtered.parameters()["hashset_filters"] == "on (2 sets)"
    with_filters, probes = answers(filtered)
    plain = Knowledge(db, StageOptions())
    plain.filters = None
    without, all_probes = answers(plain)
    assert with_filters == without
    assert sum(bool(f) for f in with_filters) == 200                      # every present stream found
    assert len(all_probes) == 3 * 600
    # each set's table is asked for what its filter may hold. Present: 134 streams in both sets (MD5 in
    # each, SHA-1 and SHA-256 in the second: 4 probes), 66 in the MD5 list only (1); absent: a few
    # false "maybe"s
    assert 134 * 4 + 66 <= len(probes) < 134 * 4 + 66 + 40, len(probes)
    assert {s for _, s, _ in all_probes} == {None}                       # without filters: all sets at once
    fresh = Knowledge(db, StageOptions())
    grouped, grouped_probes = answers(fresh, together=True)
    assert grouped == without and sorted(grouped_probes) == sorted(probes)
    unfiltered = Knowledge(db, StageOptions())
    unfiltered.filters = None                    # 600 values per algorithm: two IN lists / array arms each
    assert answers(unfiltered, together=True)[0] == without
    with db.session() as session:
        path = session.scalar(select(HashSet.filter_path).where(HashSet.name == "second"))
    data = bytearray(open(path, "rb").read())
    data[-1] ^= 0x01
    open(path, "wb").write(bytes(data))
    refused = Knowledge(db, StageOptions())
    assert refused.filters is None and refused.filter_state.startswith("off: hash set second ")
    assert "SHA-256 is not the one recorded" in refused.filter_state
    assert answers(refused)[0] == without


def test_a_lost_filter_is_reported_and_written_again_from_the_database(tmp_path):
    """`hashset list` says what is wrong with a set's filter; `hashset filter` writes it from the rows
    (sets imported before filters existed, a file lost or altered) and lookups use it again."""
    from evidence_store.db import Database
    from evidence_store.matching import Knowledge
    from evidence_store.stages.options import StageOptions
    from tests.conftest import cli_for

    url = f"sqlite:///{tmp_path / 'lab.db'}"
    cli = cli_for(url)
    cli("hashset", "import", str(_clean_list(tmp_path / "tools.txt", count=2000)), "--name", "tools",
        "--kind", "known-good")
    cli("hashset", "import", str(_rdsv3(tmp_path / "rds.db")), "--name", "rds", "--kind", "known-good")
    assert cli("hashset", "list").count("filter: ok") == 2
    db = Database(url)
    with db.session() as session:
        tools = session.scalar(select(HashSet).where(HashSet.name == "tools"))
        first_path, first_sha256 = tools.filter_path, tools.filter_sha256
        rds_path = session.scalar(select(HashSet.filter_path).where(HashSet.name == "rds"))
    open(first_path, "wb").close()
    with db.session() as session:                       # as a set imported before migration 0015 looks
        session.scalar(select(HashSet).where(HashSet.name == "rds")).filter_path = None
    listing = cli("hashset", "list")
    assert "filter: none" in listing and "the filter's SHA-256 is not the one recorded" not in listing
    assert "cannot open the hash set's filter" in listing          # an empty file cannot even be mapped
    assert Knowledge(db, StageOptions()).filters is None
    assert "no hash set named nope" in cli("hashset", "filter", "nope", code=3)
    out = cli("hashset", "filter")
    assert "tools" in out and "(was: " in out and "rds" in out
    assert cli("hashset", "list").count("filter: ok") == 2
    with db.session() as session:
        assert session.scalar(select(HashSet.filter_sha256).where(HashSet.name == "tools")) == first_sha256
    assert "filter ok" in cli("hashset", "filter", "tools")
    assert Knowledge(db, StageOptions()).filter_state == "on (2 sets)"
    assert rds_path
    db.dispose()
