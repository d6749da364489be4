"""Indicators extracted from content (forensics.indicators): each kind normalised and located, checksums
telling real identifiers from look-alikes (published test vectors), UTF-16LE text, one registry."""
from __future__ import annotations

import pytest

from forensics.indicators import checks
from forensics.indicators.extract import extract
from forensics.indicators.registry import EXTRACTORS, KINDS, registrable

# published examples: the genesis block's address, BIP-13 P2SH, BIP-173 (bech32) and BIP-350 (bech32m)
# test vectors, EIP-55's own examples, the Monero General Fund address, payment-network test card numbers
VALID = {
    "bitcoin": ["1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "3J98t1WpEZ73CNmQviecrnyiWrnqRhWNLy",
                "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4",
                "bc1p5d7rjq7g6rdk2yhzks9smlaqtedr4dekq08ge8ztwac72sfr9rusxg3297"],
    "ethereum": ["0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed", "0xfB6916095ca1df60bB79Ce92cE3Ea74c37c5d359"],
    "monero": ["44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A"],
    "card": ["4111111111111111", "5500000000000004", "378282246310005", "6011111111111117"],
}


def _one_letter_changed(value: str) -> str:
    at = len(value) // 2
    replacement = "3" if value[at] != "3" else "4"
    return value[:at] + replacement + value[at + 1:]


def test_registry_names_and_versions_every_extractor():
    names = [e.name for e in EXTRACTORS]
    assert len(names) == len(set(names)) and all(e.version for e in EXTRACTORS)
    assert {"email", "url", "domain", "ipv4", "ipv6", "phone", "bitcoin", "ethereum", "monero", "card"} == set(KINDS)


@pytest.mark.parametrize("kind", sorted(VALID))
def test_checksummed_identifiers_are_found_and_look_alikes_are_not(kind):
    for value in VALID[kind]:
        found = [(i.kind, i.value) for i in extract(f"pay to {value} today".encode())]
        assert found == [(kind, value)], (value, found)
        broken = _one_letter_changed(value)
        assert [i for i in extract(f"pay to {broken} today".encode()) if i.kind == kind] == [], broken


def test_eip55_and_bech32_rules():
    lower = VALID["ethereum"][0].lower()
    assert [i.value for i in extract(lower.encode())] == [VALID["ethereum"][0]]       # all lower case: no checksum
    wrong_case = "0x5aaeb6053F3E94C9b9A09f33669435E7Ef1BeAed"
    assert extract(wrong_case.encode()) == []                                         # mixed case must match EIP-55
    v0_with_bech32m = "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"
    assert checks.bech32_kind(v0_with_bech32m) == "bech32"
    assert checks.bech32_kind(VALID["bitcoin"][3]) == "bech32m"
    assert checks.bech32_kind(VALID["bitcoin"][2].upper()) == "bech32"
    assert checks.luhn("79927398713") and not checks.luhn("79927398710")


def test_email_url_domain_ip_phone_are_normalised_and_located(monkeypatch):
    data = (b"Mail Alice.Smith@Example.CO.UK or see https://WWW.Example.com/path?q=1) from 10.0.0.1 and "
            b"2001:0db8:0:0::1, 256.1.1.1; call +1 650-253-0000; bad@nowhere.invalidtld; version 1.2.3.4.5")
    found = {(i.kind, i.value): i for i in extract(data)}
    assert set(found) == {("email", "alice.smith@example.co.uk"), ("url", "https://www.example.com/path?q=1"),
                          ("domain", "example.com"), ("ipv4", "10.0.0.1"), ("ipv6", "2001:db8::1"),
                          ("phone", "+16502530000")}
    email = found[("email", "alice.smith@example.co.uk")]
    assert data[email.offset:email.offset + email.length] == b"Alice.Smith@Example.CO.UK"
    assert "Alice.Smith@Example.CO.UK" in email.context and email.extractor == "email/2"
    assert registrable("www.bbc.co.uk") == "bbc.co.uk" and registrable("localhost") is None
    # a URL right after other text (an escaped tab in a Tcl script, "\\thttp://...") is still one
    assert [i.value for i in extract(b'"\\t\\thttp://biz.yahoo.com/n/"') if i.kind == "url"] == ["http://biz.yahoo.com/n/"]
    # a private-section suffix is a real mail domain; an ICANN suffix alone, or a non-host, is not
    assert [i.value for i in extract(b"a@iki.fi b@co.uk c@x.github.io") if i.kind == "email"] == \
        ["a@iki.fi", "c@x.github.io"]
    assert registrable("user@example.com") is None and registrable("iki.fi") == "iki.fi"
    # two-group IPv6 forms turn up by chance in binary data (seen: "::8" linking two control cases)
    assert [i.value for i in extract(b"x ::8 y ::1 fe80::1 a::b 2001:db8::1 z") if i.kind == "ipv6"] == ["2001:db8::1"]
    national = b"ring 020 7946 0958 tonight"
    assert [i for i in extract(national) if i.kind == "phone"] == []                  # no region: +country only
    monkeypatch.setenv("FORENSICS_PHONE_REGION", "GB")
    assert [i.value for i in extract(national) if i.kind == "phone"] == ["+442079460958"]


def test_utf16le_text_is_read_with_byte_offsets():
    data = b"\x00\x00header" + "contact bob@example.org now".encode("utf-16-le")
    (found,) = extract(data, kinds=["email"])
    assert (found.value, found.encoding) == ("bob@example.org", "utf-16le")
    assert data[found.offset:found.offset + found.length].decode("utf-16-le") == "bob@example.org"


def test_cli_scans_files(tmp_path):
    from tests.conftest import cli_for

    (tmp_path / "notes.txt").write_bytes(b"wallet 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa mail Bob@Example.org")
    cli = cli_for(f"sqlite:///{tmp_path / 'c.db'}")
    lines = [__import__("json").loads(line) for line in cli("indicators", "scan", str(tmp_path / "notes.txt"),
                                                              "--json").splitlines()]
    assert [(r["kind"], r["value"], r["offset"]) for r in lines] == [
        ("bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", 7), ("email", "bob@example.org", 47)]
    assert "unknown indicator kind(s) mail" in cli("indicators", "scan", str(tmp_path), "--kind", "mail", code=3)


def test_the_content_pass_extracts_and_the_case_lists_them(tmp_path, monkeypatch):
    """forensics process extracts identifiers once per content (equal files share them); `forensics
    indicators --case` lists one row per place; a file inside a zip gives its own; without --indicators
    nothing is extracted."""
    import io
    import json
    import zipfile

    from forensics.sample import build_fat_image
    from tests.conftest import cli_for, require_tools

    require_tools("mkfs.vfat", "mcopy")
    note = b"pay 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa, write to Dealer@Example.org"
    packed = io.BytesIO()
    with zipfile.ZipFile(packed, "w", zipfile.ZIP_DEFLATED) as archive:     # no plain text in the zip itself
        archive.writestr("inner.txt", b"call +1 650-253-0000 or visit http://shop.example.net/x")
    image = build_fat_image(tmp_path / "i.img", {"a/note.txt": note, "b/copy.txt": note,
                                                 "c/box.zip": packed.getvalue()}, size_mib=16)
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    for number, flags in (("E1", ["--indicators"]), ("E2", [])):            # off unless asked
        cli = cli_for(f"sqlite:///{tmp_path / number}.db")
        cli("case", "create", "C")
        cli("evidence", "add", str(image), "--case", "C", "--exhibit", number, "--examiner", "t")
        cli("process", "--case", "C", "--exhibit", number, "--no-carve", *flags)
        rows = [row for row in map(json.loads, cli("indicators", "--case", "C", "--json").splitlines())
                if row["item"] != "volume"]                          # the file system's own: always recorded
        if not flags:
            assert rows == []
            continue
        found = {(r["path"], r["kind"], r["value"]) for r in rows}
        assert found == {("/a/note.txt", "bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
                         ("/a/note.txt", "email", "dealer@example.org"),
                         ("/b/copy.txt", "bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"),
                         ("/b/copy.txt", "email", "dealer@example.org"),
                         ("/c/box.zip!/inner.txt", "phone", "+16502530000"),
                         ("/c/box.zip!/inner.txt", "url", "http://shop.example.net/x"),
                         ("/c/box.zip!/inner.txt", "domain", "example.net")}
        wallet = next(r for r in rows if r["kind"] == "bitcoin")
        assert note[wallet["offset"]:wallet["offset"] + wallet["length"]] == b"1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"
        only = cli("indicators", "--case", "C", "--exhibit", number, "--kind", "email")
        assert only.count("dealer@example.org") == 2 and "bitcoin" not in only


def test_the_file_system_gives_its_serial_user_names_and_sids(tmp_path, monkeypatch):
    """Always recorded by the walk: the FAT volume ID as Windows prints it, profile user names, account SIDs."""
    import json
    import subprocess

    from forensics.indicators.filesystem import from_paths, volume_serial
    from forensics.sample import build_fat_image
    from tests.conftest import cli_for, require_tools

    assert volume_serial("ntfs", bytes.fromhex("efcdab8967452301")) == "0123456789ABCDEF"
    assert volume_serial("ext4", bytes(range(16))) == "00010203-0405-0607-0809-0a0b0c0d0e0f"
    assert [s.value for s in from_paths(["/Users/Public/x", "/Users/Default/y"])] == []
    require_tools("mkfs.vfat", "mcopy", "fsstat")
    sid = "S-1-5-21-1004336348-1177238915-682003330-1001"
    image = build_fat_image(tmp_path / "w.img", {"Users/alice/Desktop/todo.txt": b"x",
                                                 "Users/alice/notes.txt": b"y", "Users/Public/readme.txt": b"z",
                                                 f"RECYCLER/{sid}/Dc1.txt": b"gone"}, size_mib=16)
    fsstat = subprocess.run(["fsstat", str(image)], capture_output=True, text=True, check=True).stdout
    volume_id = next(line.split(":")[1].strip() for line in fsstat.splitlines() if line.startswith("Volume ID"))
    expected_serial = f"{int(volume_id, 16) >> 16:04X}-{int(volume_id, 16) & 0xFFFF:04X}"
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    cli = cli_for(f"sqlite:///{tmp_path / 'c.db'}")
    cli("case", "create", "C")
    cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve")
    rows = [json.loads(line) for line in cli("indicators", "--case", "C", "--json").splitlines()]
    found = {(r["kind"], r["value"], r["path"], r["context"]) for r in rows}
    assert found == {("volume-serial", expected_serial, "/", "1 path(s)"),
                     ("user", "alice", "/Users/alice", "4 path(s)"),       # the directory, Desktop, 2 files
                     ("sid", sid, f"/RECYCLER/{sid}", "2 path(s)")}
    assert len(cli("indicators", "--case", "C", "--kind", "sid").splitlines()) == 1


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose only text is in a Flate-compressed content stream (as almost every PDF)."""
    import io
    import zlib

    import pikepdf
    from pikepdf import Dictionary, Name

    pdf = pikepdf.new()
    font = pdf.make_indirect(Dictionary(Type=Name.Font, Subtype=Name.Type1, BaseFont=Name.Helvetica))
    page = pdf.add_blank_page(page_size=(612, 792))
    page.Resources = Dictionary(Font=Dictionary(F1=font))
    stream = pikepdf.Stream(pdf, zlib.compress(f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode()))
    stream.Filter = Name.FlateDecode
    page.Contents = pdf.make_indirect(stream)
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def test_a_pdf_text_layer_is_searched(tmp_path, monkeypatch):
    """Identifiers inside a PDF's compressed text are found through its text layer (pdftotext), marked
    pdf-text with the offset in that text; the bytes alone show nothing."""
    import json

    from forensics.indicators.documents import text_layer
    from forensics.sample import build_fat_image
    from tests.conftest import cli_for, require_tools

    require_tools("pdftotext", "mkfs.vfat", "mcopy")
    pdf = _pdf_with_text("wire to Dealer@Example.org or 1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa today")
    assert b"Dealer" not in pdf and [i for i in extract(pdf) if i.kind in ("email", "bitcoin")] == []
    assert "Dealer@Example.org" in text_layer(pdf, "application/pdf")
    assert text_layer(b"plain text", "text/plain") is None
    image = build_fat_image(tmp_path / "p.img", {"docs/invoice.pdf": pdf}, size_mib=16)
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    cli = cli_for(f"sqlite:///{tmp_path / 'c.db'}")
    cli("case", "create", "C")
    cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve", "--indicators")
    rows = [json.loads(line) for line in cli("indicators", "--case", "C", "--json", "--kind", "email",
                                             "--kind", "bitcoin").splitlines()]
    assert {(r["path"], r["kind"], r["value"], r["encoding"]) for r in rows} == {
        ("/docs/invoice.pdf", "email", "dealer@example.org", "pdf-text"),
        ("/docs/invoice.pdf", "bitcoin", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa", "pdf-text")}


def test_card_numbers_need_an_issuers_length_and_stand_alone():
    """What bulk_extractor reported on /usr/share/doc (bench/indicators_compare.py) and is no card: digits inside
    commit hashes, fuzzer test-case ids after a dash, a 13-digit number with a 16-digit-only issuer prefix."""
    valid = b"visa 4539148803436467, amex 3782-822463-10005, mc 5105 1051 0510 5100."
    assert [i.value for i in extract(valid) if i.kind == "card"] == ["4539148803436467", "378282246310005",
                                                                      "5105105105105100"]
    noise = (b"commit b2d60cbd6ebbcaa51291144701312578efd90ebd hb-shape-fuzzer-5158673602314240 | "
             b"fonts/bb9473d2403488714043bcfb946c9f78b86ad627.ttf 2403488714043 3782822463100054 "
             b"oss-fuzz.com/testcase-detail/5390364397928448.")
    assert [i for i in extract(noise) if i.kind == "card"] == []
