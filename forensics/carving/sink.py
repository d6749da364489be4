"""Where carved bytes go: content-addressed storage behind a two-call protocol.

The SHA-256 is only known once the last byte is streamed, so a sink hands out a writer
that spools to a temporary file; ``commit(sha256)`` then files it under its hash. The
lead's evidence store may provide its own sink; ``DirectorySink`` is the plain one.
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Protocol


class ArtifactWriter(Protocol):
    def write(self, data: bytes | memoryview) -> None: ...

    def commit(self, sha256: str) -> str:
        """Files the bytes under their SHA-256; returns where (a path or a key)."""
        ...

    def abort(self) -> None: ...


class ArtifactSink(Protocol):
    def open(self) -> ArtifactWriter: ...


class DirectorySink:
    """Stores each object once as ``root/ab/cd/<sha256>`` (rerunning stores nothing new)."""

    def __init__(self, root: str | os.PathLike[str]) -> None:
        self.root = Path(root)
        self._spool = self.root / ".spool"
        self._spool.mkdir(parents=True, exist_ok=True)

    def path_for(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def open(self) -> _FileWriter:
        return _FileWriter(self)


class _FileWriter:
    def __init__(self, sink: DirectorySink) -> None:
        self._sink = sink
        handle, name = tempfile.mkstemp(dir=sink._spool, prefix="carve-")
        self._file = os.fdopen(handle, "wb")
        self._name = name

    def write(self, data: bytes | memoryview) -> None:
        self._file.write(data)

    def commit(self, sha256: str) -> str:
        self._file.close()
        target = self._sink.path_for(sha256)
        if target.exists():
            os.unlink(self._name)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._name, target)
        return str(target)

    def abort(self) -> None:
        self._file.close()
        if os.path.exists(self._name):
            os.unlink(self._name)


class NullSink:
    """Hashes only, stores nothing (benchmarks, dry runs)."""

    def open(self) -> _NullWriter:
        return _NullWriter()


class _NullWriter:
    def write(self, data: bytes | memoryview) -> None:
        pass

    def commit(self, sha256: str) -> str:
        return ""

    def abort(self) -> None:
        pass
