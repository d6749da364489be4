"""Cases that share known things, for the links tests, the bench and the demo (same bytes on every run).

Three operation cases and two control cases. OP-A and OP-B share a file byte for byte, an image
re-encoded at another size (a PDQ near match), a document edited by a few words (a TLSH near
match), an e-mail address and a Bitcoin address; OP-B and OP-C share another e-mail and wallet
(so OP-A reaches OP-C only through OP-B). Every case holds the same ``common`` file (in most cases,
so it links nothing) and OP-A shares one operating-system file with CTRL-1 that a known-good list
names (known-good never links). The control cases share nothing else, with anyone.
"""
from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

from forensics.indicators.checks import B58

OPERATIONS = ("OP-A", "OP-B", "OP-C")
CONTROLS = ("CTRL-1", "CTRL-2")


@dataclass(frozen=True)
class Planted:
    cases: tuple[str, str]
    type: str          # content | pdq | tlsh | indicator
    kind: str
    value: str | None  # the normalised value, for indicators


@dataclass(frozen=True)
class LinkMaterial:
    files: dict[str, dict[str, bytes]]    # case -> {path: bytes}
    planted: tuple[Planted, ...]
    known_good_md5: str                   # md5sum line of the OS file both OP-A and CTRL-1 hold
    volume_ids: dict[str, str]            # case -> FAT volume ID (each its own: a shared serial would link)


def bitcoin_address(seed: int) -> str:
    """A valid P2PKH address (Base58Check, version 0) from a seed."""
    payload = b"\x00" + hashlib.sha256(seed.to_bytes(8, "big")).digest()[:20]
    raw = payload + hashlib.sha256(hashlib.sha256(payload).digest()).digest()[:4]
    number, text = int.from_bytes(raw, "big"), ""
    while number:
        number, digit = divmod(number, 58)
        text = B58[digit] + text
    return "1" * (len(raw) - len(raw.lstrip(b"\x00"))) + text


def _document(rng: random.Random, words: int = 900) -> list[str]:
    vocabulary = [f"{rng.choice('bcdfghklmnprstvz')}{rng.choice('aeiou')}{rng.choice('lmnrst')}"
                  f"{rng.choice('aeiou')}{rng.choice('bcdgkmnprst')}" for _ in range(400)]
    return [rng.choice(vocabulary) for _ in range(words)]


def _jpeg(image, quality: int) -> bytes:
    import io

    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def link_material(filler: int = 6, filler_size: int = 8192, seed: int = 13) -> LinkMaterial:
    """``filler`` unrelated files of ``filler_size`` random bytes per case besides the planted ones."""
    from forensics.demo_material import _pattern

    rng = random.Random(seed)
    cases = {name: {} for name in (*OPERATIONS, *CONTROLS)}
    for number, (name, files) in enumerate(cases.items()):
        case_rng = random.Random(seed * 1000 + number)
        for index in range(filler):
            files[f"data/file_{index:04d}.bin"] = case_rng.randbytes(filler_size)
        files["docs/notes.txt"] = (" ".join(_document(case_rng, 300)) + "\n").encode()
        files["Windows/common.ini"] = b"[boot]\nshell=explorer.exe\n" + bytes(range(256)) * 2
    shared = rng.randbytes(20_000)
    cases["OP-A"]["tmp/payload.bin"] = shared
    cases["OP-B"]["recovered/p.bin"] = shared
    picture = _pattern(640, 480, seed=23, rings=True)
    cases["OP-A"]["photos/IMG_2041.jpg"] = _jpeg(picture, 88)
    cases["OP-B"]["chat/media/received_88.jpg"] = _jpeg(picture.resize((400, 300)), 70)
    words = _document(rng)
    edited = list(words)
    for position in (40, 300, 610):
        edited[position] = "changed"
    cases["OP-A"]["docs/plan.txt"] = " ".join(words).encode()
    cases["OP-B"]["docs/plan_v2.txt"] = " ".join(edited).encode()
    wallet_ab, wallet_bc = bitcoin_address(seed), bitcoin_address(seed + 1)
    cases["OP-A"]["notes/contacts.txt"] = f"ask courier.k@mail-drop.net for {wallet_ab}\n".encode()
    cases["OP-B"]["mail/inbox.eml"] = (f"From: Courier.K@mail-drop.net\nSubject: ok\n\nsend to {wallet_ab}\n"
                                       f"cc: broker77@quickpost.org, wallet {wallet_bc}\n").encode()
    cases["OP-C"]["Users/x/ledger.txt"] = f"broker77@quickpost.org paid via {wallet_bc}\n".encode()
    system = b"MZ" + random.Random(seed + 5).randbytes(30_000)
    cases["OP-A"]["Windows/System32/kernel_helper.dll"] = system
    cases["CTRL-1"]["Windows/System32/kernel_helper.dll"] = system
    planted = (
        Planted(("OP-A", "OP-B"), "content", "sha256", hashlib.sha256(shared).hexdigest()),
        Planted(("OP-A", "OP-B"), "pdq", "pdq", None),
        Planted(("OP-A", "OP-B"), "tlsh", "tlsh", None),
        Planted(("OP-A", "OP-B"), "indicator", "email", "courier.k@mail-drop.net"),
        Planted(("OP-A", "OP-B"), "indicator", "bitcoin", wallet_ab),
        Planted(("OP-B", "OP-C"), "indicator", "email", "broker77@quickpost.org"),
        Planted(("OP-B", "OP-C"), "indicator", "bitcoin", wallet_bc),
    )
    volume_ids = {name: f"{0x5EC00000 + number:08X}" for number, name in enumerate(cases)}
    return LinkMaterial(cases, planted, f"{hashlib.md5(system).hexdigest()}  kernel_helper.dll\n", volume_ids)
