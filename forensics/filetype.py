"""Real file type from content (libmagic) and the extension-contradiction flag."""
from __future__ import annotations

import mimetypes
import posixpath

# Content types too generic to contradict any extension.
GENERIC = {"application/octet-stream", "text/plain", "inode/x-empty", "application/x-empty", ""}
# Extensions whose registered MIME type differs from libmagic's name for the same content.
ALIASES = {
    "image/jpg": "image/jpeg", "image/x-ms-bmp": "image/bmp", "image/x-bmp": "image/bmp",
    "application/x-zip-compressed": "application/zip", "application/x-pdf": "application/pdf",
    "text/x-c": "text/x-csrc", "application/javascript": "text/javascript",
    "application/x-javascript": "text/javascript",
}


class TypeIdentifier:
    """Wraps two libmagic handles; ``magic`` is imported when the first is made."""

    def __init__(self) -> None:
        import magic

        self._mime = magic.Magic(mime=True)
        self._text = magic.Magic()
        self.version = f"libmagic {magic.version()}" if hasattr(magic, "version") else "libmagic"

    def identify(self, head: bytes, name: str) -> tuple[str, str, bool]:
        """(mime type, description, extension contradicts content) for a file's first bytes."""
        if not head:
            return "inode/x-empty", "empty", False
        mime = self._mime.from_buffer(head)
        description = self._text.from_buffer(head)
        return mime, description, extension_mismatch(name, mime)


def _normal(mime: str) -> str:
    return ALIASES.get(mime, mime)


def extension_mismatch(name: str, mime: str) -> bool:
    """True when the name's extension names a type the content is not.

    Only flagged where both sides are specific: an unknown extension, a generic
    content type, or text content under a text extension never count.
    """
    ext = posixpath.splitext(name)[1].lower()
    if not ext or _normal(mime) in GENERIC:
        return False
    expected = mimetypes.types_map.get(ext) or mimetypes.common_types.get(ext)
    if expected is None:
        return False
    if _normal(expected) == _normal(mime) or ext in mimetypes.guess_all_extensions(mime):
        return False
    expected_major, content_major = expected.split("/")[0], mime.split("/")[0]
    if expected_major == content_major == "text":
        return False
    if _normal(mime) == "application/zip" and expected.startswith("application/vnd."):
        return False  # OOXML/ODF containers are ZIP files libmagic may not look into
    return True
