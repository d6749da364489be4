"""Real file type from content (libmagic) and the extension-contradiction flag."""
from __future__ import annotations

import hashlib
import mimetypes
import posixpath
from collections import OrderedDict
from collections.abc import Callable

# Python's built-in table only (not /etc/mime.types), so results do not depend on the machine.
TYPES = mimetypes.MimeTypes(filenames=())
# Content types too generic to contradict any extension.
GENERIC = {"application/octet-stream", "text/plain", "inode/x-empty", "application/x-empty", ""}
# Names libmagic and Python's mimetypes table give to the same kind of content.
EQUIVALENT = [
    {"image/jpeg", "image/jpg", "image/pjpeg"},
    {"image/bmp", "image/x-ms-bmp", "image/x-bmp"},
    {"application/zip", "application/x-zip-compressed"},
    {"application/pdf", "application/x-pdf"},
    {"application/gzip", "application/x-gzip"},
    {"application/x-python-code", "application/x-bytecode.python"},
    {"font/ttf", "font/sfnt", "application/x-font-ttf", "font/otf", "application/vnd.ms-opentype"},
    {"application/java-vm", "application/x-java-applet", "application/java"},
    {"application/x-msdownload", "application/vnd.microsoft.portable-executable", "application/x-dosexec"},
    {"image/vnd.microsoft.icon", "image/x-icon"},
    {"audio/mpeg", "audio/mp3"},
]
# Text formats libmagic often names by what the text looks like (code, markup, config):
# a text file under any text extension is not a contradiction.
TEXTUAL = {"application/javascript", "application/json", "application/xml", "application/x-sh",
           "application/x-shellscript", "application/x-php", "application/x-perl", "application/x-ruby",
           "application/x-python", "application/vnd.hp-HPGL", "application/x-wine-extension-ini",
           "application/x-awk", "application/x-tex", "application/x-troff", "application/sql",
           "application/x-ndjson", "application/toml", "application/yaml", "message/rfc822"}


def _same(a: str, b: str) -> bool:
    return a == b or any(a in group and b in group for group in EQUIVALENT)


def _textual(mime: str) -> bool:
    return mime.startswith("text/") or mime in TEXTUAL


class TypeIdentifier:
    """Wraps two libmagic handles; ``magic`` is imported when the first is made."""

    CACHE_SIZE = 65536

    def __init__(self) -> None:
        import magic

        self._mime = magic.Magic(mime=True)
        self._text = magic.Magic()
        self.version = f"libmagic {magic.version()}" if hasattr(magic, "version") else "libmagic"
        # libmagic is the costliest step of typing and depends only on content: identical
        # contents (common on real disks) are typed once. Keyed by SHA-256 of the whole stream.
        self._typed: OrderedDict[str, tuple[str, str]] = OrderedDict()

    def identify_digest(self, sha256: str, read_head: Callable[[], bytes]) -> tuple[str, str]:
        """(mime type, description) of content with this SHA-256; ``read_head`` only on a cache miss."""
        if sha256 in self._typed:
            self._typed.move_to_end(sha256)
            return self._typed[sha256]
        result = self.identify_content(read_head())
        self._typed[sha256] = result
        if len(self._typed) > self.CACHE_SIZE:
            self._typed.popitem(last=False)
        return result

    def identify_head(self, head: bytes) -> tuple[str, str]:
        """(mime type, description) of a stream's first bytes, cached by their digest: libmagic looks
        at nothing else, so equal heads are typed once (the costliest step of typing)."""
        key = "head:" + hashlib.sha1(head).hexdigest()
        if key in self._typed:
            self._typed.move_to_end(key)
            return self._typed[key]
        result = self.identify_content(head)
        self._typed[key] = result
        if len(self._typed) > self.CACHE_SIZE:
            self._typed.popitem(last=False)
        return result

    def identify_content(self, head: bytes) -> tuple[str, str]:
        """(mime type, description) for a file's first bytes."""
        if not head:
            return "inode/x-empty", "empty"
        return self._mime.from_buffer(head), self._text.from_buffer(head)

    def identify(self, head: bytes, name: str) -> tuple[str, str, bool]:
        """(mime type, description, extension contradicts content)."""
        mime, description = self.identify_content(head)
        return mime, description, extension_mismatch(name, mime)


def extension_mismatch(name: str, mime: str) -> bool:
    """True when the name's extension names a type the content is not.

    Only flagged where both sides are specific: an unknown extension, a generic
    type on either side, text under a text extension, or ZIP content under an
    office/archive extension built on ZIP never count.
    """
    ext = posixpath.splitext(name)[1].lower()
    if not ext or mime in GENERIC:
        return False
    expected = TYPES.types_map[True].get(ext) or TYPES.types_map[False].get(ext)
    if expected is None or expected in GENERIC:
        return False
    if _same(expected, mime) or ext in TYPES.guess_all_extensions(mime):
        return False
    if _textual(expected) and _textual(mime):
        return False
    if mime == "application/zip" and (expected.startswith("application/vnd.") or "java-archive" in expected):
        return False  # OOXML/ODF/JAR containers are ZIP files libmagic may not look into
    return True
