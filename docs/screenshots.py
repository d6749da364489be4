"""Refreshes the pictures in docs/images from the demo case, as a person would see them.

    .venv/bin/python docs/screenshots.py

Runs ``forensics demo`` in a temporary directory, renders pages 1 and 4 of the issued report
and the page listing its links to other cases with pdftoppm, opens a disclosure HTML edition in headless Chromium, and runs the portal's
browser tests with FORENSICS_DOCS_SCREENSHOTS so they save their screenshots here.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
IMAGES = DOCS / "images"
REPO = DOCS.parent
FORENSICS = [sys.executable, "-m", "evidence_store.cli"]


def main() -> None:
    IMAGES.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, FORENSICS_KEY_DIR=f"{tmp}/keys")
        url = f"sqlite:///{tmp}/cases/forensics.db"
        subprocess.run([*FORENSICS, "--db", url, "demo", "--workdir", f"{tmp}/cases/demo"], env=env, check=True)
        report = next(Path(tmp, "cases", "reports", "DEMO-001").glob("DEMO-001-R001.pdf"))
        for page in (1, 4):
            subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", str(page), "-l", str(page),
                            str(report), str(IMAGES / f"report-page-{page}")], check=True)
        pages = int(next(line.split()[-1] for line in subprocess.run(["pdfinfo", str(report)], capture_output=True,
                                                                      text=True, check=True).stdout.splitlines()
                         if line.startswith("Pages:")))

        def text_of(page: int) -> str:
            return subprocess.run(["pdftotext", "-f", str(page), "-l", str(page), str(report), "-"],
                                  capture_output=True, text=True, check=True).stdout
        links_page = next(page for page in range(1, pages + 1) if re.search(r"case #\d+ — weight", text_of(page)))
        subprocess.run(["pdftoppm", "-r", "80", "-png", "-singlefile", "-f", str(links_page), "-l", str(links_page),
                        str(report), str(IMAGES / "report-page-links")], check=True)
        html = Path(tmp, "disclosure.html")
        subprocess.run([*FORENSICS, "--db", url, "report", "create", "--case", "DEMO-001", "--examiner",
                        "A. Examiner (demo)", "--format", "html", "--edition", "disclosure", "-o", str(html)],
                       env=env, check=True)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1100, "height": 1400})
            page.goto(html.as_uri())
            page.locator("h2", has_text="Pictures").scroll_into_view_if_needed()
            page.screenshot(path=str(IMAGES / "report-html.png"))
            browser.close()
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                    "tests/evidence_store/portal/test_portal_browser.py"], cwd=REPO, check=True,
                   env=dict(os.environ, FORENSICS_DOCS_SCREENSHOTS=str(IMAGES)))
    subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "browser",
                    "tests/evidence_store/portal/test_portal_links.py"], cwd=REPO, check=True,
                   env=dict(os.environ, FORENSICS_DOCS_SCREENSHOTS=str(IMAGES)))
    print("\n".join(sorted(p.name for p in IMAGES.glob("*.png"))))


if __name__ == "__main__":
    shutil.which("pdftoppm") or sys.exit("pdftoppm not found (apt-get install poppler-utils)")
    main()
