"""``forensics process|stages|carve|carved|files|warnings|runs|volumes|content``: processing and listings."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from evidence_store.cli.common import (RichProgress, database, resolve_exhibit, exhibit_options, fail,
                                       json_default, out, parse_credentials, progress_bars)
from evidence_store.cli.matchers import match_option_flags, stage_options
from evidence_store.db import Database
from evidence_store.intake import lookup_exhibit
from evidence_store.runs import StageFailed
from evidence_store.store import StoreError


@click.command()
@exhibit_options
@click.option("--credential", "credentials", multiple=True, metavar="TYPE:VALUE",
              help="Key for an encrypted volume (password, recovery_password, startup_key, key_data). Repeatable.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker processes for the per-item stages (default: one per CPU from 512 MiB of media).")
@click.option("--carve/--no-carve", default=True, show_default=True,
              help="Carve unallocated space and unpartitioned areas too.")
@click.option("--carve-slack", is_flag=True, help="Also carve file slack.")
@click.option("--expand/--no-expand", default=True, show_default=True,
              help="Open containers (archives, compressed files, PDF/OLE/OOXML documents, ISO images) and process "
                   "every file inside them as a derived entry. A --credential password:... is tried on encrypted ones.")
@click.option("--expand-depth", type=click.IntRange(1, 32), default=None,
              help="Containers inside containers opened at most (default 5, $FORENSICS_EXPAND_DEPTH).")
@click.option("--expand-max-bytes", type=click.IntRange(1), default=None,
              help="Bytes expanded at most from one top-level container (default 4 GiB).")
@click.option("--expand-max-ratio", type=click.IntRange(2), default=None,
              help="Largest expanded/compressed ratio of a member above 16 MiB (default 500; bombs go beyond).")
@click.option("--match/--no-match", "run_match", default=True, show_default=True,
              help="Run the matchers (hash sets, YARA, PDQ, TLSH) in the content pass.")
@click.option("--indicators/--no-indicators", "extract_indicators", default=False, show_default=True,
              help="Also extract e-mails, URLs/domains, IPs, phones, wallets and card numbers in the content pass "
                   "(forensics indicators --case lists them; ~7 MB/s per core, so off unless asked).")
@click.option("--skip-known-good", is_flag=True,
              help="Content on a known-good hash set (NSRL, lab sets) skips YARA, PDQ and TLSH (recorded).")
@click.option("--report", "draft_report", is_flag=True, help="End by drafting the exhibit's report.")
@click.option("--examiner", default=None, help="Examiner named on the draft report (default: the exhibit's).")
@click.option("--isolate/--no-isolate", default=True, show_default=True,
              help="Run the per-item stages in worker processes restarted when one dies: a native parser crashing "
                   "on hostile bytes costs that item, not the exhibit.")
@match_option_flags
def process(case_name: str, exhibit: str, credentials: tuple[str, ...], workers: int | None, carve: bool,
            carve_slack: bool, expand: bool, expand_depth: int | None, expand_max_bytes: int | None,
            expand_max_ratio: int | None, run_match: bool, extract_indicators: bool, skip_known_good: bool,
            draft_report: bool,
            examiner: str | None, isolate: bool, yara_timeout, yara_size_cap, pdq_radius, pdq_min_quality) -> None:
    """Run every stage of the pipeline on an exhibit (docs/architecture.md lists them)."""
    from evidence_store.pipeline import process_exhibit

    db = database()
    limits = {k: v for k, v in dict(expand_depth=expand_depth, expand_max_bytes=expand_max_bytes,
                                    expand_max_ratio=expand_max_ratio).items() if v is not None}
    options = stage_options(yara_timeout, yara_size_cap, pdq_radius, pdq_min_quality,
                            credentials=tuple(parse_credentials(credentials)), carve=carve, slack=carve_slack,
                            expand=expand, match=run_match, skip_known_good=skip_known_good, report=draft_report,
                            indicators=extract_indicators,
                            examiner=examiner, **limits)
    try:
        _, exhibit_id = lookup_exhibit(db, case_name, exhibit)
        with progress_bars() as bars:
            summary = process_exhibit(db, exhibit_id, options=options, progress=RichProgress(bars), workers=workers,
                                      isolate=isolate)
    except (StageFailed, StoreError) as exc:
        fail(f"case {case_name}: {exc}")
    print_summary(db, case_name, summary)


@click.command()
@click.option("--json", "as_json", is_flag=True, help="One JSON object per stage.")
@click.option("--markdown", "as_markdown", is_flag=True, help="The table docs/architecture.md shows.")
def stages(as_json: bool, as_markdown: bool) -> None:
    """List the pipeline's stages in the order they run (the registry `process` and the DAG follow)."""
    from evidence_store.stages.registry import described, markdown

    if as_markdown:
        click.echo(markdown(), nl=False)
        return
    for stage in described():
        if as_json:
            click.echo(json.dumps(stage))
        else:
            after = ", ".join(stage["after"]) or "-"
            runs = "per item" if stage["per_item"] else "once"
            on = f" [{stage['option']}]" if stage["option"] else ""
            click.echo(f"{stage['name']}\tv{stage['version']}\t{runs}\tafter {after}{on}\t{stage['summary']}")


def print_summary(db: Database, case_name: str, summary: dict) -> None:
    out.print(f"case {case_name}, exhibit {summary['exhibit']}: {summary['status']} "
              f"(media hash {summary['verification']})")
    out.print(f"  {summary['volumes']} volume(s), {summary['entries']} entries "
              f"({summary['deleted']} deleted), {summary['hashed']} hashed, "
              f"{summary['unreadable']} unreadable, {summary['extension_mismatches']} extension mismatch(es), "
              f"{summary['warnings']} warning(s)")
    if summary.get("derived"):
        out.print(f"  {summary['derived']} of the entries found inside archives and documents"
                  + (f" ({summary['encrypted']} encrypted, not opened)" if summary.get("encrypted") else ""))
    if summary.get("carved"):
        out.print(f"  carved {summary['carved']} object(s): {summary['carved_new']} not found by the walk, "
                  f"{summary['carved_partial']} partial")
    if summary.get("results_trusted") is False:
        out.print("  [red]results UNTRUSTED: the image changed during processing (forensics evidence review)[/red]")
    if summary.get("checkpoint") not in (None, "signed"):
        out.print(f"  [bold yellow]CUSTODY NOT SIGNED: {summary['checkpoint']}[/bold yellow]")
    out.print(f"  database: {db.url}")


def exhibit_id(db: Database, case_name: str, exhibit: str) -> int:
    try:
        return lookup_exhibit(db, case_name, exhibit)[1]
    except StoreError as exc:
        fail(str(exc))
        raise


@click.command()
@exhibit_options
@click.option("--slack", is_flag=True, help="Also carve file slack.")
@click.option("--credential", "credentials", multiple=True, metavar="TYPE:VALUE",
              help="Key for an encrypted volume. Repeatable.")
def carve(case_name: str, exhibit: str, slack: bool, credentials: tuple[str, ...]) -> None:
    """Carve one exhibit's unallocated space, partition gaps and unpartitioned areas."""
    from sqlalchemy import select

    from evidence_store.carving import carving_summary, link_duplicates
    from evidence_store.models import Volume
    from evidence_store.pipeline import process_exhibit
    from evidence_store.stages.options import StageOptions

    db = database()
    try:
        _, exhibit_id = lookup_exhibit(db, case_name, exhibit)
        with db.session() as session:
            if session.scalar(select(Volume.id).where(Volume.exhibit_id == exhibit_id).limit(1)) is None:
                fail(f"case {case_name}: exhibit {exhibit} has not been scanned yet (run forensics process)")
        options = StageOptions(credentials=tuple(parse_credentials(credentials)), slack=slack, match=False)
        with progress_bars() as bars:
            process_exhibit(db, exhibit_id, options=options, progress=RichProgress(bars), only=("carve",))
        with db.session() as session:
            link_duplicates(session, exhibit_id)
            summary = carving_summary(session, exhibit_id)
    except (StageFailed, StoreError) as exc:
        fail(f"case {case_name}: {exc}")
    out.print(f"exhibit {exhibit}: {summary['carved']} carved object(s), {summary['carved_new']} not found by "
              f"the walk, {summary['carved_partial']} partial")


@click.command()
@exhibit_options
@click.option("--new", "only_new", is_flag=True, help="Only objects the walk did not find (and not embedded).")
@click.option("--json", "as_json", is_flag=True)
def carved(case_name: str, exhibit: str, only_new: bool, as_json: bool) -> None:
    """List carved objects with the media byte ranges they came from."""
    from evidence_store.queries import iter_carved

    db = database()
    for row in iter_carved(db, resolve_exhibit(db, case_name, exhibit), only_new=only_new):
        if as_json:
            click.echo(json.dumps(row, default=json_default))
            continue
        ranges = ",".join(f"{o}+{n}" for o, n in row["image_ranges"]) or "-"
        dup = f"same as file {row['duplicate_of']}" if row["duplicate_of"] else ""
        click.echo(f"{row['id']}\t{row['format']}\t{row['status']}\t{row['size']}\t{ranges}\t"
                   f"{row['volume_path'] or '-'}:{row['source']}\t{row['sha256']}\t{dup}")


@click.command()
@exhibit_options
@click.option("--deleted", is_flag=True, help="Only deleted entries.")
@click.option("--derived/--no-derived", default=None,
              help="Only the files found inside containers (archives, documents), or only those the walk found "
                   "(default: both; a derived entry's path names its chain: /a.zip!/b.tar!/c.jpg).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--limit", type=int, default=None)
def files(case_name: str, exhibit: str, deleted: bool, derived: bool | None, as_json: bool,
          limit: int | None) -> None:
    """List the entries found in an exhibit."""
    from evidence_store.queries import iter_files

    db = database()
    exhibit_id = resolve_exhibit(db, case_name, exhibit)
    for row in iter_files(db, exhibit_id, deleted_only=deleted, derived=derived, limit=limit):
        if as_json:
            click.echo(json.dumps(row, default=json_default, ensure_ascii=False))
        else:
            flag = " " if row["allocated"] else "*"
            if row.get("restricted"):
                row["mime_type"] = f"{row['mime_type']} [RESTRICTED]"
            click.echo(f"{flag} {row['volume']}{row['path']}\t{row['inode'] if row['inode'] is not None else '-'}"
                       f"\t{row['size'] if row['size'] is not None else '-'}\t{row['sha256'] or row['hash_status']}"
                       f"\t{row['mime_type'] or ''}")


@click.command()
@exhibit_options
@click.option("--json", "as_json", is_flag=True)
def warnings(case_name: str, exhibit: str, as_json: bool) -> None:
    """List processing warnings recorded for an exhibit."""
    from evidence_store.queries import list_warnings

    db = database()
    for row in list_warnings(db, resolve_exhibit(db, case_name, exhibit)):
        click.echo(json.dumps(row, default=json_default) if as_json else
                   f"{row['severity']}\t{row['stage']}\t{row['path'] or ''}\t{row['message']}")


@click.command()
@exhibit_options
@click.option("--json", "as_json", is_flag=True)
def runs(case_name: str, exhibit: str, as_json: bool) -> None:
    """List processing runs (stage, tool and library versions, outcome)."""
    from evidence_store.queries import list_runs

    db = database()
    for row in list_runs(db, resolve_exhibit(db, case_name, exhibit)):
        click.echo(json.dumps(row, default=json_default) if as_json else
                   f"{row['id']}\t{row['stage']}\t{row['orchestrator']}\t{row['outcome']}\t"
                   f"{row['started_at']:%Y-%m-%d %H:%M:%S}\t{row['message'] or ''}")


@click.command()
@exhibit_options
@click.option("--json", "as_json", is_flag=True)
def volumes(case_name: str, exhibit: str, as_json: bool) -> None:
    """List the volumes and file systems found in an exhibit."""
    from evidence_store.queries import list_volumes

    db = database()
    for v in list_volumes(db, resolve_exhibit(db, case_name, exhibit)):
        row = {"volume": v.volume_path, "kind": v.kind, "volume_system": v.volume_system, "offset": v.offset,
               "size": v.size, "fs_type": v.fs_type, "walk_status": v.walk_status,
               "entries": v.entry_count, "note": v.note}
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo("\t".join("" if x is None else str(x) for x in row.values()))


@click.command()
@exhibit_options
@click.option("--file-id", type=int, required=True, help="Entry id, from 'forensics files --json'.")
@click.option("--purpose", required=True, help="Why the content is being viewed (recorded in the custody log).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the bytes here (default: standard output).")
@click.option("--reviewer", is_flag=True,
              help="Required to see a file marked restricted (known-bad image material); needs the "
                   "reviewer role (FORENSICS_ACTOR_ROLE=reviewer). Recorded.")
def content(case_name: str, exhibit: str, file_id: int, purpose: str, output: Path | None, reviewer: bool) -> None:
    """Read a file's content out of the image; every view is a custody event."""
    from evidence_store.viewing import view_content

    db = database()
    try:
        chunks = view_content(db, case_name, exhibit, file_id, purpose, reviewer_request=reviewer)
        if output:
            with open(output, "wb") as handle:
                for chunk in chunks:
                    handle.write(chunk)
        else:
            for chunk in chunks:
                sys.stdout.buffer.write(chunk)
    except (StoreError, StageFailed) as exc:
        fail(f"case {case_name}: {exc}")


