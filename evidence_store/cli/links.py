"""``forensics links``: other cases linked to a case, why, how strongly; need-to-know requests; the graph."""
from __future__ import annotations

import json
import os
from pathlib import Path

import click

from evidence_store.links.correlate import PDQ_RADIUS, TLSH_MAX


def _principal(db, user: str | None):
    from evidence_store.accounts import principal_named

    return principal_named(db, user) if user else None


def _user_option(function):
    return click.option("--user", default=lambda: os.environ.get("FORENSICS_USER"),
                        help="Account to see the links as (default $FORENSICS_USER). Without one, every other "
                             "case is shown as need-to-know: the link, its types, weight and contact only.")(function)


@click.group(invoke_without_command=True)
@click.option("--case", "case_name", default=None, help="The case whose links to other cases to list.")
@click.option("--min-weight", type=click.FloatRange(0, 1), default=0.0, show_default=True,
              help="Only links at least this strong (0-1).")
@click.option("--pdq-radius", type=click.IntRange(0, 128), default=PDQ_RADIUS, show_default=True,
              help="PDQ Hamming distance for near images.")
@click.option("--tlsh-max", type=click.IntRange(0, 300), default=TLSH_MAX, show_default=True,
              help="TLSH distance for near documents.")
@click.option("--evidence", "shown", type=click.IntRange(1), default=5, show_default=True,
              help="Evidence lines per link in the text listing (JSON has all).")
@click.option("--graph", "graph_file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write the link graph to FILE.graphml or FILE.gexf (Gephi, yEd, Cytoscape).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per linked case, evidence included.")
@_user_option
@click.pass_context
def links(ctx: click.Context, case_name: str | None, min_weight: float, pdq_radius: int, tlsh_max: int,
          shown: int, graph_file: Path | None, as_json: bool, user: str | None) -> None:
    """Cases linked to a case by shared content (SHA-256), near images (PDQ), near documents (TLSH) and
    shared identifiers, strongest first, each with its evidence (docs/links.md). Subcommands ask for
    and decide access to another case's side of a link."""
    if ctx.invoked_subcommand is not None:
        return
    from evidence_store.cli import common as cli
    from evidence_store.links.access import link_json, reference, visible_links
    from evidence_store.links.correlate import Settings
    from evidence_store.store import StoreError

    if not case_name:
        raise click.UsageError("give --case (or a subcommand: request, decide, requests)")
    if graph_file is not None and graph_file.suffix.lower() not in (".graphml", ".gexf"):
        raise click.BadParameter("give a .graphml or .gexf file", param_hint="--graph")
    db = cli.database()
    settings = Settings(pdq_radius=pdq_radius, tlsh_max=tlsh_max, min_weight=min_weight)
    try:
        principal = _principal(db, user)
        rows = visible_links(db, case_name, principal, settings)
        if graph_file is not None:
            from evidence_store.links import graph

            graph.export(graph.build(db, principal, graph.seeds(db, principal, case_name), settings,
                                      {_case_id(db, case_name): rows}), graph_file)
    except StoreError as exc:
        cli.fail(str(exc))
    for link in rows:
        name = link.other_case if link.revealed else reference(link.other_case_id)
        if as_json:
            click.echo(json.dumps({"case": case_name, **link_json(link)}, ensure_ascii=False))
            continue
        click.echo(f"{name}\tweight {link.weight:.3f}\t{', '.join(f'{n} {t}' for t, n in link.counts.items() if n)}"
                   + ("" if link.revealed else f"\tneed to know: contact {link.contact or 'not recorded'}"))
        for e in link.evidence[:shown]:
            there = f"{e.there.exhibit}:{e.there.location}" + (f"@{e.there.offset}" if e.there.offset is not None
                                                                 else "") if e.there else "-"
            near = f" (distance {e.distance})" if e.distance is not None else ""
            here = f"{e.here.exhibit}:{e.here.location}" + (f"@{e.here.offset}" if e.here.offset is not None else "")
            click.echo(f"  {e.weight:.3f}\t{e.kind}\t{e.value}{near}\t{here}\t{there}")
        if len(link.evidence) > shown:
            click.echo(f"  … {len(link.evidence) - shown} more (--json lists all)")
    if graph_file is not None:
        click.echo(f"graph written to {graph_file}", err=True)


@links.command("request")
@click.option("--case", "case_name", required=True, help="Your case (you must be a member).")
@click.option("--other", "other", required=True, help="The linked case as listed: 'case #N' or N.")
@click.option("--purpose", required=True, help="Why you need to see the other side (recorded in both cases).")
@_user_option
def request(case_name: str, other: str, purpose: str, user: str | None) -> None:
    """Ask to see another case's side of its links to yours; a reviewer of that case decides."""
    from evidence_store.cli import common as cli
    from evidence_store.links.access import reference, request_access
    from evidence_store.store import StoreError

    if not user:
        raise click.UsageError("give --user (or $FORENSICS_USER): a request is made by a person")
    db = cli.database()
    try:
        row = request_access(db, _principal(db, user), case_name, _case_number(other), purpose)
    except StoreError as exc:
        cli.fail(str(exc))
    click.echo(f"request {row.id}: {user} asks to see {reference(row.other_case_id)}'s side of its links to "
               f"{case_name} (pending)")


@links.command("decide")
@click.argument("request_id", type=int)
@click.option("--approve/--refuse", required=True, help="The decision.")
@click.option("--reason", default="", help="Recorded with the decision in both cases.")
@_user_option
def decide_command(request_id: int, approve: bool, reason: str, user: str | None) -> None:
    """Approve or refuse a request to see your case's side of a link (reviewers of the case asked about)."""
    from evidence_store.cli import common as cli
    from evidence_store.links.access import decide
    from evidence_store.store import StoreError

    if not user:
        raise click.UsageError("give --user (or $FORENSICS_USER): a decision is made by a person")
    db = cli.database()
    try:
        row = decide(db, _principal(db, user), request_id, approve, reason)
    except StoreError as exc:
        cli.fail(str(exc))
    click.echo(f"request {row.id}: {row.state.value}")


@links.command("requests")
@click.option("--case", "case_name", required=True, help="A case you are a member of.")
@click.option("--json", "as_json", is_flag=True)
@_user_option
def requests(case_name: str, as_json: bool, user: str | None) -> None:
    """Requests about the case (incoming) and yours from it (outgoing), with their state."""
    from evidence_store.cli import common as cli
    from evidence_store.links.access import member_case, requests_for
    from evidence_store.store import StoreError

    if not user:
        raise click.UsageError("give --user (or $FORENSICS_USER)")
    db = cli.database()
    try:
        principal = _principal(db, user)
        with db.reading() as session:
            rows = requests_for(session, principal, member_case(session, case_name, principal).id)
    except StoreError as exc:
        cli.fail(str(exc))
    for row in rows:
        click.echo(json.dumps(row, default=cli.json_default) if as_json else
                   f"{row['id']}\t{row['direction']}\t{row['state']}\t{row['user']}\t{row['case']}\t{row['purpose']}")


def _case_id(db, case_name: str) -> int:
    from evidence_store.store import get_case

    with db.session() as session:
        return get_case(session, case_name).id


def _case_number(text: str) -> int:
    digits = text.strip().removeprefix("case").strip().lstrip("#")
    if not digits.isdigit():
        raise click.BadParameter(f"expected 'case #N' or N, got {text!r}", param_hint="--other")
    return int(digits)
