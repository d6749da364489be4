"""Options shared by the CLI's commands."""
from __future__ import annotations

import click


def exhibit_options(function):
    """--case and --exhibit, which name one exhibit of one case."""
    function = click.option("--exhibit", required=True, help="Exhibit number within the case.")(function)
    return click.option("--case", "case_name", required=True, help="Case name.")(function)
