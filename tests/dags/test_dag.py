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
from contextlib import closing
from pathlib import Path

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("apache-airflow is not installed (pip install -e .[airflow])", allow_module_level=True)

from forensics.sample import SampleToolMissing, build_sample_image, require_tools  # noqa: E402

pytestmark = pytest.mark.airflow

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
DAG_ID = "evidence_pipeline"
TASK_IDS = {"register", "scan", "walk.plan", "walk.run", "content.plan", "content.run", "expand.plan", "expand.run",
            "derived.plan", "derived.run", "carve.plan", "carve.run", "match-carved", "links", "finalize", "report"}
MIN_BATCH = 10  # small batches so the sample image maps content.run over several id ranges
CARVE_BATCH_BYTES = 1 << 20  # likewise carve.run over several batches of ranges
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
        migrate = subprocess.run([airflow, "db", "migrate"], capture_output=True, text=True, env=dict(os.environ))
        assert migrate.returncode == 0, f"airflow db migrate failed:\n{migrate.stderr[-3000:]}"
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
    """Both runs plan batches of MIN_BATCH entries and carve batches of 1 MiB of ranges (dag.test runs
    the tasks in this process), so both map several tasks."""
    from evidence_store.stages import content

    monkeypatch.setenv("FORENSICS_CARVE_BATCH_BYTES", str(CARVE_BATCH_BYTES))
    monkeypatch.setattr(content, "plan_batches", functools.partial(content.plan_batches, min_batch=MIN_BATCH))


def _add(db, case: str, image: Path, *, expected_sha256: str | None = None) -> int:
    """Registers ``image`` as exhibit EX-1 of ``case`` (intake hashes it); returns the exhibit id."""
    from evidence_store.intake import add_exhibit, create_case, lookup_exhibit
    from evidence_store.runs import StageFailed

    create_case(db, case)
    try:
        add_exhibit(db, case, "EX-1", str(image), "tester", expected_sha256=expected_sha256)
    except StageFailed:
        assert expected_sha256, "intake of the sample image failed"
    return lookup_exhibit(db, case, "EX-1")[1]


def _rows(db, model, exhibit_id: int) -> list[tuple]:
    """Every column of the exhibit's rows but surrogate ids (entries carry their volume's path)."""
    from sqlalchemy import select

    from evidence_store.models import FileEntry, Volume

    columns = [c for c in model.__table__.columns
               if c.name not in ("id", "exhibit_id", "volume_id", "range_id", "duplicate_of", "artifact_path",
                                 "parent_id")]   # surrogate ids; a derived entry's path names its parents
    query = select(*columns).where(model.exhibit_id == exhibit_id)
    if model is FileEntry:
        query = query.add_columns(Volume.volume_path).join(Volume, Volume.id == FileEntry.volume_id)
    with db.session() as session:
        return sorted((tuple(row) for row in session.execute(query)), key=repr)


def _warnings(db, exhibit_id: int) -> list[tuple]:
    from sqlalchemy import select

    from evidence_store.models import ProcessingWarning as W

    with db.session() as session:
        return sorted(session.execute(select(W.stage, W.severity, W.path, W.message)
                                      .where(W.exhibit_id == exhibit_id)).all(), key=repr)


def _task_instances(home: Path, run_id: str) -> list[tuple[str, int, str, int, str | None]]:
    with closing(sqlite3.connect(home / "airflow.db")) as conn:
        return conn.execute("SELECT task_id, map_index, state, try_number, rendered_map_index FROM task_instance "
                            "WHERE dag_id = ? AND run_id = ? ORDER BY task_id, map_index",
                            (DAG_ID, run_id)).fetchall()


def test_dagbag_imports(dagbag) -> None:
    assert dagbag.import_errors == {}
    assert DAG_ID in dagbag.dags
    dag = dagbag.dags[DAG_ID]
    assert set(dag.task_ids) == TASK_IDS
    upstream = {task_id: dag.get_task(task_id).upstream_task_ids - {"register"} for task_id in TASK_IDS}
    assert upstream == {
        "register": set(), "scan": set(),
        "walk.plan": {"scan"}, "walk.run": {"walk.plan"},
        "content.plan": {"walk.run"}, "content.run": {"content.plan"},
        "expand.plan": {"content.run"}, "expand.run": {"expand.plan"},
        "derived.plan": {"expand.run"}, "derived.run": {"derived.plan"},
        "carve.plan": {"scan"}, "carve.run": {"carve.plan"},
        "match-carved": {"carve.run", "content.run"},
        "links": {"content.run", "derived.run", "match-carved"},
        "finalize": {"links"},
        "report": {"finalize"},
    }
    assert all("register" in dag.get_task(t).upstream_task_ids for t in TASK_IDS - {"register"})


def test_dag_is_the_registry(dagbag) -> None:
    """Every registry stage is a task (or a plan/run group) and every ``after`` is an edge; nothing else."""
    from evidence_store.stages.registry import BY_NAME, STAGES

    dag = dagbag.dags[DAG_ID]

    def first(stage):
        return f"{stage.name}.plan" if stage.per_item else stage.name

    def last(stage):
        return f"{stage.name}.run" if stage.per_item else stage.name

    expected = {t for stage in STAGES for t in ({first(stage), last(stage)})}
    assert set(dag.task_ids) == expected
    edges = {(up, t) for t in dag.task_ids for up in dag.get_task(t).upstream_task_ids if up != "register"}
    registry_edges = {(last(BY_NAME[by]), first(stage)) for stage in STAGES for by in stage.after if by != "register"}
    registry_edges |= {(f"{s.name}.plan", f"{s.name}.run") for s in STAGES if s.per_item}
    assert edges == registry_edges


def test_dag_run_matches_cli(dagbag, airflow_home: Path, disk_image: Path, db,
                             monkeypatch: pytest.MonkeyPatch, small_batches: None) -> None:
    """One case database (SQLite, and PostgreSQL when reachable), the same image as two exhibits:
    one processed by ``dag.test()``, one by ``forensics process``; their rows must be equal."""
    from sqlalchemy import func, select

    from evidence_store.models import CarvedObjectRow, CarveRangeRow, Exhibit, FileEntry, ProcessingRun, Volume
    from evidence_store.pipeline import process_exhibit

    from evidence_store.lab import configure
    from evidence_store.models import Report

    configure(db, name="Test Lab", address="1 Test Street", declaration="I declare this is true.",
              actor=("tester", "technician"))
    dag_exhibit = _add(db, "CASE-DAG", disk_image)
    monkeypatch.setenv("FORENSICS_DATABASE_URL", db.url)
    dag_run = dagbag.dags[DAG_ID].test(run_conf={"case": "CASE-DAG", "exhibit": "EX-1", "examiner": "E. Xaminer"})
    assert dag_run.state == "success"
    with db.session() as session:   # the last task drafted the exhibit's report
        drafts = session.scalars(select(Report)).all()
        assert [(r.report_id, r.state.value, r.exhibits, r.examiner) for r in drafts] == [
            ("CASE-DAG-R001", "draft", ["EX-1"], "E. Xaminer")]
        assert Path(drafts[0].path).read_bytes().startswith(b"%PDF")

    cli_exhibit = _add(db, "CASE-CLI", disk_image)
    assert process_exhibit(db, cli_exhibit)["status"] == "complete"

    with db.session() as session:
        assert session.get(Exhibit, dag_exhibit).status == "complete"
    assert _rows(db, Volume, dag_exhibit) == _rows(db, Volume, cli_exhibit)
    assert _rows(db, FileEntry, dag_exhibit) == _rows(db, FileEntry, cli_exhibit)
    assert _warnings(db, dag_exhibit) == _warnings(db, cli_exhibit)
    assert _rows(db, CarveRangeRow, dag_exhibit) == _rows(db, CarveRangeRow, cli_exhibit)
    assert _rows(db, CarvedObjectRow, dag_exhibit) == _rows(db, CarvedObjectRow, cli_exhibit)

    from evidence_store.stages.content import plan_batches

    batches = plan_batches(db, dag_exhibit)
    from evidence_store.stages.expand import plan as plan_expand
    from evidence_store.stages.content import plan_derived
    expand_batches, derived_batches = plan_expand(db, dag_exhibit), plan_derived(db, dag_exhibit)
    from evidence_store.carving import _batches as carve_batches_of
    carve_batches = carve_batches_of(db, dag_exhibit, CARVE_BATCH_BYTES, 256)
    with db.session() as session:
        hashed = session.scalar(select(func.count()).select_from(FileEntry).where(
            FileEntry.exhibit_id == dag_exhibit, FileEntry.hash_status == "hashed"))
        filesystems = session.scalar(select(func.count()).select_from(Volume).where(
            Volume.exhibit_id == dag_exhibit, Volume.kind == "filesystem"))
        runs = session.execute(select(ProcessingRun.stage, ProcessingRun.outcome, ProcessingRun.run_key)
                               .where(ProcessingRun.orchestrator == "airflow")).all()
    assert hashed > MIN_BATCH and len(batches) > 1 and filesystems >= 2 and expand_batches and derived_batches
    assert all(r.outcome == "success" and r.run_key.startswith(f"airflow:{dag_run.run_id}:") for r in runs)
    assert sorted(r.stage for r in runs) == sorted(["scan", "links", "finalize", "match-carved"] + ["walk"] * filesystems
                                                   + ["content"] * len(batches) + ["carve"] * (len(carve_batches) + 1)
                                                   + ["expand"] * len(expand_batches) + ["derived"] * len(derived_batches))
    # the same order: the CLI runs the registry's stages one after another; the DAG may run independent
    # ones side by side (carving needs only the scan), but never a stage before what it depends on
    from evidence_store.stages.registry import STAGES

    with db.session() as session:
        def spans(exhibit_id):
            rows = session.execute(select(ProcessingRun.stage, ProcessingRun.started_at, ProcessingRun.ended_at)
                                   .where(ProcessingRun.exhibit_id == exhibit_id, ProcessingRun.stage != "intake")
                                   .order_by(ProcessingRun.started_at, ProcessingRun.id)).all()
            found = {}
            for stage, started, ended in rows:
                first, last = found.get(stage, (started, ended))
                found[stage] = (min(first, started), max(last, ended))
            return [r.stage for r in rows], found

        cli_order, _ = spans(cli_exhibit)
        ran = [s.name for s in STAGES if s.name in set(cli_order)]
        assert list(dict.fromkeys(cli_order)) == ran == ["scan", "walk", "content", "expand", "derived", "carve",
                                                         "match-carved", "links", "finalize"]
        dag_order, dag_spans = spans(dag_exhibit)
        assert set(dag_order) == set(cli_order)
        for stage in STAGES:
            for before in stage.after:
                if stage.name in dag_spans and before in dag_spans:
                    assert dag_spans[before][1] <= dag_spans[stage.name][0], f"{stage.name} began before {before}"

    tis = _task_instances(airflow_home, dag_run.run_id)
    assert sorted(m for t, m, *_ in tis if t == "walk.run") == list(range(filesystems))
    assert sorted(m for t, m, *_ in tis if t == "content.run") == list(range(len(batches)))
    assert sorted(m for t, m, *_ in tis if t == "carve.run") == list(range(len(carve_batches)))
    assert [label for t, *_, label in tis if t == "content.run"] == [f"entries {lo}-{hi}" for lo, hi in batches]
    assert {state for _, _, state, *_ in tis} == {"success"}


def test_halted_exhibit_fails_without_retry(dagbag, airflow_home: Path, disk_image: Path, db,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """A hash mismatch recorded at intake fails ``register`` once (no retries); nothing else runs."""
    from evidence_store.models import Exhibit, FileEntry

    exhibit_id = _add(db, "CASE-1", disk_image, expected_sha256="0" * 64)
    monkeypatch.setenv("FORENSICS_DATABASE_URL", db.url)
    dag_run = dagbag.dags[DAG_ID].test(run_conf={"case": "CASE-1", "exhibit": "EX-1"})
    assert dag_run.state == "failed"

    states = {t: (state, tries) for t, _, state, tries, _ in _task_instances(airflow_home, dag_run.run_id)}
    assert states["register"] == ("failed", 1)
    assert all(state == "upstream_failed" for t, (state, _) in states.items() if t != "register")
    with db.session() as session:
        assert session.get(Exhibit, exhibit_id).status == "halted"
        assert session.query(FileEntry).count() == 0


def test_nothing_to_walk_still_finalizes(dagbag, airflow_home: Path, disk_image: Path, sqlite_db,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """No file system to walk (say every volume stayed locked): the empty mapped tasks are skipped
    and the exhibit is still finalized, as ``forensics process`` does."""
    from evidence_store.models import Exhibit
    from evidence_store.stages import volumes

    def no_file_system_to_walk(*args, **kwargs) -> list[int]:
        return []   # the volumes are recorded; none is handed to walk

    monkeypatch.setattr(volumes, "plan_walk", no_file_system_to_walk)
    exhibit_id = _add(sqlite_db, "CASE-1", disk_image)
    monkeypatch.setenv("FORENSICS_DATABASE_URL", sqlite_db.url)
    dag_run = dagbag.dags[DAG_ID].test(run_conf={"case": "CASE-1", "exhibit": "EX-1"})
    assert dag_run.state == "success"

    states = {t: state for t, _, state, *_ in _task_instances(airflow_home, dag_run.run_id)}
    assert states == {"register": "success", "scan": "success", "walk.plan": "success", "walk.run": "skipped",
                      "content.plan": "success", "content.run": "skipped", "finalize": "success",
                      "expand.plan": "success", "expand.run": "skipped",
                      "derived.plan": "success", "derived.run": "skipped",
                      "carve.plan": "success", "carve.run": "success",   # carving reads the disk itself
                      "match-carved": "success", "links": "success", "report": "success"}
    with sqlite_db.session() as session:
        assert session.get(Exhibit, exhibit_id).status == "complete"


def test_credentials_reach_every_stage_that_reads_bytes(dagbag, airflow_home: Path, sqlite_db, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A LUKS volume is unlocked with the run's ``credentials`` param: scan, walk, content and carve each
    get them (an Airflow task is a process of its own), and the secret is never written to the case DB."""
    import hashlib
    import inspect

    from sqlalchemy import select

    import forensics.reader
    from evidence_store import carving
    from evidence_store.models import FileEntry, ProcessingRun, ProcessingWarning
    from evidence_store.stages import volumes
    from forensics.sample import build_ext4_image, build_luks_image, sample_files

    try:
        require_tools("cryptsetup", "mke2fs", "debugfs")
    except SampleToolMissing as missing:
        pytest.skip(str(missing))
    password = "s3cret-pass"
    files = sample_files(1)
    image = build_luks_image(tmp_path / "luks.img", build_ext4_image(tmp_path / "inner.img", files, size_mib=8),
                             password)
    seen: dict[str, list] = {}
    for module, name in ((volumes, "scan"), (volumes, "walk"), (carving, "plan_carving"), (carving, "carve_batch")):
        def spy(*args, _real=getattr(module, name), _name=name, **kwargs):
            bound = inspect.signature(_real).bind(*args, **kwargs)
            seen.setdefault(_name, []).append(list(bound.arguments.get("credentials", ())))
            return _real(*args, **kwargs)
        monkeypatch.setattr(module, name, spy)

    class SpyReader(forensics.reader.StreamReader):       # the content pass's one reader
        def __init__(self, credentials=(), *args, **kwargs):
            seen.setdefault("content", []).append(list(credentials))
            super().__init__(credentials, *args, **kwargs)
    monkeypatch.setattr(forensics.reader, "StreamReader", SpyReader)

    exhibit_id = _add(sqlite_db, "CASE-1", image)
    monkeypatch.setenv("FORENSICS_DATABASE_URL", sqlite_db.url)
    dag_run = dagbag.dags[DAG_ID].test(run_conf={"case": "CASE-1", "exhibit": "EX-1",
                                                 "credentials": [["password", password]]})
    assert dag_run.state == "success"

    assert set(seen) == {"scan", "walk", "content", "plan_carving", "carve_batch"}
    assert all(calls == [[("password", password)]] * len(calls) for calls in seen.values())
    with sqlite_db.session() as session:
        hashes = dict(session.execute(select(FileEntry.path, FileEntry.sha256)
                                      .where(FileEntry.exhibit_id == exhibit_id)).all())
        recorded = repr(session.execute(select(ProcessingRun.parameters, ProcessingRun.message)).all())
        recorded += repr(session.execute(select(ProcessingWarning.message)).all())
    assert {"/" + p: hashlib.sha256(c).hexdigest() for p, c in files.items()}.items() <= hashes.items()
    assert password not in recorded
