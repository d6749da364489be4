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
    ("data.bin", "application/pdf", True),                 # a PDF does not go by .bin
    ("notes.txt", "application/octet-stream", False),      # generic content
])
def test_extension_mismatch(name, mime, expected):
    assert extension_mismatch(name, mime) is expected


@pytest.mark.parametrize("name,mime,expected", [
    # specific content under an extension its type does not use, known to the MIME table or not
    ("IMG_0001.dat", "image/jpeg", True), ("holiday.hmm", "image/jpeg", True), ("notes.txt", "image/jpeg", True),
    ("archive.boo", "application/zip", True), ("invoice.txt", "application/pdf", True),
    ("song.doc", "audio/mpeg", True), ("clip.jpg", "video/mp4", True), ("tool.txt", "application/x-dosexec", True),
    ("report.docx.exe", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", True),
    # text under an extension that names a specific type
    ("photo.jpg", "text/plain", True), ("bank.pdf", "text/html", True), ("backup.zip", "text/plain", True),
    # the same content under the names it goes by
    ("IMG_0001.JPEG", "image/jpeg", False), ("scan.TIF", "image/tiff", False), ("raw.dng", "image/tiff", False),
    ("bundle.jar", "application/zip", False), ("pkg.whl", "application/zip", False),
    ("book.epub", "application/epub+zip", False), ("old.doc", "application/CDFV2", False),
    ("Thumbs.db", "application/CDFV2", False), ("man.1.gz", "application/gzip", False),
    ("libc.so.6", "application/x-sharedlib", False), ("ls", "application/x-pie-executable", False),
    ("python3.11", "application/x-executable", False), ("mod.cpython-311-x86_64-linux-gnu.so",
                                                        "application/x-sharedlib", False),
    ("driver.sys", "application/x-dosexec", False), ("icon.svg", "image/svg+xml", False),
    ("logo.svgz", "application/gzip", False), ("data.csv", "text/csv", False), ("page.htm", "text/html", False),
    # no claim: no extension, unknown binary, empty, text under an unknown extension
    ("README", "image/png", False), ("blob.jpg", "application/octet-stream", False),
    ("empty.pdf", "inode/x-empty", False), ("notes.hmm", "text/plain", False),
    # NTFS streams are judged by the stream's name
    ("report.pdf:Zone.Identifier", "text/plain", False), ("notes.txt:payload.exe", "application/x-dosexec", False),
    ("notes.txt:hidden", "image/jpeg", False),                 # a stream name without an extension claims nothing
])
def test_mismatch_follows_what_the_content_is(name, mime, expected):
    assert extension_mismatch(name, mime) is expected, (name, mime)


def test_libmagic_types_and_the_flag_agree_on_real_bytes(tmp_path):
    """Real content, named honestly and dishonestly, through libmagic itself."""
    import io
    import zipfile

    from PIL import Image

    from forensics.filetype import TypeIdentifier

    jpeg = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 10, 10)).save(jpeg, "JPEG")
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as z:
        z.writestr("a.txt", "hello")
    text = b"Dear diary, today nothing happened.\n" * 20
    pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
    types = TypeIdentifier()
    cases = [("photo.jpg", jpeg.getvalue(), False), ("photo.dat", jpeg.getvalue(), True),
             ("photo.txt", jpeg.getvalue(), True), ("files.zip", archive.getvalue(), False),
             ("files.boo", archive.getvalue(), True), ("diary.txt", text, False), ("diary.jpg", text, True),
             ("paper.pdf", pdf, False), ("paper.hmm", pdf, True)]
    for name, content, expected in cases:
        assert types.identify(content, name)[2] is expected, (name, types.identify(content, name))
