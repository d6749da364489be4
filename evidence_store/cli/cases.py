"""``forensics case|evidence|lab``: cases, exhibits and the lab's own settings."""
from __future__ import annotations

from pathlib import Path

import click
from rich.table import Table

from evidence_store.cli.common import database, exhibit_options, fail, out, progress_bars
from evidence_store.intake import add_exhibit, create_case
from evidence_store.runs import StageFailed
from evidence_store.store import StoreError


@click.group()
def lab() -> None:
    """The lab's own settings, printed on every report."""


@lab.command("configure")
@click.option("--name", required=True, help="The laboratory's name.")
@click.option("--address", required=True, help="Its postal address.")
@click.option("--accreditation", default=None, help="Accreditation body and number, e.g. 'UKAS 1234 (ISO/IEC 17025)'.")
@click.option("--location", default=None, help="Where the work is done, if not at the address.")
@click.option("--declaration-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The lab's standard examiner declaration (used when a report is made without its own).")
def lab_configure(name: str, address: str, accreditation: str | None, location: str | None,
                  declaration_file: Path | None) -> None:
    """Set the lab's name, address, accreditation and standard declaration (recorded in the lab ledger)."""
    from evidence_store.custody.ledger import default_actor
    from evidence_store.lab import configure

    declaration = declaration_file.read_text(encoding="utf-8") if declaration_file else None
    try:
        row = configure(database(), name=name, address=address, accreditation=accreditation, location=location,
                        declaration=declaration, actor=default_actor())
    except StoreError as exc:
        fail(str(exc))
    out.print(f"lab: {row.name}, {row.address}" + (f" ({row.accreditation})" if row.accreditation else ""))
    if not row.declaration:
        out.print("  no standard declaration yet: reports will need --declaration-file")


@lab.command("show")
def lab_show() -> None:
    """Print the lab's settings."""
    from evidence_store.lab import settings

    try:
        with database().session() as session:
            row = settings(session)
            out.print(f"name: {row.name}\naddress: {row.address}\naccreditation: {row.accreditation or '-'}\n"
                      f"location: {row.location or '-'}\ndeclaration:\n{row.declaration or '(none)'}",
                      highlight=False)
    except StoreError as exc:
        fail(str(exc))


def aware_time(value: str | None):
    from datetime import datetime

    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not an ISO 8601 time") from None
    if moment.tzinfo is None:
        raise click.BadParameter("give the time with its UTC offset, e.g. 2026-11-23T14:05:00+01:00")
    return moment


@click.group()
def case() -> None:
    """Open and list cases."""


def request_options(function):
    """Who asked for the examination, under which reference and authority (printed in reports)."""
    for flag, dest, help_text in reversed([
            ("--requester", "requester", "Who requested the examination (officer, unit, prosecutor)."),
            ("--request-reference", "request_reference", "The requester's reference for the request."),
            ("--authority", "legal_authority", "Legal authority for the examination, e.g. a warrant."),
            ("--contact", "contact", "Whom other units contact about this case.")]):
        function = click.option(flag, dest, default=None, help=help_text)(function)
    return function


@case.command("create")
@click.argument("name")
@click.option("--title", default="", help="Free-text title of the case.")
@click.option("--examiner", default="", help="Examiner responsible for the case.")
@request_options
def case_create(name: str, title: str, examiner: str, **request: str | None) -> None:
    """Create case NAME (doing it again changes nothing)."""
    db = database()
    try:
        created = create_case(db, name, title, examiner, **request)
    except StoreError as exc:
        fail(str(exc))
    out.print(f"case {created.name} (id {created.id}) in {db.url}")


@case.command("update")
@click.argument("name")
@click.option("--title", default=None)
@click.option("--examiner", default=None)
@request_options
def case_update(name: str, **changes: str | None) -> None:
    """Change a case's title, examiner, requester, reference, authority or contact (recorded)."""
    from evidence_store.intake import update_case

    try:
        row = update_case(database(), name, **changes)
    except StoreError as exc:
        fail(str(exc))
    out.print(f"case {row.name}: requester {row.requester or '-'}, reference {row.request_reference or '-'}, "
              f"authority {row.legal_authority or '-'}")


@case.command("list")
def case_list() -> None:
    """List the cases in the database."""
    from sqlalchemy import select

    from evidence_store.models import Case

    db = database()
    with db.session() as session:
        for row in session.scalars(select(Case).order_by(Case.id)):
            out.print(f"{row.name}\t{row.title}\t{row.examiner}\t{row.created_at:%Y-%m-%d %H:%M}Z")


@click.group()
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
@click.option("--description", default=None, help="The exhibit as received, e.g. 'Samsung 1 TB SSD, S/N ...'.")
@click.option("--seal", "seals", multiple=True, help="Seal number on the exhibit as received (repeatable).")
@click.option("--condition", default=None, help="Condition as received, e.g. 'bag sealed, undamaged'.")
@click.option("--received", default=None, help="When the lab received it, ISO 8601 with offset (default: now).")
def evidence_add(image: str, case_name: str, exhibit: str, examiner: str, expected_sha256: str | None,
                 override_reason: str | None, description: str | None, seals: tuple[str, ...],
                 condition: str | None, received: str | None) -> None:
    """Register IMAGE (raw, split raw, E01, QCOW2, VHD/VHDX, VMDK) and hash its media."""
    db = database()
    with progress_bars(bytes_mode=True) as bars:
        task = bars.add_task(f"hashing {Path(image).name}", total=None)
        try:
            row = add_exhibit(db, case_name, exhibit, image, examiner, expected_sha256=expected_sha256,
                              override_reason=override_reason, description=description, seals=seals,
                              condition=condition, received=aware_time(received),
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


