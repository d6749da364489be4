"""Runs the registry over content: ASCII (one character per byte) and, where the bytes look like it,
UTF-16LE text; offsets are byte offsets in the content."""
from __future__ import annotations

from collections.abc import Iterable

from forensics.indicators import Indicator
from forensics.indicators.registry import EXTRACTORS, Extractor

CONTEXT = 24


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text)


def extract(data: bytes, kinds: Iterable[str] | None = None,
            extractors: Iterable[Extractor] = EXTRACTORS) -> list[Indicator]:
    """Every indicator in ``data`` (``kinds``: only these), each (kind, value, offset) once."""
    views = [("ascii", data.decode("latin-1"), 1)]
    odd = data[1::2]
    if len(data) >= 8 and odd.count(0) > len(odd) // 4:                 # UTF-16LE text (Windows)
        views.append(("utf-16le", data[: len(data) // 2 * 2].decode("utf-16-le", "replace"), 2))
    return _scan(views, kinds, extractors)


def extract_text(text: str, encoding: str, kinds: Iterable[str] | None = None,
                 extractors: Iterable[Extractor] = EXTRACTORS) -> list[Indicator]:
    """Indicators in text that is not the content's bytes (a document's text layer): offsets are
    character offsets in ``text``, labelled with ``encoding`` (e.g. ``pdf-text``)."""
    return _scan([(encoding, text, 1)], kinds, extractors)


def _scan(views: list[tuple[str, str, int]], kinds: Iterable[str] | None,
          extractors: Iterable[Extractor]) -> list[Indicator]:
    """The registry over each (encoding, text, bytes per character) view; offsets times that width."""
    wanted = set(kinds) if kinds else None
    found: dict[tuple[str, str, int], Indicator] = {}
    for encoding, text, width in views:
        for extractor in extractors:
            if (wanted is not None and not wanted.intersection(extractor.kinds)) or not extractor.worth(text):
                continue
            for kind, value, start, end in extractor.function(text):
                if wanted is not None and kind not in wanted:
                    continue
                key = (kind, value, start * width)
                if key not in found:
                    context = _printable(text[max(0, start - CONTEXT):end + CONTEXT])
                    found[key] = Indicator(kind, value, start * width, (end - start) * width, context,
                                           extractor.label, encoding)
    return sorted(found.values(), key=lambda i: (i.offset, i.kind, i.value))
