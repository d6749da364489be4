"""The matcher registry: explicit, versioned, and free of native imports until prepared."""
from __future__ import annotations

import subprocess
import sys

from forensics.matchers import MATCHERS
from forensics.matchers.hashsets import PARSER_VERSION


def test_registry_lists_each_matcher_with_name_and_version():
    assert list(MATCHERS) == ["yara", "pdq", "tlsh"]
    for key, spec in MATCHERS.items():
        assert spec.name == key and spec.version and spec.summary
        assert hasattr(spec.load(), "prepare") and spec.engine_versions()
    assert PARSER_VERSION


def test_native_libraries_load_only_when_a_matcher_is_prepared():
    code = (
        "import sys\n"
        "import forensics.matchers, forensics.matchers.hashsets, forensics.matchers.yara_rules\n"
        "import forensics.matchers.pdq, forensics.matchers.tlsh_digest\n"
        "loaded = {'yara', 'pdqhash', 'PIL', 'tlsh', 'magic', 'ijson'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
        "from forensics.matchers import MATCHERS\n"
        "MATCHERS['tlsh'].prepare(); MATCHERS['pdq'].prepare()\n"
        "assert {'tlsh', 'pdqhash', 'PIL'} <= set(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_prepared_matchers_work_through_the_registry():
    hasher = MATCHERS["tlsh"].prepare()
    assert hasher.digest(bytes(range(256)) * 2).size == 512
    assert MATCHERS["pdq"].prepare(convention="full-resolution").convention == "full-resolution"
