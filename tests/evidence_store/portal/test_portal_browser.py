"""The portal in a real browser: headless Chromium (Debian's, driven by Playwright) against
``forensics serve`` running in its own process, while ``forensics process`` runs in another.

Set FORENSICS_DOCS_SCREENSHOTS=docs/images to refresh the screenshots in docs/.
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.evidence_store.portal.portal_tools import PASSWORD, build_portal

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]
FORENSICS = [sys.executable, "-m", "evidence_store.cli"]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live(demo_case):
    """The demo case with one account per role, served by ``forensics serve`` on a free loopback port."""
    db, result, root = demo_case
    portal = build_portal(db, result)
    portal.app.state.db.dispose()
    port = _free_port()
    env = dict(os.environ, FORENSICS_KEY_DIR=str(root / "keys"))
    server = subprocess.Popen([*FORENSICS, "--db", db.url, "serve", "--port", str(port)], env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            break
        except OSError:
            if server.poll() is not None:
                pytest.fail(f"forensics serve exited: {server.stdout.read().decode()[-2000:]}")
            time.sleep(0.2)
    yield portal, base, env
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/install installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


class Watched:
    """A signed-in page whose console errors (a CSP violation is one) and page errors are collected."""

    def __init__(self, browser, base: str, name: str) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 860})
        self.page = self.context.new_page()
        self.base, self.problems = base, []
        self.page.on("console", lambda m: self.problems.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.problems.append(str(e)))
        self.page.goto(f"{base}/login")
        self.page.fill("input[name=username]", name)
        self.page.fill("input[name=password]", PASSWORD)
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def go(self, path: str):
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        return self.page

    def shot(self, name: str, tmp: Path) -> None:
        target = tmp / f"{name}.png"
        self.page.screenshot(path=str(target), full_page=False)
        docs = os.environ.get("FORENSICS_DOCS_SCREENSHOTS")
        if docs:
            shutil.copyfile(target, Path(docs) / f"{name}.png")

    def close(self) -> None:
        assert self.problems == [], self.problems
        self.context.close()


def until(page, expression: str, timeout: float = 20) -> None:
    """Polls a JavaScript expression (page.wait_for_function evaluates strings, which the CSP forbids)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"timed out waiting for {expression}"
        page.wait_for_timeout(100)


def _status(db, number: str) -> str:
    from evidence_store.models import Exhibit

    with db.session() as session:
        return session.scalar(select(Exhibit.status).where(Exhibit.number == number))


def test_technician_follows_a_running_exhibit_to_completion(live, browser, tmp_path):
    from evidence_store.intake import add_exhibit

    portal, base, env = live
    with portal.db.session() as session:
        from evidence_store.models import Exhibit

        image = session.scalar(select(Exhibit.image_path).where(Exhibit.number == "EX-1"))
    add_exhibit(portal.db, "DEMO-001", "EX-2/B", image, "T. Technician", description="second copy (live test)")
    tech = Watched(browser, base, "technician")
    page = tech.go("/cases/DEMO-001/exhibits/EX-2%2FB")
    assert page.inner_text("#exhibit-status") == "registered"
    page.evaluate("window.stillTheSamePage = true")
    worker = subprocess.Popen([*FORENSICS, "--db", portal.db.url, "process", "--case", "DEMO-001", "--exhibit",
                               "EX-2/B"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen = set()
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        seen.add(page.inner_text("#exhibit-status"))
        if "complete" in seen:
            break
        page.wait_for_timeout(100)
    output = worker.communicate(timeout=120)[0].decode()
    assert worker.returncode == 0, output
    assert "complete" in seen and "processing" in seen, seen          # updated live while it ran
    assert page.evaluate("window.stillTheSamePage === true")           # ... over SSE, without a reload
    counts = page.inner_text(".counts")
    assert "File systems walked\t2 / 2" in counts or "2 / 2" in counts
    tech.shot("portal-progress", tmp_path)
    files = page.request.get(f"{base}/api/cases/DEMO-001/files")
    assert files.status == 403                                        # a technician does not browse files
    tech.close()
    assert _status(portal.db, "EX-2/B") == "complete"


def test_prosecutor_reads_the_issued_report_but_never_restricted_pixels(live, browser, tmp_path):
    portal, base, _ = live
    prosecutor = Watched(browser, base, "prosecutor")
    page = prosecutor.go("/cases/DEMO-001/reports")
    assert portal.issued in page.inner_text("table") and portal.draft not in page.inner_text("table")
    prosecutor.shot("portal-reports", tmp_path)
    report = page.request.get(f"{base}/api/reports/{portal.issued}/file")
    assert report.status == 200 and report.headers["content-type"] == "application/pdf"
    assert report.body().startswith(b"%PDF")
    findings = prosecutor.go("/cases/DEMO-001/findings")
    assert "/downloads/cache/img_0193.jpg" in findings.inner_text("table")     # the restricted item, as text
    assert findings.locator("img").count() == 0
    for url in (f"/api/files/{portal.restricted_id}/thumbnail?purpose=see", f"/api/files/{portal.restricted_id}"
                f"/content?purpose=see", f"/files/{portal.restricted_id}"):
        assert page.request.get(base + url).status == 403, url
    prosecutor.close()


def test_reviewer_reveals_a_restricted_thumbnail_and_the_auditor_sees_it(live, browser, tmp_path):
    portal, base, _ = live
    reviewer = Watched(browser, base, "reviewer")
    page = reviewer.go(f"/files/{portal.restricted_id}")
    page.fill("form.view input[name=purpose]", "confirm the category before charging")
    page.check("input[name=reveal]")
    page.click("form.view button:has-text('Show thumbnail')")
    image = page.locator("#picture img")
    image.wait_for()
    until(page, "document.querySelector('#picture img').complete && "
                "document.querySelector('#picture img').naturalWidth > 0")
    reviewer.close()
    auditor = Watched(browser, base, "auditor")
    views = auditor.go("/cases/DEMO-001/views")
    rows = views.locator("tbody tr", has_text="confirm the category before charging")
    assert rows.count() == 1 and "(reveal)" in rows.inner_text() and "reviewer (reviewer)" in rows.inner_text()
    auditor.shot("portal-views", tmp_path)
    auditor.close()


def test_auditor_verifies_the_ledger(live, browser, tmp_path):
    portal, base, _ = live
    auditor = Watched(browser, base, "auditor")
    page = auditor.go("/cases/DEMO-001/custody")
    page.click("#verify-now")
    verdict = page.locator("#verify-verdict")
    verdict.wait_for()
    assert verdict.inner_text().startswith("Verified:")
    auditor.shot("portal-custody", tmp_path)
    auditor.close()


def test_examiner_browses_files_and_findings(live, browser, tmp_path):
    portal, base, _ = live
    examiner = Watched(browser, base, "examiner")
    page = examiner.go("/cases/DEMO-001/files?exhibit=EX-1")
    page.locator("a", has_text="/photos/").first.click()          # into a directory, by htmx
    until(page, "document.querySelector('#files-table').innerText.includes('/photos/beach_2019.jpg')")
    assert "dir=%2Fphotos" in page.url                              # hx-push-url: the address follows
    page.fill("input[name=q]", "img_0193")
    page.click("form.filters button")
    until(page, "document.querySelector('#files-table').innerText.includes('img_0193')")
    assert "restricted" in page.inner_text("#files-table")
    examiner.go("/cases/DEMO-001/files?exhibit=EX-1&dir=%2Fphotos")
    examiner.shot("portal-files", tmp_path)
    page = examiner.go("/cases/DEMO-001/files?exhibit=EX-1")
    page.select_option("select[name=derived]", "yes")                # what came out of the demo's zips
    page.click("form.filters button")
    until(page, "document.querySelector('#files-table').innerText.includes('.zip!/')")
    listed = page.inner_text("#files-table")
    assert "/archive/backup.zip!/ledger.csv" in listed and "/photos/" not in listed
    examiner.shot("portal-files-derived", tmp_path)
    page = examiner.go(f"/files/{portal.photo_id}")
    page.fill("form.view input[name=purpose]", "check the holiday photo")
    page.click("form.view button:has-text('Show thumbnail')")
    until(page, "document.querySelector('#picture img') && document.querySelector('#picture img').complete"
                " && document.querySelector('#picture img').naturalWidth > 0")
    examiner.shot("portal-file", tmp_path)
    examiner.go("/cases/DEMO-001/findings")
    examiner.shot("portal-findings", tmp_path)
    examiner.close()
