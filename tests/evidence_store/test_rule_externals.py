"""Public rule sets that use external variables load: signature-base's ``owner``, and any other
external given a value with ``rules add --define``; ``rules list`` says which externals a set uses."""
from __future__ import annotations

import json

import pytest

from forensics.matchers.errors import RuleSetError
from forensics.matchers.yara_rules import compile_ruleset, parse_define, prepare
from forensics.sample import build_fat_image
from tests.conftest import cli_for, require_tools

# the shape of signature-base's rules (LOKI/THOR): path externals, filetype and owner
SIGNATURE_BASE_STYLE = """
rule SUSP_Script_In_Temp {
  strings: $s = "Invoke-Expression"
  condition: $s and filepath contains "/temp/" and extension == ".ps1" and owner == ""
}
rule SUSP_Owner_Admin { condition: owner == "Administrator" }
"""
LAB_STYLE = 'rule lab_marker { strings: $m = "LAB-MARKER" condition: $m and case_year >= 2025 and strict }\n'


def test_owner_and_path_externals_compile_and_scan(tmp_path):
    source = tmp_path / "signature-base.yar"
    source.write_text(SIGNATURE_BASE_STYLE)
    info, _ = compile_ruleset("sb", "1", [source], compiled_path=tmp_path / "sb.yarc")
    scanner = prepare(tmp_path / "sb.yarc", info)
    hit = scanner.scan_bytes(b"... Invoke-Expression ...", {"filepath": "/temp/run.ps1", "extension": ".ps1",
                                                               "filename": "run.ps1", "filetype": "text/plain"})
    assert [m.rule for m in hit.matches] == ["SUSP_Script_In_Temp"]
    elsewhere = scanner.scan_bytes(b"... Invoke-Expression ...", {"filepath": "/docs/run.ps1", "extension": ".ps1"})
    assert elsewhere.matches == ()


def test_an_undefined_external_is_refused_with_the_way_out(tmp_path):
    source = tmp_path / "lab.yar"
    source.write_text(LAB_STYLE)
    with pytest.raises(RuleSetError, match=r'undefined identifier "case_year".*--define case_year=VALUE'):
        compile_ruleset("lab", "1", [source])
    info, _ = compile_ruleset("lab", "1", [source], compiled_path=tmp_path / "lab.yarc",
                              defines={"case_year": 2026, "strict": True})
    scanner = prepare(tmp_path / "lab.yarc", info, defines={"case_year": 2026, "strict": True})
    assert [m.rule for m in scanner.scan_bytes(b"LAB-MARKER", {}).matches] == ["lab_marker"]
    old = prepare(tmp_path / "lab.yarc", info, defines={"case_year": 2020, "strict": True})
    assert old.scan_bytes(b"LAB-MARKER", {}).matches == ()


@pytest.mark.parametrize("text,expected", [("year=2026", ("year", 2026)), ("strict=true", ("strict", True)),
                                           ("who=alice", ("who", "alice")), ("neg=-3", ("neg", -3))])
def test_define_values_keep_their_type(text, expected):
    assert parse_define(text) == expected


@pytest.mark.parametrize("text", ["noequals", "1bad=2", "a-b=1"])
def test_bad_defines_are_refused(text):
    with pytest.raises(RuleSetError, match="NAME=VALUE"):
        parse_define(text)


def test_cli_loads_both_sets_lists_their_externals_and_matches(tmp_path, monkeypatch):
    require_tools("mkfs.vfat", "mcopy")
    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    cli = cli_for(url)
    (tmp_path / "signature-base.yar").write_text(SIGNATURE_BASE_STYLE)
    (tmp_path / "lab.yar").write_text(LAB_STYLE)
    image = build_fat_image(tmp_path / "disk.img", {"temp/run.ps1": b"Invoke-Expression $x\n",
                                                     "docs/note.txt": b"LAB-MARKER inside\n"}, size_mib=16)
    assert "externals filepath, extension, owner" in cli("rules", "add", "signature-base",
                                                         str(tmp_path / "signature-base.yar"))
    refused = cli("rules", "add", "lab", str(tmp_path / "lab.yar"), code=3)
    assert "--define case_year=VALUE" in refused
    cli("rules", "add", "lab", str(tmp_path / "lab.yar"), "--define", "case_year=2026", "--define", "strict=true")
    listed = cli("rules", "list")
    assert "externals: filepath, extension, owner" in listed
    assert "externals: case_year, strict (defined: case_year=2026, strict=True)" in listed
    cli("case", "create", "C")
    cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
    cli("process", "--case", "C", "--exhibit", "E", "--no-carve")
    found = {(f["path"], f["rule"]) for f in map(json.loads, cli("findings", "--case", "C", "--json").splitlines())}
    assert ("/temp/run.ps1", "signature-base.yar:SUSP_Script_In_Temp") in found
    assert ("/docs/note.txt", "lab.yar:lab_marker") in found
