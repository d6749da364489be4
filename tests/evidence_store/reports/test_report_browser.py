"""The HTML edition as a person's browser shows it: headless Chromium (Debian's, driven by Playwright).

A file named ``<script>alert(1)</script>.jpg`` on the image must read as text: no dialog, no script,
no console error (a Content-Security-Policy violation is one), no external load, no page wider
than the window.
"""
from __future__ import annotations

import html as html_module
from pathlib import Path

import pytest

from tests.conftest import require_tools
from tests.evidence_store.reports.report_tools import configure_lab, import_demo_knowledge, processed_case

HOSTILE = {
    "<script>alert(1)</script>.jpg": b"mail: hunter2\nbank: 1234\n",
    "<img src=x onerror=alert(2)>.txt": b"mail: hunter3\nbank: 5678\n",
    "notes/&lt;b&gt;bold&lt;/b&gt; {{ 7*7 }}.txt": b"mail: hunter4\nbank: 9\n",
}
CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run", "--disable-quic"]


@pytest.fixture(scope="module")
def hostile_report(tmp_path_factory):
    require_tools("mke2fs", "debugfs")
    from evidence_store.db import Database
    from evidence_store.reports.workflow import create
    from forensics.sample import build_ext4_image

    root = tmp_path_factory.mktemp("hostile")
    image = build_ext4_image(root / "hostile.img", HOSTILE, size_mib=8)
    db = Database(f"sqlite:///{root / 'case.db'}")
    db.migrate()
    import_demo_knowledge(db, root / "knowledge")
    processed_case(db, image, case="CASE-<b>X</b>")
    configure_lab(db)
    html = create(db, "CASE-<b>X</b>", examiner="E. <i>Xaminer</i>", edition="disclosure", fmt="html")
    pdf = create(db, "CASE-<b>X</b>", examiner="E. <i>Xaminer</i>", fmt="pdf")
    yield db, Path(html.path), Path(pdf.path)
    db.dispose()


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.skip("Debian chromium is not installed (.ci/install installs it)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield instance
        instance.close()


def test_hostile_names_render_as_text_in_chromium(hostile_report, browser, tmp_path):
    _, html, _ = hostile_report
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    console, errors, dialogs, requests = [], [], [], []
    page.on("console", lambda message: console.append((message.type, message.text)))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.on("request", lambda request: requests.append(request.url))
    page.goto(html.as_uri())
    page.wait_for_load_state("load")
    assert dialogs == [] and errors == []
    assert [m for m in console if m[0] in ("error", "warning")] == []
    assert requests == [html.as_uri()]                                   # nothing loaded from anywhere else
    body = page.inner_text("body")
    for name in HOSTILE:
        assert "/" + name in body, name
    assert "CASE-<b>X</b>" in body and "E. <i>Xaminer</i>" in body
    assert page.evaluate("document.querySelectorAll('b, i, img:not([src^=\"data:\"])').length") == 0
    kinds = page.evaluate("Array.from(document.scripts).map(s => s.type)")
    assert set(kinds) <= {"application/json", "application/octet-stream"}
    # the one inline style block is allowed by its hash: the page is styled, so the CSP let it through
    assert page.evaluate("getComputedStyle(document.querySelector('h2')).color") == "rgb(29, 53, 87)"
    for width in (1280, 800):
        page.set_viewport_size({"width": width, "height": 900})
        assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth"), width
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    assert (tmp_path / "report.png").stat().st_size > 10_000
    page.close()


def test_hostile_names_are_plain_text_in_the_pdf_and_verify(hostile_report):
    from evidence_store.reports.verify import verify_file
    from tests.evidence_store.reports.report_tools import pdf_text

    db, html, pdf = hostile_report
    compact = "".join(pdf_text(pdf).split())          # a long name wraps inside its table cell
    for name in HOSTILE:
        assert "".join(f"/{name}".split()) in compact
    assert verify_file(db, html).ok and verify_file(db, pdf).ok


def test_html_edition_has_a_strict_content_security_policy(hostile_report):
    _, html, _ = hostile_report
    page = html.read_text(encoding="utf-8")
    policy = html_module.unescape(page.split('http-equiv="Content-Security-Policy" content="', 1)[1].split('"', 1)[0])
    assert "default-src 'none'" in policy and "script-src 'none'" in policy and "'unsafe-inline'" not in policy
    assert "<script>alert" not in page and "<img src=x" not in page
