"""Helpers every command shares: consoles, one-line errors, progress bars, the database."""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

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

from evidence_store.db import Database

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


def json_default(value):
    return value.isoformat() if isinstance(value, datetime) else str(value)


def database() -> Database:
    db = Database(click.get_current_context().find_root().obj)
    db.migrate()
    return db



def exhibit_options(function):
    """--case and --exhibit, which name one exhibit of one case."""
    function = click.option("--exhibit", required=True, help="Exhibit number within the case.")(function)
    return click.option("--case", "case_name", required=True, help="Case name.")(function)


def resolve_exhibit(db: Database, case_name: str, exhibit: str) -> int:
    from evidence_store.intake import lookup_exhibit
    from evidence_store.store import StoreError

    try:
        return lookup_exhibit(db, case_name, exhibit)[1]
    except StoreError as exc:
        fail(str(exc))
        raise
