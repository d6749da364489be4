"""Airflow as a lab deploys it: the documented install (`pip install -e '.[airflow,postgres]'`) migrates
an Airflow metadata database on PostgreSQL (Airflow 3 needs asyncpg for that, which the `airflow`
extra now brings) and the DAG file loads there, unpaused on creation."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

if importlib.util.find_spec("airflow") is None:
    pytest.skip("apache-airflow is not installed (pip install -e .[airflow])", allow_module_level=True)

pytestmark = pytest.mark.airflow
DAGS = Path(__file__).resolve().parents[2] / "dags"
AIRFLOW = Path(sys.executable).with_name("airflow")


def test_metadata_database_on_postgresql(postgres_admin_url, tmp_path):
    from tests.conftest import _new_pg_database

    url, drop = _new_pg_database(postgres_admin_url)
    env = dict(os.environ, AIRFLOW_HOME=str(tmp_path), AIRFLOW__CORE__LOAD_EXAMPLES="False",
               AIRFLOW__CORE__DAGS_FOLDER=str(DAGS), AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=url)
    try:
        migrate = subprocess.run([str(AIRFLOW), "db", "migrate"], capture_output=True, text=True, env=env,
                                 timeout=600)
        assert migrate.returncode == 0, migrate.stderr[-3000:]
        check = subprocess.run([str(AIRFLOW), "db", "check"], capture_output=True, text=True, env=env, timeout=120)
        assert check.returncode == 0, check.stderr[-2000:]
        listed = subprocess.run([str(AIRFLOW), "dags", "list-import-errors", "-o", "plain"], capture_output=True,
                                text=True, env=env, timeout=300)
        assert listed.returncode == 0 and "evidence_pipeline" not in listed.stdout, listed.stdout + listed.stderr
    finally:
        drop()
