"""Rendering a report: Jinja2 templates to self-contained HTML, or WeasyPrint to PDF/A-3b.

The HTML edition carries no external reference: styles inline (allowed by their hash in a
strict Content-Security-Policy, no script may run), thumbnails as data URIs, the report's
JSON and the findings JSON as inert ``application/json`` blocks. Every value is escaped by
Jinja2's autoescape.

The PDF is made in parts so memory stays flat however many findings there are: the body,
then Appendix A in chunks of ``APPENDIX_CHUNK`` findings and the page stamps (header, footer
"Page X of Y", a draft's watermark) in chunks of ``STAMP_CHUNK`` pages, each laid out by
WeasyPrint in a worker process; pikepdf joins them, lays each stamp under its page and
attaches report.json, findings.json and findings.csv (PDF/A-3 associated files, relationship
Data). The body is PDF/A-3b.
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
APPENDIX_WORKERS = 4          # processes laying out Appendix A and the stamps (at most the CPUs)
STAMP_CHUNK = 400             # page stamps laid out per worker job
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
              rows: Iterable[FindingRow], attachments: list[tuple[str, Path, str, str, str]]) -> int:
    """Writes the PDF/A-3b; ``attachments``: (name, path, description, MIME type, relationship).

    Memory stays flat in the number of findings: Appendix A and the page stamps are laid out in
    chunks by worker processes, pikepdf joins the parts (it reads their streams at save time), and
    the attachments are compressed from their files into the PDF. Returns the number of pages.
    """
    import pikepdf
    from weasyprint import HTML

    style = css()
    with tempfile.TemporaryDirectory(prefix="report-") as tmp, _pool() as pool:
        chunks = list(_appendix(pool, Path(tmp), content, style, rows))
        body = Path(tmp, "body.pdf")
        html = ENV.get_template("pdf_body.html.j2").render(r=content, w=workflow, notable=notable, css=style,
                                                           last=not chunks)
        HTML(string=html).write_pdf(body, pdf_variant="pdf/a-3b", uncompressed_pdf=False)
        with pikepdf.open(body) as pdf:
            opened = [pikepdf.open(part) for part in chunks]
            try:
                for other in opened:
                    pdf.pages.extend(other.pages)
                pages = len(pdf.pages)
                shared: dict = {}
                stamped = 0
                for stamp_path in _stamps(pool, Path(tmp), content, workflow, pages):
                    with pikepdf.open(stamp_path) as stamp:
                        for sheet in stamp.pages:
                            page = pdf.pages[stamped]
                            _share_resources(pdf, page, page.add_underlay(sheet), shared)
                            stamped += 1
                if stamped != pages:
                    raise RuntimeError(f"{stamped} page stamps for {pages} pages")
                for name, path, description, mime, relationship in attachments:
                    _attach(pdf, Path(tmp), name, path, description, mime, relationship)
                pdf.save(target, linearize=False, deterministic_id=False)
            finally:
                for other in opened:
                    other.close()
    return pages


def _pool():
    """Worker processes that lay out chunks of the PDF (at most the CPUs, at most APPENDIX_WORKERS)."""
    import multiprocessing
    import os
    from concurrent.futures import ProcessPoolExecutor

    workers = max(1, min(os.cpu_count() or 1, APPENDIX_WORKERS))
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))
    pool.workers = workers
    return pool


def _ordered(pool, jobs: Iterator[tuple[str, Path]]) -> Iterator[Path]:
    """Lays out (html, path) jobs in the pool, at most 2 x workers in flight; yields paths in order."""
    from collections import deque

    pending: deque = deque()
    for html, path in jobs:
        pending.append((pool.submit(_lay_out, html, str(path)), path))
        while len(pending) >= 2 * pool.workers:
            future, done = pending.popleft()
            future.result()
            yield done
    while pending:
        future, done = pending.popleft()
        future.result()
        yield done


def _lay_out(html: str, path: str) -> None:
    from weasyprint import HTML

    HTML(string=html).write_pdf(path)


def _appendix(pool, tmp: Path, content: ReportContent, style: str, rows: Iterable[FindingRow]) -> Iterator[Path]:
    """Appendix A, one layout per chunk of ``APPENDIX_CHUNK`` findings (their HTML is made here)."""
    template = ENV.get_template("pdf_appendix.html.j2")

    def jobs() -> Iterator[tuple[str, Path]]:
        chunks = chunked(rows, APPENDIX_CHUNK)
        current, number = next(chunks, None), 0
        while current is not None:
            following = next(chunks, None)
            yield (template.render(rows=current, css=style, report_id=content.report_id, total=content.findings,
                                   first=number == 0, last=following is None), tmp / f"appendix-{number:05d}.pdf")
            number, current = number + 1, following

    yield from _ordered(pool, jobs())


def _stamps(pool, tmp: Path, content: ReportContent, workflow: Workflow, pages: int) -> Iterator[Path]:
    """The page header and footer ("Report ID · STATE", "Page X of Y") and a draft's watermark,
    one sheet per page, laid out in chunks of ``STAMP_CHUNK`` sheets."""
    template = ENV.get_template("pdf_stamp.html.j2")
    watermark = {"draft": "DRAFT", "authorised": "NOT ISSUED"}.get(workflow.state)
    style = css("stamp.css")

    def jobs() -> Iterator[tuple[str, Path]]:
        for first in range(1, pages + 1, STAMP_CHUNK):
            numbers = range(first, min(pages, first + STAMP_CHUNK - 1) + 1)
            yield (template.render(css=style, numbers=numbers, total=pages, lab=content.lab.name,
                                   report_id=content.report_id, state_label=workflow.state_label,
                                   edition=content.edition.capitalize(), watermark=watermark),
                   tmp / f"stamp-{first:06d}.pdf")

    yield from _ordered(pool, jobs())


def _attach(pdf, tmp: Path, name: str, path: Path, description: str, mime: str, relationship: str) -> None:
    """Embeds a file (PDF/A-3 associated file: MIME type, AFRelationship, size, MD5 checksum), compressed
    while it is read, so only the compressed bytes are ever in memory."""
    import hashlib
    import zlib
    from datetime import datetime, timezone

    import pikepdf
    from pikepdf import Array, Dictionary, Name, String

    md5, size, compressor = hashlib.md5(), 0, zlib.compressobj(6)
    packed = tmp / f"{name}.deflate"
    with open(path, "rb") as source, open(packed, "wb") as out:
        for block in iter(lambda: source.read(1 << 20), b""):
            md5.update(block)
            size += len(block)
            out.write(compressor.compress(block))
        out.write(compressor.flush())
    stream = pikepdf.Stream(pdf, b"")
    stream.write(packed.read_bytes(), filter=Name.FlateDecode)
    stamp = datetime.now(timezone.utc).strftime("D:%Y%m%d%H%M%SZ")
    stream.Type = Name.EmbeddedFile
    stream.Subtype = Name("/" + mime)
    stream.Params = Dictionary(Size=size, CheckSum=String(md5.digest()), ModDate=String(stamp),
                               CreationDate=String(stamp))
    spec = pdf.make_indirect(Dictionary(Type=Name.Filespec, F=String(name), UF=String(name), Desc=String(description),
                                        EF=Dictionary(F=stream, UF=stream), AFRelationship=Name("/" + relationship)))
    root = pdf.Root
    if "/Names" not in root:
        root.Names = Dictionary()
    if "/EmbeddedFiles" not in root.Names:
        root.Names.EmbeddedFiles = pdf.make_indirect(Dictionary(Names=Array()))
    listed = root.Names.EmbeddedFiles.Names
    entries = [(str(listed[i]), listed[i + 1]) for i in range(0, len(listed), 2)] + [(name, spec)]
    root.Names.EmbeddedFiles.Names = Array([item for key, value in sorted(entries, key=lambda e: e[0])
                                            for item in (String(key), value)])
    if "/AF" not in root:
        root.AF = Array()
    root.AF.append(spec)


def _share_resources(pdf, page, name, shared: dict):
    """pikepdf copies the stamp page's resources into each overlay form; WeasyPrint gives all stamp
    pages the same dictionary, so identical ones become one indirect object (a 4,000-page report
    would otherwise repeat it 4,000 times)."""
    import hashlib

    form = page.Resources.XObject[name]
    resources = form.get("/Resources")
    if resources is None or resources.is_indirect:
        return
    key = hashlib.sha256(resources.unparse()).hexdigest()
    if key not in shared:
        shared[key] = pdf.make_indirect(resources)
    form.Resources = shared[key]
