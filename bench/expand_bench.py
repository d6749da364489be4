#!/usr/bin/env python3
"""Container expansion benchmark: an ext4 image holding a few thousand archives of real files.

Builds (or reuses) an ext4 file system (``mke2fs -d``) whose files are ARCHIVES archives made from
this machine's files (/usr/share/doc, /usr/lib/python3): ZIP (55 %), TAR.GZ (25 %), 7z (10 %),
ZIP in ZIP (5 %) and DOCX-like OOXML (5 %), 4–16 members each, plus as many loose files. Then, each
as one measured process (bench/measure.py: wall time, peak RSS of the process tree):

  ours-closed   forensics process --no-carve --no-expand     (the pipeline without looking inside)
  ours-expand   forensics process --no-carve                  (expand + derived stages on)
  peer          tsk_recover -e, then bsdtar -xf on every archive it recovered, again on archives
                found inside (three rounds): what a lab scripts to look inside archives

and prints members/s and MB/s of the expand stage (from its runs), the derived stage, what expansion
adds to the pipeline's wall time, and the peer's figures, plus WORKDIR/expand-results.json.

    .venv/bin/python bench/expand_bench.py [--archives 3000] [--workdir DIR] [--rebuild]
"""
from __future__ import annotations

import argparse
import gzip
import warnings
import io
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tarfile
import time
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import measure  # noqa: E402
from disk_image import MIB, log  # noqa: E402

DEFAULT_WORKDIR = Path("/tmp/forensics-expand-bench")
SOURCES = ("/usr/share/doc", "/usr/lib/python3")
ENV = dict(os.environ, LC_ALL="C.UTF-8", TZ="UTC")


def _pool(limit: int) -> list[Path]:
    files = []
    for source in SOURCES:
        for root, _, names in os.walk(source):
            for name in sorted(names):
                path = Path(root, name)
                if path.is_file() and not path.is_symlink() and 0 < path.stat().st_size <= 256 * 1024:
                    files.append(path)
            if len(files) >= limit:
                return files
    return files


def _zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def _tgz(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w") as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return gzip.compress(out.getvalue(), mtime=0)


def _7z(members: list[tuple[str, bytes]]) -> bytes:
    import py7zr

    out = io.BytesIO()
    with py7zr.SevenZipFile(out, "w") as archive:
        for name, data in members:
            archive.writestr(data, name)
    return out.getvalue()


def build(workdir: Path, count: int, rebuild: bool) -> tuple[Path, dict]:
    warnings.filterwarnings("ignore", "Duplicate name", UserWarning)
    image, manifest_path = workdir / f"archives-{count}.ext4", workdir / f"archives-{count}.json"
    if image.exists() and manifest_path.exists() and not rebuild:
        return image, json.loads(manifest_path.read_text())
    rng = random.Random(count)
    pool = _pool(count * 12)
    stage = workdir / "stage"
    shutil.rmtree(stage, ignore_errors=True)
    kinds = {"zip": 0, "tar.gz": 0, "7z": 0, "zip-in-zip": 0, "docx": 0}
    members_total, member_bytes = 0, 0
    for number in range(count):
        picked = rng.sample(pool, rng.randint(4, 16))
        members = [(f"{p.parent.name}/{i:02d}-{p.name}", p.read_bytes()) for i, p in enumerate(picked)]
        members_total += len(members)
        member_bytes += sum(len(d) for _, d in members)
        roll = rng.random()
        if roll < 0.55:
            kind, data, name = "zip", _zip(members), f"a{number}.zip"
        elif roll < 0.80:
            kind, data, name = "tar.gz", _tgz(members), f"a{number}.tar.gz"
        elif roll < 0.90:
            kind, data, name = "7z", _7z(members), f"a{number}.7z"
        elif roll < 0.95:
            kind, data, name = "zip-in-zip", _zip([("inner.zip", _zip(members))]), f"a{number}.zip"
            members_total += 1
        else:
            kind = "docx"
            data = _zip([("[Content_Types].xml", b'<?xml version="1.0"?><Types/>'),
                         ("word/document.xml", b"<w:document/>")] + [(f"word/media/{n}", d) for n, d in members])
            name = f"a{number}.docx"
            members_total += 2
        kinds[kind] += 1
        target = stage / f"d{number % 64}" / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        loose = rng.choice(pool)
        shutil.copyfile(loose, stage / f"d{number % 64}" / f"loose{number}{loose.suffix}")
    size = sum(p.stat().st_size for p in stage.rglob("*") if p.is_file())
    blocks = max(64 * MIB, int(size * 1.6)) // 4096
    image.unlink(missing_ok=True)
    with open(image, "wb") as handle:
        handle.truncate(blocks * 4096)
    subprocess.run(["mke2fs", "-q", "-t", "ext4", "-b", "4096", "-d", str(stage), "-F", str(image)], check=True,
                   env=ENV)
    manifest = {"archives": count, "kinds": kinds, "members": members_total, "member_bytes": member_bytes,
                "image_bytes": image.stat().st_size, "archive_bytes": size}
    manifest_path.write_text(json.dumps(manifest, indent=2))
    shutil.rmtree(stage, ignore_errors=True)
    return image, manifest


def run_ours(exe: str, image: Path, workdir: Path, expand: bool) -> dict:
    tag = "expand" if expand else "closed"
    db, data = workdir / f"ours-{tag}.db", workdir / f"ours-{tag}-data"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    shutil.rmtree(data, ignore_errors=True)
    env = dict(ENV, FORENSICS_DATA_DIR=str(data), FORENSICS_KEY_DIR=str(workdir / "no-keys"))
    base = [exe, "--db", f"sqlite:///{db}"]
    logs = workdir / "logs"
    for name, argv in (("case", [*base, "case", "create", "B"]),
                       ("add", [*base, "evidence", "add", str(image), "--case", "B", "--exhibit", "E",
                                "--examiner", "bench"])):
        step = measure.run(f"{tag}-{name}", argv, logs, env=env)
        if not step.ok:
            raise SystemExit(f"{name} failed: {step.error_tail()}")
    log(f"ours-{tag}: process ...")
    step = measure.run(f"{tag}-process", [*base, "process", "--case", "B", "--exhibit", "E", "--no-carve"]
                       + ([] if expand else ["--no-expand"]), logs, env=env)
    if not step.ok:
        raise SystemExit(f"process failed: {step.error_tail()}")
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)

    def span(stage: str) -> float:
        first, last = con.execute("SELECT MIN(started_at), MAX(ended_at) FROM processing_runs WHERE stage = ?",
                                  (stage,)).fetchone()
        if not first:
            return 0.0
        from datetime import datetime
        return (datetime.fromisoformat(last) - datetime.fromisoformat(first)).total_seconds()

    derived, derived_bytes = con.execute("SELECT COUNT(*), COALESCE(SUM(size), 0) FROM file_entries "
                                         "WHERE parent_id IS NOT NULL").fetchone()
    warnings = con.execute("SELECT COUNT(*) FROM processing_warnings WHERE stage = 'expand'").fetchone()[0]
    result = {"wall": step.wall_seconds, "peak_rss": step.peak_rss, "expand_s": span("expand"),
              "derived_s": span("derived"), "content_s": span("content"), "derived_entries": derived,
              "derived_bytes": derived_bytes, "expand_warnings": warnings}
    con.close()
    return result


def run_peer(image: Path, workdir: Path) -> dict:
    out = workdir / "peer"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = time.perf_counter()
    subprocess.run(["tsk_recover", "-e", str(image), str(out / "fs")], check=True, capture_output=True, env=ENV)
    extracted, rounds = 0, 0
    todo = [p for p in (out / "fs").rglob("*") if p.suffix in (".zip", ".gz", ".7z", ".docx")]
    while todo and rounds < 3:
        rounds += 1
        found = []
        for number, archive in enumerate(todo):
            target = out / f"x{rounds}" / str(number)
            target.mkdir(parents=True)
            subprocess.run(["bsdtar", "-xf", str(archive), "-C", str(target)], capture_output=True, env=ENV)
            files = [p for p in target.rglob("*") if p.is_file()]
            extracted += len(files)
            found += [p for p in files if p.suffix in (".zip", ".gz", ".7z", ".tar")]
        todo = found
    wall = time.perf_counter() - started
    shutil.rmtree(out, ignore_errors=True)
    return {"wall": wall, "members": extracted}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--archives", type=int, default=3000)
    parser.add_argument("--workdir", type=Path, default=DEFAULT_WORKDIR)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--forensics", default=str(Path(sys.executable).with_name("forensics")))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    log(f"building (or reusing) an ext4 image with {args.archives} archives ...")
    image, manifest = build(args.workdir, args.archives, args.rebuild)
    log(f"image {image} ({manifest['image_bytes'] / MIB:,.0f} MiB): {manifest}")
    closed = run_ours(args.forensics, image, args.workdir, expand=False)
    opened = run_ours(args.forensics, image, args.workdir, expand=True)
    log("peer: tsk_recover + bsdtar ...")
    peer = run_peer(image, args.workdir)
    expand_s = max(opened["expand_s"], 1e-9)
    results = {"manifest": manifest, "closed": closed, "expand": opened, "peer": peer,
               "members_per_s": opened["derived_entries"] / expand_s,
               "mb_per_s": opened["derived_bytes"] / MIB / expand_s,
               "added_s": opened["wall"] - closed["wall"]}
    (args.workdir / "expand-results.json").write_text(json.dumps(results, indent=2, default=str))
    print(f"image: {manifest['archives']:,} archives {manifest['kinds']}, {manifest['members']:,} members "
          f"({manifest['member_bytes'] / MIB:,.0f} MiB) in {manifest['image_bytes'] / MIB:,.0f} MiB of ext4")
    print(f"ours, process without expansion: {closed['wall']:.1f} s, peak RSS {closed['peak_rss'] / MIB:,.0f} MiB")
    print(f"ours, process with expansion:    {opened['wall']:.1f} s, peak RSS {opened['peak_rss'] / MIB:,.0f} MiB "
          f"(+{results['added_s']:.1f} s: expand {opened['expand_s']:.1f} s, derived content pass "
          f"{opened['derived_s']:.1f} s)")
    print(f"  expand stage: {opened['derived_entries']:,} derived entries, "
          f"{opened['derived_bytes'] / MIB:,.0f} MiB -> {results['members_per_s']:,.0f} members/s, "
          f"{results['mb_per_s']:,.1f} MB/s; {opened['expand_warnings']} expand warnings")
    print(f"peer (tsk_recover -e + bsdtar -xf, 3 rounds): {peer['wall']:.1f} s, {peer['members']:,} files extracted "
          f"(extraction only: no hashing, typing or matching)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
