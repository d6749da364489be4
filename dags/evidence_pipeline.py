"""Processes one registered exhibit: the stages of ``forensics process``, one task each.

register -> scan_volumes -> walk (mapped per file system) -> plan_batches
-> hash_type (mapped per id range, never per file) -> finalize -> report (the draft), and beside walk/hash
scan_volumes -> plan_carving -> carve (mapped per batch of byte ranges) -> finalize;
hash_type -> match_files (same batches) and carve -> match_carved run the matchers.

Tasks only compose :mod:`evidence_store.stages`; XCom carries ids, id ranges and counts.
The case database URL comes from ``FORENSICS_DATABASE_URL`` on the workers. Every task
instance of one DAG run shares ``RunContext("airflow", run_id)``, so a retry reuses the
same processing-run row (the stages add volume id / id range to the run key).
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.sdk import Param, dag, task

if TYPE_CHECKING:
    from evidence_store.db import Database
    from evidence_store.runs import RunContext

PARALLEL = 2  # walk / hash tasks at once: the workers have two cores


@contextmanager
def _stage(label: str = "") -> Iterator[tuple[Database, RunContext]]:
    """The case database and run context for one task; a recorded stop fails it without retries.

    ``label`` names a mapped task instance in the UI (``map_index_template``).
    """
    import os

    from airflow.sdk import get_current_context
    from airflow.sdk.exceptions import AirflowFailException

    from evidence_store.db import ENV_URL, Database
    from evidence_store.runs import RunContext, StageFailed
    from evidence_store.store import StoreError

    if not os.environ.get(ENV_URL):
        raise AirflowFailException(f"{ENV_URL} is not set on this worker: it names the case database")
    context = get_current_context()
    if label:
        context["label"] = label
    db = Database()
    try:
        yield db, RunContext(orchestrator="airflow", run_id=context["dag_run"].run_id)
    except (StageFailed, StoreError) as exc:
        raise AirflowFailException(str(exc)) from exc
    finally:
        db.dispose()


def _credentials(params: dict) -> list[tuple[str, str]]:
    """The run's ``credentials`` param: dfvfs keeps unlocked keys per process, so every task that
    reopens bytes (scan, walk, hash) puts them on its own key chain."""
    return [(kind, value) for kind, value in params.get("credentials") or []]


@dag(
    dag_id="evidence_pipeline",
    schedule=None,
    catchup=False,
    tags=["forensics"],
    params={
        "case": Param(type="string", minLength=1, description="case name (forensics case create)"),
        "exhibit": Param(type="string", minLength=1, description="exhibit number within the case"),
        "credentials": Param([], type="array", items={"type": "array", "items": {"type": "string"},
                                                      "minItems": 2, "maxItems": 2},
                             description="[type, value] pairs for encrypted volumes, e.g. [\"password\", \"...\"]"),
        "carve_slack": Param(False, type="boolean", description="also carve file slack"),
        "report_format": Param("pdf", enum=["pdf", "html"], description="format of the draft report made at the end"),
        "examiner": Param("", type="string", description="examiner named on the draft report (default: the "
                                                         "exhibit's examiner)"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def evidence_pipeline() -> None:
    @task
    def register(params: dict | None = None) -> int:
        from evidence_store import stages
        from evidence_store.intake import lookup_exhibit

        with _stage() as (db, ctx):
            db.migrate()
            _, exhibit_id = lookup_exhibit(db, params["case"], params["exhibit"])
            return stages.register(db, exhibit_id, ctx)

    @task
    def scan_volumes(exhibit_id: int, params: dict | None = None) -> list[int]:
        from evidence_store import stages

        with _stage() as (db, ctx):
            return stages.scan(db, exhibit_id, ctx, _credentials(params))

    @task(max_active_tis_per_dag=PARALLEL, map_index_template="{{ label }}")
    def walk(volume_id: int, params: dict | None = None) -> int:
        from evidence_store import stages

        with _stage(f"volume {volume_id}") as (db, ctx):
            return stages.walk(db, volume_id, ctx, credentials=_credentials(params))

    @task(trigger_rule="none_failed")  # runs when there was no file system to walk
    def plan_batches(exhibit_id: int) -> list[list[int]]:
        from evidence_store import stages

        with _stage() as (db, _):
            return stages.plan_batches(db, exhibit_id)

    @task(max_active_tis_per_dag=PARALLEL, map_index_template="{{ label }}")
    def hash_type(exhibit_id: int, id_range: list[int], params: dict | None = None) -> int:
        from evidence_store import stages

        with _stage(f"entries {id_range[0]}-{id_range[1]}") as (db, ctx):
            return stages.hash_batch(db, exhibit_id, id_range, ctx, credentials=_credentials(params))

    @task
    def plan_carving(exhibit_id: int, params: dict | None = None) -> list[list[int]]:
        from evidence_store import carving

        with _stage() as (db, ctx):
            return carving.plan_carving(db, exhibit_id, ctx, slack=bool(params.get("carve_slack")),
                                        credentials=_credentials(params))

    @task(max_active_tis_per_dag=PARALLEL, map_index_template="{{ label }}")
    def carve(exhibit_id: int, id_range: list[int], params: dict | None = None) -> int:
        from evidence_store import carving

        with _stage(f"ranges {id_range[0]}-{id_range[1]}") as (db, ctx):
            return carving.carve_batch(db, exhibit_id, id_range, ctx, credentials=_credentials(params))

    @task(max_active_tis_per_dag=PARALLEL, map_index_template="{{ label }}")
    def match_files(exhibit_id: int, id_range: list[int], params: dict | None = None) -> int:
        from evidence_store import matching

        with _stage(f"entries {id_range[0]}-{id_range[1]}") as (db, ctx):
            return matching.match_files(db, exhibit_id, id_range, ctx, _credentials(params))

    @task(trigger_rule="none_failed")
    def match_carved(exhibit_id: int, params: dict | None = None) -> int:
        from evidence_store import matching

        with _stage() as (db, ctx):
            return matching.match_carved(db, exhibit_id, ctx, _credentials(params))

    @task(trigger_rule="none_failed")  # runs when there was nothing to hash or carve
    def finalize(exhibit_id: int) -> int:
        import logging

        from evidence_store import stages

        with _stage() as (db, ctx):
            logging.getLogger(__name__).info("summary: %s", stages.finalize(db, exhibit_id, ctx))
            return exhibit_id

    @task
    def report(exhibit_id: int, params: dict | None = None) -> str | None:
        from airflow.sdk.exceptions import AirflowSkipException

        from evidence_store.reports.workflow import draft_for_exhibit

        with _stage() as (db, ctx):
            row = draft_for_exhibit(db, exhibit_id, examiner=params.get("examiner") or None,
                                    fmt=params.get("report_format") or "pdf", actor=(ctx.actor, ctx.role))
            if row is None:
                raise AirflowSkipException("no draft report: see the exhibit's warnings (forensics warnings)")
            return row.report_id

    exhibit_id = register()
    volumes = scan_volumes(exhibit_id)
    walked = walk.expand(volume_id=volumes)
    batches = plan_batches(exhibit_id)
    walked >> batches
    done = finalize(exhibit_id)
    done >> report(exhibit_id)
    hashed = hash_type.partial(exhibit_id=exhibit_id).expand(id_range=batches)
    matched = match_files.partial(exhibit_id=exhibit_id).expand(id_range=batches)
    hashed >> matched >> done
    carve_batches = plan_carving(exhibit_id)
    volumes >> carve_batches
    carved = carve.partial(exhibit_id=exhibit_id).expand(id_range=carve_batches)
    carved >> match_carved(exhibit_id) >> done


evidence_pipeline()
