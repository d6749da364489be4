"""Small, realistic seized-disk images for the demo and the tests.

Every file system is built unprivileged in its own temp file (mkfs.vfat + mtools,
mke2fs -d + debugfs, mkntfs + ntfscp) and then copied into an MBR-partitioned image
(sfdisk on the image file) at the partition offset: no root, no mounts, no loop devices.
The manifest (`SampleImage.files`) is the ground truth tests compare The Sleuth Kit against.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import random
import shutil
import struct
import subprocess
import tempfile
import time
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

MIB = 1024 * 1024
SECTOR = 512
EPOCH = 1577836800  # 2020-01-01T00:00:00Z: every timestamp the tools let us fix
FS_UUID = "e71de2ce-0000-4000-8000-000000000001"
DELETED = ("docs/private/passwords_backup.txt", "images/old_screenshot.png", "archive/old_backup_2019.zip")
"""Deleted after writing; long names so FAT keeps them in LFN entries (8.3 entries lose byte 0)."""
NTFS_PICK = ("docs/readme.txt", "docs/report.pdf", "notes/holiday.jpg", "images/logo.png",
             "notes/empty.txt", "data/blob.bin", "images/fotografía.png")
"""ntfs-3g has no unmounted mkdir/rm, so NTFS gets these at its root, none deleted."""

TOOL_PACKAGES = {
    "sfdisk": "fdisk", "mkfs.vfat": "dosfstools", "mcopy": "mtools", "mdel": "mtools", "mmd": "mtools",
    "mke2fs": "e2fsprogs", "debugfs": "e2fsprogs", "mkntfs": "ntfs-3g", "ntfscp": "ntfs-3g",
    "cryptsetup": "cryptsetup-bin",
}


class SampleToolMissing(RuntimeError):
    """A command-line tool needed to build a sample image is not installed."""

    def __init__(self, name: str, debian_package: str) -> None:
        super().__init__(f"{name} not found on PATH or in /usr/sbin, /sbin: install the Debian package "
                         f"'{debian_package}' (apt-get install {debian_package})")
        self.name = name
        self.debian_package = debian_package


@dataclass(frozen=True)
class PlantedFile:
    partition: int  # 1-based partition number (0 for an unpartitioned file system image)
    fs_type: str  # "fat" | "ext4" | "ntfs"
    path: str  # '/'-separated, no leading slash
    sha256: str
    size: int
    deleted: bool


@dataclass(frozen=True)
class SampleImage:
    path: Path
    size: int
    partitions: tuple[tuple[int, int, int, str], ...]  # (number, start_bytes, length_bytes, fs_type)
    files: tuple[PlantedFile, ...]


def _which(name: str) -> str | None:
    """mkfs tools live in /usr/sbin, which is often missing from a normal user's PATH."""
    return shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")


def require_tools(*names: str) -> None:
    """Raise SampleToolMissing for the first of `names` that is not installed."""
    for name in names:
        if _which(name) is None:
            raise SampleToolMissing(name, TOOL_PACKAGES.get(name, "unknown"))


def _run(*args: str, stdin: bytes | None = None) -> str:
    """Run a tool (argument list, no shell) with fixed clock/locale; return its stderr."""
    require_tools(args[0])
    env = dict(os.environ, MTOOLS_SKIP_CHECK="1", SOURCE_DATE_EPOCH=str(EPOCH),
               E2FSPROGS_FAKE_TIME=str(EPOCH), TZ="UTC", LC_ALL="C.UTF-8")
    proc = subprocess.run([_which(args[0]) or args[0], *args[1:]], input=stdin, env=env,
                          capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}): "
                           f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stderr.decode(errors="replace")


# --- deterministic real-format content --------------------------------------------------

def _png(width: int, height: int, rng: random.Random) -> bytes:
    """8-bit RGB PNG (ISO/IEC 15948: signature, IHDR, one zlib IDAT, IEND, CRC-32 per chunk)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    base = [rng.randrange(256) for _ in range(3)]
    rows = b"".join(b"\x00" + b"".join(bytes(((base[0] + x * 9) % 256, (base[1] + y * 13) % 256, base[2]))
                                        for x in range(width)) for y in range(height))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b""))


def _bmp(width: int, height: int, rng: random.Random) -> bytes:
    """24-bit BMP: BITMAPFILEHEADER + BITMAPINFOHEADER, bottom-up rows padded to 4 bytes."""
    pad = b"\x00" * (-width * 3 % 4)
    pixels = b"".join(b"".join(bytes((rng.randrange(256), y * 20 % 256, x * 30 % 256))
                               for x in range(width)) + pad for y in range(height))
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, len(pixels), 2835, 2835, 0, 0)
    return struct.pack("<2sIHHI", b"BM", 14 + len(info) + len(pixels), 0, 0, 14 + len(info)) + info + pixels


def _pdf(text: str) -> bytes:
    """One-page PDF 1.4 with a correct xref table (ISO 32000-1, 7.5)."""
    stream = f"BT /F1 18 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
               b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
               b"/Contents 4 0 R /Resources << /Font << /F1 5 0 R >> >> >>",
               b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _zip(members: dict[str, bytes]) -> bytes:
    """ZIP with fixed member dates so the bytes depend only on the content."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0)), data,
                             compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def sample_files(seed: int = 1) -> dict[str, bytes]:
    """Deterministic evidence tree for `seed`: path -> content (includes DELETED and one non-ASCII name)."""
    rng = random.Random(seed)
    rows = "\n".join(f"2020-{m:02d},{rng.randrange(1000, 9999)},EUR" for m in range(1, 13))
    return {
        "docs/readme.txt": f"Seized laptop, exhibit {seed}.\nDo not alter.\n".encode(),
        "docs/report.pdf": _pdf(f"Quarterly report {seed}"),
        "docs/budget.csv": f"month,amount,currency\n{rows}\n".encode(),
        "docs/private/passwords_backup.txt": f"mail: hunter{rng.randrange(100)}\nbank: 1234\n".encode(),
        "web/index.html": b"<!DOCTYPE html>\n<html><head><title>Shop</title></head>"
                          b"<body><h1>Order %d</h1></body></html>\n" % rng.randrange(10**6),
        "data/config.json": json.dumps({"user": "alice", "seed": seed, "servers": ["10.0.0.1", "10.0.0.2"]},
                                       sort_keys=True, indent=2).encode(),
        "data/blob.bin": rng.randbytes(300 * 1024),
        "images/logo.png": _png(16, 16, rng),
        "images/chart.bmp": _bmp(8, 6, rng),
        "images/old_screenshot.png": _png(24, 12, rng),
        "images/fotografía.png": _png(10, 10, rng),
        "archive/backup.zip": _zip({"ledger.csv": rows.encode(), "note.txt": b"meet at noon\n"}),
        "archive/old_backup_2019.zip": _zip({"old.txt": f"2019 copy {rng.random()}\n".encode()}),
        "notes/holiday.jpg": _pdf("Not a photo: a contract"),  # extension lies about the content
        "notes/empty.txt": b"",
    }


# --- file systems ------------------------------------------------------------------------

def _blank(dest: Path, size: int) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    with dest.open("wb") as handle:
        handle.truncate(size)


def _check_deletes(files: dict[str, bytes], delete: Sequence[str]) -> None:
    missing = [path for path in delete if path not in files]
    if missing:
        raise ValueError(f"cannot delete files that are not written: {missing}")


def _build_fat(dest: Path, files: dict[str, bytes], delete: Sequence[str], size_mib: int,
               hidden_sectors: int = 0, volume_id: str | None = None) -> str:
    """FAT via mkfs.vfat + mtools; returns the MBR type (FAT32 from 40 MiB, else FAT16).
    ``--invariant`` fixes the volume ID at 1234-ABCD unless ``volume_id`` (8 hex digits) is given."""
    _check_deletes(files, delete)
    _blank(dest, size_mib * MIB)
    fat32 = size_mib >= 40
    bits, per_cluster = ("32", "1") if fat32 else ("16", "1" if size_mib <= 32 else "2")
    _run("mkfs.vfat", "--invariant", *(("-i", volume_id) if volume_id else ()), "-n", "EVIDENCE",
         "-h", str(hidden_sectors), "-F", bits, "-s", per_cluster, str(dest))
    image = str(dest)
    dirs = sorted({"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)})
    if dirs:
        _run("mmd", "-i", image, *(f"::/{d}" for d in dirs))
    with tempfile.TemporaryDirectory() as tmp:
        for number, (path, data) in enumerate(sorted(files.items())):
            staged = Path(tmp, str(number))
            staged.write_bytes(data)
            os.utime(staged, (EPOCH, EPOCH))
            _run("mcopy", "-i", image, "-m", "-D", "o", str(staged), f"::/{path}")
    if delete:
        _run("mdel", "-i", image, *(f"::/{p}" for p in delete))
    return "c" if fat32 else "e"


def _build_ext4(dest: Path, files: dict[str, bytes], delete: Sequence[str], size_mib: int) -> None:
    """ext4 via mke2fs -d from a staging tree with fixed mtimes; deletions with debugfs rm."""
    _check_deletes(files, delete)
    unquotable = [path for path in files if '"' in path or "\n" in path]
    if unquotable:
        raise ValueError(f"debugfs cannot address paths containing '\"' or newlines: {unquotable}")
    _blank(dest, size_mib * MIB)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp, "root")
        root.mkdir()
        for path, data in files.items():
            target = root.joinpath(*path.split("/"))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        for entry in sorted(root.rglob("*"), key=lambda p: len(p.parts), reverse=True) + [root]:
            os.utime(entry, (EPOCH, EPOCH))
        _run("mke2fs", "-q", "-F", "-t", "ext4", "-b", "4096", "-L", "LINUXDATA", "-U", FS_UUID,
             "-E", f"root_owner=0:0,hash_seed={FS_UUID}", "-d", str(root), str(dest))
        # mke2fs copies each staged file's real ctime; pin it, then delete (dtime = fake time).
        stamp = time.strftime("%Y%m%d%H%M%S", time.gmtime(EPOCH))
        names = ["/"] + sorted("/" + p.relative_to(root).as_posix() for p in root.rglob("*"))
        commands = [f'sif "{name}" ctime {stamp}' for name in names] + [f'rm "/{p}"' for p in delete]
        script = Path(tmp, "debugfs.cmd")
        script.write_text("\n".join(commands) + "\n", encoding="utf-8")
        errors = [line for line in _run("debugfs", "-w", "-f", str(script), str(dest)).splitlines()
                  if line and not line.startswith("debugfs ")]
        if errors:  # debugfs exits 0 even when a request fails
            raise RuntimeError(f"debugfs on {dest} failed: {errors}")


def _build_ntfs(dest: Path, files: dict[str, bytes], size_mib: int, hidden_sectors: int) -> None:
    """NTFS via mkntfs -F -Q on a plain file; ntfscp can only write into existing (root) dirs."""
    require_tools("mkntfs", "ntfscp")
    _blank(dest, size_mib * MIB)
    _run("mkntfs", "-F", "-Q", "-q", "-L", "WINDATA", "-p", str(hidden_sectors), "-H", "255", "-S", "63",
         str(dest))
    with tempfile.TemporaryDirectory() as tmp:
        for number, (name, data) in enumerate(sorted(files.items())):
            staged = Path(tmp, str(number))
            staged.write_bytes(data)
            _run("ntfscp", str(dest), str(staged), name)


def build_fat_image(dest: Path, files: dict[str, bytes], *, delete: Sequence[str] = (),
                    size_mib: int = 16, volume_id: str | None = None) -> Path:
    """Unpartitioned FAT file system image holding `files`, with `delete` removed afterwards
    (``volume_id``: 8 hex digits; default 1234ABCD, as every image built with --invariant)."""
    _build_fat(Path(dest), files, delete, size_mib, volume_id=volume_id)
    return Path(dest)


def build_ext4_image(dest: Path, files: dict[str, bytes], *, delete: Sequence[str] = (),
                     size_mib: int = 16) -> Path:
    """Unpartitioned ext4 file system image holding `files`, with `delete` removed by debugfs."""
    _build_ext4(Path(dest), files, delete, size_mib)
    return Path(dest)


def _manifest(number: int, fs_type: str, files: dict[str, bytes], delete: Sequence[str]) -> list[PlantedFile]:
    return [PlantedFile(number, fs_type, path, hashlib.sha256(data).hexdigest(), len(data), path in delete)
            for path, data in sorted(files.items())]


def _place(image: Path, fs_file: Path, offset: int) -> None:
    """dd the file system into the (sparse, zeroed) image at `offset`, skipping zero chunks."""
    with fs_file.open("rb") as src, image.open("r+b") as dst:
        dst.seek(offset)
        while chunk := src.read(MIB):
            if chunk.count(0) == len(chunk):
                dst.seek(len(chunk), os.SEEK_CUR)
            else:
                dst.write(chunk)


def build_sample_image(dest: Path, *, size_mib: int = 64, with_ntfs: bool = False, seed: int = 1,
                       extra_files: dict[str, bytes] | None = None,
                       unpartitioned: tuple[int, bytes] | None = None) -> SampleImage:
    """MBR disk: 1 = FAT (label EVIDENCE) at 1 MiB, 2 = ext4 (LINUXDATA), optional 3 = NTFS (WINDATA).

    ``extra_files`` are planted on the FAT and ext4 file systems beside the sample tree;
    ``unpartitioned`` = (offset, bytes) is written before the first partition (found only by carving).
    """
    require_tools("sfdisk", "mkfs.vfat", "mmd", "mcopy", "mdel", "mke2fs", "debugfs")
    if with_ntfs:
        require_tools("mkntfs", "ntfscp")
    if size_mib < 32:
        raise ValueError(f"size_mib={size_mib}: a sample image needs at least 32 MiB")
    dest = Path(dest)
    ext_mib, ntfs_mib = size_mib // 3, (size_mib // 4 if with_ntfs else 0)
    sizes = [size_mib - 1 - ext_mib - ntfs_mib, ext_mib] + ([ntfs_mib] if with_ntfs else [])
    starts = [1 + sum(sizes[:i]) for i in range(len(sizes))]
    files = {**sample_files(seed), **(extra_files or {})}
    if unpartitioned and not SECTOR <= unpartitioned[0] <= MIB - len(unpartitioned[1]):
        raise ValueError("unpartitioned bytes must lie between the MBR and the first partition (1 MiB)")
    layouts = [("fat", {p: d for p, d in files.items() if p.isascii()}),
               ("ext4", files),
               ("ntfs", {p.rsplit("/", 1)[-1]: files[p] for p in NTFS_PICK})][:len(sizes)]
    _blank(dest, size_mib * MIB)
    planted: list[PlantedFile] = []
    table = [f"label: dos\nlabel-id: 0x{0xE71DE000 + seed % 0x1000:08x}\nunit: sectors\n"]
    with tempfile.TemporaryDirectory() as tmp:
        for number, ((fs_type, content), start, length) in enumerate(zip(layouts, starts, sizes), 1):
            fs_file, hidden = Path(tmp, f"p{number}.{fs_type}"), start * MIB // SECTOR
            deleted = [p for p in DELETED if p in content]
            if fs_type == "fat":
                mbr_type = _build_fat(fs_file, content, deleted, length, hidden)
            elif fs_type == "ext4":
                _build_ext4(fs_file, content, deleted, length)
                mbr_type = "83"
            else:
                _build_ntfs(fs_file, content, length, hidden)
                mbr_type = "7"
            boot = ", bootable" if number == 1 else ""
            table.append(f"start={hidden}, size={length * MIB // SECTOR}, type={mbr_type}{boot}\n")
            _place(dest, fs_file, start * MIB)
            planted += _manifest(number, fs_type, content, deleted)
    _run("sfdisk", "--quiet", "--no-reread", "--no-tell-kernel", "--wipe", "never", str(dest),
         stdin="".join(table).encode())
    if unpartitioned:
        with dest.open("r+b") as handle:
            handle.seek(unpartitioned[0])
            handle.write(unpartitioned[1])
    partitions = tuple((n, start * MIB, length * MIB, fs) for n, ((fs, _), start, length)
                       in enumerate(zip(layouts, starts, sizes), 1))
    return SampleImage(dest, size_mib * MIB, partitions, tuple(planted))


def build_luks_image(dest: Path, inner: Path, password: str) -> Path:
    """A LUKS1 (aes-xts-plain64) container holding the file-system image ``inner``.

    cryptsetup writes the header with a volume key we choose; the payload is then
    encrypted here with that key (XTS, 512-byte sectors, plain64 tweak = sector
    number), which is what dm-crypt would write, so no root or device mapper is needed.
    """
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

    require_tools("cryptsetup")
    data = inner.read_bytes()
    volume_key = random.Random(f"luks:{password}").randbytes(64)
    key_file = dest.with_suffix(".volume-key")
    key_file.write_bytes(volume_key)
    payload_sectors = 4096
    _blank(dest, payload_sectors * SECTOR + len(data))
    try:
        _run("cryptsetup", "luksFormat", "--type", "luks1", "--batch-mode", "--cipher", "aes-xts-plain64",
             "--key-size", "512", "--master-key-file", str(key_file), "--pbkdf-force-iterations", "1000",
             "--key-file", "-", str(dest), stdin=password.encode())
    finally:
        key_file.unlink()
    with open(dest, "r+b") as handle:
        handle.seek(payload_sectors * SECTOR)
        for sector in range(len(data) // SECTOR):
            encryptor = Cipher(algorithms.AES(volume_key), modes.XTS(sector.to_bytes(16, "little"))).encryptor()
            handle.write(encryptor.update(data[sector * SECTOR:(sector + 1) * SECTOR]) + encryptor.finalize())
    return dest
