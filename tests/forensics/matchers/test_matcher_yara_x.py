"""YARA-X as the engine of a rule set: the same records as libyara (rules, namespaces, tags, metadata,
strings with offsets and matched bytes), the same limits, and a set YARA-X refuses stays on libyara."""
from __future__ import annotations

import json

import pytest

from forensics.matchers import yara_x_engine
from forensics.matchers.errors import RuleSetError
from forensics.matchers.yara_rules import YaraScanner, compile_ruleset, externals_for, prepare, read_sources
from tests.conftest import cli_for, require_tools
from tests.forensics.matchers.test_matcher_yara import MALWARE_YAR, OTHER_YAR, TARGETS

# libyara accepts this; YARA-X refuses it: a regexp with an unescaped '{' that is not a repetition (YARA-X
# takes that under its relaxed, libyara-compatible regexp syntax) and a boolean in a bitwise '&' (never)
LIBYARA_ONLY = ('import "pe"\nrule brace { strings: $r = /a{,b/ condition: $r or (pe.exports("x") & '
                'pe.characteristics) }\n')
RELAXED_ONLY = r'rule loose { strings: $r = /x{,y/ condition: $r }' + "\n"


@pytest.fixture
def both(tmp_path):
    (tmp_path / "malware.yar").write_text(MALWARE_YAR)
    (tmp_path / "other.yar").write_text(OTHER_YAR)
    paths = [tmp_path / "malware.yar", tmp_path / "other.yar"]
    info, _ = compile_ruleset("lab", "1", paths, compiled_path=tmp_path / "lab.yarc")
    rules, refused = yara_x_engine.compile_sources(read_sources(paths), compiled_path=tmp_path / "lab.yrx")
    assert refused is None
    classic = prepare(tmp_path / "lab.yarc", info)
    modern = prepare(None, info, engine="yara-x", engine_path=tmp_path / "lab.yrx")
    return classic, modern


def test_yara_x_gives_the_records_libyara_gives(both):
    classic, modern = both
    assert modern.engine == "yara-x" and classic.engine == "libyara"
    matched = 0
    for name, data in TARGETS.items():
        externals = externals_for(f"/evidence/docs/{name}", "text/plain" if name.endswith(".txt") else "")
        a, b = classic.scan_bytes(data, externals), modern.scan_bytes(data, externals)
        assert (a.status, a.matches) == (b.status, b.matches), name
        matched += len(a.matches)
    assert matched >= 5


def test_metadata_strings_and_matched_bytes(both):
    _, modern = both
    outcome = modern.scan_bytes(TARGETS["note1.txt"], externals_for("/docs/note1.txt", "text/plain"))
    hello = next(m for m in outcome.matches if m.rule == "Hello_Text" and m.namespace == "malware.yar")
    assert hello.tags == ("greeting", "text")
    assert dict(hello.meta) == {"author": "lab", "score": 70, "reviewed": True}
    first = next(s for s in hello.strings if s.identifier == "$a")
    assert bytes.fromhex(first.data_hex) == TARGETS["note1.txt"][first.offset:first.offset + first.length]


def test_spooled_files_limits_and_caps(both, tmp_path):
    classic, modern = both
    spool = tmp_path / "spool.bin"
    spool.write_bytes(TARGETS["mixed.txt"])
    externals = externals_for("/x/mixed.txt", "text/plain")
    assert modern.scan_path(spool, externals).matches == classic.scan_path(spool, externals).matches
    empty = tmp_path / "empty.bin"
    empty.write_bytes(b"")
    assert modern.scan_path(empty, {}).status == "clean"
    many = tmp_path / "many.yar"
    many.write_text('rule many { strings: $a = "ab" condition: $a }')
    rules, _ = yara_x_engine.compile_sources(read_sources([many]))
    capped = yara_x_engine.YaraXScanner(rules, max_string_matches=10).scan_bytes(b"ab" * 50, {})
    (match,) = capped.matches
    assert len(match.strings) == 10 and match.strings_truncated
    long_rule = tmp_path / "long.yar"
    long_rule.write_text('rule long { strings: $r = /x{600,}/ condition: $r }')
    long_info, long_rules = compile_ruleset("long", "1", [long_rule])
    x_rules, _ = yara_x_engine.compile_sources(read_sources([long_rule]))
    data = b"-" + b"x" * 700 + b"-"
    a = YaraScanner(long_rules, long_info).scan_bytes(data, {})
    b = yara_x_engine.YaraXScanner(x_rules).scan_bytes(data, {})
    assert a.matches == b.matches and b.matches[0].strings[0].length == 700
    assert len(bytes.fromhex(b.matches[0].strings[0].data_hex)) == 512      # what libyara keeps
    small = yara_x_engine.YaraXScanner(rules, size_cap=10).scan_bytes(b"ab" * 50, {})
    assert small.status == "too-large"


def test_a_set_yara_x_refuses_is_reported_not_half_compiled(tmp_path):
    """YARA-X keeps the good rules of a file it refuses; such a file must not be compiled by it at all."""
    (tmp_path / "brace.yar").write_text(LIBYARA_ONLY.replace("rule brace", 'rule fine { strings: $a = "fine" '
                                                             'condition: $a }\nrule brace'))
    (tmp_path / "good.yar").write_text('rule good { strings: $a = "good" condition: $a }\n')
    compile_ruleset("b", "1", [tmp_path / "brace.yar"])               # libyara takes it
    sources = read_sources([tmp_path / "brace.yar", tmp_path / "good.yar"])
    assert list(yara_x_engine.refused_sources(sources)) == ["brace.yar"]
    rules, refused = yara_x_engine.compile_sources(sources)
    assert rules is None and refused.startswith("YARA-X refuses brace.yar:")


def test_relaxed_regexp_syntax_is_used_only_where_strict_refuses(tmp_path):
    (tmp_path / "loose.yar").write_text(RELAXED_ONLY)
    (tmp_path / "good.yar").write_text('rule good { strings: $a = "good" condition: $a }\n')
    sources = read_sources([tmp_path / "loose.yar", tmp_path / "good.yar"])
    assert yara_x_engine.split_sources(sources) == ({}, ["loose.yar"])
    rules, _ = yara_x_engine.compile_sources(sources, relaxed=True)
    info, classic = compile_ruleset("l", "1", [tmp_path / "loose.yar", tmp_path / "good.yar"])
    for data in (b"..x{,y..good", b"xy good", b"x{,y"):
        a = YaraScanner(classic, info).scan_bytes(data, {})
        b = yara_x_engine.YaraXScanner(rules).scan_bytes(data, {})
        assert a.matches == b.matches, data


def test_a_mixed_set_finds_what_libyara_finds(tmp_path):
    """Files YARA-X compiles run on it, the others on libyara; the union equals libyara on the whole set."""
    (tmp_path / "malware.yar").write_text(MALWARE_YAR)
    (tmp_path / "brace.yar").write_text(LIBYARA_ONLY.replace("rule brace", 'rule fine { strings: $a = "hello" '
                                                             'condition: $a }\nrule brace'))
    (tmp_path / "other.yar").write_text(OTHER_YAR)
    paths = [tmp_path / "malware.yar", tmp_path / "brace.yar", tmp_path / "other.yar"]
    info, _ = compile_ruleset("m", "1", paths, compiled_path=tmp_path / "all.yarc")
    accepted = [s for s in read_sources(paths) if s[0] != "brace.yar"]
    yara_x_engine.compile_sources(accepted, compiled_path=tmp_path / "m.yrx")
    compile_ruleset("m", "1", [tmp_path / "brace.yar"], compiled_path=tmp_path / "part.yarc")
    mixed = prepare(None, info, engine="mixed", engine_path=tmp_path / "m.yrx",
                    split={"path": tmp_path / "part.yarc", "order": [p.name for p in paths]})
    whole = prepare(tmp_path / "all.yarc", info)
    data = TARGETS["prog.exe"] + TARGETS["note1.txt"] + b" a{,b "
    externals = externals_for("/docs/note1.txt", "text/plain")
    a, b = whole.scan_bytes(data, externals), mixed.scan_bytes(data, externals)
    assert a == b and {m.namespace for m in b.matches} == {"malware.yar", "brace.yar", "other.yar"}


def test_compiled_rules_are_checked_on_load(both, tmp_path):
    with pytest.raises(RuleSetError, match="do not match their recorded SHA-256"):
        yara_x_engine.load_rules(tmp_path / "lab.yrx", "0" * 64)


def test_rules_add_chooses_the_engine_and_process_records_it(tmp_path, monkeypatch):
    """auto → YARA-X when it compiles the set; a set it refuses stays on libyara with the reason in
    `rules list`; --engine yara-x refuses such a set; findings are the same under both engines."""
    require_tools("mkfs.vfat", "mcopy")
    from forensics.sample import build_fat_image

    monkeypatch.setenv("FORENSICS_KEY_DIR", str(tmp_path / "keys"))
    (tmp_path / "malware.yar").write_text(MALWARE_YAR)
    (tmp_path / "brace.yar").write_text(LIBYARA_ONLY)
    (tmp_path / "other.yar").write_text(OTHER_YAR)
    image = build_fat_image(tmp_path / "disk.img", {"docs/note1.txt": TARGETS["note1.txt"],
                                                    "bin/prog.exe": TARGETS["prog.exe"],
                                                    "a/brace.txt": b"xx a{,b yy"}, size_mib=16)
    results = {}
    for engine in ("auto", "libyara"):
        cli = cli_for(f"sqlite:///{tmp_path / engine}.db")
        added = cli("rules", "add", "lab", str(tmp_path / "malware.yar"), "--engine", engine)
        assert added.splitlines()[0].endswith("engine " + ("yara-x" if engine == "auto" else "libyara"))
        assert "engine libyara" in cli("rules", "add", "old", str(tmp_path / "brace.yar"))
        assert "engine: libyara (YARA-X refuses brace.yar" in cli("rules", "list")
        if engine == "auto":
            mixed = cli("rules", "add", "both", str(tmp_path / "other.yar"), str(tmp_path / "brace.yar"))
            assert "engine mixed" in mixed and "1 of 2 files scanned with libyara" in mixed
        cli("case", "create", "C")
        cli("evidence", "add", str(image), "--case", "C", "--exhibit", "E", "--examiner", "t")
        cli("process", "--case", "C", "--exhibit", "E", "--no-carve")
        found = [f for f in map(json.loads, cli("findings", "--case", "C", "--json").splitlines())
                 if f["matcher"] == "yara"]
        results[engine] = sorted((f["path"], f["rule"], json.dumps(f["detail"], sort_keys=True)) for f in found
                                 if f["set_name"] != "both")
        engines = {f["rule"].split(":")[0]: set(f["engine_versions"]) for f in found}
        assert engines["brace.yar"] == {"libyara", "yara-python"}
        assert engines["malware.yar"] == ({"yara-x"} if engine == "auto" else {"libyara", "yara-python"})
        if engine == "auto":
            assert engines["other.yar"] == {"yara-x"}
            results[engine] = [r for r in results[engine] if not r[1].startswith("other.yar")]
        if engine == "auto":
            refused = cli("rules", "add", "strict", str(tmp_path / "brace.yar"), "--engine", "yara-x", code=3)
            assert "YARA-X refuses brace.yar" in refused
            compared = cli("rules", "compare", "lab", str(tmp_path / "malware.yar"), str(image))
            assert "2 files scanned with both engines, 0 with different matches (engine in use: yara-x)" in compared
    assert results["auto"] == results["libyara"]
    assert {r[1] for r in results["auto"]} >= {"malware.yar:Hello_Text", "brace.yar:brace"}
