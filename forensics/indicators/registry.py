"""The indicator extractors, one explicit tuple: name, version, kinds, function (regexp + validation).

Each function takes the scanned text (one character per byte for ASCII, per UTF-16 code unit for
UTF-16LE) and yields ``(kind, normalised value, start, end)`` in characters; :func:`extract` turns
those into byte offsets and contexts. Bump ``version`` whenever a change could find different values.
"""
from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from forensics.indicators import checks

Found = Iterator[tuple[str, str, int, int]]


@lru_cache(maxsize=2)
def _psl(only_icann: bool = False):
    from publicsuffixlist import PublicSuffixList

    # an unlisted TLD is not a domain anyone registered
    return PublicSuffixList(accept_unknown=False, only_icann=only_icann)


_HOST = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+")


def registrable(host: str) -> str | None:
    """The registrable domain (public suffix + one label: bbc.co.uk; alice.github.io), None for unknown
    suffixes and for names that are no host name. A name the PSL's private section lists as a suffix
    itself (iki.fi, github.io) is registrable in ICANN terms, and is what is returned then."""
    host = host.lower().rstrip(".")
    if not _HOST.fullmatch(host):
        return None
    return _psl().privatesuffix(host) or _psl(only_icann=True).privatesuffix(host)


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]{1,64}@(?:[A-Za-z0-9-]{1,63}\.)+[A-Za-z]{2,24}(?![A-Za-z0-9-])")
_URL = re.compile(r"(?:https?|ftp)://[^\s\"'<>()\[\]{}\\^`|\x00-\x1f\x7f-\xff]{3,2000}", re.I)
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_IPV6 = re.compile(r"(?<![:0-9A-Za-z])(?:[0-9A-Fa-f]{1,4}:|:){2,7}(?::|[0-9A-Fa-f]{1,4})(?![:0-9A-Za-z])")
_IPV4_HINT = re.compile(r"\d\.\d{1,3}\.\d{1,3}\.\d")
MIN_IPV6_GROUPS = 3                 # written groups: 2001:db8::1 has three; ::1 and fe80::1 are not worth a link
_IPV6_HINT = re.compile(r"[0-9A-Fa-f]{1,4}::?[0-9A-Fa-f]{1,4}:|::[0-9A-Fa-f]")
_BTC58 = re.compile(r"(?<![1-9A-Za-z])[13][1-9A-HJ-NP-Za-km-z]{25,34}(?![1-9A-Za-z])")
_BECH = re.compile(r"(?<![0-9A-Za-z])(?:bc1|BC1|tb1|TB1)[02-9ac-hj-np-zAC-HJ-NP-Z]{6,87}(?![0-9A-Za-z])")
_ETH = re.compile(r"(?<![0-9A-Za-z])0x[0-9a-fA-F]{40}(?![0-9A-Za-z])")
_XMR = re.compile(r"(?<![1-9A-Za-z])[48][1-9A-HJ-NP-Za-km-z]{94}(?![1-9A-Za-z])")
_CARD = re.compile(r"(?<![\w/-])(?:\d[ -]?){12,18}\d(?![\w-])")    # not inside a word, hex string, path or id
# issuer prefixes and the lengths each issues (ISO/IEC 7812 IINs as the networks publish them)
_CARD_ISSUERS = (
    (re.compile(r"4"), (13, 16, 19)),                                         # Visa
    (re.compile(r"5[1-5]|2(?:2[2-9][1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)"), (16,)),  # Mastercard
    (re.compile(r"3[47]"), (15,)),                                            # American Express
    (re.compile(r"6011|64[4-9]|65"), (16, 17, 18, 19)),                       # Discover
    (re.compile(r"35(?:2[89]|[3-8]\d)"), (16, 17, 18, 19)),                  # JCB
    (re.compile(r"3(?:0[0-5]|[689])"), (14, 15, 16, 17, 18, 19)),             # Diners Club
)


def emails(text: str) -> Found:
    for match in _EMAIL.finditer(text):
        value = match.group().lower().strip(".")
        if registrable(value.rpartition("@")[2]):
            yield "email", value, match.start(), match.end()


def urls(text: str) -> Found:
    for match in _URL.finditer(text):
        raw = match.group().rstrip(".,;:!?'\"")
        scheme, _, rest = raw.partition("://")
        host = re.split(r"[/?#]", rest, maxsplit=1)[0].rpartition("@")[2]
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host
        if not name:
            continue
        value = f"{scheme.lower()}://{host.lower()}{rest[len(rest.split('/', 1)[0]):] if '/' in rest else ''}"
        yield "url", value, match.start(), match.start() + len(raw)
        domain = registrable(name) if not _is_ip(name) else None
        if domain:
            yield "domain", domain, match.start(), match.start() + len(raw)


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text.strip("[]"))
        return True
    except ValueError:
        return False


def ips(text: str) -> Found:
    for match in _IPV4.finditer(text) if _IPV4_HINT.search(text) else ():
        try:
            address = ipaddress.IPv4Address(match.group())
        except ValueError:
            continue
        if not address.is_unspecified:
            yield "ipv4", str(address), match.start(), match.end()
    if _IPV6_HINT.search(text) is None:
        return
    for match in _IPV6.finditer(text):
        candidate = match.group()
        if candidate.count(":") < 2 or not any(c in "0123456789abcdefABCDEF" for c in candidate):
            continue
        try:
            address = ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        groups = [g for g in candidate.split(":") if g]
        if len(groups) < MIN_IPV6_GROUPS:        # "::8", "a::b": bytes in binary data far more often than hosts
            continue
        if candidate.count(":") >= 7 or "::" in candidate:
            yield "ipv6", address.compressed, match.start(), match.end()


_PLUS = re.compile(r"\+\s?\(?[1-9]")


def phones(text: str) -> Found:
    import phonenumbers

    region = os.environ.get("FORENSICS_PHONE_REGION") or None
    if region is None:
        # without a region only +country numbers count: libphonenumber reads a window at each '+digit'
        # (reading whole texts with it cost more than every other extractor together)
        seen = -1
        for plus in _PLUS.finditer(text):
            start = plus.start()
            if start < seen:
                continue
            window = text[start:start + 40]
            for match in phonenumbers.PhoneNumberMatcher(window, "ZZ", leniency=phonenumbers.Leniency.VALID):
                seen = start + match.end
                yield ("phone", phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164),
                       start + match.start, start + match.end)
        return
    for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
        yield ("phone", phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164),
               match.start, match.end)


def wallets(text: str) -> Found:
    for match in _BTC58.finditer(text):
        payload = checks.base58check(match.group())
        if payload is not None and len(payload) == 21 and payload[0] in (0x00, 0x05):
            yield "bitcoin", match.group(), match.start(), match.end()
    for match in _BECH.finditer(text):
        if checks.bech32_kind(match.group()):
            yield "bitcoin", match.group().lower(), match.start(), match.end()
    for match in _ETH.finditer(text):
        address = match.group()
        body = address[2:]
        checked = checks.eip55(address)
        if body.lower() == body or body.upper() == body or checked == address:
            yield "ethereum", checked, match.start(), match.end()
    for match in _XMR.finditer(text):
        if checks.monero(match.group()):
            yield "monero", match.group(), match.start(), match.end()


def cards(text: str) -> Found:
    for match in _CARD.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        issued = any(prefix.match(digits) and len(digits) in lengths for prefix, lengths in _CARD_ISSUERS)
        if issued and len(set(digits)) > 1 and checks.luhn(digits):
            yield "card", digits, match.start(), match.end()


@dataclass(frozen=True)
class Extractor:
    name: str
    version: str
    kinds: tuple[str, ...]
    summary: str
    function: Callable[[str], Found]
    needs: re.Pattern | None = None      # a cheap test the text must pass before the extractor runs at all

    def worth(self, text: str) -> bool:
        return self.needs is None or self.needs.search(text) is not None

    @property
    def label(self) -> str:
        return f"{self.name}/{self.version}"


EXTRACTORS: tuple[Extractor, ...] = (
    Extractor("email", "2", ("email",), "e-mail addresses, lower-cased; the domain's suffix must be a public one",
              emails, re.compile("@")),
    Extractor("url", "2", ("url", "domain"), "http/https/ftp URLs (scheme and host lower-cased) and their "
              "registrable domains (Public Suffix List)", urls, re.compile("://")),
    Extractor("ip", "2", ("ipv4", "ipv6"), "IPv4 and IPv6 addresses (parsed; IPv6 written compressed)", ips,
              re.compile(r"\d\.\d{1,3}\.\d|[0-9A-Fa-f]:[0-9A-Fa-f]{0,4}:")),
    Extractor("phone", "1", ("phone",), "phone numbers as E.164 (libphonenumber, valid numbers only; "
              "FORENSICS_PHONE_REGION for numbers written without +country)", phones),
    Extractor("wallet", "1", ("bitcoin", "ethereum", "monero"), "Bitcoin (Base58Check, bech32/bech32m), Ethereum "
              "(EIP-55 where mixed case), Monero (Keccak checksum) addresses; look-alikes fail the checksum", wallets,
              re.compile(r"[13][1-9A-HJ-NP-Za-km-z]{25}|(?:bc|tb|BC|TB)1|0x[0-9a-fA-F]{40}|[48][1-9A-HJ-NP-Za-km-z]{94}")),
    Extractor("card", "2", ("card",), "payment card numbers: an issuer's prefix and one of its lengths, Luhn; "
              "not inside a word, hex string, path or dashed id", cards,
              re.compile(r"\d{4}[ -]?\d{4}[ -]?\d{4}")),
)
KINDS = tuple(kind for extractor in EXTRACTORS for kind in extractor.kinds)
