"""bench/engine_floor.py: the engines' floor feeds each distinct content to what a content worker
prepares for the case's rule sets, and leaves known-good content unmatched as --skip-known-good does."""
from __future__ import annotations

import hashlib
import importlib.util
from pathlib import Path

from tests.conftest import cli_for

BENCH = Path(__file__).resolve().parent.parent / "bench"
NEEDLE = b"the needle is here; " * 8
NOISE = bytes(range(256)) * 4


def _floor_module():
    spec = importlib.util.spec_from_file_location("engine_floor", BENCH / "engine_floor.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _case(tmp_path: Path, monkeypatch, *rules: str) -> str:
    monkeypatch.setenv("FORENSICS_DATA_DIR", str(tmp_path / "data"))
    url = f"sqlite:///{tmp_path / 'case.db'}"
    paths = []
    for number, rule in enumerate(rules):
        paths.append(tmp_path / f"rules{number}.yar")
        paths[-1].write_text(rule)
    cli_for(url)("rules", "add", "lab-rules", *map(str, paths), "--version", "1")
    files = tmp_path / "files"
    (files / "sub").mkdir(parents=True)
    (files / "a.txt").write_bytes(NEEDLE)
    (files / "sub" / "copy.txt").write_bytes(NEEDLE)          # the same content: examined once
    (files / "noise.bin").write_bytes(NOISE)
    (files / "link").symlink_to(files / "noise.bin")            # not followed
    return url


def test_floor_counts_each_content_once_and_skips_known_good(tmp_path, monkeypatch):
    floor = _floor_module()
    url = _case(tmp_path, monkeypatch, 'rule needle { strings: $a = "needle" condition: $a }')

    result = floor.floor(url, tmp_path / "files")
    assert (result["files"], result["matched"], result["bytes"]) == (2, 2, len(NEEDLE) + len(NOISE))
    assert list(result["seconds"]) == list(floor.ENGINES)
    assert abs(result["total"] - sum(result["seconds"].values())) < 0.02
    assert result["seconds"]["libyara"] == 0.0           # YARA-X compiles the whole set: libyara never runs

    (tmp_path / "good.sha256").write_text(f"{hashlib.sha256(NOISE).hexdigest().upper()}  noise.bin\n")
    known = floor.known_sha256(tmp_path / "good.sha256")      # as `hashset import` reads it: lower-case hex
    assert known == {hashlib.sha256(NOISE).hexdigest()}
    skipped = floor.floor(url, tmp_path / "files", known)
    assert (skipped["files"], skipped["matched"]) == (2, 1)
    assert "2 distinct contents" in floor.describe(skipped) and "matchers on 1" in floor.describe(skipped)


def test_floor_times_a_mixed_set_on_both_engines(tmp_path, monkeypatch):
    """A file YARA-X refuses (a regexp matching the empty string) keeps libyara for that file, the other
    goes to YARA-X: both halves of the mixed scanner are called, once per distinct content."""
    floor = _floor_module()
    calls: list[str] = []
    from forensics.matchers import yara_rules, yara_x_engine

    for cls, name in ((yara_x_engine.YaraXScanner, "yara-x"), (yara_rules.YaraScanner, "libyara")):
        original = cls.scan_bytes

        def spy(self, data, externals, original=original, name=name):
            calls.append(name)
            return original(self, data, externals)
        monkeypatch.setattr(cls, "scan_bytes", spy)
    url = _case(tmp_path, monkeypatch, 'rule needle { strings: $a = "needle" condition: $a }',
                'rule loose { strings: $b = /needle|/ condition: $b }')
    floor.floor(url, tmp_path / "files")
    assert sorted(calls) == ["libyara", "libyara", "yara-x", "yara-x"]
