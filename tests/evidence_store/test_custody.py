"""The custody ledger: complete, append-only, tamper-evident, signed (SQLite and PostgreSQL)."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DatabaseError

from evidence_store.custody import service
from evidence_store.custody.ledger import CustodyError, Event, append
from evidence_store.custody.signing import create_key, register_key, sign_checkpoint
from evidence_store.models import CustodyEvent
from tests.evidence_store.custody_tools import build_chain, rehash, rows, tamper

CHAIN = "CASE-T"


@pytest.fixture
def lab_key(tmp_path, monkeypatch):
    directory = tmp_path / "keys"
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(directory))
    return create_key(directory)


def _verify(db):
    reports, _ = service.verify(db, CHAIN)
    return reports[0]


def _signed_chain(db, lab_key, events=12):
    build_chain(db, CHAIN, events)
    with db.session() as session:
        register_key(session, lab_key.public_key(), "test lab key", ("alice", "examiner"))
        sign_checkpoint(session, CHAIN, lab_key)


def test_intact_chain_verifies(db, lab_key):
    _signed_chain(db, lab_key)
    report = _verify(db)
    assert report.ok and report.events == 12 and report.last_checkpoint_seq == 12
    assert report.unprotected_tail == 0


def test_mandatory_fields_are_enforced(db):
    with db.session() as session, pytest.raises(CustodyError, match="exhibit EX-1 is missing mandatory field"
                                                                    r"\(s\): from_custodian, purpose"):
        append(session, Event(action="transfer", actor="bob", actor_role="officer", case_name=CHAIN,
                              exhibit="EX-1", to_custodian="evidence store", idempotency_key="t1"))
    with db.session() as session, pytest.raises(CustodyError, match="actor"):
        append(session, Event(action="view", actor="", actor_role="examiner", case_name=CHAIN,
                              exhibit="EX-1", purpose="x", idempotency_key="t2"))


def test_idempotency_key_prevents_duplicates(db):
    event = Event(action="view", actor="a", actor_role="r", case_name=CHAIN, exhibit="E", purpose="p",
                  idempotency_key="retry-1")
    for _ in range(3):
        with db.session() as session:
            append(session, event)
    assert len(rows(db, CHAIN)) == 1


@pytest.mark.parametrize("statement", [
    "UPDATE custody_events SET actor = 'mallory'",
    "DELETE FROM custody_events",
    "UPDATE custody_checkpoints SET seq = 1",
    "DELETE FROM custody_keys",
])
def test_database_refuses_changes(db, lab_key, statement):
    _signed_chain(db, lab_key)
    with pytest.raises(DatabaseError, match="append-only"):
        with db.engine.begin() as connection:
            connection.execute(text(statement))
    assert len(rows(db, CHAIN)) == 12


def test_postgres_truncate_and_app_role(db, lab_key):
    if db.dialect != "postgresql":
        pytest.skip("TRUNCATE and roles are PostgreSQL's")
    _signed_chain(db, lab_key)
    with pytest.raises(DatabaseError, match="append-only"):
        with db.engine.begin() as connection:
            connection.execute(text("TRUNCATE custody_events"))
    with pytest.raises(DatabaseError, match="permission denied"):
        with db.engine.begin() as connection:
            connection.execute(text("SET LOCAL ROLE forensics_app"))
            connection.execute(text("SET LOCAL session_replication_role = replica"))  # not allowed either
            connection.execute(text("UPDATE custody_events SET actor = 'mallory'"))
    with db.engine.begin() as connection:                   # but the app role can append and read
        connection.execute(text("SET LOCAL ROLE forensics_app"))
        assert connection.execute(text("SELECT count(*) FROM custody_events WHERE chain = 'CASE-T'")).scalar() == 12


def test_edited_field_is_named(db, lab_key):
    _signed_chain(db, lab_key)
    tamper(db, ("UPDATE custody_events SET purpose = 'nothing to see' WHERE chain = :c AND seq = 5", {"c": CHAIN}))
    problem = _verify(db).problems[0]
    assert (problem.kind, problem.seq, problem.exhibit) == ("edited", 5, "EX-0")


def test_deleted_event_is_named(db, lab_key):
    _signed_chain(db, lab_key)
    tamper(db, ("DELETE FROM custody_events WHERE chain = :c AND seq = 7", {"c": CHAIN}))
    problem = _verify(db).problems[0]
    assert (problem.kind, problem.seq) == ("deleted", 7)


def test_deleted_and_renumbered_is_named(db, lab_key):
    _signed_chain(db, lab_key)
    tamper(db, ("DELETE FROM custody_events WHERE chain = :c AND seq = 4", {"c": CHAIN}),
           ("UPDATE custody_events SET seq = -(seq - 1) WHERE chain = :c AND seq > 4", {"c": CHAIN}),
           ("UPDATE custody_events SET seq = -seq WHERE chain = :c AND seq < 0", {"c": CHAIN}))
    problem = _verify(db).problems[0]
    assert (problem.kind, problem.seq) == ("deleted", 4)


def test_inserted_event_is_named(db, lab_key):
    _signed_chain(db, lab_key)
    original = rows(db, CHAIN)
    forged = {**original[5], "seq": 6, "prev_hash": original[4]["event_hash"], "purpose": "backdated entry",
              "exhibit": "EX-9", "idempotency_key": "forged"}
    forged["event_hash"] = rehash(forged)
    forged.pop("id")
    columns = ", ".join(forged)
    tamper(db, ("UPDATE custody_events SET seq = -(seq + 1) WHERE chain = :c AND seq >= 6", {"c": CHAIN}),
           ("UPDATE custody_events SET seq = -seq WHERE chain = :c AND seq < 0", {"c": CHAIN}),
           (f"INSERT INTO custody_events ({columns}) VALUES ({', '.join(':' + k for k in forged)})", forged))
    problem = _verify(db).problems[0]
    assert (problem.kind, problem.seq, problem.exhibit) == ("inserted", 6, "EX-9")


def test_reordered_events_are_named(db, lab_key):
    _signed_chain(db, lab_key)
    tamper(db, ("UPDATE custody_events SET seq = -1 WHERE chain = :c AND seq = 8", {"c": CHAIN}),
           ("UPDATE custody_events SET seq = 8 WHERE chain = :c AND seq = 9", {"c": CHAIN}),
           ("UPDATE custody_events SET seq = 9 WHERE chain = :c AND seq = -1", {"c": CHAIN}))
    problem = _verify(db).problems[0]
    assert (problem.kind, problem.seq) == ("reordered", 8)


def test_consistently_rewritten_chain_is_caught_by_checkpoint(db, lab_key):
    build_chain(db, CHAIN, 6)
    with db.session() as session:
        register_key(session, lab_key.public_key(), "k", ("alice", "examiner"))
        sign_checkpoint(session, CHAIN, lab_key)        # checkpoint at 6
    with db.session() as session:
        for index in range(6, 12):
            append(session, Event(action="view", actor="alice", actor_role="examiner", case_name=CHAIN,
                                  exhibit="EX-1", purpose=f"later {index}", idempotency_key=f"later:{index}"))
        sign_checkpoint(session, CHAIN, lab_key)        # checkpoint at 12
    chain = rows(db, CHAIN)
    statements, prev = [], chain[7]["prev_hash"]
    for row in chain[7:]:                                # rewrite from seq 8 on, every link recomputed
        row = {**row, "prev_hash": prev}
        if row["seq"] == 8:
            row["purpose"] = "rewritten history"
        row["event_hash"] = rehash(row)
        prev = row["event_hash"]
        statements.append(("UPDATE custody_events SET purpose = :purpose, prev_hash = :prev_hash, "
                           "event_hash = :event_hash WHERE id = :id", row))
    tamper(db, *statements)
    report = _verify(db)
    assert [p.kind for p in report.problems] == ["rewritten"]
    assert report.problems[0].seq == 7                   # first event after the last checkpoint that still holds


def test_truncation_before_last_checkpoint_is_caught(db, lab_key):
    _signed_chain(db, lab_key)
    tamper(db, ("DELETE FROM custody_events WHERE chain = :c AND seq > 9", {"c": CHAIN}))
    problem = _verify(db).problems[0]
    assert (problem.kind, problem.seq) == ("truncated", 10)


def test_truncation_after_last_checkpoint_is_the_documented_limit(db, lab_key):
    _signed_chain(db, lab_key)
    with db.session() as session:
        for index in range(3):
            append(session, Event(action="view", actor="alice", actor_role="examiner", case_name=CHAIN,
                                  exhibit="EX-1", purpose="after checkpoint", idempotency_key=f"tail:{index}"))
    assert _verify(db).unprotected_tail == 3
    tamper(db, ("DELETE FROM custody_events WHERE chain = :c AND seq > 12", {"c": CHAIN}))
    report = _verify(db)
    assert report.ok and report.unprotected_tail == 0    # undetectable: nothing signed mentioned them


def test_checkpoint_by_unknown_key_is_named(db, lab_key, tmp_path):
    _signed_chain(db, lab_key)
    rogue = create_key(tmp_path / "rogue")
    with db.session() as session:
        register_key(session, rogue.public_key(), "rogue", ("mallory", "dba"))
        sign_checkpoint(session, CHAIN, rogue)
    problems = _verify(db).problems
    assert [(p.kind, p.seq) for p in problems] == [("unknown-key", 12)]


def test_forged_signature_is_named(db, lab_key):
    _signed_chain(db, lab_key)
    tamper(db, ("UPDATE custody_checkpoints SET signature = :s", {"s": "00" * 64}))
    assert [p.kind for p in _verify(db).problems] == ["bad-signature"]


def test_pipeline_records_every_action(db, sample_image, lab_key, tmp_path):
    from evidence_store.intake import add_exhibit, create_case
    from evidence_store.pipeline import process_exhibit
    from evidence_store.viewing import view_content

    create_case(db, "CASE-P", actor=("alice", "examiner"))
    exhibit = add_exhibit(db, "CASE-P", "EX-1", str(sample_image.path), "alice")
    with db.session() as session:
        register_key(session, lab_key.public_key(), "lab", ("alice", "examiner"))
    process_exhibit(db, exhibit.id)
    service.transfer(db, "CASE-P", "EX-1", from_custodian="alice", to_custodian="evidence store",
                     purpose="storage", seals_applied=("S-0001",), actor=("alice", "examiner"))
    with db.session() as session:
        file_id = session.scalar(select(__import__("evidence_store.models", fromlist=["FileEntry"]).FileEntry.id)
                                 .where(text("path = '/docs/report.pdf'")).limit(1))
    data = b"".join(view_content(db, "CASE-P", "EX-1", file_id, "check report", actor=("bob", "analyst")))
    assert data.startswith(b"%PDF")
    actions = [row["action"] for row in rows(db, "CASE-P")]
    assert actions[:2] == ["case-opened", "intake"]
    assert actions.index("hash-verification") < actions.index("stage-end")   # inside the intake stage
    for action in ("stage-start", "stage-end", "integrity-check", "transfer", "view"):
        assert action in actions
    stages = {r["tool_parameters"] and __import__("json").loads(r["tool_parameters"])["stage"]
              for r in rows(db, "CASE-P") if r["action"] == "stage-end"}
    assert {"intake", "scan", "walk", "content", "carve", "match-carved", "finalize"} <= stages
    reports, _ = service.verify(db, "CASE-P")
    assert reports[0].ok and reports[0].checkpoints == 1     # finalize signed one automatically
    with db.session() as session:
        assert session.scalar(select(CustodyEvent).where(CustodyEvent.action == "transfer")).seals_applied == '["S-0001"]'


def test_rerunning_stages_adds_no_custody_events(db, sample_image, tmp_path, monkeypatch):
    from evidence_store.intake import add_exhibit, create_case
    from evidence_store.pipeline import process_exhibit
    from evidence_store.runs import RunContext

    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "none"))
    create_case(db, "CASE-R", actor=("alice", "examiner"))
    exhibit = add_exhibit(db, "CASE-R", "EX-1", str(sample_image.path), "alice")
    ctx = RunContext(orchestrator="airflow", run_id="manual__2026-11-23")
    process_exhibit(db, exhibit.id, ctx=ctx)
    before = len(rows(db, "CASE-R"))
    process_exhibit(db, exhibit.id, ctx=ctx)                  # an Airflow retry of the same run
    assert len(rows(db, "CASE-R")) == before


def test_integrity_mismatch_marks_results_untrusted(db, sample_image, tmp_path, monkeypatch):
    from evidence_store.stages import finish, volumes
    from evidence_store.intake import add_exhibit, create_case
    from evidence_store.models import Exhibit
    from evidence_store.runs import RunContext

    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "none"))
    image = tmp_path / "evidence.raw"
    image.write_bytes(sample_image.path.read_bytes())
    create_case(db, "CASE-I", actor=("alice", "examiner"))
    exhibit = add_exhibit(db, "CASE-I", "EX-1", str(image), "alice")
    ctx = RunContext()
    volumes.register(db, exhibit.id, ctx)
    with open(image, "r+b") as handle:            # the evidence changes under the pipeline
        handle.seek(60 * 1024 * 1024)
        handle.write(b"changed")
    summary = finish.finalize(db, exhibit.id, ctx)
    assert summary["results_trusted"] is False
    check = [r for r in rows(db, "CASE-I") if r["action"] == "integrity-check"][-1]
    assert check["hash_match"] is False and check["hash_before"] != check["hash_after"]
    service.review(db, "CASE-I", "EX-1", "re-imaged from the original drive; hash matches", ("carol", "reviewer"))
    with db.session() as session:
        assert session.get(Exhibit, exhibit.id).results_trusted is True
    assert rows(db, "CASE-I")[-1]["action"] == "review"
