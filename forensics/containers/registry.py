"""The extractors, one explicit tuple: name, version, the content types each opens, its function.

Bump ``version`` whenever a change could list different members for the same container; every
derived item records ``name/version`` of the extractor that found it.
"""
from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Extractor:
    name: str
    version: str
    summary: str
    types: tuple[str, ...]                # MIME types (libmagic), or prefixes ending in '*'
    function: str                         # "module:function(locator, ctx, name)" (imported when first used)

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"

    def opens(self, mime: str) -> bool:
        return any(mime.startswith(t[:-1]) if t.endswith("*") else mime == t for t in self.types)

    def members(self) -> Callable:
        module, _, name = self.function.partition(":")
        return getattr(importlib.import_module(f"forensics.containers.{module}"), name)


EXTRACTORS: tuple[Extractor, ...] = (
    Extractor("zip", "1", "ZIP and formats built on it (OOXML, ODF, JAR/APK, EPUB, XPS); dfvfs ZIP path specs",
              ("application/zip", "application/x-zip-compressed", "application/java-archive",
               "application/vnd.android.package-archive", "application/epub+zip", "application/vnd.ms-xpsdocument",
               "application/vnd.openxmlformats-officedocument.*", "application/vnd.oasis.opendocument.*",
               "application/oxps"),
              "formats:zip_members"),
    Extractor("tar", "1", "TAR archives; dfvfs TAR path specs", ("application/x-tar", "application/x-gtar"),
              "formats:tar_members"),
    Extractor("gzip", "1", "GZIP streams; a dfvfs GZIP path spec, size measured before anything reads it",
              ("application/gzip", "application/x-gzip"), "formats:gzip_members"),
    Extractor("bzip2", "1", "BZIP2 streams; a dfvfs COMPRESSED_STREAM path spec", ("application/x-bzip2",),
              "formats:bzip2_members"),
    Extractor("xz", "1", "XZ streams; a dfvfs COMPRESSED_STREAM path spec", ("application/x-xz",),
              "formats:xz_members"),
    Extractor("libarchive", "1", "7z, RAR, ISO 9660, CAB, CPIO, Debian/ar archives via libarchive; members copied "
              "into the case store", ("application/x-7z-compressed", "application/x-rar", "application/vnd.rar",
                                      "application/x-rar-compressed", "application/x-iso9660-image",
                                      "application/vnd.ms-cab-compressed", "application/x-cpio",
                                      "application/vnd.debian.binary-package", "application/x-archive"),
              "libarchive_formats:archive_members"),
    Extractor("pdf", "1", "PDF embedded files and images (JPEG/JPEG 2000 byte for byte) via pikepdf",
              ("application/pdf",), "documents:pdf_members"),
    Extractor("ole", "1", "OLE2 compound files (legacy Office, .msg): every stream via olefile",
              ("application/x-ole-storage", "application/CDFV2", "application/msword", "application/vnd.ms-excel",
               "application/vnd.ms-powerpoint", "application/vnd.ms-outlook", "application/vnd.ms-office"),
              "documents:ole_members"),
)


def extractor_for(mime: str | None) -> Extractor | None:
    if not mime:
        return None
    return next((e for e in EXTRACTORS if e.opens(mime)), None)


def container_types_sql() -> tuple[list[str], list[str]]:
    """(exact MIME types, prefixes) every extractor opens, for selecting containers in the database."""
    exact = [t for e in EXTRACTORS for t in e.types if not t.endswith("*")]
    prefixes = [t[:-1] for e in EXTRACTORS for t in e.types if t.endswith("*")]
    return exact, prefixes
