"""``forensics demo``: the whole mission on a sample image the project builds itself."""
from __future__ import annotations

from pathlib import Path

import click

from evidence_store.cli.common import RichProgress, console, database, fail, out, progress_bars
from evidence_store.cli.processing import print_summary
from evidence_store.runs import StageFailed
from evidence_store.store import StoreError


@click.command()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=Path("cases/demo"),
              show_default=True, help="Where the sample image and reference lists are written.")
def demo(workdir: Path) -> None:
    """Build a sample seized disk, process it end to end, verify the ledger and issue the report."""
    from evidence_store.demo import CASE, EXHIBIT, run_demo

    root = click.get_current_context().find_root()
    db = database()
    try:
        with progress_bars() as bars:
            result = run_demo(db, workdir, RichProgress(bars), lambda text: console.print(text, highlight=False))
    except (StageFailed, StoreError) as exc:
        fail(f"case {CASE}: {exc}")
    print_summary(db, CASE, result.summary)
    db_flag = f"--db {root.obj} " if root.obj else ""
    hits = ", ".join(f"{count} {matcher}" for matcher, count in sorted(result.findings.items())) or "none"
    out.print(f"  matches: {hits} (a YARA hit, a known-bad hash, a restricted PDQ near-match)", highlight=False)
    for link in result.links:
        counts = ", ".join(f"{n} {t}" for t, n in link.counts.items() if n)
        out.print(f"  linked case: case #{link.other_case_id} (contact {link.contact}), weight {link.weight:.3f}: "
                  f"{counts} (forensics {db_flag}links --case {CASE}; report section 9)", highlight=False,
                  soft_wrap=True)
    out.print(f"  custody ledger: {'verified' if result.ledger_ok else 'FAILED VERIFICATION'} ({result.ledger_detail})",
              highlight=False)
    out.print(f"  report {result.report_id}: issued, {'verified' if result.verified else 'NOT VERIFIED'} against "
              f"the ledger\n  report file: {result.report_path}", highlight=False, soft_wrap=True)
    out.print(f"  next: forensics {db_flag}findings --case {CASE} --exhibit {EXHIBIT}; "
              f"forensics {db_flag}report verify {result.report_path}", highlight=False, soft_wrap=True)
