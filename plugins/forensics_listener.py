"""Airflow listener: a failed evidence_pipeline run is recorded against its exhibit.

A task that stops on a recorded problem has already written it; a run that fails for
any other reason (a worker lost, a timeout, a scheduler decision) would otherwise be
visible only in Airflow. This listener writes one warning row on the exhibit, so
`forensics warnings` shows it beside everything else the case database knows.
Heavy imports happen inside the hook, not at plugin load.
"""
from __future__ import annotations

from airflow.listeners import hookimpl
from airflow.plugins_manager import AirflowPlugin

DAG_ID = "evidence_pipeline"


def record_failed_run(dag_id: str, run_id: str, conf: dict | None, msg: str) -> bool:
    """Writes the failure on the run's exhibit; False when it names no known exhibit."""
    import os

    if dag_id != DAG_ID or not conf:
        return False
    if not os.environ.get("FORENSICS_DATABASE_URL"):
        import logging

        logging.getLogger(__name__).warning(
            "evidence_pipeline run %s failed but FORENSICS_DATABASE_URL is not set where this listener runs "
            "(the scheduler): the failure is not recorded on exhibit %s of case %s (docs/airflow.md)",
            run_id, conf.get("exhibit"), conf.get("case"))
        return False
    from evidence_store.db import Database
    from evidence_store.store import StoreError, get_exhibit, record_warning

    db = Database()
    try:
        with db.session() as session:
            exhibit = get_exhibit(session, str(conf.get("case")), str(conf.get("exhibit")))
            record_warning(session, exhibit.id, "airflow", f"DAG run {run_id} failed: {msg or 'no reason given'}",
                           severity="error")
        return True
    except StoreError:
        return False
    finally:
        db.dispose()


class _Listener:
    @hookimpl
    def on_dag_run_failed(self, dag_run, msg: str) -> None:
        record_failed_run(dag_run.dag_id, dag_run.run_id, dag_run.conf, msg)


class ForensicsPlugin(AirflowPlugin):
    name = "forensics"
    listeners = [_Listener()]
