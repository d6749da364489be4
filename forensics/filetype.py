"""Real file type from content (libmagic) and the extension-contradiction flag."""
from __future__ import annotations

import hashlib
import mimetypes
import posixpath
from collections.abc import Callable

from forensics.lru import SizedLRU

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
    """Wraps two libmagic handles; ``magic`` is imported when the first is made.

    libmagic costs about a millisecond a call on this hardware whatever it is given, and a MIME type
    and a description are two calls. The content pass asks for the MIME type of every stream
    (``mime_of_head``) and for the description only of content an examiner will look at
    (``describe``; forensics.content says which)."""

    CACHE_BYTES = 4 << 20           # the heads' cache, by the bytes its keys and values hold

    def __init__(self) -> None:
        import magic

        self._mime = magic.Magic(mime=True)
        self._text = magic.Magic()
        self.version = f"libmagic {magic.version()}" if hasattr(magic, "version") else "libmagic"
        # libmagic depends only on the bytes it is given: equal heads (common on real disks) are
        # typed once. Keyed by the SHA-1 of the head (or the SHA-256 of the whole stream).
        self._typed: SizedLRU[str, tuple[str, str | None]] = SizedLRU(self.CACHE_BYTES, _entry_bytes)

    def _cached(self, key: str, compute: Callable[[], tuple[str, str | None]]) -> tuple[str, str | None]:
        result = self._typed.get(key)
        if result is None:
            result = compute()
            self._typed.put(key, result)
        return result

    def identify_digest(self, sha256: str, read_head: Callable[[], bytes]) -> tuple[str, str]:
        """(mime type, description) of content with this SHA-256; ``read_head`` only on a cache miss."""
        return self._cached(sha256, lambda: self.identify_content(read_head()))

    def mime_of_head(self, head: bytes) -> str:
        """The MIME type of a stream's first bytes (one libmagic call, cached by the head's digest)."""
        if not head:
            return "inode/x-empty"
        return self._cached("head:" + hashlib.sha1(head).hexdigest(), lambda: (self._mime.from_buffer(head), None))[0]

    def describe(self, head: bytes) -> str:
        """libmagic's description of a stream's first bytes (what ``file -b`` prints)."""
        return self._text.from_buffer(head) if head else "empty"

    def identify_content(self, head: bytes) -> tuple[str, str]:
        """(mime type, description) for a file's first bytes (uncached)."""
        if not head:
            return "inode/x-empty", "empty"
        return self._mime.from_buffer(head), self.describe(head)

    def identify(self, head: bytes, name: str) -> tuple[str, str, bool]:
        """(mime type, description, extension contradicts content)."""
        mime, description = self.identify_content(head)
        return mime, description, extension_mismatch(name, mime)


def _entry_bytes(key: str, value: tuple[str, str | None]) -> int:
    """About what one cache entry holds (str objects, the tuple, the dict slot)."""
    return 200 + len(key) + len(value[0]) + len(value[1] or "")


# Content of a specific kind: its extension is a claim about it that can be checked (Autopsy's File Type
# Mismatch idea). Text, fonts, code, bytecode and unknown binary make no such claim.
SPECIFIC_PREFIXES = ("image/", "video/", "audio/")
NOT_SPECIFIC = {"image/svg+xml"}                                   # SVG is XML text
SPECIFIC = {
    # archives and compressed files
    "application/zip", "application/gzip", "application/x-gzip", "application/x-bzip2", "application/x-xz",
    "application/zstd", "application/x-7z-compressed", "application/x-rar", "application/vnd.rar",
    "application/x-rar-compressed", "application/x-tar", "application/x-lzma", "application/vnd.ms-cab-compressed",
    "application/x-iso9660-image",
    # documents
    "application/pdf", "application/msword", "application/vnd.ms-excel", "application/vnd.ms-powerpoint",
    "application/vnd.ms-outlook", "application/x-ole-storage", "application/CDFV2", "application/rtf", "text/rtf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "application/vnd.oasis.opendocument.text", "application/vnd.oasis.opendocument.spreadsheet",
    "application/vnd.oasis.opendocument.presentation", "application/epub+zip",
    # executables
    "application/x-dosexec", "application/vnd.microsoft.portable-executable", "application/x-msdownload",
    "application/x-executable", "application/x-sharedlib", "application/x-pie-executable", "application/x-object",
    "application/x-mach-binary",
}
# Extensions a type uses beyond Python's MIME table (the documented allowance list, docs/architecture.md).
ALSO = {
    "image/jpeg": {".jpg", ".jpeg", ".jpe", ".jfif", ".jif", ".thm"},
    "image/png": {".png", ".apng"},
    "image/tiff": {".tif", ".tiff", ".dng", ".nef", ".cr2", ".arw", ".orf", ".rw2"},
    "image/bmp": {".bmp", ".dib"},
    "image/x-icon": {".ico", ".cur"}, "image/vnd.microsoft.icon": {".ico", ".cur"},
    "image/heic": {".heic", ".heif"}, "image/webp": {".webp"},
    "audio/mpeg": {".mp3", ".mpga", ".mp2"}, "audio/x-wav": {".wav"}, "audio/ogg": {".ogg", ".oga", ".opus"},
    "video/mp4": {".mp4", ".m4v", ".m4a", ".mov"}, "video/quicktime": {".mov", ".qt", ".mp4"},
    "application/zip": {".zip", ".jar", ".war", ".ear", ".apk", ".xpi", ".whl", ".egg", ".docx", ".xlsx", ".pptx",
                        ".docm", ".xlsm", ".pptm", ".odt", ".ods", ".odp", ".odg", ".epub", ".kmz", ".ipa", ".crx",
                        ".nupkg", ".vsix", ".aar", ".cbz", ".3mf", ".xps", ".oxps"},
    "application/gzip": {".gz", ".tgz", ".svgz", ".z", ".dz", ".emz"},
    "application/x-bzip2": {".bz2", ".tbz", ".tbz2"}, "application/x-xz": {".xz", ".txz"},
    "application/zstd": {".zst", ".tzst"}, "application/x-tar": {".tar"},
    "application/x-7z-compressed": {".7z"}, "application/vnd.rar": {".rar"}, "application/x-rar": {".rar"},
    "application/pdf": {".pdf", ".ai"},
    "application/epub+zip": {".epub"}, "application/rtf": {".rtf"}, "text/rtf": {".rtf"},
    "application/vnd.ms-outlook": {".msg"},
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": {".docx", ".docm", ".dotx"},
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {".xlsx", ".xlsm", ".xltx"},
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": {".pptx", ".pptm", ".ppsx"},
    "application/vnd.oasis.opendocument.text": {".odt"}, "application/vnd.oasis.opendocument.spreadsheet": {".ods"},
    "application/vnd.oasis.opendocument.presentation": {".odp"},
    "application/x-ole-storage": {".doc", ".dot", ".xls", ".xlt", ".ppt", ".pps", ".pot", ".msg", ".msi", ".msp",
                                  ".mst", ".vsd", ".pub", ".db"},
    "application/CDFV2": {".doc", ".dot", ".xls", ".xlt", ".ppt", ".pps", ".pot", ".msg", ".msi", ".msp", ".mst",
                          ".vsd", ".pub", ".db"},
    "application/msword": {".doc", ".dot", ".wiz"}, "application/vnd.ms-excel": {".xls", ".xlt", ".xla"},
    "application/vnd.ms-powerpoint": {".ppt", ".pps", ".pot"},
    "application/x-dosexec": {".exe", ".dll", ".sys", ".ocx", ".cpl", ".scr", ".drv", ".efi", ".mui", ".com",
                              ".ax", ".acm", ".tlb", ".pyd", ".winmd", ".node"},
}
# ELF objects: Unix names them freely except where a name claims a non-ELF type; versioned shared
# objects (libc.so.6) and names without an extension make no claim.
ELF = {"application/x-executable", "application/x-sharedlib", "application/x-pie-executable", "application/x-object"}
ELF_EXTENSIONS = {".so", ".o", ".ko", ".bin", ".elf", ".out", ".node", ".mod", ".axf", ".prx", ".run"}
NO_CLAIM = {"application/octet-stream", "inode/x-empty", "application/x-empty", ""}


def specific(mime: str) -> bool:
    return mime not in NOT_SPECIFIC and (mime in SPECIFIC or mime.startswith(SPECIFIC_PREFIXES))


def _uses(mime: str, ext: str, name: str) -> bool:
    """Does content of this type go by this extension?"""
    group = next((g for g in EQUIVALENT if mime in g), {mime})
    for kind in group:
        if ext in ALSO.get(kind, ()) or ext in TYPES.guess_all_extensions(kind):
            return True
    if mime in ELF:
        return ext in ELF_EXTENSIONS or ".so." in name or ext[1:].isdigit()
    return False


def _expected(ext: str) -> str | None:
    found = TYPES.types_map[True].get(ext) or TYPES.types_map[False].get(ext)
    if found is None:
        found = next((kind for kind, extensions in ALSO.items() if ext in extensions), None)
    return found


def extension_mismatch(name: str, mime: str) -> bool:
    """True when the name's extension contradicts the content (docs/architecture.md, "Type mismatch").

    * content of a specific kind (image, video, audio, archive, document, executable) under an
      extension that kind does not use, known to the MIME table or not (a JPEG named ``.dat``,
      ``.txt`` or ``.hmm``; a ZIP named ``.boo``);
    * other content (text above all) under an extension that names a specific kind (text named
      ``.jpg``).

    Never flagged: a name without an extension, content libmagic cannot name (``octet-stream``,
    empty), the allowances in ``ALSO`` (ZIP-based office and package formats, camera raw files,
    gzip-based formats...), ELF objects with Unix names (``libc.so.6``), text under a text extension.
    """
    base = posixpath.basename(name)
    if ":" in base:                         # an NTFS stream ("file.txt:stream"): the stream's own name
        base = base.split(":", 1)[1]
    ext = posixpath.splitext(base)[1].lower()
    if not ext or mime in NO_CLAIM:
        return False
    if specific(mime):
        return not _uses(mime, ext, base.lower())
    expected = _expected(ext)
    if expected is None or not specific(expected):
        return False
    return not (_same(expected, mime) or ext in TYPES.guess_all_extensions(mime))
