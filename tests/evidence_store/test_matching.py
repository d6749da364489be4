"""Matchers in the pipeline: YARA, hash sets, PDQ and TLSH findings, safety flags, bad input."""
from __future__ import annotations

import hashlib
import io
import json
import random

import pytest

from forensics.sample import build_fat_image
from tests.conftest import cli_for, require_tools

RULES = """
rule pdf_document : document { meta: author = "lab" strings: $pdf = "%PDF-" condition: $pdf at 0 }
rule secret_marker { strings: $s = "TOP-SECRET-MARKER" condition: $s and filename matches /\\.txt$/ }
"""


def _picture(seed: int, size=(320, 240)):
    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", size, (rng.randrange(256), 90, 160))
    draw = ImageDraw.Draw(image)
    for _ in range(40):
        x, y = rng.randrange(size[0]), rng.randrange(size[1])
        draw.ellipse((x, y, x + rng.randrange(20, 90), y + rng.randrange(20, 90)),
                     fill=(rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    return image


def _jpeg(image, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=90, **options)
    return buffer.getvalue()


@pytest.fixture
def lab(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    require_tools("mkfs.vfat", "mcopy")
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    contraband = _picture(1)
    text = "".join(f"line {i}: the quick brown fox jumps over the lazy dog {i * 7}\n" for i in range(60))
    files = {
        "docs/report.pdf": b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n",
        "docs/secret.txt": b"nothing here but TOP-SECRET-MARKER and more\n",
        "docs/notes.txt": text.encode(),
        "docs/notes_v2.txt": text.replace("lazy", "sleepy").encode(),
        "pics/holiday.jpg": _jpeg(_picture(2)),
        "pics/bad.jpg": _jpeg(contraband),
        "pics/broken.jpg": _jpeg(_picture(3))[:700],          # truncated image
        "tools/known.bin": bytes(random.Random(4).randbytes(5000)),
    }
    image = build_fat_image(tmp_path / "exhibit.img", files, size_mib=16)
    # reference material: the contraband picture as it circulates (resized, re-encoded)
    resized = contraband.resize((200, 150))
    from forensics.matchers.pdq import pdq_digest

    reference = pdq_digest(_jpeg(resized), convention="full-resolution").hash_hex
    (tmp_path / "rules.yar").write_text(RULES)
    (tmp_path / "bad.yar").write_text("rule broken {\n  strings: $a = \"x\"\n  condition: $b\n}\n")
    (tmp_path / "good.sha256").write_text(
        f"{hashlib.sha256(files['tools/known.bin']).hexdigest()}  known.bin\n")
    (tmp_path / "bad.md5").write_text(f"{hashlib.md5(files['docs/secret.txt']).hexdigest()}  leaked.txt\n")
    (tmp_path / "pdq.txt").write_text(f"{reference},CAM-1\n")
    cli = cli_for(url)
    cli("case", "create", "C-1")
    cli("evidence", "add", str(image), "--case", "C-1", "--exhibit", "E-1", "--examiner", "t")
    return cli, tmp_path, files


def test_findings_from_every_matcher(lab):
    cli, tmp, files = lab
    refused = cli("rules", "add", "broken", str(tmp / "bad.yar"), code=3)
    assert "bad.yar(4)" in refused and "undefined string \"$b\"" in refused    # libyara's own file(line): message
    assert "rules" in cli("rules", "add", "lab-rules", str(tmp / "rules.yar"), "--version", "2026.11")
    assert "1 entries" in cli("hashset", "import", str(tmp / "good.sha256"), "--name", "NSRL-sample",
                              "--kind", "known-good")
    cli("hashset", "import", str(tmp / "bad.md5"), "--name", "lab-bad", "--kind", "known-bad")
    assert "1 PDQ" in cli("hashset", "import", str(tmp / "pdq.txt"), "--name", "vic-pdq", "--kind", "known-bad",
                          "--format", "pdq-list")
    cli("process", "--case", "C-1", "--exhibit", "E-1", "--no-carve")
    found = [json.loads(line) for line in cli("findings", "--case", "C-1", "--json").splitlines()]
    by = {(f["matcher"], f["path"], f["rule"]) for f in found}
    assert ("yara", "/docs/report.pdf", "rules.yar:pdf_document") in by
    assert ("yara", "/docs/secret.txt", "rules.yar:secret_marker") in by       # filename external applied
    assert not any(f["matcher"] == "yara" and f["path"] == "/docs/notes.txt" for f in found)
    assert ("hashset", "/tools/known.bin", "sha256") in by
    assert ("hashset", "/docs/secret.txt", "md5") in by
    pdq = [f for f in found if f["matcher"] == "pdq"]
    assert [f["path"] for f in pdq] == ["/pics/bad.jpg"] and pdq[0]["detail"]["distance"] <= 31
    for finding in found:
        assert finding["matcher_version"] and finding["set_sha256"] and finding["run_id"]
    yara_finding = next(f for f in found if f["rule"] == "rules.yar:pdf_document")
    assert yara_finding["set_version"] == "2026.11" and yara_finding["detail"]["strings"][0][:2] == ["$pdf", 0]
    assert yara_finding["detail"]["meta"] == {"author": "lab"} and yara_finding["detail"]["tags"] == ["document"]

    rows = {r["path"]: r for r in map(json.loads, cli("files", "--case", "C-1", "--exhibit", "E-1",
                                                      "--json").splitlines())}
    assert rows["/tools/known.bin"]["known_good"] and not rows["/docs/report.pdf"]["known_good"]
    assert rows["/pics/bad.jpg"]["restricted"] and not rows["/pics/holiday.jpg"]["restricted"]
    assert rows["/pics/holiday.jpg"]["pdq_hash"] and rows["/docs/notes.txt"]["tlsh"]
    warnings = cli("warnings", "--case", "C-1", "--exhibit", "E-1")
    assert "/pics/broken.jpg: PDQ:" in warnings                              # bad image: warning, batch goes on

    # the restricted image is never shown unless a reviewer asks for it explicitly
    bad_id = str(rows["/pics/bad.jpg"]["id"])
    refused = cli("content", "--case", "C-1", "--exhibit", "E-1", "--file-id", bad_id, "--purpose", "look", code=3)
    assert "restricted" in refused

    # similar documents by TLSH
    similar = cli("similar", str(rows["/docs/notes.txt"]["id"]), "--case", "C-1").splitlines()
    assert similar and similar[0].split("\t")[3] == "/docs/notes_v2.txt"

    # re-running the matchers adds no duplicate findings
    with_findings = len(found)
    cli("match", "--case", "C-1", "--exhibit", "E-1")
    assert len(cli("findings", "--case", "C-1", "--json").splitlines()) == with_findings

    # content above the in-memory size cap is spooled to disk and still scanned: same matches, none skipped
    def yara_hits(rows):
        return sorted((f["path"], f["rule"], f["outcome"]) for f in rows if f["matcher"] == "yara")

    cli("match", "--case", "C-1", "--exhibit", "E-1", "--yara-size-cap", "64")
    capped = [json.loads(line) for line in cli("findings", "--case", "C-1", "--json").splitlines()]
    assert not [f for f in capped if f["outcome"] == "too-large"]
    assert yara_hits(capped) == yara_hits(found) and any(hit[0] == "/docs/report.pdf" for hit in yara_hits(found))


def test_one_hash_set_finding_per_set_however_often_the_set_lists_the_value(lab):
    """A set that lists one hash under many names (NSRL has a row per product and file name) gives a
    file one finding per set and algorithm, naming the first entry and counting the rest (it gave one
    finding per entry: every empty file times every empty file's name on a disk's known-good list).
    The description (libmagic's second call) is kept for what an examiner looks at."""
    cli, tmp, files = lab
    digest = hashlib.sha256(files["tools/known.bin"]).hexdigest()
    (tmp / "paths.sha256").write_text("".join(f"{digest}  copy{i}.bin\n" for i in range(12)))
    assert "12 entries" in cli("hashset", "import", str(tmp / "paths.sha256"), "--name", "os-paths",
                               "--kind", "known-good")
    cli("hashset", "import", str(tmp / "bad.md5"), "--name", "lab-bad", "--kind", "known-bad")
    cli("process", "--case", "C-1", "--exhibit", "E-1", "--no-carve")
    found = [json.loads(line) for line in cli("findings", "--case", "C-1", "--json").splitlines()]
    known = [f for f in found if f["matcher"] == "hashset" and f["path"] == "/tools/known.bin"]
    assert len(known) == 1 and known[0]["set_name"] == "os-paths" and known[0]["rule"] == "sha256"
    detail = known[0]["detail"]
    assert detail["entries"] == 12 and detail["name"] == "copy0.bin" and detail["value"] == digest
    assert detail["names"] == [f"copy{i}.bin" for i in range(10)]              # the first ten, in the set's order
    rows = {r["path"]: r for r in map(json.loads, cli("files", "--case", "C-1", "--exhibit", "E-1",
                                                      "--json").splitlines())}
    assert rows["/docs/notes.txt"]["mime_type"] == "text/plain" and rows["/docs/notes.txt"]["description"] is None
    assert rows["/pics/holiday.jpg"]["description"].startswith("JPEG image data")
    assert rows["/docs/secret.txt"]["description"] == "ASCII text"              # known-bad: described
    assert rows["/tools/known.bin"]["description"] == "data"                    # no specific MIME type


def test_reviewer_can_see_restricted_content(lab, monkeypatch):
    cli, tmp, files = lab
    cli("hashset", "import", str(tmp / "pdq.txt"), "--name", "vic-pdq", "--kind", "known-bad", "--format", "pdq-list")
    cli("process", "--case", "C-1", "--exhibit", "E-1", "--no-carve")
    rows = {r["path"]: r for r in map(json.loads, cli("files", "--case", "C-1", "--exhibit", "E-1",
                                                      "--json").splitlines())}
    monkeypatch.setenv("FORENSICS_ACTOR_ROLE", "reviewer")
    out = tmp / "seen.jpg"
    cli("content", "--case", "C-1", "--exhibit", "E-1", "--file-id", str(rows["/pics/bad.jpg"]["id"]),
        "--purpose", "confirm classification", "--reviewer", "-o", str(out))
    assert out.read_bytes() == files["pics/bad.jpg"]
    log = [json.loads(line) for line in cli("custody", "log", "--case", "C-1", "--json").splitlines()]
    view = [e for e in log if e["action"] == "view"][-1]
    assert view["actor_role"] == "reviewer" and json.loads(view["details"])["restricted"] is True


@pytest.mark.parametrize("sample,fmt", [
    ("sample-hashes__hashdeep.txt", "hashdeep"),
    ("sample-hashes__md5deep.txt", "hash-list"),
    ("sample-hashes__nsrl__NSRL-2.0.txt", "nsrl-rds2"),
    ("sample-hashes__nsrl__NSRL-1.5.txt", "nsrl-rds2"),
    ("sample-hashes__hashkeeper__Z00236.hsh", "hashkeeper"),
])
def test_corpus_hash_sets_import(sample, fmt, sqlite_db):
    from evidence_store.knowledge import import_hashset
    from evidence_store.models import HashSetEntry
    from sqlalchemy import func, select
    from tests.conftest import corpus_path

    path = corpus_path(f"hashsets/hashdeep-repo/{sample}")
    row = import_hashset(sqlite_db, str(path), sample, "known-good", actor=("t", "technician"))
    assert row.format == fmt and row.entries > 0
    again = import_hashset(sqlite_db, str(path), sample, "known-good", actor=("t", "technician"))
    assert again.id == row.id                                          # same set again: nothing added
    with sqlite_db.session() as session:
        assert session.scalar(select(func.count()).select_from(HashSetEntry)) == row.entries
        assert session.scalar(select(func.count()).select_from(HashSetEntry).where(
            HashSetEntry.md5.is_not(None) | HashSetEntry.sha1.is_not(None))) == row.entries


def test_hashset_finding_keys_are_the_keys_findings_always_had():
    """Hash-set hits build their key without the JSON encoder; it must stay the stored unique key."""
    from evidence_store.matching import _hashset_key, _key

    for hashset_id, entry_id, algorithm in ((1, 1, "md5"), (42, 123_456_789_012, "sha1"), (7, 0, "sha256")):
        assert _hashset_key(hashset_id, entry_id, algorithm) == _key("hashset", hashset_id, entry_id, algorithm)


def test_probe_lists_are_padded_to_a_few_lengths_with_repeats():
    from evidence_store.matching import PROBE_SIZES, PROBES_PER_STATEMENT, _padded

    lengths = set()
    for count in range(1, PROBES_PER_STATEMENT + 1):
        values = [f"{n:032x}" for n in range(count)]
        padded = _padded(values)
        assert padded[:count] == values and set(padded) == set(values)
        lengths.add(len(padded))
    assert lengths == set(PROBE_SIZES)
