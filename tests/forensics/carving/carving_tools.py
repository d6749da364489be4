"""Running the independent carvers (foremost, photorec) and TSK's blkls/mmls for comparison."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

SUPPORTED = {"jpg": "jpeg", "jpeg": "jpeg", "png": "png", "gif": "gif", "bmp": "bmp", "tif": "tiff", "tiff": "tiff",
             "pdf": "pdf", "zip": "zip", "docx": "zip", "xlsx": "zip", "pptx": "zip", "odt": "zip", "ods": "zip",
             "odp": "zip", "jar": "zip", "apk": "zip", "epub": "zip", "sqlite": "sqlite", "exe": "pe", "dll": "pe",
             "elf": "elf"}
"""Their file extensions -> our carver family (formats both sides claim to carve)."""


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _collect(root: Path) -> list[tuple[str, str, Path]]:
    found = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.name in ("audit.txt", "report.xml", "photorec.log"):
            continue
        ext = path.suffix.lstrip(".").lower()
        found.append((ext, sha256_file(path), path))
    return found


def run_foremost(image: Path, out: Path) -> list[tuple[str, str, Path]]:
    """foremost's built-in types that overlap ours (it has no TIFF, SQLite or ELF carver)."""
    subprocess.run(["foremost", "-t", "jpg,png,gif,bmp,pdf,zip,exe", "-i", str(image), "-o", str(out)],
                   capture_output=True, check=True, timeout=300)
    return _collect(out)


def run_photorec(image: Path, out: Path) -> list[tuple[str, str, Path]]:
    """photorec's command mode over the whole image (no partition table, every file type, paranoid)."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(["photorec", "/log", "/d", str(out / "recup"), "/cmd", str(image.resolve()),
                    "partition_none,options,paranoid,fileopt,everything,enable,wholespace,search"],
                   capture_output=True, check=True, timeout=300, cwd=out, stdin=subprocess.DEVNULL)
    return _collect(out)


def blkls_unallocated(image: Path, sector_offset: int) -> set[int]:
    out = subprocess.run(["blkls", "-l", "-A", "-o", str(sector_offset), str(image)], capture_output=True,
                         text=True, check=True).stdout.splitlines()
    return {int(line.split("|")[0]) for line in out[3:] if line.endswith("|f")}


def mmls_unallocated(image: Path) -> list[tuple[int, int]]:
    """(start sector, length in sectors) of mmls's "Unallocated" rows."""
    rows = []
    for line in subprocess.run(["mmls", str(image)], capture_output=True, text=True, check=True).stdout.splitlines():
        parts = line.split()
        if len(parts) >= 6 and parts[-1] == "Unallocated":
            rows.append((int(parts[2]), int(parts[4])))
    return rows


def have(*tools: str) -> bool:
    return all(shutil.which(t) for t in tools)
