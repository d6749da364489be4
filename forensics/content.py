"""One read per data stream: the same chunks feed the digests, the type, TLSH, YARA and PDQ.

A stream is read once from the evidence. As the chunks arrive, MD5, SHA-1 and SHA-256 are
updated; the first 256 KiB give the MIME type (libmagic, cached by the head's digest); the bytes
are kept for the content matchers only when one needs them (YARA rules exist; PDQ for images):
in memory up to ``memory_cap``, beyond it in a spool file that libyara maps and Pillow opens, so
a large file is scanned too instead of being skipped. TLSH (content that is not an image) is fed
as the chunks come when the bytes are not kept, else computed from the kept bytes only if the
matchers run. When the digests are known, the caller's ``decide`` says whether the matchers run
at all (known-good content may be skipped; content already examined is reused by the caller),
and ``describe`` whether libmagic's description is worth a second call (``worth_describing``).
``examine`` is ``read`` then ``conclude``: the content pass calls the two halves itself, so that it
can look a whole group of streams up in the hash sets between them.
"""
from __future__ import annotations

import hashlib
import os
import posixpath
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace

from forensics.errors import ItemError
from forensics.filetype import TypeIdentifier, extension_mismatch
from forensics.matchers.errors import MatcherItemError
from forensics.matchers.models import PdqDigest, TlshDigest, YaraOutcome
from forensics.matchers.tlsh_digest import finish as finish_tlsh

MAGIC_BYTES = 256 * 1024
DEFAULT_MEMORY_CAP = 32 * 1024 * 1024


@dataclass(frozen=True)
class Digests:
    """What is known once the stream has been read: enough to look it up in hash sets."""

    size: int
    md5: str
    sha1: str
    sha256: str
    mime: str
    description: str | None       # libmagic's text, where worth its cost (worth_describing)
    extension_mismatch: bool


@dataclass(frozen=True)
class Examined:
    digests: Digests
    tlsh: TlshDigest | None
    pdq: PdqDigest | None
    yara: tuple[tuple[str, YaraOutcome], ...]     # (rule set key, outcome), one per prepared rule set
    problems: tuple[str, ...]                     # item-level problems (PDQ decode, TLSH)
    matched: bool                                 # the content matchers ran
    indicators: tuple = ()                        # forensics.indicators.Indicator, when extraction is on


UNSPECIFIC = {"application/octet-stream"}        # libmagic's MIME type says nothing; its description often does


def worth_describing(examined: Examined) -> bool:
    """Content an examiner will look at gets libmagic's description beside its MIME type: pictures,
    sound and video, content whose extension lies, content with no specific MIME type, and anything
    a content matcher hit (the content stage adds hash-set hits). Other content keeps the MIME type
    only, as Autopsy records it: the second libmagic call was the content pass's largest cost."""
    d = examined.digests
    return (d.extension_mismatch or d.mime in UNSPECIFIC or d.mime.split("/", 1)[0] in ("image", "video", "audio")
            or examined.pdq is not None or any(outcome.matches for _, outcome in examined.yara))


class Examiner:
    """Prepared once per worker: the type identifier, the YARA scanners and the PDQ hasher."""

    def __init__(self, types: TypeIdentifier | None = None, scanners: Sequence[tuple[str, object]] = (),
                 pdq=None, *, tlsh: bool = True, memory_cap: int = DEFAULT_MEMORY_CAP,
                 spool_dir: str | None = None, indicators: bool = False) -> None:
        self.indicators = indicators              # extract identifiers from content held in memory
        self.types = types or TypeIdentifier()
        self.scanners = list(scanners)
        self.pdq = pdq
        self.tlsh = tlsh
        self.memory_cap = memory_cap
        self.spool_dir = spool_dir

    def examine(self, chunks: Iterable[bytes], path: str,
                decide: Callable[[Digests], bool] | None = None,
                describe: Callable[[Examined], bool] | None = None) -> Examined:
        """Reads ``chunks`` once. ``decide(digests)`` -> run the content matchers? (default: yes).
        ``describe(examined)`` -> add libmagic's description? (default: yes; it costs a second libmagic
        call, so the content pass asks for it only where an examiner will look, ``worth_describing``).

        Raises :class:`ItemError` when the stream cannot be read (nothing is recorded for it then).
        """
        read = self.read(chunks, path)
        try:
            return self.conclude(read, decide is None or decide(read.digests), describe)
        finally:
            read.close()

    def read(self, chunks: Iterable[bytes], path: str) -> Read:
        """The first half of ``examine``: reads the stream, computes its digests and type, and keeps its
        bytes where a matcher may need them, so the caller can look a group of streams up in the hash
        sets at once before deciding for each (``conclude``). Close what it returns."""
        md5, sha1, sha256 = hashlib.md5(), hashlib.sha1(), hashlib.sha256()
        head, size = bytearray(), 0
        mime: str | None = None
        magic_head = b""
        keep = bool(self.scanners) or self.indicators
        body = _Body(self.memory_cap, self.spool_dir)
        tlsh_state = None
        try:
            for data in chunks:
                if not data:
                    continue
                md5.update(data)
                sha1.update(data)
                sha256.update(data)
                size += len(data)
                if mime is None:
                    head += data
                    if len(head) < MAGIC_BYTES:
                        continue
                    magic_head = bytes(head[:MAGIC_BYTES])
                    mime = self.types.mime_of_head(magic_head)
                    keep, tlsh_state = self._start(mime, keep)
                    data, head = bytes(head), bytearray()
                if keep:
                    body.add(data)
                if tlsh_state is not None:
                    tlsh_state.update(data)
            if mime is None:                              # shorter than the head: everything is in it
                magic_head = bytes(head)
                mime = self.types.mime_of_head(magic_head)
                keep, tlsh_state = self._start(mime, keep)
                if keep:
                    body.add(magic_head)
                if tlsh_state is not None and head:
                    tlsh_state.update(magic_head)
        except (OSError, RuntimeError) as exc:
            body.close()
            raise ItemError(f"read failed after {size} bytes: {exc}") from exc
        except BaseException:
            body.close()
            raise
        digests = Digests(size, md5.hexdigest(), sha1.hexdigest(), sha256.hexdigest(), mime, None,
                          extension_mismatch(posixpath.basename(path), mime))
        return Read(digests, path, body, keep, tlsh_state, magic_head)

    def conclude(self, read: Read, match: bool, describe: Callable[[Examined], bool] | None = None) -> Examined:
        """The second half: the content matchers when ``match``, then the description if ``describe``
        says it is worth it. The caller closes ``read``."""
        digests, body, tlsh_state = read.digests, read.body, read.tlsh_state
        try:
            if not match:
                examined = Examined(digests, finish_tlsh(tlsh_state, digests.size), None, (), (), False)
            else:
                body.finish()
                if tlsh_state is None and self.tlsh and read.keep and not digests.mime.startswith("image/"):
                    tlsh_state = body.tlsh()              # a kept body's TLSH: only for content that is matched
                examined = self._match(digests, body, read.path, finish_tlsh(tlsh_state, digests.size))
            if describe is None or describe(examined):
                examined = replace(examined, digests=replace(digests, description=self.types.describe(read.magic_head)))
            return examined
        except (OSError, RuntimeError) as exc:
            raise ItemError(f"examining it failed after reading {digests.size} bytes: {exc}") from exc

    def _start(self, mime: str, keep: bool):
        """Keep the bytes for the matchers? And a TLSH state fed as the chunks come, for content whose
        bytes are not kept (a kept body gets its TLSH at the end, only if the matchers run)."""
        image = mime.startswith("image/")
        keep = keep or (image and self.pdq is not None)
        tlsh_state = None
        if self.tlsh and not image and not keep:
            import tlsh

            tlsh_state = tlsh.Tlsh()
        return keep, tlsh_state

    def _match(self, digests: Digests, body: _Body, path: str, tlsh: TlshDigest | None) -> Examined:
        from forensics.matchers.yara_rules import externals_for

        problems: list[str] = []
        outcomes = []
        externals = externals_for(path, digests.mime)
        for key, scanner in self.scanners:
            outcome = scanner.scan_path(body.path, externals) if body.path else \
                scanner.scan_bytes(body.data(), externals)
            outcomes.append((key, outcome))
        pdq = None
        if self.pdq is not None and digests.mime.startswith("image/"):
            try:
                pdq = self.pdq.digest(body.path or body.data())
            except MatcherItemError as exc:
                problems.append(f"PDQ: {exc}")
        found = ()
        if self.indicators:
            from forensics.indicators.extract import extract

            if body.path is None:
                found = tuple(extract(body.data()))
                found += self._text_layer(body.data(), digests.mime, problems)
            else:
                problems.append(f"indicators: {digests.size:,} bytes are more than the {self.memory_cap:,} held in "
                                "memory; not searched for identifiers")
        return Examined(digests, tlsh, pdq, tuple(outcomes), tuple(problems), True, found)

    @staticmethod
    def _text_layer(data: bytes, mime: str, problems: list[str]) -> tuple:
        """Identifiers in a document's text layer (forensics.indicators.documents), where cheap."""
        from forensics.indicators.documents import TEXT_MIMES, TextLayerError, text_layer
        from forensics.indicators.extract import extract_text

        if mime not in TEXT_MIMES:
            return ()
        try:
            text = text_layer(data, mime)
        except TextLayerError as exc:
            problems.append(f"indicators: {exc}")
            return ()
        return tuple(extract_text(text, "pdf-text")) if text else ()


@dataclass
class Read:
    """A stream read once (``Examiner.read``): its digests and type, its bytes where kept."""

    digests: Digests
    path: str
    body: _Body
    keep: bool
    tlsh_state: object
    magic_head: bytes

    @property
    def held(self) -> int:
        """Bytes this holds in memory (a spooled body holds none)."""
        return self.body.held

    @property
    def spooled(self) -> bool:
        return self.body.path is not None

    def close(self) -> None:
        self.body.close()


class _Body:
    """The stream's bytes while the matchers need them: memory first, a spool file past the cap.
    ``finish`` turns what memory holds into one ``bytes`` (YARA-X, TLSH and PDQ take nothing else),
    so the matchers share one copy instead of each making its own."""

    def __init__(self, memory_cap: int, spool_dir: str | None) -> None:
        self._memory = bytearray()
        self._frozen: bytes | None = None
        self._cap, self._dir = memory_cap, spool_dir
        self._file = None
        self.path: str | None = None

    def add(self, data: bytes) -> None:
        if self._file is None and len(self._memory) + len(data) <= self._cap:
            self._memory += data
            return
        if self._file is None:
            handle, self.path = tempfile.mkstemp(prefix="forensics-spool-", dir=self._dir)
            self._file = os.fdopen(handle, "wb")
            self._file.write(self._memory)
            self._memory = bytearray()
        self._file.write(data)

    @property
    def held(self) -> int:
        return len(self._frozen) if self._frozen is not None else len(self._memory)

    def data(self) -> bytes:
        if self._frozen is None:
            self._frozen, self._memory = bytes(self._memory), bytearray()
        return self._frozen

    def tlsh(self):
        """A ``tlsh.Tlsh`` fed the whole body (after ``finish``)."""
        import tlsh

        state = tlsh.Tlsh()
        if self.path is None:
            data = self.data()
            if data:
                state.update(data)
            return state
        with open(self.path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                state.update(block)
        return state

    def finish(self) -> None:
        """Everything is written: the spool file is complete for libyara and Pillow to open, or the
        bytes held in memory are one ``bytes``."""
        if self._file is not None:
            self._file.close()
            self._file = None
        elif self.path is None:
            self.data()

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None
        if self.path:
            try:
                os.unlink(self.path)
            except FileNotFoundError:
                pass
            self.path = None

    def __del__(self) -> None:
        self.close()
