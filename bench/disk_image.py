"""The benchmark's disk image: real files in an MBR disk with ext4, FAT32 (and NTFS) partitions.

Built without root and without mounting, the way ``forensics/sample.py`` builds the test
images, only much larger and from files already on the machine: real files are staged
(hard-linked, else copied) in two directory trees, ext4 is made with ``mke2fs -d``, FAT32
with ``mkfs.vfat`` + ``mcopy -s``, a few files are then deleted on each (``debugfs rm``,
``mdel``) so deleted entries exist, ``sfdisk`` writes the partition table into the image
file and each file system is copied in at its partition offset. With ``ntfs=True`` a third
partition is NTFS: ``mkntfs -F`` on a plain file, filled through an ntfs-3g (FUSE) mount with
``cp -a`` of its staged tree, a few files removed there (ntfs-3g has no unmounted mkdir or rm).

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
DELETE_EXT4, DELETE_FAT, DELETE_NTFS = 6, 4, 4
SHARES_WITH_NTFS = (0.45, 0.4)       # ext4, NTFS; the rest is FAT32 (mcopy slows down with many files)
MIN_NTFS = 16 * MIB
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


def _select(roots: list[str], *budgets: _Budget) -> None:
    """Deterministic: sorted walks, each file to the emptiest partition that takes it (FAT32 only
    names it stores unchanged)."""
    fat_names = _FatNames()
    seen_inodes: set[tuple[int, int]] = set()
    rejects = 0
    for path, st in _candidates(roots):
        if st.st_size > MAX_FILE or (st.st_dev, st.st_ino) in seen_inodes:
            continue
        rel = path.lstrip("/")
        placed = False
        for budget in sorted(budgets, key=lambda b: b.fill):
            if budget.name == "fat32" and not fat_names.accepts(rel):
                continue
            cost = budget.cost(rel, st.st_size)
            if budget.used + cost <= budget.capacity:
                budget.add(path, rel, st.st_size, cost)
                if budget.name == "fat32":
                    fat_names.add(rel)
                seen_inodes.add((st.st_dev, st.st_ino))
                placed = True
                break
        rejects = 0 if placed else rejects + 1
        if rejects >= MAX_REJECTS or max(b.capacity - b.used for b in budgets) < 64 * 1024:
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


def _build_ntfs(fs_image: Path, stage: Path, hidden_sectors: int, deleted: list[str]) -> None:
    """mkntfs on a plain file, then the staged tree copied in through an ntfs-3g mount."""
    run_tool("mkntfs", "-F", "-Q", "-q", "-L", "BENCHNTFS", "-p", str(hidden_sectors), "-H", "255", "-S", "63",
             str(fs_image))
    mount = fs_image.with_suffix(".mnt")
    mount.mkdir(exist_ok=True)
    run_tool("ntfs-3g", str(fs_image), str(mount))
    try:
        for top in sorted(stage.iterdir()):
            subprocess.run(["cp", "-a", "--no-preserve=ownership", str(top), str(mount)], check=True)
        for rel in deleted:
            (mount / rel).unlink()
    finally:
        subprocess.run(["umount", str(mount)], check=True)
        mount.rmdir()


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


def _layout(size_gb: float, ntfs: bool = False) -> tuple[int, list[tuple[str, int]]]:
    """(disk size, [(file system, partition size)]), all whole MiB, first MiB free."""
    if not ntfs:
        total = max(math.ceil(size_gb * (1 << 30) / MIB) * MIB, MIN_EXT4 + MIN_FAT32 + MIB)
        ext4 = max(int((total - MIB) * EXT4_SHARE) // MIB * MIB, MIN_EXT4)
        fat = max(total - MIB - ext4, MIN_FAT32)
        return MIB + ext4 + fat, [("ext4", ext4), ("fat32", fat)]
    total = max(math.ceil(size_gb * (1 << 30) / MIB) * MIB, MIN_EXT4 + MIN_NTFS + MIN_FAT32 + MIB)
    ext4 = max(int((total - MIB) * SHARES_WITH_NTFS[0]) // MIB * MIB, MIN_EXT4)
    ntfs_size = max(int((total - MIB) * SHARES_WITH_NTFS[1]) // MIB * MIB, MIN_NTFS)
    fat = max(total - MIB - ext4 - ntfs_size, MIN_FAT32)
    return MIB + ext4 + ntfs_size + fat, [("ext4", ext4), ("ntfs", ntfs_size), ("fat32", fat)]


def image_paths(workdir: Path, size_gb: float, ntfs: bool = False) -> tuple[Path, Path]:
    total, _ = _layout(size_gb, ntfs)
    stem = f"disk-{total // MIB}M" + ("-ntfs" if ntfs else "")
    return workdir / f"{stem}.raw", workdir / f"{stem}.json"


def parameters(size_gb: float, ntfs: bool = False) -> dict:
    found = {"builder_version": BUILDER_VERSION, "size_gb": size_gb, "sources": list(DEFAULT_SOURCES),
             "ext4_share": EXT4_SHARE, "max_file": MAX_FILE}
    if ntfs:
        found["ntfs_shares"] = list(SHARES_WITH_NTFS)
    return found


def ensure_image(workdir: Path, size_gb: float, *, rebuild: bool = False, keep: bool = False,
                 ntfs: bool = False) -> dict:
    """Returns the manifest of a disk image for these parameters, building it when needed."""
    disk, manifest_path = image_paths(workdir, size_gb, ntfs)
    if not rebuild and disk.exists() and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("parameters") == parameters(size_gb, ntfs) and disk.stat().st_size == manifest["size"]:
            log(f"reusing cached image {disk}")
            manifest["cached"] = True
            return manifest
    return _build(workdir, size_gb, disk, manifest_path, keep, ntfs)


def _build(workdir: Path, size_gb: float, disk: Path, manifest_path: Path, keep: bool, ntfs: bool = False) -> dict:
    started = time.perf_counter()
    total, layout = _layout(size_gb, ntfs)
    scratch = workdir / "build"
    shutil.rmtree(scratch, ignore_errors=True)
    scratch.mkdir(parents=True)
    manifest_path.unlink(missing_ok=True)
    starts, offset = {}, MIB
    for fs, size in layout:
        starts[fs], offset = offset, offset + size
    sizes = dict(layout)
    images = {fs: scratch / f"p{n}.{fs}" for n, (fs, _) in enumerate(layout, 1)}

    _blank(images["fat32"], sizes["fat32"])  # first, so the cluster size is known when choosing files
    run_tool("mkfs.vfat", "-F", "32", "-h", str(starts["fat32"] // SECTOR), "-n", "BENCHFAT", "-i", "0BE4C4E5",
             str(images["fat32"]))
    cluster, fat_data = _fat_geometry(images["fat32"])
    journal = _journal_mib(sizes["ext4"]) * MIB
    budgets = {"ext4": _Budget("ext4", int((sizes["ext4"] - journal) * 0.93) - 4 * MIB, EXT4_BLOCK, 256 + 64),
               "fat32": _Budget("fat32", int(fat_data * 0.97), cluster, 96)}
    if ntfs:   # $MFT zone, log and metadata take ~12%; each file a 1 KiB MFT record plus index entries
        budgets["ntfs"] = _Budget("ntfs", int(sizes["ntfs"] * 0.85) - 8 * MIB, 4096, 1024 + 160)
    roots = _source_roots(DEFAULT_SOURCES)
    log(f"choosing files from {', '.join(roots)} ("
        + ", ".join(f"{b.name} {b.capacity // MIB} MiB" for b in budgets.values()) + f", {cluster} B FAT clusters)")
    _select(roots, *budgets.values())
    log("chosen: " + ", ".join(f"{b.name} {len(b.files)} files / {b.data_bytes / MIB:.0f} MiB"
                               for b in budgets.values()))

    stages = {fs: scratch / f"stage-{fs}" for fs in budgets}
    staging = {_stage(budgets[fs].files, stages[fs]) for fs in budgets}
    counts = {"ext4": DELETE_EXT4, "fat32": DELETE_FAT, "ntfs": DELETE_NTFS}
    deleted = {fs: _pick_deletions(budgets[fs].files, counts[fs]) for fs in budgets}
    log(f"staged ({'/'.join(sorted(staging))}); mke2fs -d ...")
    _build_ext4(images["ext4"], stages["ext4"], budgets["ext4"], sizes["ext4"], deleted["ext4"])
    log("mcopy -s ...")
    complaints = _build_fat(images["fat32"], stages["fat32"], deleted["fat32"])
    if ntfs:
        log("mkntfs + ntfs-3g cp -a ...")
        _blank(images["ntfs"], sizes["ntfs"])
        _build_ntfs(images["ntfs"], stages["ntfs"], starts["ntfs"] // SECTOR, deleted["ntfs"])

    partial = disk.with_suffix(".raw.partial")
    _blank(partial, total)
    kinds = {"ext4": "83", "fat32": "c", "ntfs": "7"}
    run_tool("sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never", str(partial),
             stdin="label: dos\nlabel-id: 0x0be4c4e5\nunit: sectors\n\n" + "".join(
                 f"start={starts[fs] // SECTOR}, size={size // SECTOR}, type={kinds[fs]}\n" for fs, size in layout))
    log("copying file systems into the disk image ...")
    for fs, _ in layout:
        _place(partial, images[fs], starts[fs])
    partial.rename(disk)
    if not keep:
        shutil.rmtree(scratch)

    partitions = []
    for number, (fs, size) in enumerate(layout, 1):
        budget = budgets[fs]
        entry = {"number": number, "fs": fs, "start_sector": starts[fs] // SECTOR, "size": size,
                 "files": len(budget.files), "dirs": len(budget.dirs), "data_bytes": budget.data_bytes,
                 "deleted": deleted[fs]}
        if fs == "fat32":
            entry.update(cluster=cluster, mcopy_messages=complaints[:20])
        partitions.append(entry)
    manifest = {
        "parameters": parameters(size_gb, ntfs),
        "image": str(disk),
        "size": total,
        "built_seconds": round(time.perf_counter() - started, 1),
        "staging": sorted(staging),
        "sources": roots,
        "partitions": partitions,
    }
    tmp = manifest_path.with_suffix(".json.partial")
    tmp.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    tmp.rename(manifest_path)
    log(f"built {disk} ({total / MIB:.0f} MiB) in {manifest['built_seconds']} s")
    manifest["cached"] = False
    return manifest
