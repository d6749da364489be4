"""Redacted thumbnails made on the server: greyscale, pixelated, small.

A thumbnail of evidence leaves the lab only in this form (disclosure reports, the
portal's default view). CSS blur is not redaction: the bytes sent are already reduced
to ``BLOCKS`` x ``BLOCKS`` grey cells, so the original cannot be recovered from them.
``Redaction.blur`` (portal default for a reviewer before "reveal") blurs the greyscale
image on the server instead of pixelating it.

Before a thumbnail is released, ``safe(...)`` must say its PDQ hash (and the source's)
is farther than the radius from every known-bad reference; the caller supplies the
check because the reference lists live in the case database.
"""
from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from forensics.errors import ItemError
from forensics.matchers.errors import MatcherItemError

BLOCKS = 12              # grey cells across the longer side
SIDE = 96                # pixels of the longer side of the PNG sent
SOURCE_CAP = 64 << 20    # encoded bytes read for one thumbnail
MAX_PIXELS = 50_000_000


@dataclass(frozen=True)
class Thumbnail:
    png: bytes
    width: int
    height: int
    mode: str                 # pixelated | blurred | clear
    pdq_hashes: tuple[str, ...]   # of the thumbnail as sent, its 8 rotations/flips: for the release check


def make_thumbnail(chunks: Iterable[bytes], mode: str = "pixelated", side: int = SIDE,
                   blocks: int = BLOCKS) -> Thumbnail:
    """Decodes an image from its byte chunks and returns a redacted PNG.

    ``mode``: ``pixelated`` (greyscale, ``blocks`` cells), ``blurred`` (greyscale, strong
    Gaussian blur), ``clear`` (greyscale, only scaled; a reviewer's explicit reveal) or
    ``colour`` (scaled only; for images that are not restricted).
    Raises :class:`MatcherItemError` when the bytes are not a decodable image.
    """
    from PIL import Image, ImageFilter

    from forensics.matchers.pdq import strict_decoding

    data = _read(chunks)
    Image.MAX_IMAGE_PIXELS = MAX_PIXELS
    strict_decoding()
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > MAX_PIXELS:
                raise MatcherItemError("too-large", f"{image.width}x{image.height} pixels")
            image.draft("RGB" if mode == "colour" else "L", (side * 4, side * 4))   # JPEG: decode smaller
            grey = image.convert("RGB" if mode == "colour" else "L")
    except Image.DecompressionBombError as exc:
        raise MatcherItemError("too-large", str(exc)) from exc
    except Image.UnidentifiedImageError as exc:
        raise MatcherItemError("unsupported", "not an image Pillow can decode") from exc
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError) as exc:
        raise MatcherItemError("corrupt", f"cannot decode image: {exc or type(exc).__name__}") from exc
    scale = side / max(grey.width, grey.height)
    size = (max(1, round(grey.width * scale)), max(1, round(grey.height * scale)))
    if mode == "pixelated":
        cells = max(1, round(blocks * grey.width / max(grey.width, grey.height))), \
            max(1, round(blocks * grey.height / max(grey.width, grey.height)))
        out = grey.resize(cells, Image.Resampling.BOX).resize(size, Image.Resampling.NEAREST)
    elif mode == "blurred":
        out = grey.resize(size, Image.Resampling.BOX).filter(ImageFilter.GaussianBlur(radius=side / 12))
    elif mode in ("clear", "colour"):
        out = grey.resize(size, Image.Resampling.LANCZOS)
    else:
        raise ValueError(f"unknown thumbnail mode {mode!r}")
    buffer = io.BytesIO()
    out.save(buffer, format="PNG", optimize=True)
    return Thumbnail(buffer.getvalue(), out.width, out.height, mode, _pdq(out))


def _read(chunks: Iterable[bytes]) -> bytes:
    buffer = bytearray()
    try:
        for chunk in chunks:
            buffer += chunk
            if len(buffer) > SOURCE_CAP:
                raise MatcherItemError("too-large", f"more than {SOURCE_CAP} bytes")
    except ItemError:
        raise
    except OSError as exc:
        raise MatcherItemError("unreadable", f"read failed after {len(buffer)} bytes: {exc}") from exc
    return bytes(buffer)


def _pdq(image) -> tuple[str, ...]:
    """PDQ of the thumbnail as sent, in all 8 dihedral variants (quality is ignored on purpose:
    a flat thumbnail is still checked)."""
    import numpy
    import pdqhash

    pixels = numpy.ascontiguousarray(numpy.asarray(image.convert("RGB"), dtype=numpy.uint8))
    vectors, _quality = pdqhash.compute_dihedral(pixels)
    return tuple(numpy.packbits(numpy.asarray(v, dtype=numpy.uint8)).tobytes().hex() for v in vectors)


def released(thumbnail: Thumbnail, source_pdq: str | None, near_known_bad: Callable[[list[str]], bool]) -> bool:
    """True when neither the thumbnail (any rotation/flip) nor its source is near known-bad material."""
    hashes = list(thumbnail.pdq_hashes) + ([source_pdq] if source_pdq else [])
    return bool(thumbnail.pdq_hashes) and not near_known_bad(hashes)
