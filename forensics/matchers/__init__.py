"""Matchers: what a file is compared against (YARA rules, PDQ fingerprints, TLSH digests).

The registry is this one explicit dict. Each entry names the module whose ``prepare(...)``
returns a ready matcher; the module (and with it ``yara``, ``pdqhash``, ``tlsh``, Pillow) is
imported only then, never when this package is imported. Every finding stores
(matcher name, matcher version, rule-set / hash-set digest): bump ``version`` whenever a
change could change a result for the same input.

Known-hash lookups (MD5/SHA-1/SHA-256 against imported sets) are a database join, not a
matcher here; :mod:`forensics.matchers.hashsets` only parses the set files.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class MatcherSpec:
    name: str
    version: str
    module: str
    summary: str

    def load(self) -> ModuleType:
        return importlib.import_module(self.module)

    def prepare(self, *args, **kwargs):
        """Imports the native library and returns the module's prepared matcher."""
        return self.load().prepare(*args, **kwargs)

    def engine_versions(self) -> dict[str, str]:
        return self.load().engine_versions()


MATCHERS: dict[str, MatcherSpec] = {
    "yara": MatcherSpec("yara", "1", "forensics.matchers.yara_rules",
                        "YARA rule sets with filename/filepath/extension/filetype externals"),
    "pdq": MatcherSpec("pdq", "1", "forensics.matchers.pdq",
                       "PDQ image fingerprints, 8 dihedral variants, Hamming radius search"),
    "tlsh": MatcherSpec("tlsh", "1", "forensics.matchers.tlsh_digest",
                        "TLSH locality-sensitive digests for document similarity"),
}
