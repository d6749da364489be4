"""``forensics rules|hashset|match|findings|similar``: the lab's reference knowledge and what matched."""
from __future__ import annotations

import json
import time

import click

from evidence_store.cli import common as cli
from evidence_store.cli.common import exhibit_options
from evidence_store.store import StoreError


@click.group()
def rules() -> None:
    """YARA rule sets."""


@rules.command("add")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(dir_okay=False, exists=True))
@click.option("--version", default=None, help="Version label (default: start of the content digest).")
@click.option("--define", "defines", multiple=True, metavar="NAME=VALUE",
              help="Value of an external variable the pipeline does not fill (filename, filepath, extension, "
                   "filetype and owner it fills per file). Repeatable; true/false and integers keep their type.")
@click.option("--engine", type=click.Choice(["auto", "yara-x", "libyara"]), default="auto", show_default=True,
              help="YARA engine that scans with the set: auto = YARA-X when it compiles every source file "
                   "(several times faster, same matches), else libyara with the reason recorded.")
def rules_add(name: str, paths: tuple[str, ...], version: str | None, defines: tuple[str, ...], engine: str) -> None:
    """Compile and store rule set NAME from the given .yar files."""
    from evidence_store.knowledge import add_ruleset
    from forensics.matchers.errors import RuleSetError
    from forensics.matchers.yara_rules import parse_define

    try:
        values = dict(parse_define(d) for d in defines)
        row = add_ruleset(cli.database(), name, list(paths), version, defines=values, engine=engine)
    except (RuleSetError, StoreError) as exc:
        cli.fail(f"rule set {name}: {exc}")
    uses = (row.externals or {}).get("uses") or []
    click.echo(f"rule set {row.name} {row.version}: {row.rule_count} rules, sha256 {row.sha256}"
               + (f", externals {', '.join(uses)}" if uses else "") + f", engine {row.engine}")
    if row.engine_note:
        click.echo(f"note: {row.engine_note}")


@rules.command("list")
def rules_list() -> None:
    """List the stored rule sets."""
    from evidence_store.knowledge import list_rulesets

    for row in list_rulesets(cli.database()):
        externals = row.externals or {}
        uses = ", ".join(externals.get("uses") or []) or "-"
        defined = ", ".join(f"{k}={v}" for k, v in (externals.get("defines") or {}).items())
        click.echo(f"{row.name}\t{row.version}\t{row.rule_count} rules\t{row.sha256}\texternals: {uses}"
                   + (f" (defined: {defined})" if defined else "")
                   + f"\tengine: {row.engine}" + (f" ({row.engine_note})" if row.engine_note else ""))


@rules.command("compare")
@click.argument("name")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--limit", default=10000, show_default=True, help="Files scanned at most.")
def rules_compare(name: str, paths: tuple[str, ...], limit: int) -> None:
    """Scan files (or directories) with rule set NAME as it is scanned (YARA-X, or YARA-X and libyara
    per file) and with libyara alone; list every file whose matches differ and exit 1 when any does.
    Run it on the lab's own material before trusting the engine."""
    from pathlib import Path

    from evidence_store.knowledge import list_rulesets
    from forensics.matchers import yara_rules, yara_x_engine
    from forensics.matchers.errors import RuleSetError

    rows = [r for r in list_rulesets(cli.database()) if r.name == name]
    if not rows:
        cli.fail(f"rule set {name}: not in this database (forensics rules list)")
    row = rows[-1]
    if row.engine == "libyara":
        cli.fail(f"rule set {name}: scanned with libyara only ({row.engine_note}); nothing to compare")
    defines = (row.externals or {}).get("defines") or {}
    try:
        classic = yara_rules.prepare(row.compiled_path, defines=defines)
        modern = yara_rules.prepare(row.compiled_path, defines=defines, engine=row.engine,
                                    engine_path=row.engine_path, engine_sha256=row.engine_sha256,
                                    split=row.engine_split)
    except RuleSetError as exc:
        cli.fail(f"rule set {name}: {exc}")

    def files():
        seen = 0
        for start in map(Path, paths):
            for path in sorted(start.rglob("*")) if start.is_dir() else [start]:
                if path.is_file() and not path.is_symlink() and seen < limit and path.stat().st_size <= 1 << 27:
                    seen += 1
                    yield path, path.read_bytes()

    count, differences = yara_x_engine.compare(classic, modern, files())
    for path, a, b in differences:
        click.echo(f"{path}\n  libyara: {a}\n  yara-x:  {b}")
    click.echo(f"rule set {row.name} {row.version}: {count} files scanned with both engines, "
               f"{len(differences)} with different matches (engine in use: {row.engine})")
    if differences:
        raise SystemExit(1)


@click.group()
def hashset() -> None:
    """Known-file hash sets (NSRL, lab and partner lists, Project VIC, PDQ lists)."""


@hashset.command("import")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["known-good", "known-bad"]), required=True)
@click.option("--format", "fmt", default=None, help="nsrl-rdsv3, nsrl-rds2, hashkeeper, ilook, hashdeep, "
              "hash-list, vics, pdq-list (default: detected).")
@click.option("--category", default=None, help="Category for entries that carry none.")
@click.option("--version", default=None, help="Version label (default: start of the file's SHA-256).")
def hashset_import(path: str, name: str, kind: str, fmt: str | None, category: str | None, version: str | None) -> None:
    """Import a hash set, streaming (sets of tens of millions of hashes are fine)."""
    from evidence_store.knowledge import import_hashset
    from forensics.matchers.errors import HashSetFormatError

    warnings: list[str] = []
    started = time.monotonic()
    try:
        with cli.progress_bars() as bars:
            task = bars.add_task(f"importing {name}", total=None)
            row = import_hashset(cli.database(), path, name, kind, fmt=fmt, version=version, category=category,
                                 tick=lambda n: bars.advance(task, n), warn=warnings.append)
    except (StoreError, HashSetFormatError) as exc:
        cli.fail(f"hash set {name}: {exc}")
    seconds = max(time.monotonic() - started, 1e-6)
    click.echo(f"hash set {row.name} {row.version} ({row.kind}, {row.format}): {row.entries} entries, "
               f"{row.pdq_entries or 0} PDQ, {row.entries / seconds:,.0f} entries/s")
    for warning in warnings[:20]:
        click.echo(f"  skipped {warning}")
    if len(warnings) > 20:
        click.echo(f"  ... {len(warnings) - 20} more lines skipped")


@hashset.command("list")
def hashset_list() -> None:
    """List imported hash sets (with the state of each one's digest filter)."""
    from evidence_store.knowledge import filter_status, list_hashsets

    for row in list_hashsets(cli.database()):
        click.echo(f"{row.name}\t{row.version}\t{row.kind}\t{row.format}\t{row.entries} entries\t"
                   f"{row.pdq_entries or 0} PDQ\t{row.sha256}\tfilter: {filter_status(row)}")


@hashset.command("filter")
@click.argument("names", nargs=-1)
@click.option("--rebuild", is_flag=True, help="Write the filters of the sets named (default: all) even if they "
              "pass their check.")
def hashset_filter(names: tuple[str, ...], rebuild: bool) -> None:
    """Write the digest filter of sets that have none or whose filter fails its check.

    The content pass asks each set's filter before the database; sets imported before filters existed,
    or whose filter file was lost or altered, make every lookup go to the database until this is run.
    """
    from evidence_store.knowledge import filter_status, list_hashsets, rebuild_hashset_filter

    db = cli.database()
    rows = list_hashsets(db)
    unknown = sorted(set(names) - {row.name for row in rows})
    if unknown:
        cli.fail(f"no hash set named {', '.join(unknown)}")
    for row in rows:
        if names and row.name not in names:
            continue
        status = filter_status(row)
        if status == "not needed" or (status == "ok" and not rebuild):
            click.echo(f"{row.name} {row.version}: filter {status}")
            continue
        started = time.monotonic()
        rebuild_hashset_filter(db, row.id)
        click.echo(f"{row.name} {row.version}: filter written from {row.entries:,} entries in "
                   f"{time.monotonic() - started:.1f} s (was: {status})")


def match_option_flags(function):
    """--yara-timeout, --yara-size-cap, --pdq-radius, --pdq-min-quality (defaults from the environment)."""
    for flag, help_text in reversed([
            ("--yara-timeout", "Seconds YARA may spend on one file (default $FORENSICS_YARA_TIMEOUT or 60)."),
            ("--yara-size-cap", "Bytes of one file kept in memory for YARA and PDQ; larger files are spooled to "
                                "disk and still scanned (default $FORENSICS_YARA_SIZE_CAP or 32 MiB)."),
            ("--pdq-radius", "Largest PDQ Hamming distance that matches (default $FORENSICS_PDQ_RADIUS or 31)."),
            ("--pdq-min-quality", "PDQ quality below which an image is not matched (default 50).")]):
        function = click.option(flag, type=click.IntRange(0), default=None, help=help_text)(function)
    return function


def stage_options(yara_timeout, yara_size_cap, pdq_radius, pdq_min_quality, **others):
    """StageOptions from the flags (a limit not given keeps its environment default)."""
    from evidence_store.stages.options import StageOptions

    given = {k: v for k, v in dict(yara_timeout=yara_timeout, yara_size_cap=yara_size_cap, pdq_radius=pdq_radius,
                                   pdq_min_quality=pdq_min_quality).items() if v is not None}
    return StageOptions(**given, **others)


@click.command()
@exhibit_options
@click.option("--credential", "credentials", multiple=True, metavar="TYPE:VALUE")
@click.option("--skip-known-good", is_flag=True, help="Known-good content skips YARA, PDQ and TLSH.")
@match_option_flags
def match(case_name: str, exhibit: str, credentials: tuple[str, ...], skip_known_good: bool, yara_timeout,
          yara_size_cap, pdq_radius, pdq_min_quality) -> None:
    """Match an exhibit's files and carved objects against the current rule and hash sets (again)."""
    from evidence_store.intake import lookup_exhibit
    from evidence_store.pipeline import process_exhibit
    from evidence_store.runs import StageFailed

    db = cli.database()
    options = stage_options(yara_timeout, yara_size_cap, pdq_radius, pdq_min_quality,
                            credentials=tuple(cli.parse_credentials(credentials)), skip_known_good=skip_known_good)
    try:
        _, exhibit_id = lookup_exhibit(db, case_name, exhibit)
        with db.session() as session:
            from sqlalchemy import func, select

            from evidence_store.models import Finding

            before = session.scalar(select(func.count()).select_from(Finding).where(Finding.exhibit_id == exhibit_id))
        with cli.progress_bars() as bars:
            process_exhibit(db, exhibit_id, options=options, progress=cli.RichProgress(bars),
                            only=("content", "match-carved"))
        with db.session() as session:
            after = session.scalar(select(func.count()).select_from(Finding).where(Finding.exhibit_id == exhibit_id))
    except (StageFailed, StoreError) as exc:
        cli.fail(f"case {case_name}: {exc}")
    click.echo(f"exhibit {exhibit}: {after - before} new finding(s), {after} in all")


@click.command()
@click.option("--case", "case_name", required=True)
@click.option("--exhibit", default=None)
@click.option("--json", "as_json", is_flag=True)
def findings(case_name: str, exhibit: str | None, as_json: bool) -> None:
    """List what matched, with the matcher, version and rule/hash set identity of each finding."""
    from evidence_store.queries import iter_findings

    try:
        rows = list(iter_findings(cli.database(), case_name, exhibit))
    except StoreError as exc:
        cli.fail(str(exc))
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, default=str, sort_keys=True))
            continue
        subject = f"file {row['file_entry_id']} {row['path']}" if row["file_entry_id"] else \
            f"carved {row['carved_object_id']}"
        click.echo(f"{row['exhibit']}\t{subject}\t{row['matcher']} {row['matcher_version']}\t"
                   f"{row['set_name']} {row['set_version']}\t{row['outcome']}\t{row['rule'] or ''}\t"
                   f"{row['known'] or ''}\t{row['category'] or ''}")


@click.command()
@click.argument("file_id", type=int)
@click.option("--case", "case_name", required=True)
@click.option("--limit", default=10, show_default=True)
@click.option("--max-distance", default=100, show_default=True)
def similar(file_id: int, case_name: str, limit: int, max_distance: int) -> None:
    """Files of the case nearest to FILE_ID by TLSH distance."""
    from evidence_store.queries import similar_files

    try:
        rows = similar_files(cli.database(), case_name, file_id, limit, max_distance)
    except StoreError as exc:
        cli.fail(str(exc))
    for distance, row in rows:
        click.echo(f"{distance}\t{row['id']}\t{row['exhibit']}\t{row['path']}\t{row['sha256']}")
