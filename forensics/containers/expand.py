"""The expansion driver: a top-level container in, every member at every depth out.

Depth first: a member is yielded before the members inside it, so a parent is always recorded
before its children. A member is opened as a container when libmagic types its first bytes as one
of the extractors' types (content, not name). Warnings name the container (its display path).
"""
from __future__ import annotations

from collections.abc import Iterator

from forensics.containers import SEPARATOR, ContainerWarning, Derived, Limits
from forensics.containers.context import Context
from forensics.containers.registry import extractor_for
from forensics.errors import ItemError

HEAD = 64 * 1024                   # ISO 9660 says what it is at 32 KiB


# What a container's first bytes look like (offset, magic): libmagic, which gives the exact type, runs only
# on members that start like one of these (typing every member with it cost more than opening them)
SIGNATURES = ((0, b"PK\x03\x04"), (0, b"PK\x05\x06"), (0, b"\x1f\x8b"), (0, b"BZh"), (0, b"\xfd7zXZ\x00"),
              (0, b"7z\xbc\xaf\x27\x1c"), (0, b"Rar!\x1a\x07"), (0, b"%PDF"), (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"),
              (257, b"ustar"), (32769, b"CD001"), (0, b"MSCF"), (0, b"070701"), (0, b"070707"), (0, b"\xc7\x71"),
              (0, b"!<arch>\n"))
_MAGIC: list = []


def looks_like_container(head: bytes) -> bool:
    return any(head[offset:offset + len(magic)] == magic for offset, magic in SIGNATURES)


def _identify(head: bytes) -> str:
    if not _MAGIC:
        import magic

        _MAGIC.append(magic.Magic(mime=True))
    return _MAGIC[0].from_buffer(head)


def expand(locator: str, path: str, mime: str, ctx: Context, reader) -> Iterator[Derived | ContainerWarning]:
    """Everything inside the container ``locator`` (display ``path``, typed ``mime``). ``reader`` is a
    forensics.reader.StreamReader (reads members' first bytes to type them)."""
    stack: list[tuple[str, str, str, int, tuple[str, ...]]] = [(locator, path, mime, 0, ())]
    while stack:
        source, shown, kind, depth, key = stack.pop()
        extractor = extractor_for(kind)
        if extractor is None:
            continue
        if depth >= ctx.limits.max_depth:
            yield ContainerWarning(shown, f"{kind} container at depth {depth}: not opened (depth limit "
                                          f"{ctx.limits.max_depth})")
            continue
        if ctx.expired():
            yield ContainerWarning(shown, f"not opened: expansion of the top-level container took longer than "
                                          f"{ctx.limits.max_seconds} s (time limit)")
            continue
        children, names = [], {}
        try:
            for found in extractor.members()(source, ctx, name=shown):
                if isinstance(found, str):
                    yield ContainerWarning(shown, found)
                    continue
                names[found.name] = copy = names.get(found.name, 0) + 1      # two members of the same name
                member = found.name if copy == 1 else f"{found.name} (copy {copy})"
                item = Derived(key=key + (member,), depth=depth + 1, path=f"{shown}{SEPARATOR}{member}",
                               name=found.name.rstrip("/").rsplit("/", 1)[-1], locator=found.locator,
                               size=found.size, mtime=found.mtime, extractor=extractor.label,
                               encrypted=found.encrypted, note=found.note)
                yield item
                if found.locator is not None:                # encrypted members no password opened have none
                    children.append(item)
        except Exception as exc:                      # noqa: BLE001 (hostile input reaches every library's errors)
            yield ContainerWarning(shown, f"{extractor.name}: reading stopped: {type(exc).__name__}: {exc}")
        for item in reversed(children):
            head = _head(reader, item.locator)
            if head is None:
                continue
            if not looks_like_container(head):
                continue
            inner = _identify(head)
            if extractor_for(inner) is not None:
                stack.append((item.locator, item.path, inner, item.depth, item.key))


def _head(reader, locator: str) -> bytes | None:
    head = bytearray()
    try:
        for chunk in reader.chunks(locator, chunk=HEAD):
            head += chunk
            break
    except ItemError:
        return None
    return bytes(head[:HEAD])


__all__ = ["expand", "Limits", "Context"]
