"""``forensics user ...`` and ``forensics serve``: accounts and the case portal."""
from __future__ import annotations

import sys
from pathlib import Path

import click

from evidence_store.cli.common import database, fail, out
from evidence_store.store import StoreError


@click.group()
def user() -> None:
    """Portal accounts: one role each, access per case by membership."""


def _password(password_file: Path | None) -> str:
    if password_file:
        return password_file.read_text(encoding="utf-8").rstrip("\n")
    if sys.stdin.isatty():
        return click.prompt("password", hide_input=True, confirmation_prompt=True)
    return sys.stdin.readline().rstrip("\n")


@user.command("add")
@click.argument("name")
@click.option("--role", required=True,
              type=click.Choice(["technician", "examiner", "reviewer", "prosecutor", "auditor", "admin"]))
@click.option("--case", "cases", multiple=True, help="Case the user is a member of (repeatable).")
@click.option("--password-file", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Read the password from this file (default: standard input).")
def user_add(name: str, role: str, cases: tuple[str, ...], password_file: Path | None) -> None:
    """Create user NAME (password from standard input or --password-file; 12 characters at least)."""
    from evidence_store.accounts import add_user
    from evidence_store.custody.ledger import default_actor

    try:
        row = add_user(database(), name, role, _password(password_file), list(cases), actor=default_actor())
    except StoreError as exc:
        fail(str(exc))
    out.print(f"user {row.name}: {row.role.value}" + (f", member of {', '.join(cases)}" if cases else ""),
              highlight=False)


@user.command("list")
def user_list() -> None:
    """Users, roles, cases and whether they are enabled."""
    from evidence_store.accounts import list_users

    for row, cases in list_users(database()):
        click.echo(f"{row.name}\t{row.role.value}\t{'disabled' if row.disabled else 'active'}\t{','.join(cases)}")


@user.command("disable")
@click.argument("name")
def user_disable(name: str) -> None:
    """Disable NAME: sessions end and tokens are revoked at once."""
    from evidence_store.accounts import disable_user
    from evidence_store.custody.ledger import default_actor

    try:
        disable_user(database(), name, actor=default_actor())
    except StoreError as exc:
        fail(str(exc))
    out.print(f"user {name}: disabled", highlight=False)


@user.command("member")
@click.argument("name")
@click.option("--case", "case_name", required=True)
@click.option("--remove", is_flag=True, help="Take the user off the case instead.")
def user_member(name: str, case_name: str, remove: bool) -> None:
    """Add NAME to a case (or --remove)."""
    from evidence_store.accounts import set_membership
    from evidence_store.custody.ledger import default_actor

    try:
        set_membership(database(), name, case_name, not remove, actor=default_actor())
    except StoreError as exc:
        fail(str(exc))
    out.print(f"user {name}: {'removed from' if remove else 'member of'} case {case_name}", highlight=False)


@user.command("token")
@click.argument("name")
@click.option("--label", default="", help="What the token is for.")
def user_token(name: str, label: str) -> None:
    """Print a new bearer token for NAME's JSON clients (shown once; only its SHA-256 is stored)."""
    from evidence_store.accounts import issue_token
    from evidence_store.custody.ledger import default_actor

    try:
        click.echo(issue_token(database(), name, label, actor=default_actor()))
    except StoreError as exc:
        fail(str(exc))


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
              help="Server processes (each reads evidence one chunk at a time; more serve more people at once).")
def serve(host: str, port: int, workers: int) -> None:
    """Run the case portal on the case database (uvicorn)."""
    import os

    import uvicorn

    from evidence_store.db import ENV_URL

    db = database()
    os.environ[ENV_URL] = db.url                 # the factory reads it in every worker process
    out.print(f"case portal on http://{host}:{port}/ (database {db.url}, {workers} worker(s)); Ctrl-C stops it",
              highlight=False)
    uvicorn.run("evidence_store.portal.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=False, log_level="warning", proxy_headers=False, server_header=False)
