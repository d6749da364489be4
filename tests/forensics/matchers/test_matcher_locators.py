"""Matchers read evidence by locator through StreamReader, on the project's own sample disk."""
from __future__ import annotations

import pytest

from forensics.reader import StreamReader
from forensics.matchers.errors import MatcherItemError
from forensics.matchers.pdq import PdqHasher
from forensics.matchers.tlsh_digest import tlsh_digest, tlsh_locator
from forensics.matchers.yara_rules import YaraScanner, compile_ruleset, externals_for
from forensics.models import FileRecord
from forensics.sample import sample_files
from forensics.volumes import scan_volumes
from forensics.walk import walk_file_system


@pytest.fixture(scope="module")
def evidence(sample_image):
    """(path, FileRecord) of every allocated regular file with content, on every volume."""
    found = []
    for volume in scan_volumes(str(sample_image.path)):
        if volume.kind != "filesystem":
            continue
        for record in walk_file_system(volume.locator):
            if isinstance(record, FileRecord) and record.allocated and record.has_content:
                found.append((record.path.lstrip("/"), record))
    return found


def test_yara_by_locator_equals_yara_on_the_planted_bytes(evidence, tmp_path):
    rules = tmp_path / "case.yar"
    rules.write_text('rule exhibit { strings: $a = "exhibit" $b = "Seized" condition: any of them }\n'
                     'rule in_docs { condition: filepath contains "/docs/" }\n')
    info, compiled = compile_ruleset("case", "1", [rules])
    scanner, reader, planted = YaraScanner(compiled, info), StreamReader(), sample_files()
    matched = 0
    for path, record in evidence:
        if path not in planted:
            continue
        by_locator = scanner.scan_locator(reader, record.locator, record.path, size=record.size)
        direct = scanner.scan_bytes(planted[path], externals_for(record.path))
        assert by_locator.status == direct.status and by_locator.matches == direct.matches, path
        matched += by_locator.status == "matched"
    assert matched >= 4


def test_pdq_and_tlsh_by_locator(evidence):
    hasher, reader, planted = PdqHasher(), StreamReader(), sample_files()
    images = errors = 0
    for path, record in evidence:
        if path not in planted:
            continue
        if path.endswith((".png", ".bmp", ".jpg")):
            try:
                digest = hasher.digest_locator(reader, record.locator, record.size)
            except MatcherItemError as exc:      # notes/holiday.jpg is a PDF: a warning, not a stop
                assert path == "notes/holiday.jpg" and exc.kind == "unsupported"
                errors += 1
                continue
            assert digest == hasher.digest(planted[path]), path
            images += 1
        assert tlsh_locator(reader, record.locator) == tlsh_digest(planted[path]), path
    assert images >= 3 and errors >= 1  # one holiday.jpg per file system
