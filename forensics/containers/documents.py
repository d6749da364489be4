"""What documents carry: a PDF's embedded files and images (pikepdf), an OLE2 file's streams (olefile).

PDF images stored as JPEG (``/DCTDecode``) or JPEG 2000 (``/JPXDecode``) are copied byte for byte, so a
planted JPEG keeps its MD5; other images are written as PNG/TIFF by pikepdf (new bytes, said in the
member's note). Each image object is listed once, however many pages show it.
"""
from __future__ import annotations

import io
from collections.abc import Iterator

from forensics.containers import Member
from forensics.containers.context import Context
from forensics.containers.source import TooLarge, buffered, store

RAW_IMAGE = {"/DCTDecode": ".jpg", "/JPXDecode": ".jp2"}


def pdf_members(locator: str, ctx: Context, name: str = "") -> Iterator[Member | str]:
    import pikepdf

    pdf = None
    for number, password in enumerate(("", *ctx.passwords)):
        try:
            pdf = pikepdf.open(buffered(locator), password=password)
            break
        except pikepdf.PasswordError:
            continue
        except (pikepdf.PdfError, OSError, ValueError) as exc:
            yield f"not readable as PDF: {exc}"
            return
    if pdf is None:
        tried = (f"none of the {len(ctx.passwords)} --credential passwords opens it" if ctx.passwords
                 else "no password given (--credential password:...)")
        yield f"encrypted PDF: {tried}; its embedded files and images were not listed"
        return
    count = 0
    with pdf:
        try:
            for attached, spec in pdf.attachments.items():
                if stop := ctx.stop(count, f"attachments/{attached}"):
                    yield stop
                    return
                count += 1
                data = spec.get_file().read_bytes()
                yield _stored(ctx, f"attachments/{attached}", data, "embedded file")
            seen: set[tuple[int, int]] = set()
            for page_number, page in enumerate(pdf.pages, 1):
                for image_name, image in page.get_images(recursive=False).items():   # the page's own resources
                    if image.objgen in seen:
                        continue
                    seen.add(image.objgen)
                    if stop := ctx.stop(count, f"page{page_number}/{image_name.lstrip('/')}"):
                        yield stop
                        return
                    count += 1
                    yield _image(ctx, page_number, image_name.lstrip("/"), image)
        except (pikepdf.PdfError, OSError, ValueError, KeyError) as exc:
            yield f"listing stopped after {count} members: {exc}"


def _image(ctx: Context, page: int, name: str, image) -> Member | str:
    import pikepdf
    from pikepdf import PdfImage

    filters = image.get("/Filter")
    chain = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []
    member = f"page{page}/{name}"
    try:
        if len(chain) == 1 and chain[0] in RAW_IMAGE:
            return _stored(ctx, member + RAW_IMAGE[chain[0]], image.read_raw_bytes(), "image, stored as in the PDF")
        buffer = io.BytesIO()
        extension = PdfImage(image).extract_to(stream=buffer)
        return _stored(ctx, member + extension, buffer.getvalue(), "image, decoded and written by pikepdf")
    except Exception as exc:                              # noqa: BLE001 (pikepdf raises many kinds on bad images)
        return f"image {member} could not be extracted: {exc}"


def _stored(ctx: Context, name: str, data: bytes, note: str) -> Member | str:
    refused = ctx.admit(name, len(data), None)
    if refused:
        return refused
    try:
        stored, size = store(ctx.sink, [data], ctx.remaining() + len(data))
    except TooLarge:
        return f"{name}: too large to copy; not expanded"
    return Member(name, size, stored, note=note)


def ole_members(locator: str, ctx: Context, name: str = "") -> Iterator[Member | str]:
    """Every stream of an OLE2 compound file (legacy .doc/.xls/.ppt, .msg): embedded objects
    (``ObjectPool``, ``Ole10Native``), the picture streams, the document text."""
    import olefile

    try:
        ole = olefile.OleFileIO(buffered(locator))
    except (OSError, ValueError, IndexError) as exc:
        yield f"not readable as an OLE2 compound file: {exc}"
        return
    with ole:
        count = 0
        for parts in ole.listdir(streams=True, storages=False):
            stream = "/".join(parts)
            if stop := ctx.stop(count, stream):
                yield stop
                return
            count += 1
            try:
                data = ole.openstream(parts).read()
            except (OSError, ValueError, IndexError) as exc:
                yield f"stream {stream!r} could not be read: {exc}"
                continue
            yield _stored(ctx, stream, data, "OLE2 stream")
            yield from _pictures(ctx, stream, data)


PICTURE_STREAMS = ("Data", "Pictures", "\x01Ole10Native", "CONTENTS", "Package")


def _pictures(ctx: Context, stream: str, data: bytes) -> Iterator[Member | str]:
    """Legacy Office keeps a document's pictures inside its Data (Word) or Pictures (PowerPoint) stream
    behind record headers: the image carvers (forensics.carving) find them there, complete ones only."""
    if stream.rsplit("/", 1)[-1] not in PICTURE_STREAMS or len(data) < 64:
        return
    from forensics.carving.formats.bmp import BmpCarver
    from forensics.carving.formats.gif import GifCarver
    from forensics.carving.formats.jpeg import JpegCarver
    from forensics.carving.formats.png import PngCarver
    from forensics.carving.models import CarvedObject, CarveRange
    from forensics.carving.scanner import ScanOptions, carve_range
    from forensics.reader import BytesReader

    found = carve_range(BytesReader(data), CarveRange(locator="", offset=0, length=len(data), source="volume"),
                        ctx.sink, carvers=(JpegCarver(), PngCarver(), GifCarver(), BmpCarver()),
                        options=ScanOptions(report_embedded=False, report_partial=False))
    for obj in found:
        if not isinstance(obj, CarvedObject) or obj.status != "complete" or (obj.offset == 0 and obj.size == len(data)):
            continue
        name = f"{stream}@{obj.offset}.{obj.extension}"
        refused = ctx.admit(name, obj.size, None)
        if refused:
            yield refused
            continue
        from forensics.locator import os_path_spec, to_locator

        yield Member(name, obj.size, to_locator(os_path_spec(obj.stored_as)),
                     note=f"picture found in the {stream} stream by the {obj.carver} carver")
