"""7z, RAR, ISO 9660, CAB, CPIO (and ZIPs without a central directory): read with libarchive.

dfvfs has no back end for these, so each member is copied into the case store as it is read
(libarchive reads an archive front to back; a truncated archive yields the members before the cut).
"""
from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

from forensics.containers import Member
from forensics.containers.context import Context, odd_name
from forensics.containers.source import TooLarge, buffered, store


def archive_members(locator: str, ctx: Context, format_name: str = "all", name: str = "") -> Iterator[Member | str]:
    from libarchive.exception import ArchiveError

    done: set[str] = set()                               # members yielded by an earlier attempt
    for number, password in enumerate((None, *ctx.passwords)):
        listed, encrypted = [], []
        try:
            yield from _read(locator, ctx, format_name, password, listed, encrypted, done)
            return
        except ArchiveError as exc:
            message = str(exc)
            if _encryption(message) and number < len(ctx.passwords):
                continue                                  # try the next --credential password
            if _encryption(message):
                tried = (f"none of the {len(ctx.passwords)} --credential passwords opens it" if ctx.passwords
                         else "no password given (--credential password:...)")
                yield f"encrypted archive: {tried}; {len(listed)} members read before the encrypted part"
                for member in encrypted:
                    yield Member(member, None, None, encrypted=True, note=f"encrypted; {tried}")
                return
            yield f"reading stopped after {len(listed)} members: {message}"
            return
        except (OSError, ValueError) as exc:
            yield f"not readable with libarchive: {exc}"
            return


def _encryption(message: str) -> bool:
    lowered = message.lower()
    return "encrypt" in lowered or "passphrase" in lowered or "password" in lowered


def _read(locator: str, ctx: Context, format_name: str, password: str | None, listed: list,
          encrypted: list, done: set[str]) -> Iterator[Member | str]:
    import libarchive

    with libarchive.stream_reader(buffered(locator), format_name=format_name, passphrase=password) as archive:
        for entry in archive:
            if not entry.isfile:
                continue
            name = entry.pathname or ""
            if name in done:
                listed.append(name)
                continue
            if stop := ctx.stop(len(listed), name):
                yield stop
                return
            listed.append(name)
            encrypted.append(name)
            refused = ctx.admit(name, entry.size, None)
            if refused:
                yield refused
                continue
            why = odd_name(name)
            if why:
                yield f"member {name!r} {why}; its content was copied into the case store (nothing is written " \
                      "under that name)"
            when = datetime.fromtimestamp(entry.mtime, timezone.utc) if entry.mtime else None
            try:
                stored, size = store(ctx.sink, entry.get_blocks(), ctx.remaining())
            except TooLarge:
                yield f"member {name!r}: grew past its byte limit while copied; not expanded"
                continue
            encrypted.pop()
            done.add(name)
            note = "decrypted with a --credential password" if password else ""
            yield Member(name, size, stored, when, encrypted=bool(password), note=note)
