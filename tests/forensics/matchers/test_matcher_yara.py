"""YARA rule sets: digest, compiler errors, limits, and the same results as the yara CLI."""
from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from forensics.errors import ItemError
from forensics.matchers import MATCHERS
from forensics.matchers.errors import RuleSetError
from forensics.matchers.yara_rules import (
    YaraScanner,
    compile_ruleset,
    externals_for,
    load_rules,
    prepare,
    ruleset_digest,
)
from tests.conftest import require_tools

MALWARE_YAR = r'''
rule Hello_Text : greeting text {
    meta:
        author = "lab"
        score = 70
        reviewed = true
    strings:
        $a = "hello" nocase
        $b = { 41 ?? 43 }
        $c = /wor[l]d+/
        $w = "hi" wide
    condition:
        any of them
}

rule Only_In_Txt {
    strings:
        $a = "hello" nocase
    condition:
        $a and extension == ".txt" and filename matches /^note/
}

rule Path_And_Type {
    condition:
        filepath contains "/docs/" and filetype == "text/plain"
}
'''

OTHER_YAR = r'''
rule MZ_Header {
    strings:
        $mz = { 4D 5A }
        $pe = "This program cannot be run in DOS mode"
    condition:
        $mz at 0 and $pe
}

rule Hello_Text {
    strings:
        $x = "Hello"
    condition:
        #x >= 2
}
'''

TARGETS = {
    "note1.txt": b"Hello world A.C hello h\x00i\x00 worldd",
    "note2.bin": b"nothing to see but hello and HELLO",
    "prog.exe": b"MZ\x90\x00" + b"\x00" * 60 + b"This program cannot be run in DOS mode.\r\n" + b"A.C" * 5,
    "clean.dat": b"\x00\x01\x02" * 100,
    "mixed.txt": b"Hello Hello abc " * 50 + b"A\x00C world",
}


@pytest.fixture
def ruleset(tmp_path):
    rules_dir = tmp_path / "rules"
    rules_dir.mkdir()
    (rules_dir / "malware.yar").write_text(MALWARE_YAR)
    (rules_dir / "other.yar").write_text(OTHER_YAR)
    paths = [rules_dir / "malware.yar", rules_dir / "other.yar"]
    info, rules = compile_ruleset("lab-rules", "2024.1", paths, tmp_path / "lab.yarc")
    return paths, info, rules


def test_registry_names_the_yara_matcher():
    assert MATCHERS["yara"].name == "yara" and MATCHERS["yara"].version
    assert "libyara" in MATCHERS["yara"].engine_versions()


def test_digest_is_the_sorted_sha256sum_manifest(ruleset):
    paths, info, _ = ruleset
    manifest = "".join(f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}\n"
                       for p in sorted(paths, key=lambda p: p.name))
    assert info.sha256 == hashlib.sha256(manifest.encode()).hexdigest()
    assert info.sha256 == ruleset_digest([(p.name, p.read_bytes()) for p in reversed(paths)])
    assert [s.name for s in info.sources] == ["malware.yar", "other.yar"]
    assert info.rule_count == 5 and info.name == "lab-rules" and info.version == "2024.1"
    assert info.compiled_sha256 == hashlib.sha256(Path(info.compiled_path).read_bytes()).hexdigest()


def test_digest_changes_with_a_byte_or_a_name():
    base = ruleset_digest([("a.yar", b"rule a { condition: true }")])
    assert base != ruleset_digest([("a.yar", b"rule a { condition: true } ")])
    assert base != ruleset_digest([("b.yar", b"rule a { condition: true }")])


def test_syntax_error_names_file_and_line(tmp_path):
    good = tmp_path / "good.yar"
    good.write_text("rule ok { condition: true }\n")
    bad = tmp_path / "bad.yar"
    bad.write_text('rule a {\n strings:\n  $x = "abc"\n condition:\n  $x and\n}\n')
    with pytest.raises(RuleSetError) as caught:
        compile_ruleset("x", "1", [good, bad])
    assert caught.value.source == str(bad) and caught.value.line == 6
    assert "syntax error" in caught.value.message
    assert str(caught.value).startswith(f"{bad}(6): ")


def test_undefined_identifier_and_include_are_refused(tmp_path):
    typo = tmp_path / "typo.yar"
    typo.write_text('rule t {\n condition:\n  fileName == "x"\n}\n')
    with pytest.raises(RuleSetError, match=r"typo\.yar\(3\): undefined identifier"):
        compile_ruleset("x", "1", [typo])
    inc = tmp_path / "inc.yar"
    inc.write_text('include "typo.yar"\nrule i { condition: true }\n')
    with pytest.raises(RuleSetError, match="includes are disabled"):
        compile_ruleset("x", "1", [inc])


def test_duplicate_names_missing_files_and_empty_sets_are_refused(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    for d in ("a", "b"):
        (tmp_path / d / "r.yar").write_text("rule r { condition: true }")
    with pytest.raises(RuleSetError, match="two source files"):
        compile_ruleset("x", "1", [tmp_path / "a/r.yar", tmp_path / "b/r.yar"])
    with pytest.raises(RuleSetError, match="cannot read"):
        compile_ruleset("x", "1", [tmp_path / "missing.yar"])
    (tmp_path / "empty.yar").write_text("// nothing\n")
    with pytest.raises(RuleSetError, match="no rules"):
        compile_ruleset("x", "1", [tmp_path / "empty.yar"])


def test_saved_rules_load_and_are_checked(ruleset, tmp_path):
    _, info, _ = ruleset
    scanner = prepare(info.compiled_path, info, timeout=5)
    outcome = scanner.scan_bytes(TARGETS["prog.exe"], externals_for("/x/prog.exe"))
    assert outcome.status == "matched" and {m.rule for m in outcome.matches} == {"MZ_Header", "Hello_Text"}
    with pytest.raises(RuleSetError, match="SHA-256"):
        load_rules(info.compiled_path, expected_sha256="0" * 64)
    junk = tmp_path / "junk.yarc"
    junk.write_bytes(b"not compiled rules")
    with pytest.raises(RuleSetError, match="compile the sources again"):
        load_rules(junk)


def test_match_record_carries_namespace_tags_meta_and_strings(ruleset):
    _, info, rules = ruleset
    outcome = YaraScanner(rules, info).scan_bytes(TARGETS["note1.txt"], externals_for("/docs/note1.txt",
                                                                                      "text/plain"))
    by_rule = {(m.namespace, m.rule): m for m in outcome.matches}
    assert set(by_rule) == {("malware.yar", "Hello_Text"), ("malware.yar", "Only_In_Txt"),
                            ("malware.yar", "Path_And_Type")}
    hello = by_rule[("malware.yar", "Hello_Text")]
    assert hello.tags == ("greeting", "text")
    assert dict(hello.meta) == {"author": "lab", "score": 70, "reviewed": True}
    assert [(s.identifier, s.offset, s.length, s.data_hex) for s in hello.strings][:2] == [
        ("$a", 0, 5, b"Hello".hex()), ("$a", 16, 5, b"hello".hex())]
    assert outcome.scanned_bytes == len(TARGETS["note1.txt"])


def test_externals_change_the_outcome(ruleset):
    _, info, rules = ruleset
    scanner = YaraScanner(rules, info)
    as_bin = scanner.scan_bytes(TARGETS["note1.txt"], externals_for("/tmp/note1.bin"))
    assert {m.rule for m in as_bin.matches} == {"Hello_Text"}
    assert externals_for("/Docs/Report.PDF", "application/pdf") == {
        "filename": "Report.PDF", "filepath": "/Docs/Report.PDF", "extension": ".pdf",
        "filetype": "application/pdf"}
    assert scanner.scan_bytes(TARGETS["clean.dat"], {}).status == "clean"


def test_size_cap_is_an_outcome_never_a_silent_skip(ruleset):
    _, info, rules = ruleset
    scanner = YaraScanner(rules, info, size_cap=100)
    assert scanner.scan_bytes(b"x" * 101, {}).status == "too-large"
    known = scanner.scan_chunks(iter(()), {}, size=10_000)
    assert known.status == "too-large" and "10000 bytes" in known.message
    read = []

    def chunks():
        for _ in range(10):
            read.append(1)
            yield b"y" * 40

    streamed = scanner.scan_chunks(chunks(), {})
    assert streamed.status == "too-large" and len(read) == 3  # stopped reading past the cap
    assert scanner.scan_chunks([b"hello", b" ", b"x" * 80], {}).status == "matched"


def test_unreadable_stream_and_short_read_are_recorded(ruleset):
    _, info, rules = ruleset
    scanner = YaraScanner(rules, info)

    def failing():
        yield b"hello "
        raise ItemError("TSK read failed: bad sector")

    outcome = scanner.scan_chunks(failing(), {})
    assert outcome.status == "error" and "bad sector" in outcome.message and "6 bytes" in outcome.message
    short = scanner.scan_chunks([b"hello"], {}, size=50)
    assert short.status == "matched" and "read 5 of 50 bytes" in short.message
    missing = scanner.scan_file("/nonexistent/file.bin")
    assert missing.status == "error" and "unreadable" in missing.message


def test_timeout_is_an_outcome(tmp_path):
    slow = tmp_path / "slow.yar"
    slow.write_text("rule slow { condition: for all i in (0..filesize-1) : "
                    "( for all j in (0..filesize-1) : ( uint8(i) != uint8(j) or true ) ) }\n")
    info, rules = compile_ruleset("slow", "1", [slow])
    outcome = YaraScanner(rules, info, timeout=1).scan_bytes(b"z" * 100_000, {})
    assert outcome.status == "timeout" and "1 s" in outcome.message and outcome.matches == ()


def test_string_occurrences_are_capped_and_flagged(tmp_path):
    many = tmp_path / "many.yar"
    many.write_text('rule many { strings: $a = "ab" condition: $a }')
    info, rules = compile_ruleset("many", "1", [many])
    outcome = YaraScanner(rules, info, max_string_matches=10).scan_bytes(b"ab" * 50, {})
    (match,) = outcome.matches
    assert len(match.strings) == 10 and match.strings_truncated


# --- the yara command-line tool on the same files ----------------------------------------------

CLI_RULE = re.compile(r"^(?P<ns>[^:\s]+):(?P<rule>\S+) \[(?P<tags>[^\]]*)\] (?P<target>.+)$")
CLI_STRING = re.compile(r"^0x(?P<offset>[0-9a-f]+):(?P<id>\$\S*): ")


def _cli(rule_paths: list[Path], target: Path, externals: dict[str, str]) -> set[tuple]:
    args = ["yara", "-s", "-e", "-g", "-w"]
    for key, value in externals.items():
        args += ["-d", f"{key}={value}"]
    args += [f"{p.name}:{p}" for p in rule_paths] + [str(target)]
    output = subprocess.run(args, capture_output=True, text=True, check=True).stdout
    strings: dict[tuple, list] = {}
    current = None
    for line in output.splitlines():
        if (rule := CLI_RULE.match(line)):
            current = (rule["ns"], rule["rule"], tuple(t for t in rule["tags"].split(",") if t))
            strings[current] = []
        elif (string := CLI_STRING.match(line)):
            strings[current].append((string["id"], int(string["offset"], 16)))
        else:
            raise AssertionError(f"unexpected yara output line {line!r}")
    return {key + (tuple(sorted(found)),) for key, found in strings.items()}


def _ours(outcome) -> set[tuple]:
    return {(m.namespace, m.rule, m.tags, tuple(sorted((s.identifier, s.offset) for s in m.strings)))
            for m in outcome.matches}


def test_results_equal_the_yara_command_line_tool(ruleset, tmp_path):
    require_tools("yara")
    paths, info, _ = ruleset
    scanner = prepare(info.compiled_path, info, timeout=10)
    targets = tmp_path / "targets" / "docs"
    targets.mkdir(parents=True)
    compared = 0
    for name, data in TARGETS.items():
        target = targets / name
        target.write_bytes(data)
        externals = externals_for(f"/evidence/docs/{name}", "text/plain" if name.endswith(".txt") else
                                  "application/octet-stream")
        ours = scanner.scan_bytes(data, externals)  # the path inside the evidence, not the temp path
        assert ours.status in ("matched", "clean")
        assert _ours(ours) == _cli(paths, target, externals), name
        compared += bool(ours.matches)
    assert compared >= 4


def test_scan_file_reads_a_local_file(ruleset, tmp_path):
    _, info, rules = ruleset
    target = tmp_path / "note9.txt"
    target.write_bytes(TARGETS["note1.txt"])
    outcome = YaraScanner(rules, info).scan_file(target, "text/plain")
    assert {m.rule for m in outcome.matches} == {"Hello_Text", "Only_In_Txt"}
