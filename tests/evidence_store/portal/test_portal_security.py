"""Security of the portal: sign-in, sessions, CSRF, injection, traversal, logs, bad input."""
from __future__ import annotations

import json
import logging

import pytest
from sqlalchemy import func, select

from tests.evidence_store.portal.portal_tools import PASSWORD, client
from tests.evidence_store.portal.test_portal_authorisation import MATRIX


def _events(db, action: str) -> list[dict]:
    from evidence_store.models import CustodyEvent

    with db.session() as session:
        return [dict(actor=e.actor, role=e.actor_role, purpose=e.purpose, exhibit=e.exhibit,
                     details=json.loads(e.details or "{}"))
                for e in session.scalars(select(CustodyEvent).where(CustodyEvent.action == action)
                                         .order_by(CustodyEvent.seq))]


def test_wrong_passwords_do_not_tell_which_accounts_exist_and_are_braked(portal):
    http = client(portal)
    unknown = http.post("/login", data={"username": "nobody-here", "password": "x" * 20})
    wrong = http.post("/login", data={"username": "auditor-out", "password": "x" * 20})
    assert unknown.status_code == wrong.status_code == 401 and unknown.json() == wrong.json()
    for _ in range(4):
        http.post("/login", data={"username": "auditor-out", "password": "y" * 20})
    braked = http.post("/login", data={"username": "auditor-out", "password": PASSWORD})
    assert braked.status_code == 429 and "too many failed sign-ins" in braked.json()["error"]
    assert "forensics_session" not in braked.headers.get("set-cookie", "")


def test_a_new_session_at_every_sign_in_and_none_after_sign_out(portal):
    def session_cookie(response) -> str:
        header = response.headers["set-cookie"]
        assert "HttpOnly" in header and "SameSite=strict" in header and "Path=/" in header
        return header.split("forensics_session=", 1)[1].split(";", 1)[0]

    planted = client(portal)
    planted.cookies.set("forensics_session", "planted-by-an-attacker")
    assert planted.get("/api/me").status_code == 401
    http = client(portal)
    first = session_cookie(http.post("/login", data={"username": "examiner", "password": PASSWORD}))
    second = session_cookie(http.post("/login", data={"username": "examiner", "password": PASSWORD}))
    assert first != second and "planted" not in first + second
    token = http.get("/api/me").json()["csrf_token"]
    assert http.post("/logout", headers={"X-CSRF-Token": token}).status_code == 204
    replay = client(portal)
    replay.cookies.set("forensics_session", second)
    assert replay.get("/api/me").status_code == 401          # signed out: the old cookie is worth nothing
    still = client(portal)
    still.cookies.set("forensics_session", first)
    assert still.get("/api/me").status_code == 200           # an earlier session of the same user stays valid


def test_every_post_needs_the_csrf_token(portal):
    http = client(portal, "examiner")
    admin = client(portal, "admin")
    for (method, template, url, form), _ in MATRIX.items():
        if method != "POST":
            continue
        concrete = url.format(photo=portal.photo_id, restricted=portal.restricted_id, carved=portal.carved_id,
                              issued=portal.issued, draft=portal.draft, victim="examiner-out")
        who = admin if template.startswith(("/api/users", "/admin")) else http
        for headers in ({}, {"X-CSRF-Token": "wrong"}):
            response = who.post(concrete, data=dict(form) if isinstance(form, tuple) else {}, headers=headers)
            assert response.status_code in (403, 404), (concrete, response.status_code)
            if response.status_code == 403:
                assert "CSRF" in response.text or "may not" in response.text
    logout = http.post("/logout")
    assert logout.status_code == 403 and http.get("/api/me").status_code == 200


def test_cross_site_sign_in_is_refused(portal):
    http = client(portal)
    forged = http.post("/login", data={"username": "examiner", "password": PASSWORD},
                       headers={"Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403 and "CSRF check" in forged.text     # a browser gets the page
    page = http.get("/login")
    token = page.text.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
    same = http.post("/login", data={"username": "examiner", "password": PASSWORD, "csrf_token": token},
                     headers={"Origin": "http://testserver", "Sec-Fetch-Site": "same-origin", "accept": "text/html"})
    assert same.status_code == 303


def test_bearer_tokens_for_json_clients(portal):
    from evidence_store.accounts import disable_user, issue_token

    token = issue_token(portal.db, "reviewer", "test client")
    http = client(portal)
    headers = {"Authorization": f"Bearer {token}"}
    assert http.get("/api/me", headers=headers).json()["role"] == "reviewer"
    verify = http.post(f"/api/cases/{portal.case}/custody/verify", headers=headers)
    assert verify.status_code == 200 and verify.json()["ok"] is True           # no CSRF for bearer requests
    assert http.get("/api/me", headers={"Authorization": "Bearer nope"}).status_code == 401
    from evidence_store.accounts import add_user

    add_user(portal.db, "temp-reviewer", "reviewer", PASSWORD, ["DEMO-001"])
    temp = issue_token(portal.db, "temp-reviewer")
    assert http.get("/api/me", headers={"Authorization": f"Bearer {temp}"}).status_code == 200
    disable_user(portal.db, "temp-reviewer")
    assert http.get("/api/me", headers={"Authorization": f"Bearer {temp}"}).status_code == 401


def test_traversal_and_guessed_ids_reach_nothing(portal):
    http = client(portal, "reviewer")
    for url in ("/api/files/999999/content?purpose=x", "/api/carved/999999/thumbnail?purpose=x",
                "/api/reports/..%2F..%2Fetc%2Fpasswd/file", "/api/reports/DEMO-001-R999/file",
                "/static/..%2F..%2Fportal%2Fapp.py", "/static/../app.py", f"/api/cases/{portal.case}%2F..%2F..%2Fx/files",
                "/api/cases/DEMO-001/exhibits/..%2F..%2Fetc/carved"):
        response = http.get(url)
        assert response.status_code in (400, 404), (url, response.status_code)
        assert "Traceback" not in response.text and "root:" not in response.text


def test_search_is_not_injectable(portal):
    from evidence_store.models import Case, Exhibit, FileEntry

    http = client(portal, "examiner")
    with portal.db.session() as session:
        before = session.scalar(select(func.count()).select_from(FileEntry))
    for term in ("' OR 1=1 --", "%", "\\", "x'); DROP TABLE file_entries; --"):
        rows = http.get(f"/api/cases/{portal.case}/files", params={"q": term}).json()
        assert rows == [], term
    with portal.db.session() as session:                   # '_' is a character, not LIKE's wildcard
        underscored = set(session.scalars(select(FileEntry.id).join(Exhibit, Exhibit.id == FileEntry.exhibit_id)
                                          .join(Case, Case.id == Exhibit.case_id).where(
            Case.name == portal.case, FileEntry.name.contains("_", autoescape=True))))   # the demo has a 2nd case
    rows = http.get(f"/api/cases/{portal.case}/files", params={"q": "_", "limit": 1000}).json()
    assert {r["id"] for r in rows} == underscored and len(underscored) < before
    rows = http.get(f"/api/cases/{portal.case}/files", params={"q": "beach_2019"}).json()
    assert {r["path"] for r in rows} == {"/photos/beach_2019.jpg"}
    sha = rows[0]["sha256"]
    assert [r["id"] for r in http.get(f"/api/cases/{portal.case}/files", params={"q": sha.upper()}).json()] == \
        [r["id"] for r in rows]
    page = http.get(f"/cases/{portal.case}/files", params={"q": "<script>alert(1)</script>"})
    assert page.status_code == 200 and "<script>alert(1)</script>" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    with portal.db.session() as session:
        assert session.scalar(select(func.count()).select_from(FileEntry)) == before


def test_security_headers(portal):
    http = client(portal, "examiner")
    response = http.get(f"/cases/{portal.case}")
    policy = response.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src 'self'" in policy and "unsafe" not in policy
    assert response.headers["x-frame-options"] == "DENY" and response.headers["cache-control"] == "no-store"
    assert "<script>" not in response.text.replace('<script src="', "")      # no inline script on any page
    assert " style=" not in response.text


def test_no_evidence_in_the_logs(portal, caplog):
    http = client(portal, "reviewer")
    with caplog.at_level(logging.DEBUG):
        http.get(f"/api/cases/{portal.case}/files", params={"q": "beach_2019"})
        http.get(f"/api/files/{portal.photo_id}/content", params={"purpose": "secret-purpose-text"})
        http.get(f"/files/{portal.photo_id}")
        http.get(f"/api/files/{portal.restricted_id}/thumbnail", params={"purpose": "confirm category"})
    text = "\n".join(r.getMessage() for r in caplog.records if not r.name.startswith("httpx"))  # httpx: the test's client
    assert "/api/cases/{case}/files" in text                 # the route template is logged ...
    for secret in ("beach_2019", "secret-purpose-text", "img_0193", "confirm category", "downloads/cache"):
        assert secret not in text                            # ... never a name, a path or a purpose


def test_bad_input_gets_one_line(portal):
    from evidence_store.portal.access import Denied

    http = client(portal, "examiner")
    cases = [("/api/files/not-a-number", 400), ("/api/files/1e9999", 400),
             (f"/api/cases/{'x' * 300}/exhibits", 400), ("/api/cases/NO-SUCH-CASE/exhibits", 404),
             (f"/api/cases/{portal.case}/files?limit=0", 400), (f"/api/cases/{portal.case}/files?limit=99999", 400),
             (f"/api/cases/{portal.case}/files?finding=evil", 400), ("/api/cases/DEMO-001/files?q=" + "a" * 9000, 414)]
    for url, status in cases:
        response = http.get(url)
        assert response.status_code == status, (url, response.status_code, response.text[:200])
        body = response.json()
        assert set(body) == {"error"} and "\n" not in body["error"] and "Traceback" not in body["error"]
    page = http.get("/cases/NO-SUCH-CASE")
    assert page.status_code == 404 and "no case 'NO-SUCH-CASE'" in page.text and "Traceback" not in page.text
    assert Denied


def test_an_unexpected_error_is_one_line_and_logged_without_detail(portal, monkeypatch, caplog):
    from evidence_store.portal import data

    def broken(*args, **kwargs):
        raise RuntimeError("db exploded at /evidence/secret/path")

    monkeypatch.setattr(data, "exhibits", broken)
    http = client(portal, "examiner")
    http._transport.app = portal.app
    from fastapi.testclient import TestClient

    quiet = TestClient(portal.app, raise_server_exceptions=False, cookies=http.cookies)
    with caplog.at_level(logging.ERROR):
        response = quiet.get(f"/api/cases/{portal.case}/exhibits")
    assert response.status_code == 500 and response.json() == {"error": "internal error (the server log names the route)"}
    assert "secret/path" not in caplog.text


@pytest.mark.parametrize("who, status", [("reviewer", 200), ("examiner", 403), ("prosecutor", 403)])
def test_restricted_thumbnail_only_for_a_reviewer_and_every_look_is_recorded(portal, who, status):
    before_views = len(_events(portal.db, "view"))
    before_refused = len(_events(portal.db, "view-refused"))
    http = client(portal, who)
    response = http.get(f"/api/files/{portal.restricted_id}/thumbnail", params={"purpose": f"check by {who}"})
    assert response.status_code == status
    views, refused = _events(portal.db, "view"), _events(portal.db, "view-refused")
    if status == 200:
        assert response.headers["content-type"] == "image/png" and len(views) == before_views + 1
        last = views[-1]
        assert (last["actor"], last["role"], last["purpose"]) == (who, "reviewer", f"check by {who}")
        assert last["details"]["restricted"] and last["details"]["mode"] == "blurred"
        revealed = http.get(f"/api/files/{portal.restricted_id}/thumbnail",
                            params={"purpose": "confirm", "reveal": "true"})
        assert revealed.status_code == 200 and _events(portal.db, "view")[-1]["details"]["reveal"] is True
    else:
        assert len(refused) == before_refused + 1 and len(views) == before_views
        assert refused[-1]["actor"] == who and refused[-1]["details"]["item_id"] == portal.restricted_id


def test_auditor_sees_who_viewed_what(portal):
    reviewer = client(portal, "reviewer")
    reviewer.get(f"/api/files/{portal.photo_id}/content", params={"purpose": "compare with exhibit photo"})
    auditor = client(portal, "auditor")
    rows = auditor.get(f"/api/cases/{portal.case}/views").json()
    assert any(r["actor"] == "reviewer" and r["purpose"] == "compare with exhibit photo" for r in rows)
    page = auditor.get(f"/cases/{portal.case}/views")
    assert "compare with exhibit photo" in page.text and "reviewer (reviewer)" in page.text


def test_hostile_file_names_on_the_image_render_as_text(portal, tmp_path):
    """A name like <script>alert(1)</script>.jpg on the evidence is shown as text on every page."""
    from evidence_store.accounts import set_membership
    from forensics.sample import build_ext4_image
    from tests.conftest import require_tools
    from tests.evidence_store.reports.report_tools import processed_case

    require_tools("mke2fs", "debugfs")
    names = {"<script>alert(1)</script>.jpg": b"x" * 64, "<img src=x onerror=alert(2)>.txt": b"y" * 64}
    image = build_ext4_image(tmp_path / "hostile.img", names, size_mib=8)
    processed_case(portal.db, image, case="HOSTILE")
    set_membership(portal.db, "examiner", "HOSTILE", True)
    http = client(portal, "examiner")
    rows = http.get("/api/cases/HOSTILE/files", params={"limit": 100}).json()
    assert {"/<script>alert(1)</script>.jpg", "/<img src=x onerror=alert(2)>.txt"} <= {r["path"] for r in rows}
    for url in ("/cases/HOSTILE/files?dir=%2F%3Cscript%3Ealert(1)%3C", "/cases/HOSTILE/files?q=alert"):
        page = http.get(url).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;.jpg" in page or "&lt;img src=x onerror=alert(2)&gt;.txt" in page
    entry = next(r for r in rows if r["path"] == "/<script>alert(1)</script>.jpg")
    detail = http.get(f"/files/{entry['id']}").text
    assert "<h1>/&lt;script&gt;alert(1)&lt;/script&gt;.jpg</h1>" in detail
