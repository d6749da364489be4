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


def expand(locator: str, path: str, mime: str, ctx: Context, reader) -> Iterator[Derived | ContainerWarning]:
    """Everything inside the container ``locator`` (display ``path``, typed ``mime``). ``reader`` is a
    forensics.reader.StreamReader (reads members' first bytes to type them)."""
    import magic

    identify = magic.Magic(mime=True)
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
            for found in extractor.members()(source, ctx, **({"name": shown} if _named(extractor.name) else {})):
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
                if found.locator is not None and not (found.encrypted and not found.note.startswith("decrypted")):
                    children.append(item)
        except Exception as exc:                      # noqa: BLE001 (hostile input reaches every library's errors)
            yield ContainerWarning(shown, f"{extractor.name}: reading stopped: {type(exc).__name__}: {exc}")
        for item in reversed(children):
            head = _head(reader, item.locator)
            if head is None:
                continue
            inner = identify.from_buffer(head) if head else "application/x-empty"
            if extractor_for(inner) is not None:
                stack.append((item.locator, item.path, inner, item.depth, item.key))


def _named(name: str) -> bool:
    return name in ("gzip", "bzip2", "xz", "libarchive", "pdf", "ole")


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
