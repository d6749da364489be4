"""The portal's links page: need to know in the page and the JSON, a request made and decided through
forms (each a custody event in both cases), the map with the strongest path and evidence on hover,
and the page in a real browser under the CSP (screenshot docs/images/portal-links.png)."""
from __future__ import annotations

import os
import re
import subprocess
import time

import pytest
from sqlalchemy import select

from tests.link_cases import PASSWORD


@pytest.fixture(scope="module")
def linked_portal(tmp_path_factory):
    from fastapi.testclient import TestClient

    from evidence_store.portal.app import create_app
    from tests.link_cases import build_linked_cases

    tmp = tmp_path_factory.mktemp("portal-links")
    patch = pytest.MonkeyPatch()
    patch.setenv("FORENSICS_KEY_DIR", str(tmp / "keys"))
    url = f"sqlite:///{tmp / 'cases.db'}"
    build_linked_cases(tmp, url)
    app = create_app(url)

    def login(name: str):
        http = TestClient(app, follow_redirects=False)
        page = http.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        response = http.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token},
                             headers={"origin": "http://testserver"})
        assert response.status_code == 303, response.text
        http.csrf = http.get("/api/me").json()["csrf_token"]
        return http

    yield app, login, url, tmp
    app.state.db.dispose()
    patch.undo()


def _form(http, path: str, **fields):
    return http.post(path, data={**fields, "csrf_token": http.csrf}, headers={"origin": "http://testserver"})


def test_need_to_know_request_and_decision_through_the_portal(linked_portal):
    from evidence_store.db import Database
    from evidence_store.models import CustodyEvent

    app, login, url, _ = linked_portal
    alice, bob = login("alice"), login("bob")
    page = alice.get("/cases/OP-A/links").text
    assert "case #2" in page and "need to know" in page and "unit 1, duty desk ext. 471" in page
    assert "OP-B" not in page and "/recovered/p.bin" not in page and "/mail/inbox.eml" not in page
    assert "/tmp/payload.bin" in page                                         # her own side is shown
    listed = alice.get("/api/cases/OP-A/links").json()
    assert [row["other_case"] for row in listed] == ["case #2"] and not listed[0]["revealed"]
    assert all(e["there"] is None for e in listed[0]["evidence"])
    assert alice.get("/cases/OP-B/links").status_code == 404                  # not her case
    assert _form(alice, "/cases/OP-A/links/requests", other="2", purpose="").status_code == 400
    response = _form(alice, "/cases/OP-A/links/requests", other="2", purpose="same courier in both?")
    assert response.status_code == 303
    assert _form(alice, "/cases/OP-A/links/requests/1/approve").status_code == 403   # examiners do not decide
    incoming = bob.get("/cases/OP-B/links").text
    assert "same courier in both?" in incoming and "/links/requests/1/approve" in incoming
    assert _form(bob, "/cases/OP-B/links/requests/1/approve", reason="joint operation").status_code == 303
    assert "pending" not in bob.get("/cases/OP-B/links").text.split("Requests to see")[1].split("</table>")[0]
    page = alice.get("/cases/OP-A/links").text
    assert "OP-B" in page and "/recovered/p.bin" in page
    db = Database(url)
    with db.session() as session:
        events = session.execute(select(CustodyEvent.chain, CustodyEvent.action).where(
            CustodyEvent.action.in_(("link-access", "link-revealed")))).all()
    db.dispose()
    for chain in ("OP-A", "OP-B"):
        actions = [a for c, a in events if c == chain]
        assert actions.count("link-access") == 2 and "link-revealed" in actions
    views = login("audrey").get("/cases/OP-B/views").text            # OP-B's auditor: who learnt what about it
    for what in ("cross-case link: requested (alice)", "cross-case link: approved (alice)",
                 "cross-case link: other side shown (alice)", "same courier in both?", "joint operation"):
        assert what in views, what


def test_the_map_shows_the_strongest_path_and_evidence_on_hover(linked_portal):
    app, login, _, _ = linked_portal
    everyone = login("all")
    page = everyone.get("/cases/OP-A/links", params={"from": "case:1", "to": "case:3"}).text
    assert "Path: <strong>OP-A → OP-B → OP-C</strong>" in page
    assert page.count('class="edge path"') == 2
    assert re.search(r"<title>OP-B / 1: /mail/inbox.eml @ \d+ \(weight", page)
    assert "No path between these cases." in everyone.get("/cases/OP-A/links",
                                                          params={"from": "case:1", "to": "case:4"}).text


def test_the_links_page_in_a_browser(linked_portal, tmp_path):
    from tests.evidence_store.portal.test_portal_browser import CHROMIUM, FORENSICS, Watched, _free_port

    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/install installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    from tests.evidence_store.portal.test_portal_browser import ARGS

    _, _, url, tmp = linked_portal
    port = _free_port()
    server = subprocess.Popen([*FORENSICS, "--db", url, "serve", "--port", str(port)],
                              env=dict(os.environ, FORENSICS_KEY_DIR=str(tmp / "keys")),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        import socket

        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, "forensics serve did not start"
                time.sleep(0.2)
        with sync_api.sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            reviewer = Watched(browser, f"http://127.0.0.1:{port}", "all")
            page = reviewer.go("/cases/OP-A/links")
            page.select_option("select[name=from]", "case:1")
            page.select_option("select[name=to]", "case:3")
            page.click("text=Strongest path")
            page.wait_for_load_state("networkidle")
            assert "OP-A → OP-B → OP-C" in page.inner_text("main")
            assert page.locator("svg line.edge.path").count() == 2
            page.locator("figure.map").scroll_into_view_if_needed()
            reviewer.shot("portal-links", tmp_path)
            reviewer.close()
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=10)
