"""The extension-contradiction flag: real lies flagged, naming differences not."""
from __future__ import annotations

import pytest

from forensics.filetype import extension_mismatch


@pytest.mark.parametrize("name,mime,expected", [
    ("holiday.jpg", "application/pdf", True),
    ("report.pdf", "image/png", True),
    ("backup.zip", "image/jpeg", True),
    ("photo.jpg", "image/jpeg", False),
    ("module.pyc", "application/x-bytecode.python", False),
    ("font.ttf", "font/sfnt", False),
    ("README.md", "application/javascript", False),      # text named after what it looks like
    ("letter.docx", "application/zip", False),             # OOXML is a ZIP file
    ("Main.class", "application/x-java-applet", False),
    ("setup.exe", "application/x-dosexec", False),
    ("noext", "application/pdf", False),
    ("data.bin", "application/pdf", False),                # .bin is generic
    ("notes.txt", "application/octet-stream", False),      # generic content
])
def test_extension_mismatch(name, mime, expected):
    assert extension_mismatch(name, mime) is expected
