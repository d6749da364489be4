"""Listings: each one's columns declared once beside its query, rendered by many.

A listing module declares a tuple of :class:`Column` and a generator of frozen row
dataclasses (volatility3's ``TreeGrid(columns, generator)`` idea). The CLI's text and
JSON, the report's tables and the portal's pages all render those rows, so a column is
named, ordered and formatted the same way everywhere.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any


@dataclass(frozen=True)
class Column:
    name: str                 # attribute of the row and key in JSON
    title: str                # header in text, reports and pages
    kind: str = "text"        # text | int | bytes | hash | time | bool | list
    summary: bool = True      # shown in the compact (text / main table) rendering


def utc(value: datetime | None) -> datetime | None:
    """Times come back naive from SQLite; every time in the database is UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)


def iso(value: datetime | None) -> str | None:
    value = utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S") + (f".{value.microsecond:06d}" if value.microsecond else "") + "Z" \
        if value else None


def json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, tuple):
        return [json_value(v) for v in value]
    return value


def as_json(row: Any) -> dict[str, Any]:
    """A row dataclass as a JSON-ready dict (times as ISO 8601 UTC strings)."""
    return {field.name: json_value(getattr(row, field.name)) for field in dataclasses.fields(row)}


def text_value(value: Any, kind: str = "text") -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return iso(value) or "-"
    if kind == "bytes" and isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (list, tuple)):
        return ", ".join(text_value(v) for v in value) or "-"
    return str(value)
