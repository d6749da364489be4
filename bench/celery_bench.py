#!/usr/bin/env python3
"""Scale-out benchmark: the DAG on Airflow's CeleryExecutor with 1, then 2 workers, one exhibit.

On this machine it starts what a lab runs on several (docs/airflow.md): PostgreSQL databases for
Airflow's metadata and the cases (new ones, dropped at the end), Redis as the Celery broker, the
Airflow API server, scheduler and DAG processor, and N Celery workers (``--concurrency 1`` each, so
N workers = N task processes). For each N it registers the same disk image as a new exhibit
(``forensics evidence add``), triggers ``evidence_pipeline`` (``airflow dags trigger``), waits for
the run and times it from trigger to end, with the stage spans from ``processing_runs``. The
reference is ``forensics process`` on the same image into the same case database. Then it checks
that every run left the same rows (volumes, file entries, findings, carved objects: every column but
surrogate ids and run ids).

    .venv/bin/python bench/celery_bench.py [--size-gb 0.5] [--workers 1 2] [--rules DIR] [--workdir DIR]

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust) and Redis on 127.0.0.1:6379.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import disk_image  # noqa: E402
from disk_image import MIB, log  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
ADMIN = "postgresql+psycopg2://postgres@127.0.0.1:5432/test"
DEFAULT_WORKDIR = Path("/tmp/forensics-celery-bench")
PORT = 8089


def _admin(sql: str) -> None:
    import sqlalchemy

    engine = sqlalchemy.create_engine(ADMIN, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.exec_driver_sql(sql)
    engine.dispose()


def _env(workdir: Path) -> dict[str, str]:
    base = ADMIN.rsplit("/", 1)[0]
    secret = secrets.token_hex(16)
    return dict(
        os.environ, AIRFLOW_HOME=str(workdir / "airflow"), AIRFLOW__CORE__EXECUTOR="CeleryExecutor",
        AIRFLOW__CORE__LOAD_EXAMPLES="False", AIRFLOW__CORE__DAGS_FOLDER=str(REPO / "dags"),
        AIRFLOW__CORE__PLUGINS_FOLDER=str(REPO / "plugins"),
        AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=f"{base}/fbench_airflow",
        AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:6379/13",
        AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql://postgres@127.0.0.1:5432/fbench_airflow",
        AIRFLOW__CELERY__WORKER_CONCURRENCY="1", AIRFLOW__CORE__PARALLELISM="32",
        AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG="32", AIRFLOW__API__PORT=str(PORT),
        AIRFLOW__CORE__EXECUTION_API_SERVER_URL=f"http://127.0.0.1:{PORT}/execution/",
        AIRFLOW__API_AUTH__JWT_SECRET=secret, AIRFLOW__API__SECRET_KEY=secret,
        AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC="1", AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL="5",
        FORENSICS_DATABASE_URL=f"{base}/fbench_cases", FORENSICS_DATA_DIR=str(workdir / "data"),
        FORENSICS_KEY_DIR=str(workdir / "keys"), LC_ALL="C.UTF-8", TZ="UTC")


class Services:
    """Background processes (each in its own process group), stopped together."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env, self.logs, self.running = env, logs, {}
        logs.mkdir(parents=True, exist_ok=True)

    def start(self, name: str, *argv: str) -> None:
        out = open(self.logs / f"{name}.log", "wb")
        self.running[name] = subprocess.Popen([str(BIN / "airflow"), *argv], stdout=out, stderr=subprocess.STDOUT,
                                              env=self.env, start_new_session=True)

    def stop(self, *names: str) -> None:
        for name in names or list(self.running):
            process = self.running.pop(name, None)
            if process is None:
                continue
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def airflow(env: dict[str, str], *argv: str, timeout: int = 600) -> str:
    done = subprocess.run([str(BIN / "airflow"), *argv], capture_output=True, text=True, env=env, timeout=timeout)
    if done.returncode:
        raise SystemExit(f"airflow {' '.join(argv)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def forensics(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run([str(BIN / "forensics"), *argv], capture_output=True, text=True, env=env)
    if done.returncode:
        raise SystemExit(f"forensics {' '.join(argv)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done.stdout


def wait_for_dag(env: dict[str, str], seconds: int = 300) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        listed = subprocess.run([str(BIN / "airflow"), "dags", "list", "-o", "json"], capture_output=True, text=True,
                                env=env)
        if '"evidence_pipeline"' in listed.stdout:
            return
        time.sleep(3)
    raise SystemExit("the DAG processor did not load evidence_pipeline")


def run_dag(env: dict[str, str], exhibit: str, timeout: int, batch_entries: int) -> tuple[float, str]:
    conf = json.dumps({"case": "SCALE", "exhibit": exhibit, "report": False, "batch_entries": batch_entries})
    started = time.monotonic()
    run_id = f"bench-{exhibit}-{int(time.time())}"
    airflow(env, "dags", "trigger", "evidence_pipeline", "--conf", conf, "--run-id", run_id)
    deadline = started + timeout
    import sqlalchemy

    metadata = sqlalchemy.create_engine(env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    while time.monotonic() < deadline:
        with metadata.connect() as connection:             # the run's state, from Airflow's own table
            state = connection.exec_driver_sql("SELECT state FROM dag_run WHERE run_id = %s",
                                               (run_id,)).scalar()
        if state in ("success", "failed"):
            return time.monotonic() - started, state
        time.sleep(2)
    return time.monotonic() - started, "timeout"


def stage_spans(url: str, exhibit_number: str) -> dict[str, float]:
    import sqlalchemy

    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        rows = connection.exec_driver_sql(
            "SELECT r.stage, MIN(r.started_at), MAX(r.ended_at) FROM processing_runs r JOIN exhibits e "
            "ON e.id = r.exhibit_id WHERE e.number = %s GROUP BY r.stage", (exhibit_number,)).all()
    engine.dispose()
    return {stage: (end - start).total_seconds() for stage, start, end in rows if start and end}


def rows_of(url: str, exhibit_number: str) -> dict[str, list]:
    """Every column of the exhibit's rows but surrogate ids, run ids and store paths (comparable across runs)."""
    import sqlalchemy

    skip = {"id", "exhibit_id", "volume_id", "range_id", "duplicate_of", "artifact_path", "parent_id", "run_id",
            "file_entry_id", "carved_object_id", "created_at", "engine_versions", "finding_key"}
    engine = sqlalchemy.create_engine(url)
    found = {}
    with engine.connect() as connection:
        exhibit_id = connection.exec_driver_sql("SELECT id FROM exhibits WHERE number = %s",
                                                (exhibit_number,)).scalar_one()
        for table in ("volumes", "file_entries", "findings", "carved_objects", "carve_ranges"):
            columns = [c["name"] for c in sqlalchemy.inspect(connection).get_columns(table) if c["name"] not in skip]
            quoted = ", ".join(f't."{c}"' for c in columns)          # "offset" is a reserved word
            where = "" if table != "findings" else (     # a finding names its file by path, not by id
                ", f.path, f.data_stream FROM findings t LEFT JOIN file_entries f ON f.id = t.file_entry_id")
            result = connection.exec_driver_sql(
                f"SELECT {quoted}{where or f' FROM {table} t'} WHERE t.exhibit_id = %s", (exhibit_id,)).all()
            found[table] = sorted((tuple(map(repr, row)) for row in result))
    engine.dispose()
    return found


def compiling(rules: Path) -> list[str]:
    """The rule files libyara compiles, each alone (as bench/pipeline_bench.py leaves the others out)."""
    import yara

    usable = []
    for path in sorted(rules.glob("*.yar")):
        try:
            yara.compile(filepath=str(path), externals=dict.fromkeys(("filename", "filepath", "extension",
                                                                      "filetype", "owner"), ""))
            usable.append(str(path))
        except yara.Error:
            continue
    return usable


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-gb", type=float, default=0.5)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rules", type=Path, default=None, help="a directory of .yar files to match with")
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--timeout", type=int, default=3600)
    parser.add_argument("--batch-entries", type=int, default=500,
                        help="entries per content batch in the DAG runs (one mapped task each)")
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    manifest = disk_image.ensure_image(args.workdir, args.size_gb)
    image = Path(manifest["path"]) if "path" in manifest else disk_image.image_paths(args.workdir, args.size_gb)[0]
    env = _env(args.workdir)
    for name in ("fbench_airflow", "fbench_cases"):
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        _admin(f'CREATE DATABASE "{name}"')
    shutil.rmtree(args.workdir / "airflow", ignore_errors=True)
    shutil.rmtree(args.workdir / "data", ignore_errors=True)
    services = Services(env, args.workdir / "logs")
    results = {"image": str(image), "image_mib": image.stat().st_size / MIB, "runs": []}
    try:
        log("migrating the Airflow metadata database (PostgreSQL) ...")
        airflow(env, "db", "migrate")
        forensics(env, "case", "create", "SCALE")
        if args.rules:
            forensics(env, "rules", "add", "bench-rules", *compiling(args.rules))
        log("reference: forensics process ...")
        forensics(env, "evidence", "add", str(image), "--case", "SCALE", "--exhibit", "CLI", "--examiner", "bench")
        started = time.monotonic()
        forensics(env, "process", "--case", "SCALE", "--exhibit", "CLI", "--workers", "2")
        results["runs"].append({"how": "forensics process --workers 2", "wall": time.monotonic() - started,
                                "state": "success", "stages": stage_spans(env["FORENSICS_DATABASE_URL"], "CLI")})
        log("starting the API server, scheduler and DAG processor ...")
        services.start("api-server", "api-server", "--port", str(PORT))
        services.start("scheduler", "scheduler")
        services.start("dag-processor", "dag-processor")
        wait_for_dag(env)
        for count in args.workers:
            names = [f"worker{n}" for n in range(count)]
            for name in names:
                services.start(name, "celery", "worker", "--concurrency", "1", "--celery-hostname", f"{name}@%h")
            time.sleep(15)                                   # workers connected and ready
            exhibit = f"CELERY-{count}"
            forensics(env, "evidence", "add", str(image), "--case", "SCALE", "--exhibit", exhibit, "--examiner",
                      "bench")
            log(f"DAG on {count} Celery worker(s) ...")
            wall, state = run_dag(env, exhibit, args.timeout, args.batch_entries)
            results["runs"].append({"how": f"Airflow CeleryExecutor, {count} worker(s)", "wall": wall, "state": state,
                                    "stages": stage_spans(env["FORENSICS_DATABASE_URL"], exhibit)})
            services.stop(*names)
        (args.workdir / "celery-results.json").write_text(json.dumps(results, indent=2, default=str))
        reference = rows_of(env["FORENSICS_DATABASE_URL"], "CLI")
        for run, exhibit in zip(results["runs"][1:], [f"CELERY-{c}" for c in args.workers]):
            rows = rows_of(env["FORENSICS_DATABASE_URL"], exhibit)
            run["rows_equal_cli"] = rows == reference
            run["row_counts"] = {t: len(v) for t, v in rows.items()}
    finally:
        services.stop()
    (args.workdir / "celery-results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"image {results['image']} ({results['image_mib']:,.0f} MiB)")
    first = next((r for r in results["runs"] if "1 worker" in r["how"]), None)
    for run in results["runs"]:
        speedup = f", speed-up {first['wall'] / run['wall']:.2f}x over 1 worker" if first and run is not first \
            and "Celery" in run["how"] else ""
        same = "" if "rows_equal_cli" not in run else (", rows equal to the CLI's" if run["rows_equal_cli"]
                                                       else ", ROWS DIFFER from the CLI's")
        stages = ", ".join(f"{k} {v:.1f} s" for k, v in sorted(run["stages"].items(), key=lambda kv: -kv[1])[:4])
        print(f"{run['how']}: {run['wall']:.1f} s [{run['state']}]{speedup}{same}; longest stages: {stages}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
