"""The ``forensics`` command: the lab's verbs over the case database.

Errors are one line naming the exhibit (details go to the processing-warnings table),
never a traceback; exit status 3 means an exhibit could not be processed. Every command
module defines its commands; this module lists them, once, in the order ``--help`` shows.
"""
from __future__ import annotations

import click

from evidence_store.cli import cases, custody, demo, indicators, links, matchers, people, processing, reports


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--db", "db_url", default=None, metavar="URL",
              help="Case database URL (default: $FORENSICS_DATABASE_URL or sqlite:///cases/forensics.db).")
@click.pass_context
def main(ctx: click.Context, db_url: str | None) -> None:
    """Evidence-processing pipeline: disk images in, a verifiable case database out."""
    ctx.obj = db_url


COMMANDS: tuple[click.Command, ...] = (
    cases.lab, cases.case, cases.evidence,
    processing.process, processing.stages, processing.carve, processing.carved, processing.files, processing.volumes,
    processing.warnings, processing.runs, processing.content,
    matchers.rules, matchers.hashset, matchers.match, matchers.findings, matchers.similar, indicators.indicators, links.links,
    reports.report, custody.custody, people.user, people.serve, demo.demo,
)
for command in COMMANDS:
    main.add_command(command)
