"""``forensics report create|list|authorise|issue|verify``: the case report and its workflow."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from evidence_store.cli.common import database, fail, out
from evidence_store.store import StoreError

VERIFY_FAILED = 1


@click.group()
def report() -> None:
    """Case reports: draft, authorise (a second person), issue, verify."""


@report.command("create")
@click.option("--case", "case_name", required=True)
@click.option("--exhibit", "exhibits", multiple=True, help="Exhibit to report on (repeatable; default: all).")
@click.option("--examiner", required=True, help="The examiner whose report this is.")
@click.option("--declaration-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="The examiner's declaration (default: the lab's standard declaration).")
@click.option("--format", "fmt", type=click.Choice(["pdf", "html"]), default="pdf", show_default=True)
@click.option("--edition", type=click.Choice(["prosecution", "disclosure"]), default="prosecution",
              show_default=True, help="disclosure adds redacted thumbnails of non-restricted images that matched.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also copy the rendering here.")
@click.option("--amends", default=None, metavar="REPORT_ID", help="The issued report this one replaces.")
@click.option("--allow-incomplete", is_flag=True,
              help="Report on exhibits still processing or with failed stages (page 1 says so).")
def report_create(case_name: str, exhibits: tuple[str, ...], examiner: str, declaration_file: Path | None, fmt: str,
                  edition: str, output: Path | None, amends: str | None, allow_incomplete: bool) -> None:
    """Make a draft report from the case database and the custody ledger."""
    from evidence_store.reports.workflow import create

    declaration = declaration_file.read_text(encoding="utf-8") if declaration_file else None
    try:
        row = create(database(), case_name, examiner=examiner, fmt=fmt, edition=edition, exhibits=list(exhibits),
                     declaration=declaration, output=output, allow_incomplete=allow_incomplete, amends=amends)
    except StoreError as exc:
        fail(f"case {case_name}: {exc}")
    out.print(f"report {row.report_id}: draft, {row.findings} finding(s), sha256 {row.sha256}", highlight=False)
    out.print(f"  file: {row.path}", highlight=False, soft_wrap=True)
    if output:
        out.print(f"  copy: {output}", highlight=False, soft_wrap=True)
    out.print(f"  next: forensics report authorise {row.report_id} --reviewer NAME (a second person)",
              highlight=False)


@report.command("list")
@click.option("--case", "case_name", required=True)
@click.option("--json", "as_json", is_flag=True)
def report_list(case_name: str, as_json: bool) -> None:
    """The case's reports: id, state, SHA-256, file."""
    from evidence_store.reports.workflow import list_reports

    try:
        rows = list_reports(database(), case_name)
    except StoreError as exc:
        fail(str(exc))
    for row in rows:
        record = {"id": row.report_id, "state": row.state.value, "sha256": row.sha256, "file": row.path,
                  "format": row.format.value, "edition": row.edition.value, "examiner": row.examiner,
                  "reviewer": row.reviewer, "exhibits": row.exhibits, "findings": row.findings,
                  "amends": row.amends, "superseded_by": row.superseded_by,
                  "created_at": row.created_at.isoformat() if row.created_at else None,
                  "issued_at": row.issued_at.isoformat() if row.issued_at else None}
        if as_json:
            click.echo(json.dumps(record, sort_keys=True, ensure_ascii=False))
        else:
            state = record["state"] + (f" (superseded by {row.superseded_by})" if row.superseded_by else "")
            click.echo(f"{row.report_id}\t{state}\t{row.sha256}\t{row.path}")


@report.command("authorise")
@click.argument("report_id")
@click.option("--reviewer", required=True, help="The second person who reviewed the report (not the examiner).")
@click.option("--note", default=None, help="The reviewer's note, printed with the authorisation.")
def report_authorise(report_id: str, reviewer: str, note: str | None) -> None:
    """Authorise a draft for release (ISO/IEC 17025 7.8.1.1); it is re-rendered with the authorisation."""
    from evidence_store.reports.workflow import authorise

    try:
        row = authorise(database(), report_id, reviewer=reviewer, note=note)
    except StoreError as exc:
        fail(str(exc))
    out.print(f"report {row.report_id}: authorised by {row.reviewer}, sha256 {row.sha256}\n  file: {row.path}",
              highlight=False, soft_wrap=True)


@report.command("issue")
@click.argument("report_id")
def report_issue(report_id: str) -> None:
    """Issue an authorised report: final, with the signed custody-ledger head; never changed afterwards."""
    from evidence_store.reports.workflow import issue

    try:
        row = issue(database(), report_id)
    except StoreError as exc:
        fail(str(exc))
    out.print(f"report {row.report_id}: issued, sha256 {row.sha256}\n  file: {row.path}", highlight=False,
              soft_wrap=True)


@report.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--trusted-key", "trusted", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Public key whose signatures are trusted (repeatable); the lab key dir's is added.")
@click.option("--json", "as_json", is_flag=True)
def report_verify(file: Path, trusted: tuple[Path, ...], as_json: bool) -> None:
    """Check a report file against the ledger and the database; exit 1 naming what differs."""
    from evidence_store.reports.verify import verify_file

    result = verify_file(database(), file, list(trusted))
    if as_json:
        click.echo(json.dumps({"file": str(file), "sha256": result.sha256, "report_id": result.report_id,
                               "state": result.state, "ok": result.ok,
                               "checks": [c.__dict__ for c in result.checks]}, sort_keys=True))
    else:
        for check in result.checks:
            mark = {True: "ok  ", False: "FAIL", None: "n/a "}[check.ok]
            click.echo(f"{mark} {check.name}: {check.detail}")
        verdict = "VERIFIED" if result.ok else "NOT VERIFIED"
        state = f" ({result.state})" if result.state else ""
        click.echo(f"{file}: report {result.report_id or '?'}{state}: {verdict}")
    sys.exit(0 if result.ok else VERIFY_FAILED)
