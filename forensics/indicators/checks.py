"""Checksums that tell a real identifier from a look-alike: Luhn (payment cards), Base58Check (Bitcoin
P2PKH/P2SH), bech32 and bech32m (BIP-173, BIP-350: SegWit v0 and v1+), EIP-55 (Ethereum mixed case),
Monero's block Base58 with its Keccak-256 checksum."""
from __future__ import annotations

import hashlib

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
BECH32 = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"


def luhn(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _b58int(text: str) -> int | None:
    number = 0
    for char in text:
        position = B58.find(char)
        if position < 0:
            return None
        number = number * 58 + position
    return number


def b58decode(text: str) -> bytes | None:
    number = _b58int(text)
    if number is None:
        return None
    body = number.to_bytes((number.bit_length() + 7) // 8, "big") if number else b""
    return b"\x00" * (len(text) - len(text.lstrip("1"))) + body


def base58check(text: str) -> bytes | None:
    """The payload (version byte + hash) when the 4-byte double-SHA-256 checksum holds."""
    raw = b58decode(text)
    if raw is None or len(raw) < 5:
        return None
    payload, checksum = raw[:-4], raw[-4:]
    return payload if hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4] == checksum else None


def _polymod(values: list[int]) -> int:
    generator = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    check = 1
    for value in values:
        top = check >> 25
        check = (check & 0x1FFFFFF) << 5 ^ value
        for i in range(5):
            check ^= generator[i] if (top >> i) & 1 else 0
    return check


def bech32_kind(address: str) -> str | None:
    """'bech32' (SegWit v0) or 'bech32m' (v1+) when the address's checksum and witness version agree."""
    if address.lower() != address and address.upper() != address:
        return None
    address = address.lower()
    hrp, _, data = address.rpartition("1")
    if hrp not in ("bc", "tb") or len(data) < 7 or any(c not in BECH32 for c in data):
        return None
    values = [BECH32.index(c) for c in data]
    expanded = [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]
    constant = _polymod(expanded + values)
    version = values[0]
    if constant == 1 and version == 0:
        return "bech32"
    if constant == 0x2BC830A3 and 1 <= version <= 16:
        return "bech32m"
    return None


def keccak256(data: bytes) -> bytes:
    from Cryptodome.Hash import keccak

    return keccak.new(digest_bits=256, data=data).digest()


def eip55(address: str) -> str:
    """The EIP-55 checksum casing of a 0x address."""
    body = address[2:].lower()
    digest = keccak256(body.encode("ascii")).hex()
    return "0x" + "".join(c.upper() if c.isalpha() and int(digest[i], 16) >= 8 else c for i, c in enumerate(body))


_MONERO_BLOCK = {0: 0, 2: 1, 3: 2, 5: 3, 6: 4, 7: 5, 9: 6, 10: 7, 11: 8}     # encoded chars -> bytes


def monero(address: str) -> bool:
    """Monero's Base58 works on 8-byte blocks (11 characters each); the last 4 bytes are the Keccak-256 of
    the rest. Standard (4…, 95 chars) and subaddresses (8…, 95 chars)."""
    raw = bytearray()
    for start in range(0, len(address), 11):
        chunk = address[start:start + 11]
        size = _MONERO_BLOCK.get(len(chunk))
        number = _b58int(chunk) if size is not None else None
        if number is None or number >= 1 << (8 * size):
            return False
        raw += number.to_bytes(size, "big")
    return len(raw) == 69 and keccak256(bytes(raw[:-4]))[:4] == bytes(raw[-4:])
