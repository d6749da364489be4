"""Shared helpers of the hash-set parsers: hex validation, text opening."""
from __future__ import annotations

import re
from pathlib import Path
from typing import TextIO

from forensics.matchers.models import HashSetEntry, HashSetWarning

Parsed = HashSetEntry | HashSetWarning
HEX = re.compile(r"^[0-9a-fA-F]+$")
LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}


def clean_hex(value: str | None, length: int) -> str | None:
    """Lower-case hex of exactly ``length`` digits, None for empty; ValueError otherwise."""
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if len(value) != length or not HEX.match(value):
        raise ValueError(f"{value!r} is not {length} hex digits")
    return value.lower()


def algorithm_of(value: str) -> str | None:
    """md5 / sha1 / sha256 for a hex string of that length."""
    return LENGTHS.get(len(value)) if HEX.match(value) else None


def open_text(path: str | Path) -> TextIO:
    """UTF-8 text (BOM dropped); undecodable bytes in names become U+FFFD, hashes are ASCII."""
    return open(path, encoding="utf-8-sig", errors="replace", newline="")


def to_size(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None
