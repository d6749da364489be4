"""YARA rule sets: compiled once from source files, content-hashed, scanned per file.

A rule set is a list of source files. Each file is compiled into its own namespace, named
after the file (``rules.yar``), so a finding says which file its rule came from; two files
with the same base name are refused. ``include`` directives are refused too: the rule-set
digest must cover every byte the compiler saw, so included files are listed instead.

Rule-set digest (``RuleSetInfo.sha256``): the SHA-256 of the manifest text made of one line
``<sha256 of the file's bytes>  <name>\\n`` per source file, sorted by the UTF-8 bytes of the
name — what ``sha256sum a.yar b.yar | LC_ALL=C sort -k2 | sha256sum`` prints for files whose
names have no spaces. It depends on the sources only, not on the libyara version; the
compiled file has its own ``compiled_sha256``.

Scanning follows YARA's own semantics (yara-python on the bytes of one file), with the
external variables LOKI/THOR rule sets (signature-base) use declared at compile time (default
``""``): ``filename`` (base name), ``filepath`` (path inside the file system), ``extension``
(lower case, with its dot: ``.exe``), ``filetype`` (what the caller passes: the pipeline's
libmagic MIME type), ``owner`` (the file's owner where the caller knows it, else ``""``). Any
other external a rule set needs is given a fixed value when it is added (``defines``: ``rules
add --define NAME=VALUE``; ``true``/``false`` and integers keep their type), and a rule set that
uses an identifier nobody defines is refused with a message saying how to define it.
``externals_used`` names the externals a rule set's sources refer to.
Reference: https://yara.readthedocs.io/en/stable/ (externals, timeouts).
"""
from __future__ import annotations

import hashlib
import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from forensics.errors import ItemError
from forensics.matchers.errors import RuleSetError
from forensics.matchers.models import RuleSetInfo, RuleSource, YaraMatch, YaraOutcome, YaraString

EXTERNALS = ("filename", "filepath", "extension", "filetype", "owner")
Define = str | int | bool
DEFAULT_TIMEOUT = 60                      # seconds per file (libyara counts whole seconds)
DEFAULT_SIZE_CAP = 128 * 1024 * 1024      # bytes held in memory for one scan
DEFAULT_MAX_STRING_MATCHES = 1000         # occurrences kept per string identifier and rule
_ERROR_AT = re.compile(r"^(?P<file>.*)\((?P<line>\d+)\): (?P<message>.*)$", re.S)


# --- rule sets -------------------------------------------------------------------------------

def read_sources(paths: Sequence[str | Path]) -> list[tuple[str, bytes]]:
    """(name, bytes) of each source file; refuses unreadable files and duplicate names."""
    sources: dict[str, bytes] = {}
    for path in map(Path, paths):
        if path.name in sources:
            raise RuleSetError(f"two source files are named {path.name!r}; names are namespaces and "
                               "must be unique", source=str(path))
        try:
            sources[path.name] = path.read_bytes()
        except OSError as exc:
            raise RuleSetError(f"cannot read: {exc.strerror or exc}", source=str(path)) from exc
    if not sources:
        raise RuleSetError("a rule set needs at least one source file")
    return list(sources.items())


def ruleset_digest(sources: Iterable[tuple[str, bytes]]) -> str:
    """SHA-256 of the sorted ``sha256sum``-style manifest of the sources (see module doc)."""
    lines = sorted((name.encode("utf-8"), hashlib.sha256(data).hexdigest()) for name, data in sources)
    manifest = b"".join(digest.encode("ascii") + b"  " + name + b"\n" for name, digest in lines)
    return hashlib.sha256(manifest).hexdigest()


def parse_define(text: str) -> tuple[str, Define]:
    """``NAME=VALUE`` -> (name, value): ``true``/``false`` as booleans, integers as integers."""
    name, sep, value = text.partition("=")
    if not sep or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise RuleSetError(f"--define wants NAME=VALUE with NAME an identifier, not {text!r}")
    if value.lower() in ("true", "false"):
        return name, value.lower() == "true"
    if re.fullmatch(r"-?\d+", value):
        return name, int(value)
    return name, value


def externals_used(sources: Iterable[tuple[str, bytes]], defines: Mapping[str, Define] = ()) -> list[str]:
    """The pipeline's externals and the defined ones that the sources' text names."""
    names = list(EXTERNALS) + [n for n in dict(defines) if n not in EXTERNALS]
    text = b"\n".join(data for _, data in sources).decode("utf-8", "replace")
    return [n for n in names if re.search(rf"\b{re.escape(n)}\b", text)]


def compile_ruleset(name: str, version: str, paths: Sequence[str | Path],
                    compiled_path: str | Path | None = None,
                    defines: Mapping[str, Define] | None = None) -> tuple[RuleSetInfo, Any]:
    """Compiles the sources into one rule set; returns ``(RuleSetInfo, yara.Rules)``.

    The compiler reads private copies of exactly the bytes that were hashed. A source that
    does not compile raises :class:`RuleSetError` with libyara's message, the file and the
    line. With ``compiled_path`` the compiled rules are saved there (``yara.load`` format).
    """
    import yara

    sources = read_sources(paths)
    originals = {Path(p).name: str(p) for p in paths}
    workdir = Path(tempfile.mkdtemp(prefix="forensics-yara-"))
    try:
        filepaths = {}
        for source_name, data in sources:
            (workdir / source_name).write_bytes(data)
            filepaths[source_name] = str(workdir / source_name)
        try:
            rules = yara.compile(filepaths=filepaths, externals={**dict.fromkeys(EXTERNALS, ""), **(defines or {})},
                                 includes=False, error_on_warning=False)
        except yara.SyntaxError as exc:
            error = _syntax_error(str(exc), workdir, originals)
            undefined = re.search(r'undefined identifier "(\w+)"', str(exc))
            if undefined:
                error = RuleSetError(f"{error.message} (if {undefined[1]} is an external variable of this rule set, "
                                     f"give it a value: rules add --define {undefined[1]}=VALUE)",
                                     source=getattr(error, "source", None), line=getattr(error, "line", None))
            raise error from exc
        except yara.Error as exc:
            raise RuleSetError(f"libyara refused the rule set: {exc}") from exc
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rule_count = sum(1 for _ in rules)
    if rule_count == 0:
        raise RuleSetError("the source files contain no rules")
    compiled_sha256 = None
    if compiled_path is not None:
        try:
            rules.save(filepath=str(compiled_path))
            compiled_sha256 = _file_sha256(Path(compiled_path))
        except (yara.Error, OSError) as exc:
            raise RuleSetError(f"cannot save the compiled rules: {exc}", source=str(compiled_path)) from exc
    info = RuleSetInfo(
        name=name, version=version, sha256=ruleset_digest(sources),
        sources=tuple(RuleSource(n, hashlib.sha256(d).hexdigest(), len(d)) for n, d in sorted(sources)),
        rule_count=rule_count, compiled_path=str(compiled_path) if compiled_path else None,
        compiled_sha256=compiled_sha256,
        warnings=tuple(str(w).replace(str(workdir) + "/", "") for w in getattr(rules, "warnings", ()) or ()))
    return info, rules


def _syntax_error(text: str, workdir: Path, originals: Mapping[str, str]) -> RuleSetError:
    found = _ERROR_AT.match(text)
    if not found:
        return RuleSetError(text)
    file = found["file"]
    if file.startswith(str(workdir) + "/"):
        file = originals.get(file[len(str(workdir)) + 1:], file)
    return RuleSetError(found["message"], source=file, line=int(found["line"]))


def load_rules(compiled_path: str | Path, expected_sha256: str | None = None) -> Any:
    """Loads rules saved by :func:`compile_ruleset`; checks the file's SHA-256 when given.

    Compiled files are tied to the libyara version that wrote them: when loading fails,
    compile again from the stored sources.
    """
    import yara

    path = Path(compiled_path)
    if expected_sha256 is not None and _file_sha256(path) != expected_sha256.lower():
        raise RuleSetError("compiled rules do not match their recorded SHA-256", source=str(path))
    try:
        return yara.load(filepath=str(path))
    except yara.Error as exc:
        raise RuleSetError(f"cannot load compiled rules ({exc}); compile the sources again",
                           source=str(path)) from exc


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# --- scanning --------------------------------------------------------------------------------

def externals_for(path: str, filetype: str = "") -> dict[str, str]:
    """The four externals for a file at ``path`` (a '/'-separated path in its file system)."""
    name = posixpath.basename(path)
    return {"filename": name, "filepath": path, "extension": posixpath.splitext(name)[1].lower(),
            "filetype": filetype}


class YaraScanner:
    """Compiled rules plus the per-file limits; one outcome per scanned file."""

    engine = "libyara"

    def __init__(self, rules, info: RuleSetInfo | None = None, *, timeout: int = DEFAULT_TIMEOUT,
                 size_cap: int = DEFAULT_SIZE_CAP,
                 max_string_matches: int = DEFAULT_MAX_STRING_MATCHES,
                 defines: Mapping[str, Define] | None = None) -> None:
        import yara

        self._yara = yara
        self.rules = rules
        self.info = info
        self.timeout = int(timeout)
        self.size_cap = int(size_cap)
        self.max_string_matches = max_string_matches
        self.defines = dict(defines or {})        # fixed values given when the set was added

    def scan_bytes(self, data: bytes | bytearray, externals: Mapping[str, str]) -> YaraOutcome:
        if len(data) > self.size_cap:
            return YaraOutcome("too-large", message=f"{len(data)} bytes exceed the size cap of "
                               f"{self.size_cap} bytes; not scanned")
        values = self._values(externals)
        try:
            found = self.rules.match(data=data, externals=values, timeout=self.timeout)
        except self._yara.TimeoutError:
            return YaraOutcome("timeout", message=f"scan timed out after {self.timeout} s",
                               scanned_bytes=len(data))
        except self._yara.Error as exc:
            return YaraOutcome("error", message=f"libyara: {exc}", scanned_bytes=len(data))
        matches = tuple(self._match(m) for m in found)
        return YaraOutcome("matched" if matches else "clean", matches, scanned_bytes=len(data))

    def _values(self, externals: Mapping[str, str]) -> dict[str, Define]:
        """The pipeline's externals for this file ("" where unknown), then the set's fixed ones."""
        values: dict[str, Define] = dict.fromkeys(EXTERNALS, "")
        values.update({k: str(v) for k, v in externals.items() if k in values})
        values.update(self.defines)
        return values

    def scan_path(self, path: str | Path, externals: Mapping[str, str]) -> YaraOutcome:
        """Scans a spooled copy of a large stream: libyara maps the file instead of a Python buffer."""
        values = self._values(externals)
        size = Path(path).stat().st_size
        try:
            found = self.rules.match(filepath=str(path), externals=values, timeout=self.timeout)
        except self._yara.TimeoutError:
            return YaraOutcome("timeout", message=f"scan timed out after {self.timeout} s", scanned_bytes=size)
        except self._yara.Error as exc:
            return YaraOutcome("error", message=f"libyara: {exc}", scanned_bytes=size)
        matches = tuple(self._match(m) for m in found)
        return YaraOutcome("matched" if matches else "clean", matches, scanned_bytes=size)

    def scan_chunks(self, chunks: Iterable[bytes], externals: Mapping[str, str],
                    size: int | None = None) -> YaraOutcome:
        """Scans a stream read in chunks; stops reading past the size cap ('too-large')."""
        if size is not None and size > self.size_cap:
            return YaraOutcome("too-large", message=f"{size} bytes exceed the size cap of "
                               f"{self.size_cap} bytes; not scanned")
        buffer = bytearray()
        try:
            for chunk in chunks:
                buffer += chunk
                if len(buffer) > self.size_cap:
                    return YaraOutcome("too-large", message=f"more than {self.size_cap} bytes "
                                       "(the size cap); not scanned")
        except (ItemError, OSError) as exc:
            return YaraOutcome("error", message=f"unreadable after {len(buffer)} bytes: {exc}")
        outcome = self.scan_bytes(buffer, externals)
        if size is not None and len(buffer) != size and outcome.status in ("matched", "clean"):
            note = f"read {len(buffer)} of {size} bytes; scanned what could be read"
            return YaraOutcome(outcome.status, outcome.matches, note, outcome.scanned_bytes)
        return outcome

    def scan_locator(self, reader, locator: str, path: str, filetype: str = "",
                     size: int | None = None) -> YaraOutcome:
        """Scans the file a locator names, read through ``forensics.reader.StreamReader``."""
        return self.scan_chunks(reader.chunks(locator), externals_for(path, filetype), size)

    def scan_file(self, path: str | Path, filetype: str = "") -> YaraOutcome:
        """Scans a file of the examiner's own file system (exports, tests)."""
        path = Path(path)
        try:
            size = path.stat().st_size
            handle = path.open("rb")
        except OSError as exc:
            return YaraOutcome("error", message=f"unreadable: {exc}")
        with handle:
            chunks = iter(lambda: handle.read(1 << 20), b"")
            return self.scan_chunks(chunks, externals_for(path.as_posix(), filetype), size)

    def _match(self, match) -> YaraMatch:
        strings: list[YaraString] = []
        truncated = False
        for string in match.strings:
            instances = string.instances
            if len(instances) > self.max_string_matches:
                truncated = True
                instances = instances[: self.max_string_matches]
            strings.extend(YaraString(string.identifier, i.offset, i.matched_length, i.matched_data.hex())
                           for i in instances)
        return YaraMatch(rule=match.rule, namespace=match.namespace, tags=tuple(match.tags),
                         meta=tuple(match.meta.items()), strings=tuple(strings),
                         strings_truncated=truncated)


def prepare(compiled_path: str | Path, info: RuleSetInfo | None = None, *, engine: str = "libyara",
            engine_path: str | Path | None = None, engine_sha256: str | None = None,
            split: Mapping[str, Any] | None = None, **limits) -> YaraScanner:
    """A scanner over saved compiled rules (checks ``info.compiled_sha256`` when given); with
    ``engine="yara-x"`` over the YARA-X rules saved at ``engine_path``; with ``engine="mixed"`` YARA-X
    over those and libyara over the files YARA-X refused (``split``: their compiled file, its SHA-256
    and the set's file order). See forensics.matchers.yara_x_engine."""
    if engine in ("yara-x", "mixed"):
        from forensics.matchers import yara_x_engine

        scanner = yara_x_engine.prepare(engine_path, engine_sha256, **limits)
        if engine == "mixed":
            rest = YaraScanner(load_rules(split["path"], split.get("sha256")), info, **limits)
            scanner = yara_x_engine.SplitScanner(scanner, rest, split["order"])
        scanner.info = info
        return scanner
    rules = load_rules(compiled_path, info.compiled_sha256 if info else None)
    return YaraScanner(rules, info, **limits)


def engine_versions() -> dict[str, str]:
    import yara

    versions = {"yara-python": yara.__version__, "libyara": getattr(yara, "YARA_VERSION", "")}
    try:
        from forensics.matchers import yara_x_engine

        versions["yara-x"] = yara_x_engine.version()
    except ImportError:
        pass
    return versions
