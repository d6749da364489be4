"""PDQ fingerprints of images (pdqhash, the C++ reference code, on Pillow-decoded pixels).

Pixels: the image is decoded by Pillow and converted to RGB first, whatever its mode (a
palette PNG's indices or a CMYK JPEG's ink values would otherwise be hashed as colours).
EXIF orientation is *not* applied: neither the C++ reference (CImg) nor ThreatExchange's
Python hasher applies it, so applying it would make our hashes differ from theirs; the 8
dihedral variants are matched anyway, which covers every EXIF orientation.

Conventions (recorded with every hash, since they differ by a few bits on large images):

``cimg512`` (default)
    the C++ reference tool ``pdq-photo-hasher``: when either side exceeds 512 px the image
    is first resized to exactly 512x512 by nearest neighbour (CImg ``resize(512,512)``,
    source index ``floor(i * dim / 512)``). Bit-exact with ThreatExchange's reg-test output.
``full-resolution``
    pdqhash on the full-size RGB array, as ThreatExchange's Python/HMA hasher and the
    Java/Rust ports do.

Hex: 64 lower-case digits, most significant first, as the C++ ``Hash256::format`` prints
(``w[15]..w[0]``); equals ``numpy.packbits(pdqhash_vector).hex()``.
Reference: https://github.com/facebook/ThreatExchange/tree/main/pdq (hashing.pdf).
"""
from __future__ import annotations

import io
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

from forensics.errors import ItemError
from forensics.matchers.errors import MatcherItemError
from forensics.matchers.models import PdqConvention, PdqDigest

CONVENTIONS: tuple[PdqConvention, ...] = ("cimg512", "full-resolution")
DEFAULT_CONVENTION: PdqConvention = "cimg512"
DEFAULT_MAX_PIXELS = 89_478_485            # Pillow's own default bound (~ 0.27 GB as RGB)
DEFAULT_SIZE_CAP = 256 * 1024 * 1024       # encoded bytes read into memory for one image
CIMG_SIDE = 512

ImageSource = bytes | bytearray | memoryview | str | Path | BinaryIO


class PdqHasher:
    """Decodes images and computes PDQ; ``max_pixels`` refuses decompression bombs.

    Pillow has no per-call pixel limit, so each decode sets the process-wide
    ``PIL.Image.MAX_IMAGE_PIXELS`` to ``max_pixels`` (Pillow then refuses images over twice
    that while reading the header); images over ``max_pixels`` are refused before decoding.
    """

    def __init__(self, convention: PdqConvention = DEFAULT_CONVENTION,
                 max_pixels: int = DEFAULT_MAX_PIXELS, size_cap: int = DEFAULT_SIZE_CAP) -> None:
        if convention not in CONVENTIONS:
            raise ValueError(f"unknown PDQ convention {convention!r}; one of {CONVENTIONS}")
        import numpy
        import pdqhash
        from PIL import Image

        self._np, self._pdqhash, self._image = numpy, pdqhash, Image
        self.convention = convention
        self.max_pixels = max_pixels
        self.size_cap = size_cap

    def digest(self, source: ImageSource) -> PdqDigest:
        """PDQ of an image given as bytes, a path or a binary file object."""
        rgb, width, height = self._decode(source)
        pixels = self._pixels(rgb)
        vectors, quality = self._pdqhash.compute_dihedral(pixels)
        hexes = tuple(self._np.packbits(self._np.asarray(v, dtype=self._np.uint8)).tobytes().hex()
                      for v in vectors)
        return PdqDigest(hash_hex=hexes[0], quality=int(quality), convention=self.convention,
                         dihedral=hexes, width=width, height=height)

    def digest_chunks(self, chunks: Iterable[bytes], size: int | None = None) -> PdqDigest:
        """PDQ of an image read as a stream of chunks (``StreamReader.chunks(locator)``)."""
        if size is not None and size > self.size_cap:
            raise MatcherItemError("too-large", f"{size} bytes exceed the image size cap of {self.size_cap}")
        buffer = bytearray()
        try:
            for chunk in chunks:
                buffer += chunk
                if len(buffer) > self.size_cap:
                    raise MatcherItemError("too-large", f"more than {self.size_cap} bytes (the image size cap)")
        except (ItemError, OSError) as exc:
            if isinstance(exc, MatcherItemError):
                raise
            raise MatcherItemError("unreadable", f"read failed after {len(buffer)} bytes: {exc}") from exc
        return self.digest(bytes(buffer))

    def digest_locator(self, reader, locator: str, size: int | None = None) -> PdqDigest:
        return self.digest_chunks(reader.chunks(locator), size)

    def _decode(self, source: ImageSource):
        Image = self._image
        handle = io.BytesIO(source) if isinstance(source, (bytes, bytearray, memoryview)) else source
        Image.MAX_IMAGE_PIXELS = self.max_pixels
        strict_decoding()
        try:
            with Image.open(handle) as image:
                width, height = image.size
                if width < 1 or height < 1:
                    raise MatcherItemError("corrupt", f"image claims {width}x{height} pixels")
                if width * height > self.max_pixels:
                    raise MatcherItemError("too-large", f"{width}x{height} pixels exceed the limit of "
                                           f"{self.max_pixels} (decompression bomb guard)")
                rgb = image.convert("RGB")
        except Image.DecompressionBombError as exc:
            raise MatcherItemError("too-large", f"decompression bomb refused by Pillow: {exc}") from exc
        except Image.UnidentifiedImageError as exc:
            raise MatcherItemError("unsupported", "Pillow cannot identify an image format "
                                   "(not an image, or its header is damaged)") from exc
        except (FileNotFoundError, PermissionError, IsADirectoryError) as exc:
            raise MatcherItemError("unreadable", str(exc)) from exc
        except MemoryError as exc:
            raise MatcherItemError("too-large", "out of memory while decoding") from exc
        except (OSError, SyntaxError, ValueError, EOFError, struct.error, IndexError, KeyError) as exc:
            kind = "truncated" if "truncat" in str(exc).lower() else "corrupt"
            raise MatcherItemError(kind, f"cannot decode image: {exc or type(exc).__name__}") from exc
        return rgb, width, height

    def _pixels(self, rgb):
        np = self._np
        pixels = np.asarray(rgb, dtype=np.uint8)
        height, width = pixels.shape[:2]
        if self.convention == "cimg512" and (height > CIMG_SIDE or width > CIMG_SIDE):
            rows = (np.arange(CIMG_SIDE) * height) // CIMG_SIDE
            cols = (np.arange(CIMG_SIDE) * width) // CIMG_SIDE
            pixels = pixels[rows][:, cols]
        return np.ascontiguousarray(pixels)


def strict_decoding() -> None:
    """A truncated image is an error, never silently padded: other libraries in the same process
    (WeasyPrint sets it at import) may have switched Pillow's process-wide flag on."""
    from PIL import ImageFile

    ImageFile.LOAD_TRUNCATED_IMAGES = False


_DEFAULT: dict[tuple, PdqHasher] = {}


def pdq_digest(source: ImageSource, convention: PdqConvention = DEFAULT_CONVENTION,
               max_pixels: int = DEFAULT_MAX_PIXELS) -> PdqDigest:
    """PDQ hash, quality and dihedral hashes of one image; :class:`MatcherItemError` if bad."""
    key = (convention, max_pixels)
    if key not in _DEFAULT:
        _DEFAULT[key] = PdqHasher(convention, max_pixels)
    return _DEFAULT[key].digest(source)


def hamming(a: str, b: str) -> int:
    """Hamming distance of two 64-hex PDQ hashes."""
    return (int(a, 16) ^ int(b, 16)).bit_count()


def prepare(convention: PdqConvention = DEFAULT_CONVENTION, max_pixels: int = DEFAULT_MAX_PIXELS,
            size_cap: int = DEFAULT_SIZE_CAP) -> PdqHasher:
    return PdqHasher(convention, max_pixels, size_cap)


def engine_versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("pdqhash", "pillow", "numpy")}
