"""One table per hash set (evidence_store/hashset_tables.py): migration 0016 moves the rows of the
shared table into per-set tables and back, ids and values unchanged; imports after it add tables."""
from __future__ import annotations

import hashlib

from alembic import command
from sqlalchemy import inspect, select

from evidence_store import hashset_tables
from evidence_store.knowledge import import_hashset
from evidence_store.models import HashSetEntry

ACTOR = ("tester", "technician")


def _alembic(db, verb: str, revision: str) -> None:
    with db.engine.begin() as connection:
        config = db.alembic_config()
        config.attributes["connection"] = connection
        getattr(command, verb)(config, revision)


def _rows(db):
    with db.session() as session:
        return session.execute(select(HashSetEntry.__table__).order_by(HashSetEntry.id)).all()


def _list(path, start, count):
    path.write_text("".join(f"{hashlib.md5(str(i).encode()).hexdigest()}  file{i}.bin\n"
                            for i in range(start, start + count)))
    return str(path)


def test_migration_0016_moves_every_row_both_ways(db, tmp_path):
    one = import_hashset(db, _list(tmp_path / "a.txt", 0, 700), "first", "known-good", actor=ACTOR)
    two = import_hashset(db, _list(tmp_path / "b.txt", 500, 300), "second", "known-bad", actor=ACTOR)
    (tmp_path / "e.txt").write_text("# a list with no entries (yet)\n")
    empty = import_hashset(db, str(tmp_path / "e.txt"), "empty", "known-good", fmt="hash-list", actor=ACTOR)
    assert empty.entries == 0
    before = _rows(db)
    assert len(before) == 1000 and len({r.id for r in before}) == 1000

    _alembic(db, "downgrade", "0015")                  # back to one shared table
    assert inspect(db.engine).has_table("hashset_entries")
    assert not any(hashset_tables.is_set_table(t) for t in inspect(db.engine).get_table_names())
    assert {i["name"] for i in inspect(db.engine).get_indexes("hashset_entries")} == {
        "ix_hashset_entries_md5", "ix_hashset_entries_sha1", "ix_hashset_entries_sha256"}
    assert _rows(db) == before

    _alembic(db, "upgrade", "head")                    # and into a table per set again, the empty one too
    with db.engine.connect() as connection:
        assert hashset_tables.set_ids(connection) == [one.id, two.id, empty.id]
    assert _rows(db) == before
    for row in (one, two):
        name = hashset_tables.table_name(row.id)
        assert {i["name"] for i in inspect(db.engine).get_indexes(name)} >= {
            f"ix_{name}_md5", f"ix_{name}_sha1", f"ix_{name}_sha256"}

    three = import_hashset(db, _list(tmp_path / "c.txt", 2000, 50), "third", "known-good", actor=ACTOR)
    assert three.id > empty.id
    after = _rows(db)
    assert after[:1000] == before and len(after) == 1050
    assert min(r.id for r in after[1000:]) > max(r.id for r in before)
    assert {r.hashset_id for r in after[1000:]} == {three.id}


def test_a_failed_import_leaves_no_table(db, tmp_path, monkeypatch):
    from forensics.matchers.hashsets import bulk

    import_hashset(db, _list(tmp_path / "a.txt", 0, 10), "first", "known-good", actor=ACTOR)
    real = bulk.pieces

    def failing(*args, **kwargs):
        yield from real(*args, **kwargs)
        raise OSError("the disk went away")

    monkeypatch.setattr(bulk, "pieces", failing)
    try:
        import_hashset(db, _list(tmp_path / "b.txt", 100, 10), "second", "known-good", actor=ACTOR)
    except OSError:
        pass
    else:
        raise AssertionError("the import should have failed")
    with db.engine.connect() as connection:
        assert len(hashset_tables.set_ids(connection)) == 1
    assert len(_rows(db)) == 10
