"""The walk checked against The Sleuth Kit's own tools (fls, istat, icat), not against itself.

For every image TSK can read, the set of (path, inode, deleted) our walk yields must equal
the set `fls -r -p` prints; sizes are checked against `istat` and SHA-256 against `icat`.
The corpus part uses ../shared/corpus (the TSK 4.11 listings in refs/, live fls for
partitioned images); the self-built part makes its own disk with forensics.sample.
"""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest

from forensics.errors import ItemError
from forensics.hashing import Digester
from forensics.models import FileRecord, WalkWarning
from forensics.sample import SampleImage, SampleToolMissing, build_sample_image, require_tools
from forensics.volumes import scan_volumes
from forensics.walk import walk_file_system

CORPUS = Path(__file__).resolve().parents[2] / ".." / "shared" / "corpus"
SECTOR = 512
SAMPLE_SIZE = 5  # files per image checked with istat / icat
HAVE = {tool: shutil.which(tool) is not None for tool in ("fls", "istat", "icat", "mmls", "qemu-img")}

Row = tuple[str, int, bool]  # (path with leading '/', inode, deleted)


# --- The Sleuth Kit output -----------------------------------------------------------------

@dataclass(frozen=True)
class FlsEntry:
    """One `fls -r -p` line: 'r/r * 14(realloc):<TAB>docs/x.txt', 'r/r 8-128-1:<TAB>$BadClus:$Bad'."""

    path: str        # with a leading '/', like FileRecord.path
    address: str     # what icat/istat take: '14', or NTFS 'entry-type-id'
    inode: int       # the number before the first '-'
    deleted: bool    # fls printed '*' (the name is unallocated)
    types: str       # 'r/r', 'd/d', 'V/V', '-/r', ...

    @property
    def row(self) -> Row:
        return (self.path, self.inode, self.deleted)


def parse_fls(text: str) -> list[FlsEntry]:
    entries = []
    for line in text.splitlines():
        if not line.strip():
            continue
        meta, sep, name = line.partition(":\t")
        assert sep, f"not an fls -p line: {line!r}"
        fields = meta.split()
        address = fields[-1].removesuffix("(realloc)")
        entries.append(FlsEntry(path="/" + name, address=address, inode=int(address.split("-")[0]),
                                deleted="*" in fields[1:-1], types=fields[0]))
    return entries


def parse_mmls_starts(text: str) -> list[int]:
    """Start sectors of the partitions (slot 'NNN:NNN'; not Meta or Unallocated rows)."""
    starts = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) >= 5 and re.fullmatch(r"\d+:", fields[0]) and re.fullmatch(r"\d+:\d+", fields[1]):
            starts.append(int(fields[2]))
    return starts


def parse_istat_size(text: str, stream: str = "") -> int:
    """The size istat prints: NTFS per $DATA (or named $INDEX_ROOT) attribute, else one 'size:' line."""
    want = stream or "N/A"
    for match in re.finditer(r"^Type: \$(?:DATA|INDEX_ROOT) \(\d+-\d+\)\s+Name: (.*?)\s+(?:Non-)?Resident.*?size: (\d+)",
                             text, re.MULTILINE):
        if match.group(1) == want:
            return int(match.group(2))
    assert not stream, f"no $DATA/$INDEX_ROOT stream {stream!r} in istat output:\n{text}"
    match = re.search(r"^size:\s*(\d+)", text, re.MULTILINE | re.IGNORECASE)
    assert match, f"no size in istat output:\n{text}"
    return int(match.group(1))


def tsk_image_args(image: Path) -> list[str]:
    """The image as TSK takes it: every segment of a split raw image, in order; else the file."""
    if re.fullmatch(r"\d{3}", image.suffix.lstrip(".")):
        stem = image.name[: -len(image.suffix)]
        segments = sorted(p for p in image.parent.iterdir()
                          if p.name.startswith(stem + ".") and re.fullmatch(r"\.\d{3}", p.suffix)
                          and p.name[: -len(p.suffix)] == stem)
        return [str(p) for p in segments]
    return [str(image)]  # E01/VHD/VMDK: TSK opens them itself (EWF from the first segment)


class TSKError(RuntimeError):
    """A Sleuth Kit tool exited non-zero (e.g. no file system at that offset)."""


def run_tsk(tool: str, image: Path, sector: int, *args: str) -> bytes:
    """Runs `tool [-o sector] image... args` (argument list, no shell); returns its stdout."""
    offset = ["-o", str(sector)] if sector else []
    proc = subprocess.run([tool, *offset, *tsk_image_args(image), *args], capture_output=True, check=False)
    if proc.returncode != 0:
        raise TSKError(f"{tool} {' '.join(args)} on {image.name} at sector {sector}: "
                       f"{proc.stderr.decode(errors='replace').strip()}")
    return proc.stdout


def live_fls(image: Path, sector: int) -> list[FlsEntry]:
    return parse_fls(run_tsk("fls", image, sector, "-r", "-p").decode("utf-8", "backslashreplace"))


def live_listings(image: Path) -> dict[int, list[FlsEntry]]:
    """Start sector -> fls listing, for every partition mmls reports that holds a file system TSK reads."""
    try:
        starts = parse_mmls_starts(run_tsk("mmls", image, 0).decode()) if HAVE["mmls"] else []
    except TSKError:
        starts = []  # mmls exits 1 when there is no partition table: a bare file system
    listings = {}
    for start in starts or [0]:
        try:
            listings[start] = live_fls(image, start)
        except TSKError:
            continue  # no file system TSK knows in this partition
    return listings


def test_parse_fls_line_forms() -> None:
    text = ("r/r 16:\ta_directory/another_file\n"
            "r/- * 0:\tpasswords.txt~\n"
            "r/r 8-128-1:\t$BadClus:$Bad\n"
            "V/V 17:\t$OrphanFiles\n"
            "r/r * 14(realloc):\tdocs/x.txt\n")
    assert [(e.row, e.address, e.types) for e in parse_fls(text)] == [
        (("/a_directory/another_file", 16, False), "16", "r/r"),
        (("/passwords.txt~", 0, True), "0", "r/-"),
        (("/$BadClus:$Bad", 8, False), "8-128-1", "r/r"),
        (("/$OrphanFiles", 17, False), "17", "V/V"),
        (("/docs/x.txt", 14, True), "14", "r/r"),
    ]


def test_parse_istat_sizes() -> None:
    assert parse_istat_size("inode: 14\nAllocated\nsize: 53\n") == 53          # ext2/3/4
    assert parse_istat_size("Directory Entry: 12\nSize: 512\n") == 512          # FAT, ISO 9660
    ntfs = ("Allocated Size: 0   \tActual Size: 0\n"
            "Type: $DATA (128-2)   Name: N/A   Resident   size: 0\n"
            "Type: $DATA (128-1)   Name: $Bad   Non-Resident   size: 28307456  init_size: 0\n")
    assert parse_istat_size(ntfs) == 0 and parse_istat_size(ntfs, "$Bad") == 28307456


# --- our side ------------------------------------------------------------------------------

def tsk_printable(path: str) -> str:
    """fls replaces control characters (< 0x20) in names with '^' (tsk_fs_name_print)."""
    return "".join("^" if ord(c) < 0x20 else c for c in path)


def record_row(record: FileRecord) -> Row:
    return (tsk_printable(record.path), record.inode or 0, not record.allocated)


@cache
def walk_image(image: Path) -> dict[int, tuple[FileRecord, ...]]:
    """Start sector -> records of every file system our scan finds in `image`."""
    walked: dict[int, tuple[FileRecord, ...]] = {}
    for volume in scan_volumes(str(image)):
        if volume.kind != "filesystem":
            continue
        sector = (volume.offset or 0) // SECTOR
        assert sector not in walked, f"two file systems at sector {sector} of {image.name}"
        items = list(walk_file_system(volume.locator))
        fatal = [w for w in items if isinstance(w, WalkWarning) and w.fatal]
        assert not fatal, f"{image.name} {volume.volume_path}: {fatal}"
        walked[sector] = tuple(r for r in items if isinstance(r, FileRecord))
    return walked


def row_difference(ours: Iterable[FileRecord], theirs: Iterable[FlsEntry]) -> str:
    """'' when the (path, inode, deleted) sets agree, else both one-sided differences."""
    mine, tsk = {record_row(r) for r in ours}, {e.row for e in theirs}
    if mine == tsk:
        return ""
    return ("\n  only in our walk: " + repr(sorted(mine - tsk))
            + "\n  only in fls:      " + repr(sorted(tsk - mine)))


def assert_same_listings(image: Path, ours: dict[int, tuple[FileRecord, ...]],
                         theirs: dict[int, list[FlsEntry]]) -> None:
    assert sorted(ours) == sorted(theirs), f"{image.name}: file systems at sectors {sorted(ours)}, " \
                                           f"TSK reads {sorted(theirs)}"
    problems = [f"sector {s}:{d}" for s in sorted(theirs) if (d := row_difference(ours[s], theirs[s]))]
    assert not problems, f"{image.name} differs from fls -r -p:\n" + "\n".join(problems)


def regular_files(records: Iterable[FileRecord], allocated: bool) -> list[FileRecord]:
    return sorted((r for r in records if r.allocated is allocated and r.meta_type == "r"
                   and r.has_content and r.inode), key=lambda r: r.path)


def spread(items: list, count: int = SAMPLE_SIZE) -> list:
    """Up to `count` items spread evenly over `items` (deterministic)."""
    if len(items) <= count:
        return items
    return [items[i * len(items) // count] for i in range(count)]


def content_sample(records: tuple[FileRecord, ...]) -> list[FileRecord]:
    """Live files, every NTFS named stream the walk offers as content (few), and deleted files."""
    live = regular_files(records, allocated=True)
    return (spread([r for r in live if not r.data_stream])
            + spread([r for r in live if r.data_stream], 12)
            + spread(regular_files(records, allocated=False)))


def fls_address(record: FileRecord, listing: list[FlsEntry]) -> str:
    """The address icat needs: fls's 'entry-type-id' for NTFS streams, else the inode."""
    for entry in listing:
        if entry.path == tsk_printable(record.path) and entry.inode == record.inode and "r" in entry.types:
            return entry.address
    return str(record.inode)


def check_sizes(image: Path, ours: dict[int, tuple[FileRecord, ...]]) -> None:
    """Default streams of live files, and NTFS named $DATA streams (the walk gives those a size)."""
    mismatches = []
    for sector, records in sorted(ours.items()):
        live = regular_files(records, allocated=True)
        for record in (spread([r for r in live if not r.data_stream])
                       + spread([r for r in live if r.data_stream and r.size is not None], 12)):
            text = run_tsk("istat", image, sector, str(record.inode)).decode("utf-8", "replace")
            if (size := parse_istat_size(text, record.data_stream)) != record.size:
                mismatches.append(f"sector {sector} {record.path} inode {record.inode}: "
                                  f"walk size {record.size}, istat {size}")
    assert not mismatches, "\n".join(mismatches)


def icat_sha256(image: Path, sector: int, address: str) -> str:
    try:
        return hashlib.sha256(run_tsk("icat", image, sector, address)).hexdigest()
    except TSKError as exc:
        # An NTFS entry without any $DATA attribute (e.g. reserved MFT entries 16-23, listed as
        # $OrphanFiles/OrphanFile-16...): icat finds nothing to print; its content is empty.
        if "Attribute 128 not found" in str(exc):
            return hashlib.sha256(b"").hexdigest()
        raise


def check_contents(image: Path, ours: dict[int, tuple[FileRecord, ...]],
                   listings: dict[int, list[FlsEntry]]) -> None:
    digester, mismatches = Digester(), []
    for sector, records in sorted(ours.items()):
        for record in content_sample(records):
            address = fls_address(record, listings.get(sector, []))
            try:
                expected = icat_sha256(image, sector, address)
            except TSKError as exc:
                if "partial image" not in str(exc):
                    raise
                expected = "unreadable"   # data lies past the end of a truncated image
            try:
                got = digester.digest(record.locator, record.path).sha256
            except ItemError as exc:  # the failure itself is the finding
                got = "unreadable" if expected == "unreadable" else f"ItemError: {exc}"
            if got != expected:
                state = "live" if record.allocated else "deleted"
                mismatches.append(f"sector {sector} {state} {record.path} (icat {address}): "
                                  f"Digester {got}, icat {expected}")
    assert not mismatches, "\n".join(mismatches)


# --- the corpus ----------------------------------------------------------------------------

@dataclass(frozen=True)
class CorpusImage:
    path: str        # relative to the corpus, e.g. 'dfvfs/ext2.E01'
    kind: str        # 'fs' (refs/*.fls.txt), 'volumes' (refs/*.mmls.txt) or 'qcow' (TSK cannot open it)
    ref: str | None  # refs/... listing, when there is one


def corpus_images() -> list[CorpusImage]:
    """Rows of MANIFEST.md's table that TSK reads, plus the QCOW images it cannot."""
    manifest = CORPUS / "MANIFEST.md"
    if not manifest.is_file():
        return []
    images = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 4 or not line.startswith("|"):
            continue
        path, sees = cells[0], cells[3]
        if sees.startswith("fs:"):
            ref = re.search(r"refs/\S+?\.fls\.txt", sees)
            images.append(CorpusImage(path, "fs", ref.group(0) if ref else None))
        elif sees.startswith("volumes:"):
            images.append(CorpusImage(path, "volumes", "refs/" + path.replace("/", "__") + ".mmls.txt"))
        elif path.endswith((".qcow2", ".qcow")):
            images.append(CorpusImage(path, "qcow", None))
    return images


def corpus_params(kinds: tuple[str, ...]) -> list:
    images = [i for i in corpus_images() if i.kind in kinds]
    if not images:
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus at {CORPUS.resolve()}"))]
    return [pytest.param(i, id=i.path) for i in images]


TSK_READABLE = corpus_params(("fs", "volumes"))


def tsk_listings(image: CorpusImage) -> dict[int, list[FlsEntry]]:
    """The TSK side for a corpus image: the stored fls listing, or live fls per partition."""
    if image.kind == "fs":
        assert image.ref, f"{image.path}: MANIFEST names no refs/*.fls.txt"
        text = (CORPUS / image.ref).read_text(encoding="utf-8", errors="backslashreplace")
        return {0: parse_fls(text)}
    if not HAVE["fls"]:
        pytest.skip("fls (The Sleuth Kit) is not installed: partitioned images need a live listing")
    starts = parse_mmls_starts((CORPUS / image.ref).read_text(encoding="utf-8"))
    assert starts, f"{image.ref} lists no partitions"
    listings = {}
    for start in starts:
        try:
            listings[start] = live_fls(CORPUS / image.path, start)
        except TSKError:
            continue  # partition without a file system TSK knows
    return listings


@pytest.mark.corpus
@pytest.mark.parametrize("image", TSK_READABLE)
def test_walk_matches_fls(image: CorpusImage) -> None:
    path = CORPUS / image.path
    assert_same_listings(path, walk_image(path), tsk_listings(image))


@pytest.mark.corpus
@pytest.mark.parametrize("image", TSK_READABLE)
def test_sizes_match_istat(image: CorpusImage) -> None:
    if not HAVE["istat"]:
        pytest.skip("istat (The Sleuth Kit) is not installed")
    path = CORPUS / image.path
    check_sizes(path, walk_image(path))


@pytest.mark.corpus
@pytest.mark.parametrize("image", TSK_READABLE)
def test_contents_match_icat(image: CorpusImage) -> None:
    if not HAVE["icat"]:
        pytest.skip("icat (The Sleuth Kit) is not installed")
    path = CORPUS / image.path
    listings = tsk_listings(image) if image.kind == "fs" or HAVE["fls"] else {}
    check_contents(path, walk_image(path), listings)


QCOW_IMAGES = corpus_params(("qcow",))


@pytest.fixture(scope="module")
def qcow_as_raw(tmp_path_factory: pytest.TempPathFactory) -> Callable[[CorpusImage], Path]:
    """TSK cannot open QCOW: qemu-img (independent of dfvfs/libqcow) converts it to raw for TSK."""
    converted: dict[str, Path] = {}

    def convert(image: CorpusImage) -> Path:
        if not (HAVE["qemu-img"] and HAVE["fls"]):
            pytest.skip("needs qemu-img and fls")
        if image.path not in converted:
            raw = tmp_path_factory.mktemp("qcow") / (Path(image.path).name + ".raw")
            subprocess.run(["qemu-img", "convert", "-O", "raw", str(CORPUS / image.path), str(raw)],
                           capture_output=True, check=True)
            converted[image.path] = raw
        return converted[image.path]
    return convert


@pytest.mark.corpus
@pytest.mark.parametrize("image", QCOW_IMAGES)
def test_qcow_walk_matches_fls_of_raw_conversion(image: CorpusImage,
                                                 qcow_as_raw: Callable[[CorpusImage], Path]) -> None:
    theirs = live_listings(qcow_as_raw(image))
    if not theirs:
        pytest.skip(f"TSK reads no file system inside {image.path} (e.g. LVM)")
    assert_same_listings(CORPUS / image.path, walk_image(CORPUS / image.path), theirs)


@pytest.mark.corpus
@pytest.mark.parametrize("image", QCOW_IMAGES)
def test_qcow_sizes_and_contents_match_tsk_of_raw_conversion(
        image: CorpusImage, qcow_as_raw: Callable[[CorpusImage], Path]) -> None:
    raw = qcow_as_raw(image)
    listings = live_listings(raw)
    if not listings:
        pytest.skip(f"TSK reads no file system inside {image.path} (e.g. LVM)")
    ours = {sector: records for sector, records in walk_image(CORPUS / image.path).items()
            if sector in listings}
    if HAVE["istat"]:
        check_sizes(raw, ours)
    if HAVE["icat"]:
        check_contents(raw, ours, listings)


@pytest.mark.corpus
def test_ext2_qcow2_walks_like_ext2_raw() -> None:
    """dfvfs/ext2.qcow2 holds the same file system as dfvfs/ext2.raw (TSK's listing in refs)."""
    qcow, raw = CORPUS / "dfvfs" / "ext2.qcow2", CORPUS / "dfvfs" / "ext2.raw"
    if not (qcow.is_file() and raw.is_file()):
        pytest.skip(f"no corpus at {CORPUS.resolve()}")
    from_qcow, from_raw = walk_image(qcow), walk_image(raw)
    assert list(from_qcow) == list(from_raw) == [0]
    assert {record_row(r) for r in from_qcow[0]} == {record_row(r) for r in from_raw[0]}
    ref = parse_fls((CORPUS / "refs" / "dfvfs__ext2.raw.fls.txt").read_text(encoding="utf-8"))
    assert not row_difference(from_qcow[0], ref), row_difference(from_qcow[0], ref)


# --- a disk we build ourselves -------------------------------------------------------------

@pytest.fixture(scope="module", params=["fat+ext4", "fat+ext4+ntfs"])
def sample(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> SampleImage:
    with_ntfs = request.param.endswith("ntfs")
    try:
        require_tools("sfdisk", "mkfs.vfat", "mke2fs", *(("mkntfs", "ntfscp") if with_ntfs else ()))
        if not all(HAVE[tool] for tool in ("fls", "icat")):
            pytest.skip("The Sleuth Kit (fls, icat) is not installed")
        return build_sample_image(tmp_path_factory.mktemp("accuracy") / "disk.raw", with_ntfs=with_ntfs)
    except SampleToolMissing as missing:
        pytest.skip(str(missing))


def sample_partitions(sample: SampleImage) -> Iterable[tuple[int, str, int, tuple[FileRecord, ...]]]:
    """(number, fs type, start sector, our records) per partition of the sample disk."""
    walked = walk_image(sample.path)
    for number, start, _, fs_type in sample.partitions:
        assert start // SECTOR in walked, f"no file system found in partition {number} ({fs_type})"
        yield number, fs_type, start // SECTOR, walked[start // SECTOR]


def test_sample_walk_matches_live_fls(sample: SampleImage) -> None:
    problems = [f"partition {number} ({fs_type}, fls -r -p -o {sector}):{difference}"
                for number, fs_type, sector, records in sample_partitions(sample)
                if (difference := row_difference(records, live_fls(sample.path, sector)))]
    assert sorted(walk_image(sample.path)) == [start // SECTOR for _, start, _, _ in sample.partitions]
    assert not problems, "\n".join(problems)


def test_sample_planted_files(sample: SampleImage) -> None:
    """Every planted file is at its path with the right allocated flag; live ones hash as planted."""
    digester, problems = Digester(), []
    for number, fs_type, _, records in sample_partitions(sample):
        by_path = {r.path: r for r in records if not r.data_stream}
        for planted in (f for f in sample.files if f.partition == number):
            where = f"partition {number} ({fs_type}) /{planted.path}"
            record = by_path.get("/" + planted.path)
            if record is None:
                problems.append(f"{where}: not found")
            elif record.allocated is planted.deleted:
                problems.append(f"{where}: allocated={record.allocated}, planted deleted={planted.deleted}")
            elif record.size != planted.size:
                problems.append(f"{where}: size {record.size}, planted {planted.size}")
            elif not planted.deleted and (
                    digester.digest(record.locator, record.path).sha256 != planted.sha256):
                problems.append(f"{where}: SHA-256 differs from the planted one")
    assert not problems, "\n".join(problems)


def test_sample_deleted_files_still_hash(sample: SampleImage) -> None:
    """Deleted planted files are still addressable, so they hash as planted.

    FAT keeps a deleted file's first cluster and size, and mcopy wrote its clusters contiguously
    with nothing written after the delete. On ext4 this holds only because the sample deletes with
    debugfs `rm`, which releases the blocks but leaves the inode's extent tree and size; the kernel's
    ext4 driver would zero the extents and size on unlink, and then only FAT could be asserted.
    """
    digester, problems = Digester(), []
    for number, fs_type, _, records in sample_partitions(sample):
        by_path = {r.path: r for r in records}
        for planted in (f for f in sample.files if f.partition == number and f.deleted):
            record = by_path["/" + planted.path]
            try:
                got = digester.digest(record.locator, record.path).sha256
            except ItemError as exc:  # the failure itself is the finding
                got = f"ItemError: {exc}"
            if got != planted.sha256:
                problems.append(f"partition {number} ({fs_type}) /{planted.path} "
                                f"inode {record.inode}: {got}")
    assert not problems, "\n".join(problems)


def test_sample_sizes_and_contents_match_tsk(sample: SampleImage) -> None:
    ours = walk_image(sample.path)
    if HAVE["istat"]:
        check_sizes(sample.path, ours)
    check_contents(sample.path, ours, {sector: live_fls(sample.path, sector) for sector in ours})
