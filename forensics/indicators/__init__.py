"""Identifiers extracted from content: e-mail addresses, URLs and their registrable domains, IP
addresses, phone numbers, cryptocurrency addresses and payment card numbers, each typed, normalised,
checked where the format carries a checksum, and located (byte offset and a short context).

The registry is :data:`forensics.indicators.registry.EXTRACTORS`, one tuple with a name and a version
per extractor, as the matchers and carvers have. Extraction scans the raw bytes (as bulk_extractor
does): ASCII text, and UTF-16LE text the same way after decoding it. Nothing here touches the database.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass


def value_key(kind: str, value: str) -> str:
    """The key two identical identifiers share wherever they were found (SHA-256 of kind NUL value)."""
    return hashlib.sha256(f"{kind}\x00{value}".encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Indicator:
    kind: str                 # email | url | domain | ipv4 | ipv6 | phone | bitcoin | ethereum | monero | card
    value: str                # normalised: lower-case e-mail and domain, E.164 phone, checksum-cased Ethereum...
    offset: int               # byte offset of the first byte in the scanned content
    length: int               # bytes it spans there
    context: str              # a few characters either side, printable
    extractor: str            # "email/1"
    encoding: str = "ascii"   # ascii | utf-16le
