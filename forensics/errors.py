"""Exceptions that name what is wrong with an exhibit or an item."""
from __future__ import annotations


class ForensicsError(Exception):
    """Base class for every error this package raises on purpose."""


class ImageError(ForensicsError):
    """The image as a whole cannot be processed (stops that exhibit).

    ``kind`` is a short machine-readable reason: ``not-found``, ``unknown-format``,
    ``missing-segment``, ``truncated``, ``unreadable``, ``encrypted``.
    """

    def __init__(self, kind: str, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail  # the back end's full error text, for the warnings table

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


class ItemError(ForensicsError):
    """One file or directory could not be read; processing continues."""


class FileSystemOpenError(ForensicsError):
    """A file system could not be opened by a back-end (TSK or dfvfs)."""
