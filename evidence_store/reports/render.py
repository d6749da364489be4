"""Rendering a report: Jinja2 templates to self-contained HTML, or WeasyPrint to PDF/A-3b.

The HTML edition carries no external reference: styles inline (allowed by their hash in a
strict Content-Security-Policy, no script may run), thumbnails as data URIs, the report's
JSON and the findings JSON as inert ``application/json`` blocks. Every value is escaped by
Jinja2's autoescape.

The PDF is made in parts so memory stays flat however many findings there are: the body,
then Appendix A in chunks of ``APPENDIX_CHUNK`` rows, each laid out by WeasyPrint on its own;
pikepdf joins them and overlays the page header and footer ("Report ID", "Page X of Y") on
every page. The body is written as PDF/A-3b with report.json, findings.json and findings.csv
attached (relationship Data / Source).
"""
from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape

from evidence_store.listings import iso
from evidence_store.listings.findings import FindingRow
from evidence_store.reports.model import ReportContent

APPENDIX_CHUNK = 1000
APPENDIX_WORKERS = 4          # processes laying out Appendix A chunks (at most the CPUs)
HTML_CHUNK = 500
NOTABLE_LIMIT = 200


@dataclass(frozen=True)
class Workflow:
    """The workflow facts printed on a rendering (they change from draft to issue)."""

    state: str
    examiner: str
    declaration: str
    created_at: datetime
    reviewer: str | None = None
    review_note: str | None = None
    authorised_at: datetime | None = None
    issued_at: datetime | None = None
    amends: str | None = None
    ledger_head: dict[str, Any] | None = None

    @property
    def state_label(self) -> str:
        return {"draft": "DRAFT", "authorised": "AUTHORISED, NOT ISSUED", "issued": "ISSUED"}[self.state]


def _when(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return (iso(value.replace(microsecond=0)) or "-").replace("T", " ")
    text = str(value)
    canonical = re.fullmatch(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.\d+)?Z", text)
    return f"{canonical[1]} {canonical[2]}Z" if canonical else text


def _bytes(value: Any) -> str:
    return "-" if value is None else f"{int(value):,}"


ENV = Environment(loader=PackageLoader("evidence_store.reports", "templates"),
                  autoescape=select_autoescape(["html", "j2"], default_for_string=True, default=True),
                  trim_blocks=True, lstrip_blocks=True)
ENV.filters.update(when=_when, bytes=_bytes)


def css(name: str = "report.css") -> str:
    return ENV.loader.get_source(ENV, name)[0]


def content_security_policy(style: str) -> str:
    """No script, no network, no frames: only the one inline style block (by hash) and data: images."""
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    return (f"default-src 'none'; style-src 'sha256-{digest}'; img-src data:; script-src 'none'; "
            "base-uri 'none'; form-action 'none'; object-src 'none'")


def json_block(value: Any) -> str:
    """JSON safe inside <script type=application/json>: '<', '>' and '&' never appear literally."""
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True, ensure_ascii=False)
    return text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")


def chunked(rows: Iterable[FindingRow], size: int) -> Iterator[list[FindingRow]]:
    iterator = iter(rows)
    while chunk := list(itertools.islice(iterator, size)):
        yield chunk


def write_html(target: Path, content: ReportContent, workflow: Workflow, notable: list[FindingRow],
               rows: Iterable[FindingRow], report_json: dict[str, Any], findings_json: Path) -> None:
    """Streams the HTML edition to ``target`` (the findings are never all in memory)."""
    style = css()

    def findings_pieces() -> Iterator[str]:
        """The exact bytes of findings.json, base64 (so verification can recompute their digest)."""
        with open(findings_json, "rb") as handle:
            for block in iter(lambda: handle.read(3 * 64 * 1024), b""):
                yield base64.b64encode(block).decode("ascii")

    stream = ENV.get_template("report.html.j2").generate(
        r=content, w=workflow, notable=notable, css=style, csp=content_security_policy(style),
        finding_chunks=chunked(rows, HTML_CHUNK), report_json=json_block(report_json),
        findings_json=findings_pieces())
    with open(target, "w", encoding="utf-8") as out:
        for piece in stream:
            out.write(piece)


def write_pdf(target: Path, content: ReportContent, workflow: Workflow, notable: list[FindingRow],
              rows: Iterable[FindingRow], attachments: list[tuple[str, Path, str, str]]) -> int:
    """Writes the PDF/A-3b; ``attachments``: (name, path, description, relationship). Returns pages."""
    import pikepdf
    from weasyprint import HTML, Attachment

    style = css()
    with tempfile.TemporaryDirectory(prefix="report-") as tmp:
        parts: list[Path] = []
        chunks = list(_appendix(Path(tmp), content, style, rows))
        body = Path(tmp, "body.pdf")
        html = ENV.get_template("pdf_body.html.j2").render(r=content, w=workflow, notable=notable, css=style,
                                                           last=not chunks)
        HTML(string=html).write_pdf(
            body, pdf_variant="pdf/a-3b", uncompressed_pdf=False,
            attachments=[Attachment(filename=str(path), name=name, description=description, relationship=relation)
                         for name, path, description, relation in attachments])
        parts = [body, *chunks]
        with pikepdf.open(body) as pdf:
            opened = [pikepdf.open(part) for part in parts[1:]]
            try:
                for other in opened:
                    pdf.pages.extend(other.pages)
                pages = len(pdf.pages)
                stamp_path = Path(tmp, "stamp.pdf")
                _stamp(stamp_path, content, workflow, pages)
                with pikepdf.open(stamp_path) as stamp:
                    if len(stamp.pages) < pages:
                        raise RuntimeError(f"page stamp has {len(stamp.pages)} pages for {pages}")
                    for page, overlay in zip(pdf.pages, stamp.pages):
                        page.add_overlay(overlay)
                    _unique_associated_files(pdf)
                    pdf.save(target, linearize=False, deterministic_id=False)
            finally:
                for other in opened:
                    other.close()
    return pages


def _unique_associated_files(pdf) -> None:
    """WeasyPrint lists each attachment twice in the catalog's /AF (PDF/A-3 6.8); keep each once."""
    import pikepdf

    if "/AF" not in pdf.Root:
        return
    seen, unique = set(), pikepdf.Array()
    for spec in pdf.Root.AF:
        if spec.objgen not in seen:
            seen.add(spec.objgen)
            unique.append(spec)
    pdf.Root.AF = unique


def _appendix(tmp: Path, content: ReportContent, style: str, rows: Iterable[FindingRow]) -> Iterator[Path]:
    """Appendix A, one WeasyPrint layout per chunk of rows, laid out in parallel worker processes.

    Rows are read and the HTML of each chunk is made here (cheap); at most ``2 x workers`` chunks
    are in flight, so memory stays bounded whatever the number of findings.
    """
    import multiprocessing
    import os
    from collections import deque
    from concurrent.futures import ProcessPoolExecutor

    template = ENV.get_template("pdf_appendix.html.j2")
    chunks = chunked(rows, APPENDIX_CHUNK)
    current = next(chunks, None)
    if current is None:
        return
    workers = max(1, min(os.cpu_count() or 1, APPENDIX_WORKERS))
    pending: deque = deque()
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        number = 0
        while current is not None:
            following = next(chunks, None)
            html = template.render(rows=current, css=style, report_id=content.report_id, total=content.findings,
                                   first=number == 0, last=following is None)
            path = tmp / f"appendix-{number:05d}.pdf"
            pending.append((pool.submit(_lay_out, html, str(path)), path))
            while len(pending) >= 2 * workers:
                future, done = pending.popleft()
                future.result()
                yield done
            number += 1
            current = following
        while pending:
            future, done = pending.popleft()
            future.result()
            yield done


def _lay_out(html: str, path: str) -> None:
    from weasyprint import HTML

    HTML(string=html).write_pdf(path)


def _stamp(target: Path, content: ReportContent, workflow: Workflow, pages: int) -> None:
    from weasyprint import HTML

    watermark = {"draft": "DRAFT", "authorised": "NOT ISSUED"}.get(workflow.state)
    margin = 'font: 7.5pt "DejaVu Sans"; color: #333;'
    page_rule = (
        "@page { size: A4; margin: 24mm 16mm 20mm 16mm;\n"
        f"  @top-left {{ content: {css_string(content.lab.name)}; {margin} vertical-align: bottom; padding-bottom: 3mm; }}\n"
        f"  @top-right {{ content: {css_string(f'Report {content.report_id} · {workflow.state_label}')}; {margin}"
        " font-weight: bold; vertical-align: bottom; padding-bottom: 3mm; }\n"
        f"  @bottom-left {{ content: {css_string(content.edition.capitalize() + ' edition')}; {margin}"
        " vertical-align: top; padding-top: 3mm; }\n"
        f'  @bottom-right {{ content: "Page " counter(page) " of " counter(pages); {margin}'
        " vertical-align: top; padding-top: 3mm; }\n}\n")
    html = ENV.get_template("pdf_stamp.html.j2").render(css=page_rule + css("stamp.css"), pages=pages,
                                                        watermark=watermark)
    HTML(string=html).write_pdf(target)


def css_string(text: str) -> str:
    """A CSS string literal: quotes, backslashes and line ends escaped (CSS Syntax 4.3.5)."""
    escaped = "".join(f"\\{ord(ch):x} " if ch in '"\\\n\r\f<>' or ord(ch) < 32 else ch for ch in text)
    return f'"{escaped}"'
