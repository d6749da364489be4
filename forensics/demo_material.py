"""What the demo case plants on its sample disk, and the reference knowledge it is matched against.

Everything is synthetic and deterministic: pictures are drawn from numbers, the "stealer"
is random bytes, and the restricted reference stands in for known abuse material (it is
an abstract pattern). The demo shows the whole mission on it: a YARA hit on a deleted note
and on a holiday photo, a known-bad hash hit, a PDQ near-match of a re-encoded, resized
copy of a restricted reference (which must never appear in a report), and a JPEG that only
carving finds (written before the first partition).
"""
from __future__ import annotations

import hashlib
import io
import random
from dataclasses import dataclass

UNPARTITIONED_OFFSET = 256 * 1024          # inside the first MiB, before partition 1

YARA_RULES = """\
rule Demo_Credentials_Note
{
    meta:
        description = "A plain-text note holding bank or mail credentials"
        author = "forensics demo"
    strings:
        $bank = "bank: " ascii
        $mail = "mail: hunter" ascii
    condition:
        all of them
}

rule Demo_Holiday_Photo_Marker
{
    meta:
        description = "JPEG whose comment names the camera roll of the suspect's holiday"
        author = "forensics demo"
    strings:
        $soi = { FF D8 FF }
        $comment = "DSC_0042 holiday roll" ascii
    condition:
        $soi at 0 and $comment
}
"""


@dataclass(frozen=True)
class DemoMaterial:
    files: dict[str, bytes]            # planted on both file systems
    unpartitioned: bytes               # written at UNPARTITIONED_OFFSET
    reference_png: bytes               # the restricted reference (never planted as such)
    known_bad_md5_list: str            # md5sum format
    restricted_path: str
    stealer_path: str
    photo_path: str


def _pattern(width: int, height: int, seed: int, rings: bool) -> "object":
    import numpy
    from PIL import Image

    rng = numpy.random.default_rng(seed)
    y, x = numpy.mgrid[0:height, 0:width].astype(numpy.float64)
    cx, cy = rng.uniform(0.3, 0.7) * width, rng.uniform(0.3, 0.7) * height
    radius = numpy.hypot(x - cx, y - cy)
    base = (numpy.sin(radius / (6 + 4 * seed % 3)) if rings else numpy.sin(x / 17.0) * numpy.cos(y / 23.0))
    channels = []
    for shift in range(3):
        wave = numpy.sin((x * (shift + 1) + y * (3 - shift)) / (30.0 + 7 * shift))
        channels.append(((base * 0.6 + wave * 0.4) * 110 + 128 + rng.normal(0, 6, (height, width))).clip(0, 255))
    for _ in range(5):                                 # a few solid blocks so PDQ has strong structure
        x0, y0 = int(rng.uniform(0, width * 0.8)), int(rng.uniform(0, height * 0.8))
        w, h = int(rng.uniform(width * 0.08, width * 0.25)), int(rng.uniform(height * 0.08, height * 0.25))
        colour = rng.uniform(0, 255, 3)
        for c in range(3):
            channels[c][y0:y0 + h, x0:x0 + w] = colour[c]
    return Image.fromarray(numpy.dstack(channels).astype(numpy.uint8), "RGB")


def _jpeg(image, quality: int, comment: bytes | None = None) -> bytes:
    buffer = io.BytesIO()
    options = {"comment": comment} if comment else {}
    image.save(buffer, format="JPEG", quality=quality, optimize=False, progressive=False, **options)
    return buffer.getvalue()


def demo_material() -> DemoMaterial:
    """The demo's planted files and reference lists (same bytes on every run)."""
    reference = _pattern(480, 360, seed=7, rings=True)
    buffer = io.BytesIO()
    reference.save(buffer, format="PNG", optimize=False)
    variant = reference.resize((360, 270)).rotate(0)
    restricted = _jpeg(variant, quality=72)
    photo = _jpeg(_pattern(400, 300, seed=3, rings=False), quality=85, comment=b"DSC_0042 holiday roll, Nikon")
    carved_only = _jpeg(_pattern(160, 120, seed=11, rings=False), quality=80, comment=b"DSC_0042 holiday roll, frame 7")
    stealer = b"MZ" + random.Random(42).randbytes(24 * 1024 - 2)
    files = {
        "photos/beach_2019.jpg": photo,
        "downloads/cache/img_0193.jpg": restricted,
        "tools/update_helper.exe": stealer,
    }
    md5 = hashlib.md5(stealer).hexdigest()
    return DemoMaterial(files=files, unpartitioned=carved_only, reference_png=buffer.getvalue(),
                        known_bad_md5_list=f"{md5}  update_helper.exe\n",
                        restricted_path="downloads/cache/img_0193.jpg", stealer_path="tools/update_helper.exe",
                        photo_path="photos/beach_2019.jpg")


def reference_pdq_list() -> str:
    """The PDQ list line (hex, category) of the restricted reference, as a partner would send it."""
    from forensics.matchers.pdq import pdq_digest

    digest = pdq_digest(demo_material().reference_png)
    return f"{digest.hash_hex},Category A (demo stand-in)\n"


def linked_case_files() -> dict[str, bytes]:
    """A second, smaller seized disk for another unit's case: the same info-stealer under another name
    (equal content) and the restricted picture re-encoded smaller (a PDQ near match), so the demo shows
    a cross-case link (docs/links.md)."""
    from PIL import Image

    material = demo_material()
    reference = Image.open(io.BytesIO(material.reference_png)).convert("RGB")
    return {
        "Users/k/Downloads/invoice_viewer.exe": material.files[material.stealer_path],
        "Users/k/Pictures/sent/img_small.jpg": _jpeg(reference.resize((300, 225)), quality=60),
    }
