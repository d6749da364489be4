"""The ``forensics`` command: the lab's verbs over the case database.

Errors are one line naming the exhibit (details go to the processing-warnings
table), never a traceback; exit status 3 means an exhibit could not be processed.
"""
from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import click
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from evidence_store.cli_options import exhibit_options
from evidence_store.db import Database
from evidence_store.intake import add_exhibit, create_case, lookup_exhibit
from evidence_store.runs import RunContext, StageFailed
from evidence_store.store import StoreError

console = Console(stderr=True)
out = Console()
EXHIBIT_ERROR = 3


class RichProgress:
    """rich progress bars for the pipeline's phases."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress

    def phase(self, label: str, total: int | None) -> Callable[[int], None]:
        task = self._progress.add_task(label, total=total)
        return lambda n: self._progress.advance(task, n)


@contextmanager
def progress_bars(bytes_mode: bool = False) -> Iterator[Progress]:
    columns = [TextColumn("[bold]{task.description}"), BarColumn(),
               DownloadColumn() if bytes_mode else MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, console=console, transient=False, disable=not console.is_terminal) as bars:
        yield bars


def fail(message: str) -> None:
    console.print(f"[red]error:[/red] {message}", highlight=False, soft_wrap=True)
    sys.exit(EXHIBIT_ERROR)


def parse_credentials(values: tuple[str, ...]) -> list[tuple[str, str]]:
    result = []
    for value in values:
        kind, sep, secret = value.partition(":")
        if not sep or kind not in ("password", "recovery_password", "startup_key", "key_data"):
            raise click.BadParameter(f"expected TYPE:VALUE with TYPE one of password, recovery_password, "
                                     f"startup_key, key_data; got {value.split(':')[0]!r}")
        result.append((kind, secret))
    return result


def _json_default(value):
    return value.isoformat() if isinstance(value, datetime) else str(value)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", default=None, metavar="URL",
              help="Case database URL (default: $FORENSICS_DATABASE_URL or sqlite:///cases/forensics.db).")
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    """Evidence-processing pipeline: disk images in, a verifiable case database out."""
    ctx.obj = db_url


def database() -> Database:
    db = Database(click.get_current_context().find_root().obj)
    db.migrate()
    return db


@main.group()
def case() -> None:
    """Open and list cases."""


@case.command("create")
@click.argument("name")
@click.option("--title", default="", help="Free-text title of the case.")
@click.option("--examiner", default="", help="Examiner responsible for the case.")
def case_create(name: str, title: str, examiner: str) -> None:
    """Create case NAME (doing it again changes nothing)."""
    db = database()
    created = create_case(db, name, title, examiner)
    out.print(f"case {created.name} (id {created.id}) in {db.url}")


@case.command("list")
def case_list() -> None:
    """List the cases in the database."""
    from sqlalchemy import select

    from evidence_store.models import Case

    db = database()
    with db.session() as session:
        for row in session.scalars(select(Case).order_by(Case.id)):
            out.print(f"{row.name}\t{row.title}\t{row.examiner}\t{row.created_at:%Y-%m-%d %H:%M}Z")


@main.group()
def evidence() -> None:
    """Register and list exhibits (seized disk images)."""


@evidence.command("add")
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("--case", "case_name", required=True, help="Case the exhibit belongs to.")
@click.option("--exhibit", required=True, help="Exhibit number, e.g. the seal or item number.")
@click.option("--examiner", required=True, help="Who is submitting it.")
@click.option("--expected-sha256", default=None, help="SHA-256 of the media as acquired, to verify.")
@click.option("--override-mismatch", "override_reason", default=None, metavar="REASON",
              help="Process even if a hash does not match; REASON is recorded.")
def evidence_add(image: str, case_name: str, exhibit: str, examiner: str, expected_sha256: str | None,
                 override_reason: str | None) -> None:
    """Register IMAGE (raw, split raw, E01, QCOW2, VHD/VHDX, VMDK) and hash its media."""
    db = database()
    with progress_bars(bytes_mode=True) as bars:
        task = bars.add_task(f"hashing {Path(image).name}", total=None)
        try:
            row = add_exhibit(db, case_name, exhibit, image, examiner, expected_sha256=expected_sha256,
                              override_reason=override_reason,
                              on_size=lambda size: bars.update(task, total=size),
                              progress=lambda n: bars.advance(task, n))
        except (StageFailed, StoreError) as exc:
            fail(f"case {case_name}: {exc}")
    out.print(f"exhibit {row.number}: {row.image_format} image, {row.media_size} bytes, "
              f"{len(row.segments or [])} segment(s)")
    out.print(f"  MD5     {row.md5}\n  SHA-1   {row.sha1}\n  SHA-256 {row.sha256}")
    out.print(f"  verification: {row.verification}"
              + (f" (stored in image: {', '.join(sorted(row.stored_hashes))})" if row.stored_hashes else ""))


@evidence.command("list")
@click.option("--case", "case_name", required=True)
def evidence_list(case_name: str) -> None:
    """List the exhibits of a case with their status."""
    from evidence_store.queries import list_exhibits
    from evidence_store.store import get_case

    db = database()
    try:
        with db.session() as session:
            case_id = get_case(session, case_name).id
    except StoreError as exc:
        fail(str(exc))
    table = Table("exhibit", "status", "verification", "format", "size", "sha256", "image")
    for row in list_exhibits(db, case_id):
        table.add_row(row.number, row.status, row.verification, row.image_format or "",
                      str(row.media_size or ""), (row.sha256 or "")[:16], row.image_path)
    out.print(table)


def _match_flags(function):
    from evidence_store.cli_matchers import match_option_flags

    return match_option_flags(function)


def _match_options(*values):
    from evidence_store.cli_matchers import match_options

    return match_options(*values)


@main.command()
@exhibit_options
@click.option("--credential", "credentials", multiple=True, metavar="TYPE:VALUE",
              help="Key for an encrypted volume (password, recovery_password, startup_key, key_data). Repeatable.")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Processes hashing in parallel (default: one per CPU).")
@click.option("--carve/--no-carve", default=True, show_default=True,
              help="Carve unallocated space and unpartitioned areas too.")
@click.option("--carve-slack", is_flag=True, help="Also carve file slack.")
@click.option("--match/--no-match", "run_match", default=True, show_default=True,
              help="Run the matchers (hash sets, YARA, PDQ, TLSH).")
@_match_flags
def process(case_name: str, exhibit: str, credentials: tuple[str, ...], workers: int | None, carve: bool,
            carve_slack: bool, run_match: bool, yara_timeout, yara_size_cap, pdq_radius, pdq_min_quality) -> None:
    """Run every stage on an exhibit: scan volumes, walk, hash and type."""
    from evidence_store.pipeline import process_exhibit

    db = database()
    creds = parse_credentials(credentials)
    try:
        _, exhibit_id = lookup_exhibit(db, case_name, exhibit)
        with progress_bars() as bars:
            summary = process_exhibit(db, exhibit_id, credentials=creds, progress=RichProgress(bars),
                                      workers=workers, carve=carve, slack=carve_slack, match=run_match,
                                      match_options=_match_options(yara_timeout, yara_size_cap, pdq_radius,
                                                                   pdq_min_quality))
    except (StageFailed, StoreError) as exc:
        fail(f"case {case_name}: {exc}")
    print_summary(db, case_name, summary)


def print_summary(db: Database, case_name: str, summary: dict) -> None:
    out.print(f"case {case_name}, exhibit {summary['exhibit']}: {summary['status']} "
              f"(media hash {summary['verification']})")
    out.print(f"  {summary['volumes']} volume(s), {summary['entries']} entries "
              f"({summary['deleted']} deleted), {summary['hashed']} hashed, "
              f"{summary['unreadable']} unreadable, {summary['extension_mismatches']} extension mismatch(es), "
              f"{summary['warnings']} warning(s)")
    if summary.get("carved"):
        out.print(f"  carved {summary['carved']} object(s): {summary['carved_new']} not found by the walk, "
                  f"{summary['carved_partial']} partial")
    if summary.get("results_trusted") is False:
        out.print("  [red]results UNTRUSTED: the image changed during processing (forensics evidence review)[/red]")
    out.print(f"  database: {db.url}")


def _exhibit_id(db: Database, case_name: str, exhibit: str) -> int:
    try:
        return lookup_exhibit(db, case_name, exhibit)[1]
    except StoreError as exc:
        fail(str(exc))
        raise


@main.command()
@exhibit_options
@click.option("--slack", is_flag=True, help="Also carve file slack.")
@click.option("--credential", "credentials", multiple=True, metavar="TYPE:VALUE",
              help="Key for an encrypted volume. Repeatable.")
def carve(case_name: str, exhibit: str, slack: bool, credentials: tuple[str, ...]) -> None:
    """Carve one exhibit's unallocated space, partition gaps and unpartitioned areas."""
    from evidence_store.carving import carving_summary
    from evidence_store.pipeline import carve_exhibit

    db = database()
    try:
        _, exhibit_id = lookup_exhibit(db, case_name, exhibit)
        with db.session() as session:
            from sqlalchemy import select

            from evidence_store.models import Volume

            if session.scalar(select(Volume.id).where(Volume.exhibit_id == exhibit_id).limit(1)) is None:
                fail(f"case {case_name}: exhibit {exhibit} has not been scanned yet (run forensics process)")
        with progress_bars() as bars:
            carve_exhibit(db, exhibit_id, RunContext(), parse_credentials(credentials), RichProgress(bars),
                          slack=slack)
        with db.session() as session:
            from evidence_store.carving import link_duplicates

            link_duplicates(session, exhibit_id)
            summary = carving_summary(session, exhibit_id)
    except (StageFailed, StoreError) as exc:
        fail(f"case {case_name}: {exc}")
    out.print(f"exhibit {exhibit}: {summary['carved']} carved object(s), {summary['carved_new']} not found by "
              f"the walk, {summary['carved_partial']} partial")


@main.command()
@exhibit_options
@click.option("--new", "only_new", is_flag=True, help="Only objects the walk did not find (and not embedded).")
@click.option("--json", "as_json", is_flag=True)
def carved(case_name: str, exhibit: str, only_new: bool, as_json: bool) -> None:
    """List carved objects with the media byte ranges they came from."""
    from evidence_store.queries import iter_carved

    db = database()
    for row in iter_carved(db, _exhibit_id(db, case_name, exhibit), only_new=only_new):
        if as_json:
            click.echo(json.dumps(row, default=_json_default))
            continue
        ranges = ",".join(f"{o}+{n}" for o, n in row["image_ranges"]) or "-"
        dup = f"same as file {row['duplicate_of']}" if row["duplicate_of"] else ""
        click.echo(f"{row['id']}\t{row['format']}\t{row['status']}\t{row['size']}\t{ranges}\t"
                   f"{row['volume_path'] or '-'}:{row['source']}\t{row['sha256']}\t{dup}")


@main.command()
@exhibit_options
@click.option("--deleted", is_flag=True, help="Only deleted entries.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--limit", type=int, default=None)
def files(case_name: str, exhibit: str, deleted: bool, as_json: bool, limit: int | None) -> None:
    """List the entries found in an exhibit."""
    from evidence_store.queries import iter_files

    db = database()
    exhibit_id = _exhibit_id(db, case_name, exhibit)
    for row in iter_files(db, exhibit_id, deleted_only=deleted, limit=limit):
        if as_json:
            click.echo(json.dumps(row, default=_json_default, ensure_ascii=False))
        else:
            flag = " " if row["allocated"] else "*"
            if row.get("restricted"):
                row["mime_type"] = f"{row['mime_type']} [RESTRICTED]"
            click.echo(f"{flag} {row['volume']}{row['path']}\t{row['inode'] if row['inode'] is not None else '-'}"
                       f"\t{row['size'] if row['size'] is not None else '-'}\t{row['sha256'] or row['hash_status']}"
                       f"\t{row['mime_type'] or ''}")


@main.command()
@exhibit_options
@click.option("--json", "as_json", is_flag=True)
def warnings(case_name: str, exhibit: str, as_json: bool) -> None:
    """List processing warnings recorded for an exhibit."""
    from evidence_store.queries import list_warnings

    db = database()
    for row in list_warnings(db, _exhibit_id(db, case_name, exhibit)):
        click.echo(json.dumps(row, default=_json_default) if as_json else
                   f"{row['severity']}\t{row['stage']}\t{row['path'] or ''}\t{row['message']}")


@main.command()
@exhibit_options
@click.option("--json", "as_json", is_flag=True)
def runs(case_name: str, exhibit: str, as_json: bool) -> None:
    """List processing runs (stage, tool and library versions, outcome)."""
    from evidence_store.queries import list_runs

    db = database()
    for row in list_runs(db, _exhibit_id(db, case_name, exhibit)):
        click.echo(json.dumps(row, default=_json_default) if as_json else
                   f"{row['id']}\t{row['stage']}\t{row['orchestrator']}\t{row['outcome']}\t"
                   f"{row['started_at']:%Y-%m-%d %H:%M:%S}\t{row['message'] or ''}")


@main.command()
@exhibit_options
@click.option("--json", "as_json", is_flag=True)
def volumes(case_name: str, exhibit: str, as_json: bool) -> None:
    """List the volumes and file systems found in an exhibit."""
    from evidence_store.queries import list_volumes

    db = database()
    for v in list_volumes(db, _exhibit_id(db, case_name, exhibit)):
        row = {"volume": v.volume_path, "kind": v.kind, "volume_system": v.volume_system, "offset": v.offset,
               "size": v.size, "fs_type": v.fs_type, "walk_status": v.walk_status,
               "entries": v.entry_count, "note": v.note}
        if as_json:
            click.echo(json.dumps(row))
        else:
            click.echo("\t".join("" if x is None else str(x) for x in row.values()))


@main.command()
@click.option("--workdir", type=click.Path(file_okay=False), default="cases/demo", show_default=True,
              help="Where the sample image is built.")
def demo(workdir: str) -> None:
    """Build a sample seized disk (FAT + ext4, deleted files) and process it end to end."""
    from evidence_store.pipeline import process_exhibit
    from forensics.sample import build_sample_image

    root = click.get_current_context().find_root()
    db = database()
    image = build_sample_image(Path(workdir) / "sample-disk.raw")
    console.print(f"built sample image {image.path} ({image.size} bytes, {len(image.partitions)} partitions, "
                  f"{len(image.files)} planted files)")
    create_case(db, "DEMO-001", "Sample case built by forensics demo", "demo")
    try:
        add_exhibit(db, "DEMO-001", "EX-1", str(image.path), "demo")
        _, exhibit_id = lookup_exhibit(db, "DEMO-001", "EX-1")
        with progress_bars() as bars:
            summary = process_exhibit(db, exhibit_id, progress=RichProgress(bars))
    except (StageFailed, StoreError) as exc:
        fail(f"case DEMO-001: {exc}")
    print_summary(db, "DEMO-001", summary)
    db_flag = f"--db {root.obj} " if root.obj else ""
    out.print(f"  list them: forensics {db_flag}files --case DEMO-001 --exhibit EX-1 [--deleted] [--json]")


@evidence.command("review")
@exhibit_options
@click.option("--reason", required=True, help="Why the results may be trusted again (recorded).")
def evidence_review(case_name: str, exhibit: str, reason: str) -> None:
    """Accept an exhibit's results after an integrity mismatch was examined."""
    from evidence_store.custody.service import review

    try:
        review(database(), case_name, exhibit, reason)
    except StoreError as exc:
        fail(str(exc))
    out.print(f"exhibit {exhibit}: results marked as reviewed and trusted")


@main.command()
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


def _register_groups() -> None:
    from evidence_store.cli_custody import custody
    from evidence_store.cli_matchers import findings, hashset, match, rules, similar

    for command in (custody, rules, hashset, match, findings, similar):
        main.add_command(command)


_register_groups()


if __name__ == "__main__":
    main()
