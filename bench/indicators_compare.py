#!/usr/bin/env python3
"""Identifier extraction against bulk_extractor on the same disk image: e-mail, URL, domain, card.

Builds an ext4 image from --mib MiB of /usr/share/doc (real text, about half of it gzip-compressed,
which both tools open) plus one planted file of payment card numbers written the ways people write
them; runs `forensics process --indicators --no-carve` on it and `bulk_extractor -x all -e email
-e accts -e gzip` on the same image, in the same run; then compares, per kind, the distinct
normalised values each found. Every value only bulk_extractor reported is classified: one our rules
refuse by design (an unlisted top-level domain, a card number failing Luhn or an issuer prefix, a URL
that differs only by where it ends) or MISSED. Values only ours found are counted and sampled.

    .venv/bin/python bench/indicators_compare.py [--mib 60] [--bulk-extractor /usr/local/bin/bulk_extractor]

bulk_extractor is not packaged for Debian bookworm: build it from its source (bench/README.md).
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

ROOT = Path(__file__).resolve().parents[1]
FORENSICS = str(ROOT / ".venv" / "bin" / "forensics")
MB = 1_000_000
CARDS = ("4539148803436467", "5105105105105100", "378282246310005", "6011000990139424", "3566002020360505",
         "4012888888881881", "4222222222222")
CARD_TEXT = "\n".join((
    f"visa {CARDS[0]} exp 04/28",
    f"mc {CARDS[1][:4]} {CARDS[1][4:8]} {CARDS[1][8:12]} {CARDS[1][12:]}",
    f"amex {CARDS[2][:4]}-{CARDS[2][4:10]}-{CARDS[2][10:]}",
    f"discover:{CARDS[3]};jcb {CARDS[4]}",
    f"old visa {CARDS[5]}  short visa {CARDS[6]}",
    "not cards: 4539148803436468 1234567812345678 0000000000000000 order 20261203000017",
)).encode()


def collect(limit: int) -> dict[str, bytes]:
    files, total = {}, 0
    for root, dirs, names in os.walk("/usr/share/doc"):
        dirs.sort()
        for name in sorted(names):
            path = Path(root, name)
            if path.is_symlink() or not path.is_file():
                continue
            data = path.read_bytes()
            files[str(path.relative_to("/usr/share"))] = data
            total += len(data)
            if total >= limit:
                return files
    return files


def norm_url(url: str) -> str:
    url = url.rstrip(".,;:!?)]}>'\"")
    match = re.match(r"(?i)^([a-z]+)://([^/?#]*)(.*)$", url)
    return f"{match.group(1).lower()}://{match.group(2).lower()}{match.group(3)}" if match else url


def ours(image: Path, work: Path) -> tuple[dict[str, set[str]], float]:
    url = f"sqlite:///{work / 'ours.db'}"
    env = {**os.environ, "FORENSICS_KEY_DIR": str(work / "keys")}

    def run(*args: str) -> str:
        return subprocess.run([FORENSICS, "--db", url, *args], check=True, capture_output=True, text=True,
                              env=env).stdout
    run("case", "create", "CMP")
    run("evidence", "add", str(image), "--case", "CMP", "--exhibit", "1", "--examiner", "bench")
    started = time.perf_counter()
    run("process", "--case", "CMP", "--exhibit", "1", "--no-carve", "--indicators")
    elapsed = time.perf_counter() - started
    found: dict[str, set[str]] = defaultdict(set)
    for line in run("indicators", "--case", "CMP", "--json").splitlines():
        row = json.loads(line)
        found[row["kind"]].add(norm_url(row["value"]) if row["kind"] == "url" else row["value"])
    return found, elapsed


def peer(binary: str, image: Path, work: Path) -> tuple[dict[str, set[str]], float]:
    out = work / "be"
    started = time.perf_counter()
    subprocess.run([binary, "-o", str(out), "-x", "all", "-e", "email", "-e", "accts", "-e", "gzip", str(image)],
                   check=True, capture_output=True)
    elapsed = time.perf_counter() - started
    found: dict[str, set[str]] = defaultdict(set)
    for feature, kind in (("email", "email"), ("url", "url"), ("domain", "host"), ("ccn", "card")):
        path = out / f"{feature}.txt"
        if not path.exists():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if not line or line.startswith("#"):
                continue
            parts = line.split("\t")
            if len(parts) < 2:
                continue
            value = parts[1]
            if kind == "email":
                value = value.lower()
            elif kind == "url":
                value = norm_url(value)
            elif kind == "card":
                value = re.sub(r"\D", "", value)
            found[kind].add(value)
    return found, elapsed


def classify(kind: str, value: str, mine: set[str]) -> str:
    from forensics.indicators.checks import luhn
    from forensics.indicators.registry import registrable

    if kind == "email":
        return "unlisted TLD (refused by design)" if registrable(value.rsplit("@", 1)[-1]) is None else "MISSED"
    if kind == "url":
        if any(value.startswith(m) or m.startswith(value) for m in mine):
            return "same URL, another end (boundary)"
        host = re.sub(r"^[a-z]+://", "", value).split("/")[0].split(":")[0]
        return "host has no listed suffix (refused by design)" if registrable(host) is None else "MISSED"
    if kind == "domain":
        return "MISSED"
    if kind == "card":
        if value in CARDS:
            return "MISSED"
        return "fails Luhn (refused)" if not luhn(value) else "not planted: a false positive (an id or hash digits)"
    return "MISSED"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mib", type=int, default=60)
    parser.add_argument("--bulk-extractor", default=shutil.which("bulk_extractor") or "/usr/local/bin/bulk_extractor")
    parser.add_argument("--work", type=Path, default=None)
    args = parser.parse_args()
    if not Path(args.bulk_extractor).exists():
        print("bulk_extractor not found: build it from source (bench/README.md) or give --bulk-extractor")
        return 2
    from forensics.indicators.registry import registrable
    from forensics.sample import build_ext4_image

    work = args.work or Path(tempfile.mkdtemp(prefix="indicators-compare-"))
    work.mkdir(parents=True, exist_ok=True)
    files = collect(args.mib << 20)
    files["cards/payments.txt"] = CARD_TEXT
    size = sum(map(len, files.values()))
    image = build_ext4_image(work / "docs.img", files, size_mib=size * 13 // 10 // (1 << 20) + 64)
    version = subprocess.run([args.bulk_extractor, "-V"], capture_output=True, text=True).stdout.strip()
    print(f"{len(files):,} files, {size / MB:.1f} MB of /usr/share/doc (+ planted cards) in {image} "
          f"({image.stat().st_size / MB:.0f} MB ext4)")
    theirs, peer_time = peer(args.bulk_extractor, image, work)
    mine, our_time = ours(image, work)
    # domains: bulk_extractor lists hosts (from e-mails, URLs and text); compare their registrable domains
    # with ours (from our URLs and e-mail addresses)
    theirs["domain"] = {d for d in (registrable(h) for h in theirs.pop("host", set())) if d}
    mine_domains = set(mine.get("domain", set())) | {d for d in (registrable(e.rsplit("@", 1)[-1])
                                                                 for e in mine.get("email", ())) if d}
    print(f"ours: forensics process --indicators --no-carve {our_time:.1f} s (walk, digests, types, "
          f"expansion of .gz, identifiers); {version}: {peer_time:.1f} s (email, accts, gzip scanners only)\n")
    print(f"{'kind':7} {'both':>6} {'ours only':>10} {'BE only':>8}  BE-only by reason")
    missed = 0
    for kind in ("email", "url", "domain", "card"):
        ours_set = mine_domains if kind == "domain" else mine.get(kind, set())
        their_set = theirs.get(kind, set())
        only_theirs = sorted(their_set - ours_set)
        reasons: dict[str, list[str]] = defaultdict(list)
        for value in only_theirs:
            reasons[classify(kind, value, ours_set)].append(value)
        missed += len(reasons.get("MISSED", ()))
        summary = "; ".join(f"{reason}: {len(values)} (e.g. {values[0][:60]})" for reason, values in
                            sorted(reasons.items())) or "-"
        print(f"{kind:7} {len(ours_set & their_set):6,} {len(ours_set - their_set):10,} {len(only_theirs):8,}  "
              f"{summary}")
        extra = sorted(ours_set - their_set)
        if extra:
            print(f"{'':7} ours only, e.g.: {', '.join(v[:50] for v in extra[:3])}")
    planted = set(CARDS)
    print(f"\nplanted cards (7 valid; 4 look-alikes that are not): ours {len(planted & mine.get('card', set()))}/7, "
          f"bulk_extractor {len(planted & theirs.get('card', set()))}/7; look-alikes reported: ours "
          f"{len(mine.get('card', set()) - planted)}, bulk_extractor {len(theirs.get('card', set()) - planted)}")
    print("every value bulk_extractor found is ours too, or refused by a stated rule" if not missed else
          f"{missed} value(s) bulk_extractor found that ours MISSED")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
