"""Processes one registered exhibit: the stages of ``evidence_store.stages.registry``, one task each.

The DAG is generated from the registry, so it cannot drift from ``forensics process``: a stage
that runs once is one task named after it; a stage that runs per item is a task group named
after it, with ``plan`` (returns the items: file systems, id ranges, byte-range batches) and
``run`` mapped over them (never one task per file; at most 256 items, far below Airflow's
``max_map_length``). Dependencies are the registry's; a stage the run's params turn off is
skipped, and everything after it still runs (trigger rule ``none_failed``).

Tasks only compose evidence_store; XCom carries ids, id ranges and counts. The case database URL
comes from ``FORENSICS_DATABASE_URL`` on the workers. Every task instance of one DAG run shares
``RunContext("airflow", run_id)``, so a retry reuses the same processing-run row.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from airflow.sdk import Param, TaskGroup, dag, task

from evidence_store.stages.registry import STAGES, Stage     # names and dependencies only: a cheap import

if TYPE_CHECKING:
    from evidence_store.db import Database
    from evidence_store.runs import RunContext

PARALLEL = 2  # mapped runs of one stage at once: the workers have two cores
LABELS = {"walk": "volume {item}", "content": "entries {item[0]}-{item[1]}", "expand": "containers {item[0]}-{item[1]}",
          "derived": "entries {item[0]}-{item[1]}", "carve": "ranges {item[0]}-{item[1]}"}


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


def _options(params: dict, stage: Stage):
    """The run's options; a stage they turn off is skipped. Every task that reopens evidence gets the
    credentials (dfvfs keeps unlocked keys per process)."""
    from airflow.sdk.exceptions import AirflowSkipException

    from evidence_store.stages.options import StageOptions

    options = StageOptions.from_params(params or {})
    if not stage.enabled(options):
        raise AirflowSkipException(f"stage {stage.name} is off for this run ({stage.option}=false)")
    return options


def _register(stage: Stage):
    @task(task_id=stage.name)
    def register(params: dict | None = None) -> int:
        from evidence_store.intake import lookup_exhibit

        with _stage() as (db, ctx):
            db.migrate()
            _, exhibit_id = lookup_exhibit(db, params["case"], params["exhibit"])
            return stage.function()(db, exhibit_id, None, ctx, _options(params, stage))
    return register


def _once(stage: Stage):
    @task(task_id=stage.name, trigger_rule="none_failed")
    def once(exhibit_id: int, params: dict | None = None) -> int:
        with _stage() as (db, ctx):
            return stage.function()(db, exhibit_id, None, ctx, _options(params, stage))
    return once


def _plan(stage: Stage):
    @task(task_id="plan", trigger_rule="none_failed")
    def plan(exhibit_id: int, params: dict | None = None) -> list:
        with _stage() as (db, ctx):
            return stage.function("plan")(db, exhibit_id, ctx, _options(params, stage))
    return plan


def _each(stage: Stage):
    @task(task_id="run", max_active_tis_per_dag=PARALLEL, map_index_template="{{ label }}")
    def each(exhibit_id: int, item, params: dict | None = None) -> int:
        label = LABELS.get(stage.name, "{item}").format(item=item)
        with _stage(label) as (db, ctx):
            return stage.function()(db, exhibit_id, item, ctx, _options(params, stage))
    return each


@dag(
    dag_id="evidence_pipeline",
    schedule=None,
    catchup=False,
    is_paused_upon_creation=False,
    tags=["forensics"],
    params={
        "case": Param(type="string", minLength=1, description="case name (forensics case create)"),
        "exhibit": Param(type="string", minLength=1, description="exhibit number within the case"),
        "credentials": Param([], type="array", items={"type": "array", "items": {"type": "string"},
                                                      "minItems": 2, "maxItems": 2},
                             description="[type, value] pairs for encrypted volumes, e.g. [\"password\", \"...\"]"),
        "expand": Param(True, type="boolean", description="open containers (archives, compressed files, documents, "
                                                          "ISO images) and process the files inside them"),
        "carve": Param(True, type="boolean", description="carve unallocated space and unpartitioned areas"),
        "batch_entries": Param(500, type="integer", minimum=1,
                               description="entries per content batch at least (one mapped task each; each "
                                           "task costs seconds to start, so Celery deployments want ~2000)"),
        "carve_batch_bytes": Param(None, type=["null", "integer"], minimum=1,
                                   description="bytes of unallocated ranges per carve task at least (each task "
                                               "costs seconds to start; default $FORENSICS_CARVE_BATCH_BYTES "
                                               "or 256 MiB)"),
        "slack": Param(False, type="boolean", description="also carve file slack"),
        "match": Param(True, type="boolean", description="run the matchers in the content pass"),
        "skip_known_good": Param(False, type="boolean", description="known-good content skips YARA, PDQ, TLSH"),
        "indicators": Param(False, type="boolean", description="also extract e-mails, URLs, IPs, phones, wallets, "
                                                             "cards (slower content pass)"),
        "report": Param(True, type="boolean", description="end by drafting the exhibit's report"),
        "report_format": Param("pdf", enum=["pdf", "html"], description="format of the draft report"),
        "examiner": Param("", type="string", description="examiner named on the draft report (default: the "
                                                         "exhibit's examiner)"),
    },
    default_args={"retries": 2, "retry_delay": timedelta(seconds=30)},
    doc_md=__doc__,
)
def evidence_pipeline() -> None:
    starts, ends = {}, {}
    exhibit_id = None
    for stage in STAGES:
        if exhibit_id is None:
            exhibit_id = _register(stage)()
            starts[stage.name] = ends[stage.name] = exhibit_id
            continue
        if stage.per_item:
            with TaskGroup(group_id=stage.name):
                items = _plan(stage)(exhibit_id)
                runs = _each(stage).partial(exhibit_id=exhibit_id).expand(item=items)
            starts[stage.name], ends[stage.name] = items, runs
        else:
            starts[stage.name] = ends[stage.name] = _once(stage)(exhibit_id)
        for before in stage.after:
            ends[before] >> starts[stage.name]


evidence_pipeline()
