"""The content pass in the pipeline: each stream read once, equal content examined once (in the exhibit
and across the case), known-good content skipped on request, PDQ only for content typed as an image."""
from __future__ import annotations

import collections
import hashlib
import io
import json

import pytest
from sqlalchemy import select

from forensics.sample import build_fat_image
from tests.conftest import cli_for, require_tools

RULES = 'rule pdf_document { strings: $pdf = "%PDF-" condition: $pdf at 0 }\n'
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
KNOWN = b"%PDF-1.7\n% a vendor manual, on the known-good list\n%%EOF\n"


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.linear_gradient("L").resize((160, 120)).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture
def lab(tmp_path, monkeypatch):
    pytest.importorskip("PIL")
    require_tools("mkfs.vfat", "mcopy")
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    files = {
        "a/report.pdf": PDF,
        "b/copy.pdf": PDF,                               # equal content, another path
        "c/renamed.txt": PDF,                            # and another name
        "manuals/known.pdf": KNOWN,
        "pics/photo.txt": _jpeg(),                       # a picture under a text name: PDQ by content
        "pics/fake.jpg": b"not a picture at all, only text " * 40,
    }
    image = build_fat_image(tmp_path / "exhibit.img", files, size_mib=16)
    (tmp_path / "rules.yar").write_text(RULES)
    (tmp_path / "good.sha256").write_text(f"{hashlib.sha256(KNOWN).hexdigest()}  known.pdf\n")
    cli = cli_for(url)
    cli("case", "create", "C-1")
    cli("evidence", "add", str(image), "--case", "C-1", "--exhibit", "E-1", "--examiner", "t")
    cli("rules", "add", "lab-rules", str(tmp_path / "rules.yar"), "--version", "1")
    cli("hashset", "import", str(tmp_path / "good.sha256"), "--name", "vendor", "--kind", "known-good")
    return cli, url, image, files


def _spy(monkeypatch):
    """Counts reads of each locator from the image and runs of the content matchers per SHA-256."""
    import forensics.reader
    from forensics.content import Examiner

    reads: collections.Counter = collections.Counter()
    matched: collections.Counter = collections.Counter()
    pdq_tried: list[str] = []
    real_chunks, real_match = forensics.reader.StreamReader.chunks, Examiner._match

    def chunks(self, locator, *args, **kwargs):
        reads[locator] += 1
        yield from real_chunks(self, locator, *args, **kwargs)

    def match(self, digests, body, path, tlsh):
        matched[digests.sha256] += 1
        examined = real_match(self, digests, body, path, tlsh)
        if examined.pdq is not None or any(p.startswith("PDQ") for p in examined.problems):
            pdq_tried.append(path)
        return examined

    monkeypatch.setattr(forensics.reader.StreamReader, "chunks", chunks)
    monkeypatch.setattr(Examiner, "_match", match)
    return reads, matched, pdq_tried


def _findings(cli, exhibit):
    rows = [json.loads(line) for line in cli("findings", "--case", "C-1", "--exhibit", exhibit, "--json").splitlines()]
    return sorted((f["path"], f["matcher"], f["rule"]) for f in rows)


def test_each_stream_is_read_once_and_equal_content_examined_once(lab, monkeypatch):
    from evidence_store.db import Database
    from evidence_store.models import FileEntry

    cli, url, image, files = lab
    reads, matched, pdq_tried = _spy(monkeypatch)
    cli("process", "--case", "C-1", "--exhibit", "E-1", "--workers", "1", "--no-isolate")

    with Database(url).session() as session:
        readable = set(session.scalars(select(FileEntry.locator).where(FileEntry.has_content.is_(True))))
    assert set(reads) == readable and set(reads.values()) == {1}         # every stream read exactly once
    pdf = hashlib.sha256(PDF).hexdigest()
    assert matched[pdf] == 1                                              # three entries, one examination
    found = _findings(cli, "E-1")
    for path in ("/a/report.pdf", "/b/copy.pdf", "/c/renamed.txt"):      # ...its findings on every entry
        assert (path, "yara", "rules.yar:pdf_document") in found
    assert pdq_tried == ["/pics/photo.txt"]                               # by content, not by name

    # the same content in another exhibit of the case is not examined again, and gets the same findings
    cli("evidence", "add", str(image), "--case", "C-1", "--exhibit", "E-2", "--examiner", "t")
    matched.clear()
    monkeypatch.setattr("evidence_store.matching._PREPARED", {}, raising=False)
    cli("process", "--case", "C-1", "--exhibit", "E-2", "--workers", "1", "--no-carve", "--no-isolate")
    assert sum(matched.values()) == 0
    assert [f for f in _findings(cli, "E-2") if f[1] != "tlsh"] == [f for f in found if f[1] != "tlsh"]


def test_known_good_content_skips_the_matchers_on_request(lab, monkeypatch):
    from evidence_store.db import Database
    from evidence_store.models import ProcessingRun

    cli, url, image, files = lab
    cli("process", "--case", "C-1", "--exhibit", "E-1", "--no-carve", "--skip-known-good")
    found = _findings(cli, "E-1")
    assert ("/manuals/known.pdf", "hashset", "sha256") in found
    assert not [f for f in found if f[0] == "/manuals/known.pdf" and f[1] == "yara"]
    assert ("/a/report.pdf", "yara", "rules.yar:pdf_document") in found
    with Database(url).session() as session:
        params = [r.parameters for r in session.scalars(select(ProcessingRun).where(ProcessingRun.stage == "content"))]
    assert params and all(p["skip_known_good"] is True for p in params)
    rows = {r["path"]: r for r in map(json.loads, cli("files", "--case", "C-1", "--exhibit", "E-1",
                                                      "--json").splitlines())}
    assert rows["/manuals/known.pdf"]["known_good"] and rows["/manuals/known.pdf"]["sha256"]

    # without the flag the same content is scanned: YARA finds what it skipped
    cli("match", "--case", "C-1", "--exhibit", "E-1")
    assert ("/manuals/known.pdf", "yara", "rules.yar:pdf_document") in _findings(cli, "E-1")


def test_a_group_shares_nothing_of_its_items_time_limits(monkeypatch):
    """Streams are read as a group before they are matched: each item's time limit counts its own
    reading and matching only, not the reading of the others in its group (six 0.4 s reads in a group
    with a 2 s limit all finish); a stream slower than the limit alone is the only one stopped."""
    import time as clock

    from evidence_store.matching import Subject
    from evidence_store.stages import content
    from evidence_store.stages.content import _examine_group, _plain_examiner
    from evidence_store.stages.options import StageOptions

    limits = []
    real_limit = content.time_limit
    monkeypatch.setattr(content, "time_limit", lambda seconds: limits.append(seconds) or real_limit(seconds))

    def slow(seconds: float, data: bytes):
        clock.sleep(seconds)
        yield data

    subjects = [Subject("file", n, f"/f{n}.txt", 5) for n in range(7)]
    sources = [slow(0.4, b"text%d" % n) for n in range(6)] + [slow(2.5, b"late")]
    _examine_group(None, list(zip(subjects, sources)), _plain_examiner(), None, 1, StageOptions(item_seconds=2))
    assert [s.error for s in subjects[:6]] == [None] * 6
    assert [s.digests.md5 for s in subjects[:6]] == [hashlib.md5(b"text%d" % n).hexdigest() for n in range(6)]
    assert "took longer than 2 s (item time limit)" in subjects[6].error
    assert limits[:7] == [2] * 7                                 # each read: the whole limit
    assert len(limits) == 13 and all(1.5 < left < 1.7 for left in limits[7:]), limits   # each match: what is left


def test_one_alarm_handler_per_group_and_late_alarms_ignored():
    """A group holds SIGALRM once; each item only sets and clears the timer. An alarm that arrives when
    no item is timed (its item ended) is ignored instead of failing whatever runs next, and the handler
    in place before the group is back after it, as after a lone time limit."""
    import signal
    import time as clock

    from evidence_store.stages.content import ItemTimeout, alarm_handler, time_limit

    before = signal.getsignal(signal.SIGALRM)
    with alarm_handler():
        held = signal.getsignal(signal.SIGALRM)
        assert held is not before
        with pytest.raises(ItemTimeout):
            with time_limit(0.05):
                clock.sleep(1)
        with time_limit(5):
            pass
        assert signal.getsignal(signal.SIGALRM) is held        # not installed again per item
        signal.raise_signal(signal.SIGALRM)                      # late: no item is timed
        with alarm_handler():                                   # nested: a no-op
            assert signal.getsignal(signal.SIGALRM) is held
    assert signal.getsignal(signal.SIGALRM) is before
    with pytest.raises(ItemTimeout):
        with time_limit(0.05):
            clock.sleep(1)
    assert signal.getsignal(signal.SIGALRM) is before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
