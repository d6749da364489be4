"""YARA-X, the second YARA engine: the same rule set, compiled and scanned by VirusTotal's Rust
rewrite (``yara-x`` on PyPI), which scans the benchmark's public rule set about 3.5 times faster
than libyara with identical matches (bench/README.md).

Each source file compiles into its own namespace named after the file (as with libyara), with
the same externals declared and ``include`` refused. YARA-X refuses some rules libyara takes (and
keeps the good rules of a file it refuses), so a file it refuses is compiled by libyara alone: a set
is scanned by YARA-X (every file compiles), by both (:class:`SplitScanner`: "mixed"), or by libyara.
Rules see only their own namespace, so splitting a set by file finds what libyara finds with the
whole set. Findings are the same records as libyara's
(:class:`~forensics.matchers.models.YaraMatch`): matched bytes are sliced from the scanned data (the first 512, as libyara keeps),
metadata keeps the last value of a repeated key (as yara-python's dict does), and at most
``max_string_matches`` occurrences are kept per string.

Compiled rules are saved with ``Rules.serialize_into`` and checked against their SHA-256 on load;
the file is tied to the YARA-X version that wrote it (compile again from the stored sources).
Reference: https://virustotal.github.io/yara-x/docs/api/python/
"""
from __future__ import annotations

import hashlib
import mmap
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from forensics.matchers.errors import RuleSetError
from forensics.matchers.models import YaraMatch, YaraOutcome, YaraString
from forensics.matchers.yara_rules import (
    DEFAULT_MAX_STRING_MATCHES, DEFAULT_SIZE_CAP, DEFAULT_TIMEOUT, EXTERNALS, Define, YaraScanner,
)

ENGINE = "yara-x"
MATCH_DATA = 512          # bytes of each match kept, as libyara keeps them (YR_MAX_MATCH_DATA)


def version() -> str:
    from importlib.metadata import version as package_version

    return package_version("yara-x")


def _compiler(defines: Mapping[str, Define] | None, relaxed: bool = False):
    import yara_x

    compiler = yara_x.Compiler(relaxed_re_syntax=relaxed)
    compiler.enable_includes(False)
    for name, value in {**dict.fromkeys(EXTERNALS, ""), **dict(defines or {})}.items():
        compiler.define_global(name, value)
    return compiler


def refused_sources(sources: Sequence[tuple[str, bytes]], defines: Mapping[str, Define] | None = None,
                    relaxed: bool = False) -> dict[str, str]:
    """{source name: YARA-X's first error line} for each source file YARA-X does not compile (with
    ``relaxed``: under YARA-X's libyara-compatible regexp syntax, where a ``{`` that is no repetition
    and unknown escapes are literals, as libyara reads them)."""
    import yara_x

    compiler, refused = _compiler(defines, relaxed), {}
    for name, data in sources:
        compiler.new_namespace(name)
        try:
            compiler.add_source(data.decode("utf-8", "replace"), origin=name)
        except yara_x.CompileError as exc:
            lines = str(exc).strip().splitlines()
            refused[name] = lines[0] if lines else type(exc).__name__
    return refused


def split_sources(sources: Sequence[tuple[str, bytes]], defines: Mapping[str, Define] | None = None
                  ) -> tuple[dict[str, str], list[str]]:
    """({file YARA-X refuses: why}, [files it compiles only under the relaxed regexp syntax])."""
    strict = refused_sources(sources, defines)
    if not strict:
        return {}, []
    # the relaxed syntax only accepts more: the files the strict pass took need no second look
    relaxed = refused_sources([(name, data) for name, data in sources if name in strict], defines, relaxed=True)
    return relaxed, [name for name in strict if name not in relaxed]


def compile_sources(sources: Sequence[tuple[str, bytes]], defines: Mapping[str, Define] | None = None,
                    compiled_path: str | Path | None = None, relaxed: bool = False,
                    checked: bool = False) -> tuple[Any, str | None]:
    """Compiles the (name, bytes) sources with YARA-X: ``(rules, None)``, or ``(None, reason)`` when
    YARA-X refuses any of them (a refused file may leave some of its rules in YARA-X's compiler, so
    a set is compiled only once every file is known to compile). With ``compiled_path`` the rules are
    saved there; ``relaxed`` compiles under the libyara-compatible regexp syntax; ``checked``: the
    caller has already left out what ``split_sources`` says YARA-X refuses (no second check)."""
    refused = {} if checked else refused_sources(sources, defines, relaxed)
    if refused:
        return None, "; ".join(f"YARA-X refuses {name}: {why}" for name, why in refused.items())
    compiler = _compiler(defines, relaxed)
    for name, data in sources:
        compiler.new_namespace(name)
        compiler.add_source(data.decode("utf-8", "replace"), origin=name)
    rules = compiler.build()
    if compiled_path is not None:
        try:
            with open(compiled_path, "wb") as handle:
                rules.serialize_into(handle)
        except OSError as exc:
            raise RuleSetError(f"cannot save the YARA-X rules: {exc}", source=str(compiled_path)) from exc
    return rules, None


def load_rules(compiled_path: str | Path, expected_sha256: str | None = None) -> Any:
    import yara_x

    path = Path(compiled_path)
    data = path.read_bytes()
    if expected_sha256 is not None and hashlib.sha256(data).hexdigest() != expected_sha256.lower():
        raise RuleSetError("compiled YARA-X rules do not match their recorded SHA-256", source=str(path))
    try:
        import io

        return yara_x.Rules.deserialize_from(io.BytesIO(data))
    except Exception as exc:                                  # noqa: BLE001 (yara_x raises plain exceptions)
        raise RuleSetError(f"cannot load compiled YARA-X rules ({exc}); compile the sources again",
                           source=str(path)) from exc


class YaraXScanner(YaraScanner):
    """:class:`YaraScanner`'s interface and limits over YARA-X rules."""

    engine = ENGINE

    def __init__(self, rules, info=None, *, timeout: int = DEFAULT_TIMEOUT, size_cap: int = DEFAULT_SIZE_CAP,
                 max_string_matches: int = DEFAULT_MAX_STRING_MATCHES,
                 defines: Mapping[str, Define] | None = None) -> None:
        import yara_x

        self._yara_x = yara_x
        self.rules = rules
        self.info = info
        self.timeout = int(timeout)
        self.size_cap = int(size_cap)
        self.max_string_matches = max_string_matches
        self.defines = dict(defines or {})
        self._scanner = yara_x.Scanner(rules)
        self._scanner.set_timeout(max(self.timeout, 1))
        self._scanner.max_matches_per_pattern(max_string_matches + 1)   # one more: says "truncated"

    def scan_bytes(self, data: bytes | bytearray, externals: Mapping[str, str]) -> YaraOutcome:
        if len(data) > self.size_cap:
            return YaraOutcome("too-large", message=f"{len(data)} bytes exceed the size cap of "
                               f"{self.size_cap} bytes; not scanned")
        data = data if isinstance(data, bytes) else bytes(data)
        return self._scan(lambda: self._scanner.scan(data), data, externals, len(data))

    def scan_path(self, path: str | Path, externals: Mapping[str, str]) -> YaraOutcome:
        """YARA-X maps the spooled file itself; matched bytes are read back from a mapping of it."""
        size = Path(path).stat().st_size
        if size == 0:
            return self.scan_bytes(b"", externals)
        with open(path, "rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as mapped:
            return self._scan(lambda: self._scanner.scan_file(str(path)), mapped, externals, size)

    def _scan(self, run, data, externals: Mapping[str, str], size: int) -> YaraOutcome:
        for name, value in self._values(externals).items():
            self._scanner.set_global(name, value)
        try:
            found = run()
        except self._yara_x.TimeoutError:
            return YaraOutcome("timeout", message=f"scan timed out after {self.timeout} s", scanned_bytes=size)
        except self._yara_x.ScanError as exc:
            return YaraOutcome("error", message=f"YARA-X: {exc}", scanned_bytes=size)
        matches = tuple(self._match_x(rule, data) for rule in found.matching_rules)
        return YaraOutcome("matched" if matches else "clean", matches, scanned_bytes=size)

    def _match_x(self, rule, data) -> YaraMatch:
        strings: list[YaraString] = []
        truncated = False
        for pattern in rule.patterns:
            occurrences = pattern.matches
            if len(occurrences) > self.max_string_matches:
                truncated = True
                occurrences = occurrences[: self.max_string_matches]
            strings.extend(YaraString(pattern.identifier, m.offset, m.length,
                                      bytes(data[m.offset:m.offset + min(m.length, MATCH_DATA)]).hex())
                           for m in occurrences)
        return YaraMatch(rule=rule.identifier, namespace=rule.namespace, tags=tuple(rule.tags),
                         meta=tuple(dict(rule.metadata).items()), strings=tuple(strings),
                         strings_truncated=truncated)


def prepare(compiled_path: str | Path, expected_sha256: str | None = None, **limits) -> YaraXScanner:
    return YaraXScanner(load_rules(compiled_path, expected_sha256), **limits)


def compare(classic: YaraScanner, modern: YaraScanner, files) -> tuple[int, list[tuple[str, str, str]]]:
    """Scans each (path, bytes) with both engines: (files scanned, [(path, libyara's, YARA-X's)] where the
    rules that matched, or the strings they matched, differ). The check a lab runs before trusting YARA-X
    with a rule set on its own material (``forensics rules compare``)."""
    differences, count = [], 0
    for path, data in files:
        externals = {"filename": Path(path).name, "filepath": str(path),
                     "extension": Path(path).suffix.lower(), "filetype": ""}
        a, b = classic.scan_bytes(data, externals), modern.scan_bytes(data, externals)
        count += 1
        if (a.status, a.matches) != (b.status, b.matches):
            differences.append((str(path), _summary(a), _summary(b)))
    return count, differences


def _summary(outcome: YaraOutcome) -> str:
    if outcome.status not in ("matched", "clean"):
        return f"{outcome.status}: {outcome.message}"
    return ", ".join(f"{m.namespace}:{m.rule} ({len(m.strings)} strings)" for m in outcome.matches) or "no match"


_WORST = ("error", "timeout", "too-large", "matched", "clean")


class SplitScanner(YaraScanner):
    """A rule set whose files YARA-X compiles in part: YARA-X scans with those files, libyara with the
    rest. Each file is its own namespace and rules see only their namespace, so the union of the two
    outcomes is what libyara alone finds with the whole set; matches come in the set's file order."""

    engine = "mixed"

    def __init__(self, modern: YaraXScanner, classic: YaraScanner, order: Sequence[str]) -> None:
        self.modern, self.classic = modern, classic
        self.info = None
        self.timeout, self.size_cap = classic.timeout, classic.size_cap
        self.max_string_matches, self.defines = classic.max_string_matches, classic.defines
        self._rank = {name: i for i, name in enumerate(order)}

    def scan_bytes(self, data, externals: Mapping[str, str]) -> YaraOutcome:
        return self._merge(self.modern.scan_bytes(data, externals), self.classic.scan_bytes(data, externals))

    def scan_path(self, path, externals: Mapping[str, str]) -> YaraOutcome:
        return self._merge(self.modern.scan_path(path, externals), self.classic.scan_path(path, externals))

    def _merge(self, a: YaraOutcome, b: YaraOutcome) -> YaraOutcome:
        status = min(a.status, b.status, key=_WORST.index)
        matches = tuple(sorted(a.matches + b.matches, key=lambda m: self._rank.get(m.namespace, len(self._rank))))
        message = "; ".join(m for m in (a.message, b.message) if m)
        return YaraOutcome(status, matches, message, max(a.scanned_bytes, b.scanned_bytes))
