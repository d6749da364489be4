"""The one-read content pass gives what the separate passes gave: the digests and type of the
Digester, the TLSH of tlsh_digest, YARA's matches (also on a stream spooled past the memory cap)
and PDQ's hash; with ``decide`` returning False no matcher runs."""
from __future__ import annotations

import hashlib
import io
import random

import pytest

from forensics.content import Examiner
from forensics.errors import ItemError

RULES = 'rule marker { strings: $m = "NEEDLE-1234" condition: $m }\nrule big { condition: filesize > 3MB }\n'


def _chunks(data: bytes, size: int = 100_000):
    return (data[i:i + size] for i in range(0, len(data), size))


@pytest.fixture(scope="module")
def scanner():
    import yara

    from forensics.matchers.yara_rules import YaraScanner

    return YaraScanner(yara.compile(source=RULES, externals={"filename": "", "filepath": "", "extension": "",
                                                             "filetype": ""}))


def _jpeg() -> bytes:
    from PIL import Image

    image = Image.radial_gradient("L").resize((300, 200)).convert("RGB")
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def test_digests_type_and_tlsh_equal_the_separate_passes(scanner):
    from forensics.filetype import TypeIdentifier
    from forensics.matchers.tlsh_digest import tlsh_digest

    text = ("Meeting notes. " + " ".join(f"item {i} value {i * 7}" for i in range(2000))).encode()
    done = Examiner(TypeIdentifier(), [("R", scanner)]).examine(_chunks(text), "/docs/notes.txt")
    assert done.digests.sha256 == hashlib.sha256(text).hexdigest() and done.digests.md5 == hashlib.md5(text).hexdigest()
    assert done.digests.sha1 == hashlib.sha1(text).hexdigest() and done.digests.size == len(text)
    assert done.digests.mime == "text/plain" and not done.digests.extension_mismatch
    assert done.tlsh == tlsh_digest(text) and done.pdq is None
    assert [(key, outcome.status) for key, outcome in done.yara] == [("R", "clean")]


def test_large_streams_are_spooled_and_still_scanned(scanner, tmp_path):
    rng = random.Random(3)
    data = rng.randbytes(2_000_000) + b"NEEDLE-1234" + rng.randbytes(2_000_000)
    small = Examiner(scanners=[("R", scanner)], memory_cap=1 << 20,
                     spool_dir=str(tmp_path))
    done = small.examine(_chunks(data), "/big.bin")
    rules = {m.rule for m in done.yara[0][1].matches}
    assert rules == {"marker", "big"} and done.yara[0][1].scanned_bytes == len(data)
    assert list(tmp_path.iterdir()) == []                       # the spool file is removed
    in_memory = Examiner(scanners=[("R", scanner)]).examine(_chunks(data), "/big.bin")
    assert {m.rule for m in in_memory.yara[0][1].matches} == rules


def test_images_get_pdq_not_tlsh(scanner):
    from forensics.matchers.pdq import PdqHasher, pdq_digest

    data = _jpeg()
    done = Examiner(scanners=[("R", scanner)], pdq=PdqHasher()).examine(_chunks(data, 4096), "/pics/a.jpg")
    assert done.digests.mime == "image/jpeg" and done.tlsh is None
    assert done.pdq.hash_hex == pdq_digest(data).hash_hex
    renamed = Examiner(pdq=PdqHasher()).examine([data], "/pics/a.png")
    assert renamed.digests.extension_mismatch and renamed.pdq is not None


def test_decide_false_runs_no_matcher(scanner):
    seen = []

    def decide(digests):
        seen.append(digests.sha256)
        return False

    data = b"NEEDLE-1234" * 100
    done = Examiner(scanners=[("R", scanner)]).examine([data], "/x", decide)
    assert seen == [hashlib.sha256(data).hexdigest()] and done.yara == () and not done.matched


def test_unreadable_stream_is_an_item_error():
    def broken():
        yield b"x" * 1000
        raise OSError("bad sector")

    with pytest.raises(ItemError, match="read failed after 1000 bytes"):
        Examiner().examine(broken(), "/x")


def test_empty_stream():
    done = Examiner().examine([], "/empty.txt")
    assert done.digests.size == 0 and done.digests.mime == "inode/x-empty"
    assert done.digests.sha256 == hashlib.sha256(b"").hexdigest()


def test_kept_bodies_get_the_streamed_tlsh_only_when_matched(scanner, tmp_path):
    """With rules, the bytes are kept and TLSH is computed from them after the decision: equal to the
    TLSH of the whole stream (in memory and from a spool file); content the matchers skip gets none."""
    from forensics.matchers.tlsh_digest import tlsh_digest

    rng = random.Random(5)
    words = [f"w{rng.randrange(5000)}" for _ in range(400_000)]
    data = " ".join(words).encode()
    expected = tlsh_digest(data)
    assert expected is not None
    in_memory = Examiner(scanners=[("R", scanner)]).examine(_chunks(data, 65536), "/a.txt")
    spooled = Examiner(scanners=[("R", scanner)], memory_cap=1 << 20, spool_dir=str(tmp_path)).examine(
        _chunks(data, 65536), "/a.txt")
    streamed = Examiner().examine(_chunks(data, 65536), "/a.txt")              # no rules: fed as it comes
    assert in_memory.tlsh == spooled.tlsh == streamed.tlsh == expected
    skipped = Examiner(scanners=[("R", scanner)]).examine(_chunks(data), "/a.txt", lambda d: False)
    assert skipped.tlsh is None and not skipped.matched


def test_description_only_where_an_examiner_looks(scanner):
    """The second libmagic call (the description) is made for pictures, lying extensions, content with
    no specific MIME type and matched content; plain content keeps its MIME type only. Without a
    ``describe`` policy every stream is described (file -b's text)."""
    from forensics.content import worth_describing
    from forensics.filetype import TypeIdentifier

    types = TypeIdentifier()
    examiner = Examiner(types, [("R", scanner)])
    text = b"Dear Anna. The meeting is moved to Friday morning; bring the signed papers.\n" * 20
    plain = examiner.examine([text], "/notes.txt", describe=worth_describing)
    assert plain.digests.mime == "text/plain" and plain.digests.description is None
    always = examiner.examine([text], "/notes.txt")
    assert always.digests.description == types.identify_content(text)[1] == "ASCII text"
    hit = examiner.examine([text + b"NEEDLE-1234"], "/notes.txt", describe=worth_describing)
    assert hit.digests.description == "ASCII text"
    picture = examiner.examine([_jpeg()], "/a.jpg", describe=worth_describing)
    assert picture.digests.description.startswith("JPEG image data")
    lying = examiner.examine([_jpeg()], "/a.txt", describe=worth_describing)
    assert lying.digests.extension_mismatch and lying.digests.description.startswith("JPEG image data")
    binary = examiner.examine([random.Random(9).randbytes(4096)], "/blob.dat", describe=worth_describing)
    assert binary.digests.mime == "application/octet-stream" and binary.digests.description == "data"
