#!/usr/bin/env python3
"""Carving benchmark: our carver against foremost on the same bytes of a >= 1 GiB disk image.

Builds (or reuses) the disk image of disk_image.py (ext4 + FAT32 of real files from /usr,
some deleted), then measures, each as one process (measure.py: wall time, peak RSS of the
process tree):

  ours-same     our carver over the whole image, restricted to foremost's formats
                (jpeg png gif bmp pdf zip pe), objects written to WORKDIR/ours-same
  ours-all      every carver in forensics.carving.CARVERS (adds tiff sqlite elf)
  ours-unalloc  every carver, over carve_ranges() of the image (unallocated blocks,
                unpartitioned space): what the pipeline carves
  foremost      foremost -t jpg,png,gif,bmp,pdf,zip,exe -i IMAGE -o WORKDIR/foremost

and prints MB/s (of image bytes scanned), objects found and peak RSS, plus WORKDIR/carve-results.json.

    .venv/bin/python bench/carve_bench.py [--size-gb 1.0] [--workdir DIR] [--rebuild] [--keep]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import disk_image  # noqa: E402  (bench/ is not a package)
import measure  # noqa: E402
from disk_image import MIB, log  # noqa: E402

DEFAULT_WORKDIR = Path("/tmp/forensics-bench")
FOREMOST_SAME = ("jpeg", "png", "gif", "bmp", "pdf", "zip", "pe")


def worker(image: str, out: str, formats: str, mode: str) -> None:
    """Runs inside the measured process: carve, store, print one JSON line of totals."""
    from forensics.carving import CARVERS, CarvedObject, CarveRange, DirectorySink, carve, carve_ranges
    from forensics.image import inspect_source
    from forensics.volumes import scan_volumes

    carvers = tuple(c for c in CARVERS if formats == "all" or c.name in formats.split(","))
    info = inspect_source(image)
    if mode == "whole":
        ranges = [CarveRange(info.media_locator, 0, info.media_size, "whole-image", None, 0)]
    else:
        ranges = list(carve_ranges(info.media_locator, scan_volumes(image)))
    scanned = sum(r.length for r in ranges if isinstance(r, CarveRange))
    sink = DirectorySink(out)
    counts: dict[str, int] = {}
    objects = partial = warnings = stored_bytes = 0
    for item in carve(ranges, sink, carvers=carvers):
        if isinstance(item, CarvedObject):
            objects += 1
            partial += item.status == "partial"
            stored_bytes += item.size
            counts[item.format] = counts.get(item.format, 0) + 1
        else:
            warnings += 1
    print(json.dumps({"scanned": scanned, "objects": objects, "partial": partial, "warnings": warnings,
                      "stored_bytes": stored_bytes, "formats": counts}))


def _foremost_counts(out: Path) -> dict:
    counts: dict[str, int] = {}
    for path in out.rglob("*"):
        if path.is_file() and path.name != "audit.txt":
            counts[path.suffix.lstrip(".")] = counts.get(path.suffix.lstrip("."), 0) + 1
    return {"objects": sum(counts.values()), "formats": counts}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size-gb", type=float, default=1.0)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--keep", action="store_true", help="keep the carved files")
    parser.add_argument("--worker", nargs=4, metavar=("IMAGE", "OUT", "FORMATS", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(*args.worker)
        return 0
    if not shutil.which("foremost"):
        log("foremost is not installed (apt-get install foremost): only ours is measured")
    args.workdir.mkdir(parents=True, exist_ok=True)
    manifest = disk_image.ensure_image(args.workdir, args.size_gb, rebuild=args.rebuild)
    image = Path(manifest["image"])
    size = image.stat().st_size
    logdir = args.workdir / "logs" / "carve"
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    rows = []
    plans = [("ours-same", ",".join(FOREMOST_SAME), "whole"), ("ours-all", "all", "whole"),
             ("ours-unalloc", "all", "ranges")]
    for name, formats, mode in plans:
        out = args.workdir / name
        shutil.rmtree(out, ignore_errors=True)
        measure.read_through(image)
        step = measure.run(name, [sys.executable, __file__, "--worker", str(image), str(out), formats, mode],
                           logdir, env=env)
        result = json.loads(Path(step.stdout).read_text().strip().splitlines()[-1]) if step.ok else {}
        rows.append((name, step, result.get("scanned", size), result))
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)
    if shutil.which("foremost"):
        out = args.workdir / "foremost"
        shutil.rmtree(out, ignore_errors=True)
        measure.read_through(image)
        step = measure.run("foremost", ["foremost", "-t", "jpg,png,gif,bmp,pdf,zip,exe", "-i", str(image),
                                        "-o", str(out)], logdir)
        rows.append(("foremost", step, size, _foremost_counts(out)))
        if not args.keep:
            shutil.rmtree(out, ignore_errors=True)

    print(f"\nimage {image} ({size / MIB:.0f} MiB), {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.2f}")
    print(f"{'':16}{'MB scanned':>11}{'wall s':>9}{'MB/s':>9}{'objects':>9}{'partial':>9}{'peak RSS MB':>13}")
    for name, step, scanned, result in rows:
        rate = scanned / MIB / step.wall_seconds if step.wall_seconds else 0
        print(f"{name:16}{scanned / MIB:11.1f}{step.wall_seconds:9.2f}{rate:9.1f}{result.get('objects', 0):9}"
              f"{result.get('partial', 0):9}{step.peak_rss / MIB:13.1f}" + ("" if step.ok else "  FAILED"))
    by_name = {name: (step, scanned) for name, step, scanned, _ in rows}
    if "foremost" in by_name and by_name["ours-same"][0].ok:
        ours, theirs = by_name["ours-same"][0], by_name["foremost"][0]
        verdict = "met" if ours.wall_seconds <= theirs.wall_seconds else "NOT met"
        print(f"\ntarget ours-same at least as fast as foremost: {ours.wall_seconds:.2f} s vs "
              f"{theirs.wall_seconds:.2f} s -> {verdict}")
    results = {"image": manifest, "host_cpus": os.cpu_count(), "time": time.strftime("%Y-%m-%dT%H:%M:%S"),
               "rows": [{"name": n, "scanned": s, "result": r, **st.as_dict()} for n, st, s, r in rows]}
    (args.workdir / "carve-results.json").write_text(json.dumps(results, indent=2, default=str) + "\n")
    return 0 if all(step.ok for _, step, _, _ in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
