"""The Airflow listener plugin records a failed DAG run on its exhibit."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="Airflow not installed")
PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "forensics_listener.py"


def _load():
    spec = importlib.util.spec_from_file_location("forensics_listener", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    sys.modules["forensics_listener"] = module
    spec.loader.exec_module(module)
    return module


def test_failed_run_becomes_a_warning(sqlite_db, sample_image, monkeypatch):
    from evidence_store.intake import add_exhibit, create_case
    from evidence_store.queries import list_warnings

    plugin = _load()
    assert plugin.ForensicsPlugin.listeners and plugin.ForensicsPlugin.name == "forensics"
    create_case(sqlite_db, "C-1", actor=("t", "technician"))
    exhibit = add_exhibit(sqlite_db, "C-1", "E-1", str(sample_image.path), "t")
    monkeypatch.setenv("FORENSICS_DATABASE_URL", sqlite_db.url)

    class Run:
        dag_id, run_id, conf = "evidence_pipeline", "manual__1", {"case": "C-1", "exhibit": "E-1"}

    plugin._Listener().on_dag_run_failed(Run(), "task walk: worker lost")
    messages = [w["message"] for w in list_warnings(sqlite_db, exhibit.id)]
    assert "DAG run manual__1 failed: task walk: worker lost" in messages
    assert plugin.record_failed_run("other_dag", "r", Run.conf, "x") is False
    assert plugin.record_failed_run("evidence_pipeline", "r", {"case": "C-1", "exhibit": "nope"}, "x") is False
