"""The benchmark's disk image: real files in an MBR disk with an ext4 and a FAT32 partition.

Built without root and without mounting, the way ``forensics/sample.py`` builds the test
images, only much larger and from files already on the machine: real files are staged
(hard-linked, else copied) in two directory trees, ext4 is made with ``mke2fs -d``, FAT32
with ``mkfs.vfat`` + ``mcopy -s``, a few files are then deleted on each (``debugfs rm``,
``mdel``) so deleted entries exist, ``sfdisk`` writes the partition table into the image
file and each file system is copied in at its partition offset.

The image and a JSON manifest beside it are cached in the work directory; a later run with
the same parameters reuses them.
"""
from __future__ import annotations

import glob
import json
import math
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

BUILDER_VERSION = 1
MIB = 1 << 20
SECTOR = 512
EXT4_BLOCK = 4096
EXT4_SHARE = 0.6                     # the rest of the disk is the FAT32 partition
MIN_EXT4 = 24 * MIB
MIN_FAT32 = 48 * MIB                 # FAT32 needs >= 65525 clusters
DEFAULT_SOURCES = ("/usr/share", "/usr/lib/python3*", "/usr/include", "/usr/lib")
MAX_FILE = 32 * MIB                  # keeps one huge .so from eating a partition's budget
MAX_REJECTS = 5000                   # consecutive files that fit nowhere: the disk is full
DELETE_EXT4, DELETE_FAT = 6, 4
TOOL_ENV = {"MTOOLS_SKIP_CHECK": "1", "LC_ALL": "C.UTF-8", "TZ": "UTC"}

# Names every FAT/VFAT implementation takes as they are (no mangling, no rejection).
_FAT_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}")
_FAT_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(1, 10)}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def which(name: str) -> str:
    """mkfs tools live in /usr/sbin, which is often missing from a normal user's PATH."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        raise SystemExit(f"{name} is not installed (apt packages: e2fsprogs dosfstools mtools "
                         "fdisk sleuthkit hashdeep file)")
    return found


def run_tool(*args: str, stdin: str | None = None) -> str:
    """Runs a build tool (argument list, no shell); returns its stderr, raises on failure."""
    proc = subprocess.run([which(args[0]), *args[1:]], input=stdin, text=True, capture_output=True,
                          env=dict(os.environ, **TOOL_ENV), check=False,
                          stdin=None if stdin is not None else subprocess.DEVNULL)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:6])}... failed ({proc.returncode}): "
                           f"{(proc.stderr or proc.stdout).strip()[-2000:]}")
    return proc.stderr


# --- choosing the files --------------------------------------------------------------------

def _source_roots(sources: tuple[str, ...]) -> list[str]:
    roots: list[str] = []
    for pattern in sources:
        for root in sorted(glob.glob(pattern)) if glob.has_magic(pattern) else [pattern]:
            root = os.path.realpath(root)
            if os.path.isdir(root) and root not in roots:
                roots.append(root)
    return roots


def _walk(root: str, exclude: set[str]) -> Iterator[tuple[str, os.stat_result]]:
    """Sorted walk of regular, readable files; symlinks, special files and `exclude` skipped."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if os.path.join(dirpath, d) not in exclude)
        for name in sorted(filenames):
            if "\n" in name:
                continue
            path = os.path.join(dirpath, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if stat.S_ISREG(st.st_mode) and os.access(path, os.R_OK):
                yield path, st


def _candidates(roots: list[str]) -> Iterator[tuple[str, os.stat_result]]:
    """One file from each root in turn, so both partitions get a mix of docs, code, binaries."""
    walks = [_walk(root, set(roots) - {root}) for root in roots]
    while walks:
        for walk in list(walks):
            item = next(walk, None)
            if item is None:
                walks.remove(walk)
            else:
                yield item


@dataclass
class _Budget:
    """Space a file system has left, charged per file: data rounded up to the allocation unit,
    plus its inode / directory entries, plus a unit for every new directory."""

    name: str
    capacity: int
    unit: int
    per_entry: int
    used: int = 0
    data_bytes: int = 0
    files: list[tuple[str, str, int]] = field(default_factory=list)   # (source, relative, size)
    dirs: set[str] = field(default_factory=set)

    def cost(self, rel: str, size: int) -> int:
        new_dirs = sum(1 for d in _parents(rel) if d not in self.dirs)
        return (math.ceil(size / self.unit) * self.unit + self.per_entry
                + new_dirs * (self.unit + self.per_entry))

    def add(self, source: str, rel: str, size: int, cost: int) -> None:
        self.used += cost
        self.data_bytes += size
        self.files.append((source, rel, size))
        self.dirs.update(_parents(rel))

    @property
    def fill(self) -> float:
        return self.used / self.capacity


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


class _FatNames:
    """Accepts paths FAT stores unchanged, without two names differing only in case."""

    def __init__(self) -> None:
        self._seen: dict[str, str] = {}

    def accepts(self, rel: str) -> bool:
        if len(rel) > 200:
            return False
        parts = rel.split("/")
        for i, part in enumerate(parts, 1):
            if (not _FAT_NAME.fullmatch(part) or part.endswith(".")
                    or part.split(".")[0].lower() in _FAT_RESERVED):
                return False
            prefix = "/".join(parts[:i])
            if self._seen.get(prefix.lower(), prefix) != prefix:
                return False
        return True

    def add(self, rel: str) -> None:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            self._seen.setdefault(prefix.lower(), prefix)


def _select(roots: list[str], ext4: _Budget, fat: _Budget) -> None:
    """Deterministic: sorted walks, each file to the emptier partition that takes it."""
    fat_names = _FatNames()
    seen_inodes: set[tuple[int, int]] = set()
    rejects = 0
    for path, st in _candidates(roots):
        if st.st_size > MAX_FILE or (st.st_dev, st.st_ino) in seen_inodes:
            continue
        rel = path.lstrip("/")
        placed = False
        for budget in sorted((ext4, fat), key=lambda b: b.fill):
            if budget is fat and not fat_names.accepts(rel):
                continue
            cost = budget.cost(rel, st.st_size)
            if budget.used + cost <= budget.capacity:
                budget.add(path, rel, st.st_size, cost)
                if budget is fat:
                    fat_names.add(rel)
                seen_inodes.add((st.st_dev, st.st_ino))
                placed = True
                break
        rejects = 0 if placed else rejects + 1
        if rejects >= MAX_REJECTS or max(b.capacity - b.used for b in (ext4, fat)) < 64 * 1024:
            break


def _stage(files: list[tuple[str, str, int]], root: Path) -> str:
    """Hard-links (else copies) each file under `root`; returns how it was done."""
    method = "hardlink"
    for source, rel, _ in files:
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if method == "hardlink":
            try:
                os.link(source, target)
                continue
            except OSError:
                method = "copy"
        shutil.copy2(source, target)
    return method


def _pick_deletions(files: list[tuple[str, str, int]], count: int) -> list[str]:
    """`count` files spread evenly over the list, with simple names and 1 KiB..4 MiB of data."""
    eligible = [rel for _, rel, size in files
                if 1024 <= size <= 4 * MIB and all(_FAT_NAME.fullmatch(p) for p in rel.split("/"))]
    if len(eligible) <= count:
        return eligible
    return [eligible[(2 * i + 1) * len(eligible) // (2 * count)] for i in range(count)]


# --- building the file systems and the disk ---------------------------------------------------

def _blank(path: Path, size: int) -> None:
    with path.open("wb") as handle:
        handle.truncate(size)


def _fat_geometry(fs_image: Path) -> tuple[int, int]:
    """(cluster size, bytes in the data region) from the FAT32 boot sector (MS FAT spec, BPB)."""
    with fs_image.open("rb") as handle:
        boot = handle.read(512)
    bytes_per_sector = int.from_bytes(boot[11:13], "little")
    per_cluster = boot[13]
    reserved = int.from_bytes(boot[14:16], "little")
    fats = boot[16]
    total = int.from_bytes(boot[32:36], "little")
    fat_size = int.from_bytes(boot[36:40], "little")
    return bytes_per_sector * per_cluster, (total - reserved - fats * fat_size) * bytes_per_sector


def _journal_mib(size: int) -> int:
    return max(4, min(64, size // MIB // 64))


def _build_ext4(fs_image: Path, stage: Path, budget: _Budget, size: int, deleted: list[str]) -> None:
    inodes = int((len(budget.files) + len(budget.dirs)) * 1.05) + 256
    run_tool("mke2fs", "-q", "-F", "-t", "ext4", "-b", str(EXT4_BLOCK), "-m", "0", "-N", str(inodes),
             "-J", f"size={_journal_mib(size)}", "-L", "BENCHEXT4", "-E", "root_owner=0:0",
             "-d", str(stage), str(fs_image), f"{size // 1024}k")
    script = fs_image.with_suffix(".debugfs")
    script.write_text("".join(f'rm "/{rel}"\n' for rel in deleted), encoding="utf-8")
    output = run_tool("debugfs", "-w", "-f", str(script), str(fs_image))
    errors = [line for line in output.splitlines() if line and not line.startswith("debugfs ")]
    if errors:  # debugfs exits 0 even when a request fails
        raise RuntimeError(f"debugfs rm on {fs_image} failed: {errors}")
    script.unlink()


def _build_fat(fs_image: Path, stage: Path, deleted: list[str]) -> list[str]:
    """mcopy -s of the staged tree; returns mcopy's complaints (names it would not take)."""
    image = str(fs_image)
    tops = sorted(str(p) for p in stage.iterdir())
    complaints = run_tool("mcopy", "-s", "-m", "-D", "o", "-i", image, *tops, "::/").splitlines()
    if deleted:
        run_tool("mdel", "-i", image, *(f"::/{rel}" for rel in deleted))
    return [line for line in complaints if line.strip()]


def _place(disk: Path, fs_image: Path, offset: int) -> None:
    """Copies a file system into the (sparse, zeroed) disk at `offset`, skipping zero chunks."""
    zero = bytes(MIB)
    with fs_image.open("rb") as src, disk.open("r+b") as dst:
        dst.seek(offset)
        while chunk := src.read(MIB):
            if chunk == zero[:len(chunk)]:
                dst.seek(len(chunk), os.SEEK_CUR)
            else:
                dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())


def _layout(size_gb: float) -> tuple[int, int, int]:
    """(disk size, ext4 partition size, FAT32 partition size), all whole MiB, first MiB free."""
    total = max(math.ceil(size_gb * (1 << 30) / MIB) * MIB, MIN_EXT4 + MIN_FAT32 + MIB)
    ext4 = max(int((total - MIB) * EXT4_SHARE) // MIB * MIB, MIN_EXT4)
    fat = max(total - MIB - ext4, MIN_FAT32)
    return MIB + ext4 + fat, ext4, fat


def image_paths(workdir: Path, size_gb: float) -> tuple[Path, Path]:
    total, _, _ = _layout(size_gb)
    stem = f"disk-{total // MIB}M"
    return workdir / f"{stem}.raw", workdir / f"{stem}.json"


def parameters(size_gb: float) -> dict:
    return {"builder_version": BUILDER_VERSION, "size_gb": size_gb, "sources": list(DEFAULT_SOURCES),
            "ext4_share": EXT4_SHARE, "max_file": MAX_FILE}


def ensure_image(workdir: Path, size_gb: float, *, rebuild: bool = False, keep: bool = False) -> dict:
    """Returns the manifest of a disk image for these parameters, building it when needed."""
    disk, manifest_path = image_paths(workdir, size_gb)
    if not rebuild and disk.exists() and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("parameters") == parameters(size_gb) and disk.stat().st_size == manifest["size"]:
            log(f"reusing cached image {disk}")
            manifest["cached"] = True
            return manifest
    return _build(workdir, size_gb, disk, manifest_path, keep)


def _build(workdir: Path, size_gb: float, disk: Path, manifest_path: Path, keep: bool) -> dict:
    started = time.perf_counter()
    total, ext4_size, fat_size = _layout(size_gb)
    scratch = workdir / "build"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    manifest_path.unlink(missing_ok=True)
    ext4_start, fat_start = MIB, MIB + ext4_size
    ext4_img, fat_img = scratch / "p1.ext4", scratch / "p2.fat32"

    _blank(fat_img, fat_size)  # first, so the cluster size is known when choosing files
    run_tool("mkfs.vfat", "-F", "32", "-h", str(fat_start // SECTOR), "-n", "BENCHFAT", "-i", "0BE4C4E5",
             str(fat_img))
    cluster, fat_data = _fat_geometry(fat_img)
    journal = _journal_mib(ext4_size) * MIB
    ext4 = _Budget("ext4", int((ext4_size - journal) * 0.93) - 4 * MIB, EXT4_BLOCK, 256 + 64)
    fat = _Budget("fat32", int(fat_data * 0.97), cluster, 96)
    roots = _source_roots(DEFAULT_SOURCES)
    log(f"choosing files from {', '.join(roots)} (ext4 {ext4.capacity // MIB} MiB, "
        f"FAT32 {fat.capacity // MIB} MiB, {cluster} B clusters)")
    _select(roots, ext4, fat)
    log(f"chosen: ext4 {len(ext4.files)} files / {ext4.data_bytes / MIB:.0f} MiB, "
        f"FAT32 {len(fat.files)} files / {fat.data_bytes / MIB:.0f} MiB")

    stage_ext4, stage_fat = scratch / "stage-ext4", scratch / "stage-fat"
    staging = {_stage(ext4.files, stage_ext4), _stage(fat.files, stage_fat)}
    deleted_ext4 = _pick_deletions(ext4.files, DELETE_EXT4)
    deleted_fat = _pick_deletions(fat.files, DELETE_FAT)
    log(f"staged ({'/'.join(sorted(staging))}); mke2fs -d ...")
    _build_ext4(ext4_img, stage_ext4, ext4, ext4_size, deleted_ext4)
    log("mcopy -s ...")
    complaints = _build_fat(fat_img, stage_fat, deleted_fat)

    partial = disk.with_suffix(".raw.partial")
    _blank(partial, total)
    run_tool("sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never", str(partial),
             stdin=("label: dos\nlabel-id: 0x0be4c4e5\nunit: sectors\n\n"
                    f"start={ext4_start // SECTOR}, size={ext4_size // SECTOR}, type=83\n"
                    f"start={fat_start // SECTOR}, size={fat_size // SECTOR}, type=c\n"))
    log("copying file systems into the disk image ...")
    _place(partial, ext4_img, ext4_start)
    _place(partial, fat_img, fat_start)
    partial.rename(disk)
    if not keep:
        shutil.rmtree(scratch)

    manifest = {
        "parameters": parameters(size_gb),
        "image": str(disk),
        "size": total,
        "built_seconds": round(time.perf_counter() - started, 1),
        "staging": sorted(staging),
        "sources": roots,
        "partitions": [
            {"number": 1, "fs": "ext4", "start_sector": ext4_start // SECTOR, "size": ext4_size,
             "files": len(ext4.files), "dirs": len(ext4.dirs), "data_bytes": ext4.data_bytes,
             "deleted": deleted_ext4},
            {"number": 2, "fs": "fat32", "start_sector": fat_start // SECTOR, "size": fat_size,
             "cluster": cluster, "files": len(fat.files), "dirs": len(fat.dirs),
             "data_bytes": fat.data_bytes, "deleted": deleted_fat, "mcopy_messages": complaints[:20]},
        ],
    }
    tmp = manifest_path.with_suffix(".json.partial")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.rename(manifest_path)
    log(f"built {disk} ({total / MIB:.0f} MiB) in {manifest['built_seconds']} s")
    manifest["cached"] = False
    return manifest
