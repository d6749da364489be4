"""Wall time, CPU time and peak memory of one command and every process it starts.

CPU time is user + system seconds from ``os.wait4``'s rusage, which counts the child and every
descendant it waited for (worker processes included).

Peak RSS is taken two ways and the larger is reported:

* ``tree``: psutil samples the RSS of the whole process tree every ``POLL`` seconds and
  keeps the largest sum (catches workers running side by side; can miss a short spike, and
  counts pages shared between processes once per process);
* ``single``: the kernel's ``ru_maxrss`` for the child, which covers its reaped descendants
  but is the maximum of any one process, never a sum -- read from ``/usr/bin/time -v`` when
  that is installed, else from ``os.wait4``'s rusage.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import psutil

POLL = 0.1
GNU_TIME = "/usr/bin/time" if os.access("/usr/bin/time", os.X_OK) else None
_MAXRSS = re.compile(r"Maximum resident set size \(kbytes\): (\d+)")


@dataclass
class Step:
    name: str
    argv: list[str]
    returncode: int
    wall_seconds: float
    peak_rss_tree: int          # bytes, sampled sum over the process tree
    peak_rss_single: int        # bytes, ru_maxrss (largest single process)
    rss_source: str
    cpu_seconds: float          # user + system, the child and its waited-for descendants
    stdout: str                 # paths of the captured output
    stderr: str

    @property
    def peak_rss(self) -> int:
        return max(self.peak_rss_tree, self.peak_rss_single)

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def as_dict(self) -> dict:
        return asdict(self) | {"peak_rss": self.peak_rss}

    def error_tail(self, lines: int = 5) -> str:
        try:
            text = Path(self.stderr).read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return "\n".join(text[-lines:])


def _tree_rss(root: psutil.Process, skip_root: bool) -> int:
    try:
        procs = root.children(recursive=True) + ([] if skip_root else [root])
    except psutil.Error:
        return 0
    total = 0
    for proc in procs:
        try:
            total += proc.memory_info().rss
        except psutil.Error:
            pass
    return total


def run(name: str, argv: list[str], logdir: Path, *, stdout: Path | None = None,
        env: dict[str, str] | None = None, cwd: Path | None = None) -> Step:
    """Runs `argv` (no shell), its output captured under `logdir`, and measures it."""
    logdir.mkdir(parents=True, exist_ok=True)
    out_path = stdout or logdir / f"{name}.out"
    err_path, time_path = logdir / f"{name}.err", logdir / f"{name}.time"
    time_path.unlink(missing_ok=True)
    exe = shutil.which(argv[0]) or argv[0]
    wrapped = [exe, *argv[1:]]
    if GNU_TIME:
        wrapped = [GNU_TIME, "-v", "-o", str(time_path), *wrapped]

    finished = threading.Event()
    result: dict[str, object] = {}

    with out_path.open("wb") as out, err_path.open("wb") as err:
        started = time.perf_counter()
        proc = subprocess.Popen(wrapped, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                env=env, cwd=cwd)

        def reap() -> None:  # wait4 instead of Popen.wait: it also returns the rusage
            _, status, rusage = os.wait4(proc.pid, 0)
            result["wall"] = time.perf_counter() - started
            result["status"], result["rusage"] = status, rusage
            finished.set()

        threading.Thread(target=reap, daemon=True).start()
        try:
            root = psutil.Process(proc.pid)
        except psutil.Error:
            root = None
        peak_tree = 0
        while not finished.is_set():
            if root is not None:
                peak_tree = max(peak_tree, _tree_rss(root, skip_root=GNU_TIME is not None))
            finished.wait(POLL)
    proc.returncode = os.waitstatus_to_exitcode(result["status"])  # so Popen does not wait again

    single, source = result["rusage"].ru_maxrss * 1024, "wait4"
    if GNU_TIME:
        match = _MAXRSS.search(time_path.read_text(errors="replace")) if time_path.exists() else None
        if match:
            single, source = int(match.group(1)) * 1024, "gnu-time"
    usage = result["rusage"]
    return Step(name, list(argv), proc.returncode, round(result["wall"], 3), peak_tree, single,
                f"{source}+psutil", round(usage.ru_utime + usage.ru_stime, 3), str(out_path), str(err_path))


def evict_from_cache(path: Path) -> None:
    """Drops a file's clean pages from the page cache (no root needed) for a cold-cache run."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    finally:
        os.close(fd)


def read_through(path: Path) -> None:
    """Reads a file once so both contenders start with it in the page cache."""
    with path.open("rb", buffering=0) as handle:
        while handle.read(8 * 1024 * 1024):
            pass
