"""Errors of the matchers: a bad item is a warning, a bad rule set or hash set is refused."""
from __future__ import annotations

from forensics.errors import ForensicsError, ItemError


class MatcherItemError(ItemError):
    """One file could not be matched (corrupt, truncated, too large, unreadable); the batch goes on.

    ``kind`` is short and machine-readable: ``unreadable``, ``corrupt``, ``truncated``,
    ``too-large``, ``unsupported``.
    """

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class RuleSetError(ForensicsError):
    """A YARA rule set was refused; ``source`` and ``line`` name where, ``message`` is libyara's."""

    def __init__(self, message: str, source: str | None = None, line: int | None = None) -> None:
        where = f"{source}({line}): " if source and line else (f"{source}: " if source else "")
        super().__init__(f"{where}{message}")
        self.message = message
        self.source = source
        self.line = line


class HashSetFormatError(ForensicsError):
    """A hash-set file as a whole cannot be read (unknown format, not the format named)."""
