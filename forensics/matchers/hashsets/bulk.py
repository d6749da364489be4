"""A hash-set file as bulk-load pieces: its rows grouped by the fields they have, ready to write.

The importer (``evidence_store/hashset_load.py``) writes tens of millions of rows; parsing and
formatting them is Python work, writing them is the database's. ``pieces_in_process`` does the
Python side in a second process (spawned, importing only this package), so the two run side by
side on two cores; ``pieces`` does it in the caller's process (small files, tests).

A piece is a list of ``(fields, payload, count)`` for one chunk of rows: ``fields`` are indexes
into ``ROW`` (the fields those rows have: binding NULLs costs the drivers as much as binding
values, and most sets give one hash and a name), ``payload`` is a list of tuples of those fields
(``mode="rows"``, for ``executemany``) or PostgreSQL ``COPY`` text with the set id first
(``mode="copy"``). Unusable lines arrive as :class:`HashSetWarning` between pieces.
"""
from __future__ import annotations

import functools
import multiprocessing
import re
from collections import defaultdict
from dataclasses import dataclass
from collections.abc import Callable, Iterable, Iterator
from operator import is_not, itemgetter
from pathlib import Path

from forensics.matchers.hashsets import ROW, read_rows
from forensics.matchers.hashsets.digest_filter import FilterBuilder
from forensics.matchers.models import HashSetWarning

CHUNK = 50_000
_NONES = (None,) * len(ROW)
_FREE_TEXT = {ROW.index("category"), ROW.index("name"), ROW.index("reference")}
_NULLABLE = {ROW.index("name"), ROW.index("size"), ROW.index("reference")}   # in the RDSv3 fast path
_DIGESTS = {ROW.index("md5"), ROW.index("sha1"), ROW.index("sha256")}
_COPY_ESCAPE = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})

Piece = list[tuple[tuple[int, ...], object, int]]


@dataclass(frozen=True)
class FilterWritten:
    """The last item of ``pieces`` given a filter path: the digest filter is written, with this SHA-256."""

    sha256: str


def pieces(path: str | Path, fmt: str, *, mode: str, hashset_id: int,
           default_category: str | None = None, filter_path: str | None = None,
           expected_digests: int = 0) -> Iterator[Piece | HashSetWarning | FilterWritten]:
    """The set's rows as pieces; with ``filter_path``, also the set's digest filter (``digest_filter``),
    fed from the same rows and written there once every row has been given out (``FilterWritten``,
    last)."""
    builder = FilterBuilder(expected_digests) if filter_path else None

    def finish(shaped: list[tuple[tuple[int, ...], list[tuple]]]) -> Piece:
        if builder is not None:
            for fields, members in shaped:
                for n, field in enumerate(fields):
                    if field in _DIGESTS:
                        builder.add_hex([member[n] for member in members])
        return _finish(shaped, mode, hashset_id)

    if fmt == "hash-list":
        rows: Iterable = _hash_list_rows(path)
    elif fmt == "nsrl-rdsv3":
        rows = _rdsv3_rows(path)
    else:
        rows = read_rows(path, fmt)
    groups: dict[tuple, list[tuple]] = defaultdict(list)
    count = 0
    for row in rows:
        if type(row) is _Ready:                  # a block already grouped by the fast paths below
            if default_category is not None and 4 not in row.fields:
                fields = tuple(sorted(row.fields + (4,)))
                at = fields.index(4)
                members = [r[:at] + (default_category,) + r[at:] for r in row.rows]
            else:
                fields, members = row.fields, row.rows
            yield finish([(fields, members)])
            continue
        if isinstance(row, HashSetWarning):
            yield row
            continue
        if default_category is not None and row[4] is None:
            row = row[:4] + (default_category,) + row[5:]
        groups[tuple(map(is_not, row, _NONES))].append(row)
        count += 1
        if count >= CHUNK:
            yield finish(_shaped(groups))
            groups, count = defaultdict(list), 0
    if count:
        yield finish(_shaped(groups))
    if builder is not None:
        yield FilterWritten(builder.save(filter_path, hashset_id))


class _Ready:
    """Rows of one shape, already as tuples of ``fields`` (from a fast path)."""

    __slots__ = ("fields", "rows")

    def __init__(self, fields: tuple[int, ...], rows: list[tuple]) -> None:
        self.fields, self.rows = fields, rows


# A hash list is read in blocks; a block whose every line is "HASH  NAME" (or "HASH *NAME") with
# lower-case hex of one length is taken whole by one regular expression (C speed); any other block
# goes line by line through the hash-list parser (comments, BSD tags, escapes, warnings).
_BLOCK = 4 << 20
_FAST_LINE = re.compile(r"^([0-9a-f]{32}|[0-9a-f]{40}|[0-9a-f]{64})[ ][ *]([^\r\n]+?)\r?$", re.M)
_SLOT = {32: 0, 40: 1, 64: 2}


def _hash_list_rows(path: str | Path) -> Iterator[_Ready | tuple | HashSetWarning]:
    from forensics.matchers.hashsets._common import open_text
    from forensics.matchers.hashsets.lists import rows_of_lines

    with open_text(path) as handle:
        carry, first = "", 1
        while True:
            data = handle.read(_BLOCK)
            block = carry + data
            cut = block.rfind("\n") + 1 if data else len(block)
            carry, block = block[cut:], block[:cut]
            if block:
                lines = block.count("\n") + (0 if block.endswith("\n") else 1)
                matches = _FAST_LINE.findall(block)
                lengths = {len(h) for h, _ in matches}
                if len(matches) == lines and len(lengths) == 1:
                    yield _Ready((_SLOT[lengths.pop()], 5), matches)
                else:
                    yield from rows_of_lines(block.splitlines(keepends=True), first)
                first += lines
            if not data:
                return


_HEX_RUN = {n: re.compile(rf"(?:[0-9a-f]{{{n}}}\n)*[0-9a-f]{{{n}}}") for n in (32, 40, 64)}


def _hex_column(values: list, length: int) -> bool:
    """Every value lower-case hex of ``length`` digits (one regular expression over the joined column,
    C speed)?"""
    try:
        joined = "\n".join(values)
    except TypeError:                            # NULL (or a value that was not text)
        return False
    return _HEX_RUN[length].fullmatch(joined) is not None


def _rdsv3_rows(path: str | Path) -> Iterator[_Ready | tuple | HashSetWarning]:
    """NSRL RDSv3 in one pass over FILE: SQLite lower-cases the text hashes (others become NULL); a
    block of rows whose three hashes are all hex of their lengths is checked column by column and
    taken whole; a block with any other value goes row by row through the checks of ``read_rdsv3``
    (their warnings name the FILE rowid). (Checking each value in SQL with GLOB cost more than the
    rest of the import.)"""
    from forensics.matchers.hashsets.rdsv3 import _connect, file_row

    text = "CASE typeof({0}) WHEN 'text' THEN lower({0}) END"
    connection = _connect(path)
    try:
        cursor = connection.execute(f"SELECT {text.format('md5')}, {text.format('sha1')}, {text.format('sha256')}, "
                                    "file_name, file_size, CAST(package_id AS TEXT), rowid FROM FILE")
        while rows := cursor.fetchmany(CHUNK):
            if all(_hex_column([r[n] for r in rows], length) for n, length in ((0, 32), (1, 40), (2, 64))):
                yield _Ready((0, 1, 2, 5, 6, 7), [r[:6] for r in rows])
                continue
            for rowid, sha256, sha1, md5, *rest in connection.execute(
                    "SELECT rowid, sha256, sha1, md5, file_name, file_size, package_id FROM FILE "
                    f"WHERE rowid IN ({', '.join(str(int(r[6])) for r in rows)}) ORDER BY rowid"):
                item = file_row(rowid, sha256, sha1, md5, *rest)
                yield item if isinstance(item, HashSetWarning) else (
                    item.md5, item.sha1, item.sha256, None, None, item.name, item.size, item.reference)
    finally:
        connection.close()


def pieces_in_process(path: str | Path, fmt: str, *, mode: str, hashset_id: int,
                      default_category: str | None = None, filter_path: str | None = None,
                      expected_digests: int = 0) -> Iterator[Piece | HashSetWarning]:
    """``pieces`` computed by a spawned process; the pipe between them holds a few pieces at most."""
    context = multiprocessing.get_context("spawn")
    receive, send = context.Pipe(duplex=False)
    worker = context.Process(target=_produce, name="hashset-parse", daemon=True,
                             args=(send, str(path), fmt, mode, hashset_id, default_category, filter_path,
                                   expected_digests))
    worker.start()
    send.close()
    try:
        while True:
            try:
                kind, value = receive.recv()
            except EOFError:
                worker.join(timeout=10)
                raise RuntimeError(f"the process parsing {path} ended without a word "
                                   f"(exit code {worker.exitcode})") from None
            if kind == "end":
                break
            if kind == "error":
                raise value
            yield value
    finally:
        receive.close()
        if worker.is_alive():
            worker.terminate()
        worker.join()


def _produce(send, path: str, fmt: str, mode: str, hashset_id: int, default_category: str | None,
             filter_path: str | None, expected_digests: int) -> None:
    try:
        for piece in pieces(path, fmt, mode=mode, hashset_id=hashset_id, default_category=default_category,
                            filter_path=filter_path, expected_digests=expected_digests):
            send.send(("piece", piece))
        send.send(("end", None))
    except BaseException as exc:                     # the importer raises it, with its own message
        try:
            send.send(("error", exc))
        except Exception:
            send.send(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
    finally:
        send.close()


def _shaped(groups: dict[tuple, list[tuple]]) -> list[tuple[tuple[int, ...], list[tuple]]]:
    shaped = []
    for mask, members in groups.items():
        fields = tuple(i for i, present in enumerate(mask) if present)
        shaped.append((fields, list(map(_picker(fields), members))))
    return shaped


def _finish(shaped: list[tuple[tuple[int, ...], list[tuple]]], mode: str, hashset_id: int) -> Piece:
    """Rows as tuples of their fields -> the payload the mode writes."""
    if mode != "copy":
        return [(fields, rows, len(rows)) for fields, rows in shaped]
    return [(fields, "".join(map(_copy_line(int(hashset_id), fields), rows)), len(rows)) for fields, rows in shaped]


def _picker(fields: tuple[int, ...]) -> Callable[[tuple], tuple]:
    if len(fields) == 1:
        only = fields[0]
        return lambda row: (row[only],)
    return itemgetter(*fields)


@functools.lru_cache(maxsize=64)
def _copy_line(hashset_id: int, fields: tuple[int, ...]) -> Callable[[tuple], str]:
    """A function writing one row's COPY text line (tab-separated, the set id first; backslash, tab
    and line breaks escaped in the free-text fields), built once per shape: an f-string is several
    times faster than joining a generator, and a set is tens of millions of lines."""
    parts = [str(hashset_id)] + [f"{{_(r[{n}])}}" if i in _NULLABLE else f"{{r[{n}].translate(E)}}"
                                 if i in _FREE_TEXT else f"{{r[{n}]}}" for n, i in enumerate(fields)]
    return eval("lambda r: f" + repr("\t".join(parts) + "\n"),  # noqa: S307 (built from indices only)
                {"E": _COPY_ESCAPE, "_": _copy_value})


def _copy_value(value) -> str:
    """A field a fast path may leave empty (NSRL names, sizes, packages): NULL is ``\\N``."""
    return "\\N" if value is None else str(value).translate(_COPY_ESCAPE)


def field_names(fields: Iterable[int]) -> str:
    return ", ".join(ROW[i] for i in fields)
