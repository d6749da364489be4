"""``forensics custody ...``: keys, checkpoints, verification, export, transfers, the log."""
from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

import forensics
from evidence_store.cli import common as cli
from evidence_store.cli.common import exhibit_options
from evidence_store.custody import service
from evidence_store.custody.canonical import utc_text
from evidence_store.custody.ledger import CustodyError, Event, append, default_actor
from evidence_store.custody.signing import (
    create_key,
    fingerprint,
    key_dir,
    load_public,
    register_key,
)
from evidence_store.store import StoreError

VERIFY_FAILED = 1


@click.group()
def custody() -> None:
    """Chain of custody: keys, checkpoints, verification, export, transfers, the log."""


@custody.command()
@click.option("--key-dir", "directory", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where the private key is kept (default: $FORENSICS_KEY_DIR or ~/.forensics/keys).")
@click.option("--label", default="lab signing key", show_default=True)
def keygen(directory: Path | None, label: str) -> None:
    """Create the lab's Ed25519 signing key and register its public half in the database."""
    db = cli.database()
    directory = directory or key_dir()
    try:
        key = create_key(directory)
        with db.session() as session:
            register_key(session, key.public_key(), label, default_actor())
    except CustodyError as exc:
        cli.fail(str(exc))
    click.echo(f"private key: {directory}/custody-signing-key.pem (keep it off the database host's backups)")
    click.echo(f"public key fingerprint: {fingerprint(key.public_key())}")


@custody.command("register-key")
@click.argument("public_key", type=click.Path(dir_okay=False, exists=True, path_type=Path))
@click.option("--label", required=True)
def register_key_command(public_key: Path, label: str) -> None:
    """Register an existing public key (PEM or raw hex) in this database."""
    db = cli.database()
    key = load_public(public_key)
    with db.session() as session:
        register_key(session, key, label, default_actor())
    click.echo(f"registered {fingerprint(key)}")


@custody.command()
@click.option("--case", "case_name", default=None, help="One case's chain (default: every chain).")
def checkpoint(case_name: str | None) -> None:
    """Sign the head of each chain; prints the signed heads (to anchor outside the lab)."""
    db = cli.database()
    try:
        rows = service.checkpoint(db, case_name)
    except CustodyError as exc:
        cli.fail(str(exc))
    for row in rows:
        click.echo(json.dumps({"chain": row.chain, "seq": row.seq, "head_hash": row.head_hash,
                               "signed_at": row.signed_at, "key_fingerprint": row.key_fingerprint,
                               "signature": row.signature}, sort_keys=True))


@custody.command()
@click.option("--case", "case_name", default=None, help="One case's chain (default: the whole database).")
@click.option("--trusted-key", "trusted", multiple=True, type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="Public key whose checkpoints are trusted (repeatable); the lab key dir's is added.")
@click.option("--json", "as_json", is_flag=True)
def verify(case_name: str | None, trusted: tuple[Path, ...], as_json: bool) -> None:
    """Check every hash, link and signed checkpoint; exit 1 naming the first problem."""
    db = cli.database()
    reports, anchor = service.verify(db, case_name, list(trusted))
    failed = False
    for report in reports:
        failed |= not report.ok
        if as_json:
            click.echo(json.dumps({"chain": report.chain, "ok": report.ok, "events": report.events,
                                   "checkpoints": report.checkpoints, "last_checkpoint_seq": report.last_checkpoint_seq,
                                   "unprotected_tail": report.unprotected_tail, "trust": anchor,
                                   "problems": [p.__dict__ for p in report.problems]}, sort_keys=True))
            continue
        status = "OK" if report.ok else "TAMPERED"
        click.echo(f"{report.chain}: {status} - {report.events} events, {report.checkpoints} checkpoints "
                   f"(last signed at {report.last_checkpoint_seq}; {report.unprotected_tail} events after it "
                   "are not yet protected against removal)")
        if report.checkpoints == 0 and report.events:
            click.echo(f"  WARNING: no signed checkpoint on {report.chain}: the hashes and links show edits and "
                       "reordering, but events removed from the end would go unnoticed; sign one with "
                       "forensics custody checkpoint (create a lab key first: forensics custody keygen)")
        for problem in report.problems:
            click.echo(f"  first bad sequence {problem.seq} [{problem.kind}] exhibit {problem.exhibit or '-'}: "
                       f"{problem.message}")
    if not as_json:
        click.echo(f"trust anchor: {anchor}")
    if not reports:
        click.echo("no custody events recorded")
    sys.exit(VERIFY_FAILED if failed else 0)


@custody.command()
@click.option("--case", "case_name", required=True)
@click.option("--format", "fmt", type=click.Choice(["jsonl", "case"]), default="jsonl", show_default=True)
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), required=True)
@click.option("--purpose", default="custody export for independent verification", show_default=True)
def export(case_name: str, fmt: str, output: Path, purpose: str) -> None:
    """Write a self-contained custody bundle (events, checkpoints, public keys)."""
    from evidence_store.custody.export import write_case, write_jsonl
    from evidence_store.store import get_case

    db = cli.database()
    actor = default_actor()
    now = datetime.now(timezone.utc)
    try:
        with db.session() as session:
            get_case(session, case_name)
            append(session, Event(action="export", actor=actor[0], actor_role=actor[1], case_name=case_name,
                                  purpose=purpose, tool_name=forensics.TOOL_NAME, tool_version=forensics.__version__,
                                  tool_parameters={"format": fmt, "output": str(output)},
                                  idempotency_key=f"export:{case_name}:{fmt}:{output}:{utc_text(now)}"))
        with db.session() as session, open(output, "w", encoding="utf-8") as out:
            if fmt == "jsonl":
                count = write_jsonl(session, case_name, out, utc_text(now))
                click.echo(f"{count} events written to {output}")
            else:
                write_case(session, case_name, out)
                click.echo(f"CASE/UCO JSON-LD written to {output}")
    except (StoreError, CustodyError) as exc:
        cli.fail(str(exc))


def _when(value: str | None) -> datetime | None:
    if value is None:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        raise click.BadParameter("give the time with its UTC offset, e.g. 2026-11-23T14:05:00+01:00")
    return moment


@custody.command()
@exhibit_options
@click.option("--from", "from_custodian", required=True, help="Who hands the exhibit over.")
@click.option("--to", "to_custodian", required=True, help="Who receives it.")
@click.option("--purpose", required=True, help="Why (e.g. 'to evidence store', 'for imaging').")
@click.option("--authority", default=None, help="Authority reference, e.g. warrant number.")
@click.option("--location", default=None, help="Where the transfer took place / storage location.")
@click.option("--witness", default=None)
@click.option("--seal-removed", "seals_removed", multiple=True, help="Seal number removed (repeatable).")
@click.option("--seal-applied", "seals_applied", multiple=True, help="Seal number applied (repeatable).")
@click.option("--seal-intact/--seal-broken", "seal_intact", default=None,
              help="State of the seal found on receipt.")
@click.option("--at", "at", default=None, help="When, ISO 8601 with offset (default: now).")
def transfer(case_name: str, exhibit: str, from_custodian: str, to_custodian: str, purpose: str,
             authority: str | None, location: str | None, witness: str | None, seals_removed: tuple[str, ...],
             seals_applied: tuple[str, ...], seal_intact: bool | None, at: str | None) -> None:
    """Record the hand-over of an exhibit from one custodian to another."""
    db = cli.database()
    try:
        event = service.transfer(db, case_name, exhibit, from_custodian=from_custodian, to_custodian=to_custodian,
                                 purpose=purpose, location=location, authority=authority, witness=witness,
                                 seals_removed=seals_removed, seals_applied=seals_applied,
                                 seal_intact=seal_intact, occurred=_when(at))
    except (StoreError, CustodyError) as exc:
        cli.fail(f"case {case_name}: {exc}")
    click.echo(f"custody event {event.seq} recorded: {exhibit} {from_custodian} -> {to_custodian}")


@custody.command()
@click.option("--case", "case_name", required=True)
@click.option("--json", "as_json", is_flag=True)
def log(case_name: str, as_json: bool) -> None:
    """The case's custody timeline."""
    try:
        rows = service.log(cli.database(), case_name)
    except StoreError as exc:
        cli.fail(str(exc))
    for row in rows:
        if as_json:
            click.echo(json.dumps(row, sort_keys=True, ensure_ascii=False))
            continue
        who = f"{row['actor']} ({row['actor_role']})"
        what = row["action"]
        if row["action"] == "transfer":
            what += f" {row['from_custodian']} -> {row['to_custodian']}"
        if row.get("tool_parameters") and row["action"].startswith("stage"):
            what += f" {json.loads(row['tool_parameters']).get('stage')}"
        if row.get("outcome"):
            what += f" [{row['outcome']}]"
        if row.get("hash_algorithm"):
            match = {True: "match", False: "MISMATCH", None: "recorded"}[row.get("hash_match")]
            what += f" {row['hash_algorithm']} {match}"
        extra = f" - {row['purpose']}" if row.get("purpose") else ""
        click.echo(f"{row['seq']:>6}  {row['occurred_at']} ({row['occurred_offset']})  {row.get('exhibit') or '-':<10} "
                   f"{what}  by {who}{extra}")
