"""What every extractor gets: the limits, the passwords to try, the store, and the byte budget."""
from __future__ import annotations

import posixpath
import time
from dataclasses import dataclass, field

from forensics.carving.sink import DirectorySink
from forensics.containers import Limits


@dataclass
class Context:
    limits: Limits
    sink: DirectorySink
    passwords: tuple[str, ...] = ()
    spent: int = 0                               # member bytes admitted under this top-level container
    deadline: float = field(default=0.0)

    def __post_init__(self) -> None:
        if not self.deadline:
            self.deadline = time.monotonic() + self.limits.max_seconds

    def expired(self) -> bool:
        return time.monotonic() > self.deadline

    def stop(self, listed: int, name: str = "") -> str | None:
        """Why listing a container stops before its next member (``listed`` members so far), else None."""
        if listed >= self.limits.max_members:
            return f"more than {self.limits.max_members:,} members; the rest were not listed (member limit)"
        if self.expired():
            return (f"expansion took longer than {self.limits.max_seconds} s (time limit)"
                    + (f"; stopped at {name}" if name else ""))
        return None

    def admit(self, name: str, size: int | None, compressed: int | None) -> str | None:
        """None when a member of ``size`` bytes (``compressed`` in the container) may be expanded, else
        why not; an admitted member is charged to the top-level container's byte budget."""
        limits = self.limits
        size = size or 0
        if size > limits.max_member_bytes:
            return f"{name}: {size:,} bytes exceed the member limit of {limits.max_member_bytes:,} bytes; not expanded"
        if compressed is not None and size > limits.ratio_floor and size > limits.max_ratio * max(compressed, 1):
            return (f"{name}: {size:,} bytes from {compressed:,} compressed (ratio {size // max(compressed, 1):,}:1 "
                    f"above the limit of {limits.max_ratio}:1, a decompression bomb?); not expanded")
        if self.spent + size > limits.max_total_bytes:
            return (f"{name}: expanding it would pass {limits.max_total_bytes:,} bytes for this container "
                    "(total limit); not expanded")
        self.spent += size
        return None

    def remaining(self) -> int:
        return max(0, min(self.limits.max_member_bytes, self.limits.max_total_bytes - self.spent))


def odd_name(name: str) -> str | None:
    """Why a member name cannot be trusted as a path (absolute, climbing out, empty), else None."""
    if not name or name.strip("/") == "":
        return "has an empty name"
    if name.startswith("/") or (len(name) > 1 and name[1] == ":") or name.startswith("\\"):
        return "has an absolute path"
    parts = name.replace("\\", "/").split("/")
    if ".." in parts:
        return "climbs out of the archive ('..')"
    if posixpath.normpath(name) != name.rstrip("/") and "//" in name:
        return "has an empty path component"
    return None
