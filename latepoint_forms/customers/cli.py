"""``flask customers import FILE``: the importer (customers/importer.py) at the command line.

Shows a progress bar (on stderr), writes every rejected row to ``--report`` as CSV (row = the
file's line number, field, message) as it goes (cells a spreadsheet would run as a formula
are escaped: see csv_reports.py), and ends with a summary. Exit status 0 when
the file was read, whatever its rows held; 1 when it cannot be read at all (not UTF-8, bad
header, unknown format); 2 for a missing file or a bad option (click's usage error).
"""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from ..csv_reports import ReportWriter
from ..db_errors import is_read_only
from ..settings import rule_settings
from ..unit_of_work import commits
from .import_batch import BATCH_SIZE
from .import_rules import PARALLEL_FROM_LINES
from .importer import FORMATS, ImportFileError, detect_format, start_import

customers_cli = AppGroup("customers", help="Import customers.")

REPORT_HEADER = ("row", "field", "message")


def _open_report(path: Path | None) -> Any:
    if path is None:
        return contextlib.nullcontext()
    try:
        return path.open("w", encoding="utf-8", newline="")
    except OSError as exc:
        message = f"cannot write {path}: {exc.strerror}"
        raise click.BadParameter(message, param_hint="--report") from exc


@customers_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--format",
    "file_format",
    type=click.Choice(FORMATS),
    help="csv or jsonl (JSON lines). Default: from the extension (.csv, .jsonl, .ndjson).",
)
@click.option("--dry-run", is_flag=True, help="Run every check, uniqueness too; write nothing.")
@click.option(
    "--report",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write every rejected row (row, field, message) to this CSV file.",
)
@click.option(
    "--batch-size",
    type=click.IntRange(1, 10_000),
    default=BATCH_SIZE,
    show_default=True,
    help="Rows stored per transaction. Every row is still checked and reported on its own.",
)
@click.option(
    "--workers",
    type=click.IntRange(0, 64),
    default=None,
    help="Processes that run the field rules (0: none, in this process). Default: one per "
    f"CPU for a file of {PARALLEL_FROM_LINES:,} lines or more, else 0.",
)
@commits
def import_command(
    file: Path,
    file_format: str | None,
    dry_run: bool,
    report: Path | None,
    batch_size: int,
    workers: int | None,
) -> None:
    """Import customers from a CSV or JSON-lines FILE; each valid row is created, a batch of
    rows per transaction (a bad row never blocks or half-writes the others).

    Running the same file again creates nothing new: rows already imported are counted as
    already present. A row whose email is registered to another customer is rejected.
    """
    settings = rule_settings()
    try:
        run = start_import(
            file,
            detect_format(file, file_format),
            settings,
            dry_run=dry_run,
            batch_size=batch_size,
            workers=workers,
        )
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from exc

    counts: Counter[str] = Counter()
    line = 0
    failure: DBAPIError | None = None
    with run, _open_report(report) as report_file:
        writer = ReportWriter(report_file) if report_file is not None else None
        if writer is not None:
            writer.writerow(REPORT_HEADER)
        # On stderr, so the summary on stdout stays clean to read or pipe.
        with click.progressbar(length=run.lines, label="Importing", file=sys.stderr) as bar:
            try:
                for result in run.results:
                    counts[result.kind] += 1
                    if writer is not None:
                        for field, message in result.rejections():
                            writer.writerow((result.line, field, message))
                    bar.update(result.last_line - line)
                    line = result.last_line
            except DBAPIError as exc:
                failure = exc  # reported below, after what was done; never with row values

    if dry_run:
        click.echo("Dry run: nothing was written.")
        click.echo(f"Would create: {counts['valid']}")
    else:
        click.echo(f"Created: {counts['created']}")
    click.echo(f"Already present: {counts['already_present']}")
    rejected = f"Rejected: {counts['rejected']}"
    if counts["rejected"] and report is not None:
        rejected += f" (see {report})"
    elif counts["rejected"]:
        rejected += " (use --report FILE to see why)"
    click.echo(rejected)
    if failure is not None:
        raise click.ClickException(_database_failure(failure, line))


def _database_failure(error: DBAPIError, line: int) -> str:
    """One line for a database that stopped the import: what happened and what to do. The
    driver's own message only (``str(error)`` would list the statement's row values)."""
    if is_read_only(error):
        why = "the database is read-only (a standby, or a primary that failed over)"
    elif isinstance(error, OperationalError | InterfaceError) or error.connection_invalidated:
        why = "the database could not be reached"
    else:
        why = f"the database refused a write ({type(error.orig).__name__})"
    return (
        f"The import stopped after line {line}: {why}. The rows counted above as created "
        "are stored; run the same command again when the database is back, and those rows "
        "will be counted as already present."
    )
