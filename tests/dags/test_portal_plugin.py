"""The portal mounted inside Airflow's API server by the plugin, at /forensics/ (Airflow's own mount code)."""
from __future__ import annotations

import importlib.util
import sys
import warnings
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(importlib.util.find_spec("airflow") is None, reason="Airflow not installed")
PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "forensics_portal.py"


def _load():
    spec = importlib.util.spec_from_file_location("forensics_portal", PLUGIN)
    module = importlib.util.module_from_spec(spec)
    sys.modules["forensics_portal"] = module
    spec.loader.exec_module(module)
    return module


def test_portal_under_the_airflow_api_server(sqlite_db, monkeypatch, tmp_path):
    from fastapi import FastAPI

    from airflow import plugins_manager
    from airflow.api_fastapi.app import init_plugins
    from evidence_store.accounts import add_user
    from evidence_store.intake import create_case

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    plugin = _load()
    monkeypatch.setattr(plugins_manager, "get_fastapi_plugins",
                        lambda: (plugin.ForensicsPortalPlugin.fastapi_apps, []))
    server = FastAPI()
    init_plugins(server)                           # the API server's own mounting code
    http = TestClient(server, follow_redirects=False)

    monkeypatch.delenv("FORENSICS_DATABASE_URL", raising=False)
    missing = http.get("/forensics/login")
    assert missing.status_code == 503 and "FORENSICS_DATABASE_URL is not set" in missing.text

    monkeypatch.setenv("FORENSICS_DATABASE_URL", sqlite_db.url)
    create_case(sqlite_db, "JS/2026")
    add_user(sqlite_db, "eve", "examiner", "correct horse battery staple", ["JS/2026"])
    page = http.get("/forensics/login")
    assert page.status_code == 200 and 'href="/forensics/static/portal.css"' in page.text
    assert 'action="/forensics/login"' in page.text
    signed = http.post("/forensics/login", data={"username": "eve", "password": "correct horse battery staple"})
    assert signed.status_code == 204 and "Path=/forensics/" in signed.headers["set-cookie"]
    assert [c["name"] for c in http.get("/forensics/api/cases").json()] == ["JS/2026"]
    case = http.get("/forensics/cases/JS%2F2026", headers={"accept": "text/html"})
    assert case.status_code == 200 and 'href="/forensics/cases/JS%2F2026/files"' in case.text
    assert http.get("/forensics/static/vendor/htmx-2.0.11.min.js").status_code == 200
    assert http.get("/forensics/api/cases/nope/exhibits").json() == {"error": "no case 'nope'"}
