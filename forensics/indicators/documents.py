"""The text layer of documents, where it is cheap to get, for identifier extraction.

A PDF keeps its text in compressed content streams, so scanning its bytes finds almost nothing;
poppler's ``pdftotext`` (C, the same library as the report checks use) reads the text layer in
one pass. It runs on PDFs only, with a page and time limit, read from standard input (the
content never touches the disk). Identifiers found there carry ``encoding = "pdf-text"`` and
their offset is a character offset in that text layer, not a byte offset in the file.
(Office documents need nothing here: the expansion stage opens OOXML/ODF as archives and their
XML members get the content pass themselves.)
"""
from __future__ import annotations

import shutil
import subprocess

PDFTOTEXT = "pdftotext"
MAX_PAGES = 500
TIMEOUT = 20          # seconds per document
TEXT_MIMES = ("application/pdf",)


class TextLayerError(Exception):
    """The document's text layer could not be read (damaged, encrypted, too slow)."""


def available() -> bool:
    return shutil.which(PDFTOTEXT) is not None


def text_layer(data: bytes, mime: str) -> str | None:
    """The document's text, or None for content that has no text layer we read."""
    if mime not in TEXT_MIMES or not data.startswith(b"%PDF") and b"%PDF" not in data[:1024]:
        return None
    if not available():
        raise TextLayerError("pdftotext (poppler-utils) is not installed; PDF text layers not read")
    try:
        result = subprocess.run([PDFTOTEXT, "-q", "-enc", "UTF-8", "-l", str(MAX_PAGES), "-", "-"], input=data,
                                capture_output=True, timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        raise TextLayerError(f"pdftotext took more than {TIMEOUT} s; text layer not read") from None
    if result.returncode != 0:
        raise TextLayerError(f"pdftotext could not read the text layer (exit {result.returncode})")
    return result.stdout.decode("utf-8", "replace")
