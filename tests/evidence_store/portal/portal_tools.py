"""Helpers for portal tests: the demo case with one account per role, and signed-in clients."""
from __future__ import annotations

import warnings
from dataclasses import dataclass

from sqlalchemy import select

PASSWORD = "correct horse battery staple"
ROLES = ("technician", "examiner", "reviewer", "prosecutor", "auditor", "admin")


@dataclass
class Portal:
    app: object
    db: object
    case: str
    exhibit: str
    photo_id: int           # a non-restricted image with a YARA hit
    restricted_id: int      # the restricted PDQ near-match
    text_id: int            # a non-image file
    carved_id: int          # the carved JPEG
    issued: str             # an issued report
    draft: str              # a draft report


def build_portal(db, demo_result) -> Portal:
    from evidence_store.accounts import add_user
    from evidence_store.models import CarvedObjectRow, FileEntry
    from evidence_store.portal.app import create_app
    from evidence_store.reports.workflow import create

    for role in ROLES:
        add_user(db, role, role, PASSWORD, [] if role == "admin" else ["DEMO-001"])
        add_user(db, f"{role}-out", role, PASSWORD, [])
    draft = create(db, "DEMO-001", examiner="A. Examiner (demo)")
    with db.session() as session:
        def file_id(path: str) -> int:
            return session.scalar(select(FileEntry.id).where(FileEntry.path == path).order_by(FileEntry.id))
        carved = session.scalar(select(CarvedObjectRow.id).where(CarvedObjectRow.source == "unpartitioned"))
        ids = dict(photo_id=file_id("/photos/beach_2019.jpg"), restricted_id=file_id("/downloads/cache/img_0193.jpg"),
                   text_id=file_id("/docs/readme.txt"), carved_id=carved)
    app = create_app(db.url, progress_interval=0.05)
    return Portal(app=app, db=db, case="DEMO-001", exhibit="EX-1", issued=demo_result.report_id,
                  draft=draft.report_id, **ids)


def client(portal: Portal, name: str | None = None):
    """A TestClient, signed in as ``name`` when given (its CSRF token in ``client.csrf``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from fastapi.testclient import TestClient

    http = TestClient(portal.app, follow_redirects=False)
    http.csrf = None
    if name:
        response = http.post("/login", data={"username": name, "password": PASSWORD})
        assert response.status_code == 204, response.text
        http.csrf = http.get("/api/me").json()["csrf_token"]
    return http
