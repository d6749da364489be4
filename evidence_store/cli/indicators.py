"""``forensics indicators``: identifiers (e-mail, URLs/domains, IPs, phones, wallets, cards) in content."""
from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

import click

MAX_BYTES = 256 << 20


@click.group(invoke_without_command=True)
@click.option("--case", "case_name", default=None, help="List what the content pass extracted in this case.")
@click.option("--exhibit", default=None, help="Only this exhibit.")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds. Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per indicator and item.")
@click.pass_context
def indicators(ctx: click.Context, case_name: str | None, exhibit: str | None, kinds: tuple[str, ...],
               as_json: bool) -> None:
    """Identifiers extracted from content (forensics/indicators: one registry of named, versioned extractors):
    `forensics indicators --case C` lists what processing found; `forensics indicators scan PATH` reads files."""
    if ctx.invoked_subcommand is not None:
        return
    from evidence_store.cli import common as cli
    from evidence_store.queries import iter_indicators
    from evidence_store.store import StoreError

    if not case_name:
        raise click.UsageError("give --case (or a subcommand: scan)")
    try:
        rows = list(iter_indicators(cli.database(), case_name, exhibit, kinds))
    except StoreError as exc:
        cli.fail(str(exc))
    for row in rows:
        click.echo(json.dumps(row, ensure_ascii=False) if as_json else
                   f"{row['exhibit']}\t{row['path']}\t{row['offset'] if row['offset'] is not None else '-'}\t"
                   f"{row['kind']}\t{row['value']}")


@indicators.command("scan")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (email, url, domain, ipv4, ipv6, phone, "
              "bitcoin, ethereum, monero, card). Repeatable.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per indicator.")
def scan(paths: tuple[str, ...], kinds: tuple[str, ...], as_json: bool) -> None:
    """Extract indicators from files on this machine (exports, carved or extracted files, reference
    material): each with its kind, normalised value, byte offset, context and extractor version.
    Region for phone numbers written without +country: $FORENSICS_PHONE_REGION (e.g. GB)."""
    from evidence_store.cli.common import fail
    from forensics.indicators.extract import extract
    from forensics.indicators.registry import KINDS

    unknown = sorted(set(kinds) - set(KINDS))
    if unknown:
        fail(f"unknown indicator kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    for start in map(Path, paths):
        for path in sorted(start.rglob("*")) if start.is_dir() else [start]:
            if not path.is_file() or path.is_symlink():
                continue
            if path.stat().st_size > MAX_BYTES:
                click.echo(f"{path}: larger than {MAX_BYTES:,} bytes; not scanned", err=True)
                continue
            for found in extract(path.read_bytes(), kinds or None):
                if as_json:
                    click.echo(json.dumps({"file": str(path), **asdict(found)}, ensure_ascii=False))
                else:
                    click.echo(f"{path}\t{found.offset}\t{found.kind}\t{found.value}\t{found.extractor}")
