"""The evidence_pipeline DAG: it imports cleanly, and a ``dag.test()`` run on a generated image
leaves the same case-database rows as ``forensics process`` (evidence_store.pipeline)."""
from __future__ import annotations

import functools
import importlib.util
import os
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("apache-airflow is not installed (pip install -e .[airflow])", allow_module_level=True)

from forensics.sample import SampleToolMissing, build_sample_image, require_tools  # noqa: E402

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
DAG_ID = "evidence_pipeline"
TASK_IDS = {"register", "scan_volumes", "walk", "plan_batches", "hash_type", "finalize"}
MIN_BATCH = 10  # small batches so the sample image maps hash_type over several id ranges
AIRFLOW_BIN = Path(sys.executable).with_name("airflow")


@pytest.fixture(scope="module")
def airflow_home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A throwaway AIRFLOW_HOME with a migrated SQLite metadata DB, set before airflow is imported."""
    if "airflow.settings" in sys.modules:
        pytest.fail("airflow was imported before this module could point AIRFLOW_HOME at a temp dir; "
                    "importing it at collection time would use (and write to) ~/airflow")
    home = tmp_path_factory.mktemp("airflow_home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("AIRFLOW_HOME", str(home))
        mp.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
        mp.setenv("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS))
        airflow = str(AIRFLOW_BIN) if AIRFLOW_BIN.exists() else "airflow"
        subprocess.run([airflow, "db", "migrate"], check=True, capture_output=True, env=dict(os.environ))
        yield home


@pytest.fixture(scope="module")
def dagbag(airflow_home: Path):
    from airflow.dag_processing.dagbag import DagBag  # Airflow 3.3: no include_examples argument

    return DagBag(dag_folder=str(DAGS))


@pytest.fixture(scope="module")
def disk_image(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        require_tools("sfdisk", "mkfs.vfat", "mmd", "mcopy", "mdel", "mke2fs", "debugfs")
    except SampleToolMissing as missing:
        pytest.skip(str(missing))
    return build_sample_image(tmp_path_factory.mktemp("image") / "disk.raw").path


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Both runs plan batches of MIN_BATCH entries (dag.test runs the tasks in this process)."""
    from evidence_store import stages

    monkeypatch.setattr(stages, "plan_batches", functools.partial(stages.plan_batches, min_batch=MIN_BATCH))


def _new_db(path: Path, image: Path, *, expected_sha256: str | None = None):
    from evidence_store.db import Database
    from evidence_store.intake import add_exhibit, create_case
    from evidence_store.runs import StageFailed

    db = Database(f"sqlite:///{path}")
    db.migrate()
    create_case(db, "CASE-1")
    try:
        add_exhibit(db, "CASE-1", "EX-1", str(image), "tester", expected_sha256=expected_sha256)
    except StageFailed:
        assert expected_sha256, "intake of the sample image failed"
    return db


def _rows(db, model, exclude=("id", "exhibit_id", "volume_id")) -> list[tuple]:
    """Every column but surrogate ids (file entries get their volume's path instead)."""
    from sqlalchemy import select

    from evidence_store.models import FileEntry, Volume

    columns = [c for c in model.__table__.columns if c.name not in exclude]
    query = select(*columns)
    if model is FileEntry:
        query = query.add_columns(Volume.volume_path).join(Volume, Volume.id == FileEntry.volume_id)
    with db.session() as session:
        return sorted((tuple(row) for row in session.execute(query)), key=repr)


def _warnings(db) -> list[tuple]:
    from sqlalchemy import select

    from evidence_store.models import ProcessingWarning as W

    with db.session() as session:
        return sorted(session.execute(select(W.stage, W.severity, W.path, W.message)).all(), key=repr)


def _task_instances(home: Path, run_id: str) -> list[tuple[str, int, str, int, str | None]]:
    with sqlite3.connect(home / "airflow.db") as conn:
        return conn.execute("SELECT task_id, map_index, state, try_number, rendered_map_index FROM task_instance "
                            "WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index",
                            (DAG_ID, run_id)).fetchall()


def test_dagbag_imports(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert DAG_ID in dagbag.dags
    dag = dagbag.dags[DAG_ID]
    assert set(dag.task_ids) == TASK_IDS
    assert dag.get_task("walk").upstream_task_ids == {"scan_volumes"}
    assert dag.get_task("plan_batches").upstream_task_ids == {"register", "walk"}
    assert dag.get_task("hash_type").upstream_task_ids == {"register", "plan_batches"}
    assert dag.get_task("finalize").upstream_task_ids == {"register", "hash_type"}


def test_dag_run_matches_cli(dagbag, airflow_home: Path, disk_image: Path, tmp_path: Path,
                             monkeypatch: pytest.MonkeyPatch, small_batches: None) -> None:
    from sqlalchemy import func, select

    from evidence_store import stages
    from evidence_store.intake import lookup_exhibit
    from evidence_store.models import Exhibit, FileEntry, ProcessingRun, Volume
    from evidence_store.pipeline import process_exhibit

    dag_db = _new_db(tmp_path / "dag.db", disk_image)
    monkeypatch.setenv("FORENSICS_DATABASE_URL", dag_db.url)
    dag_run = dagbag.dags[DAG_ID].test(run_conf={"case": "CASE-1", "exhibit": "EX-1"})
    assert dag_run.state == "success"

    cli_db = _new_db(tmp_path / "cli.db", disk_image)
    _, cli_exhibit = lookup_exhibit(cli_db, "CASE-1", "EX-1")
    assert process_exhibit(cli_db, cli_exhibit)["status"] == "complete"

    _, dag_exhibit = lookup_exhibit(dag_db, "CASE-1", "EX-1")
    for db, exhibit_id in ((dag_db, dag_exhibit), (cli_db, cli_exhibit)):
        with db.session() as session:
            assert session.get(Exhibit, exhibit_id).status == "complete"
    assert _rows(dag_db, Volume) == _rows(cli_db, Volume)
    assert _rows(dag_db, FileEntry) == _rows(cli_db, FileEntry)
    assert _warnings(dag_db) == _warnings(cli_db)

    batches = stages.plan_batches(dag_db, dag_exhibit)
    with dag_db.session() as session:
        hashed = session.scalar(select(func.count()).select_from(FileEntry).where(FileEntry.hash_status == "hashed"))
        filesystems = session.scalar(select(func.count()).select_from(Volume).where(Volume.kind == "filesystem"))
        runs = session.execute(select(ProcessingRun.stage, ProcessingRun.outcome, ProcessingRun.run_key)
                               .where(ProcessingRun.orchestrator == "airflow")).all()
    assert hashed > MIN_BATCH and len(batches) > 1 and filesystems >= 2
    assert all(r.outcome == "success" and r.run_key.startswith(f"airflow:{dag_run.run_id}:") for r in runs)
    assert sorted(r.stage for r in runs) == sorted(["scan", "finalize"] + ["walk"] * filesystems
                                                   + ["hash"] * len(batches))

    tis = _task_instances(airflow_home, dag_run.run_id)
    assert sorted(m for t, m, *_ in tis if t == "walk") == list(range(filesystems))
    assert sorted(m for t, m, *_ in tis if t == "hash_type") == list(range(len(batches)))
    assert [label for t, *_, label in tis if t == "hash_type"] == [f"entries {lo}-{hi}" for lo, hi in batches]
    assert {state for _, _, state, *_ in tis} == {"success"}


def test_halted_exhibit_fails_without_retry(dagbag, airflow_home: Path, disk_image: Path, tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A hash mismatch recorded at intake fails ``register`` once (no retries); nothing else runs."""
    from evidence_store.intake import lookup_exhibit
    from evidence_store.models import Exhibit, FileEntry

    db = _new_db(tmp_path / "halted.db", disk_image, expected_sha256="0" * 64)
    monkeypatch.setenv("FORENSICS_DATABASE_URL", db.url)
    dag_run = dagbag.dags[DAG_ID].test(run_conf={"case": "CASE-1", "exhibit": "EX-1"})
    assert dag_run.state == "failed"

    states = {t: (state, tries) for t, _, state, tries, _ in _task_instances(airflow_home, dag_run.run_id)}
    assert states["register"] == ("failed", 1)
    assert all(state == "upstream_failed" for t, (state, _) in states.items() if t != "register")
    _, exhibit_id = lookup_exhibit(db, "CASE-1", "EX-1")
    with db.session() as session:
        assert session.get(Exhibit, exhibit_id).status == "halted"
        assert session.query(FileEntry).count() == 0
