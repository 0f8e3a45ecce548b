"""Importing customers from a file (SPEC section 6): CSV or JSON lines, streamed.

File formats
    CSV: a header row of the JSON field names (``first_name``, ``email``, …), a column
    ``custom_fields.<key>`` per custom field, UTF-8 with or without a BOM. An empty cell means
    "not given"; ``is_guest`` reads the words of ``booleans.parse_bool`` (true/false, 1/0,
    yes/no, y/n, on/off, as a web checkbox does); ``wordpress_user_id`` an integer; a
    checkbox custom field the same words as ``is_guest``, a number field a number. A value
    that does not read is passed on as text, so the rules report it as they would in the API.
    JSON lines: one object per line, the same contract as the API's body. Blank lines are
    skipped in both.

What cannot be read at all
    A file that is not UTF-8, an empty file, a CSV header with an unknown or repeated column,
    a custom-field column no active definition has, or no ``first_name`` and ``last_name``
    column: ``ImportFileError`` before anything is
    written (the encoding is checked by a first streaming pass, which also counts the lines
    for the progress bar). A single unreadable row (a broken JSON line, a CSV row with more
    cells than the header) is that row's rejection; the others go on.

Each row goes through the API's rules on its own (``parse_customer_input``, in worker
processes for a large file: see import_rules.py; then ``check_customer``), and is stored
(source ``import``) by ``import_batch.BatchWriter``, a batch of rows per transaction, with a
fingerprint of its normalised record: running the same file again
finds every earlier row, with or without an email, and creates nothing. (Two rows that are
the same record, e.g. a name alone, count as one customer: without an email there is nothing
else to tell them apart by.) Only that counts as "already present": a row whose email is
registered to a different record (another person, or a customer registered on the web or by
the API) is rejected with an ``email`` message, so no row is lost without a report line.
"""

from __future__ import annotations

import codecs
import csv
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TextIO

from .. import strict_json
from ..booleans import parse_bool
from .custom_fields import FieldDefinition, active_custom_field_definitions, form_values_to_json
from .errors import ValidationFailed
from .import_batch import BATCH_SIZE, BatchWriter, Row
from .import_rules import default_workers, parse_rows
from .input import STRING_FIELDS, RuleSettings
from .service import check_customer

FORMATS = ("csv", "jsonl")
EXTENSIONS = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}
CUSTOM_FIELD_PREFIX = "custom_fields."
CSV_COLUMNS = frozenset((*STRING_FIELDS, "is_guest", "wordpress_user_id"))
REQUIRED_COLUMNS = ("first_name", "last_name")
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,30}")
_CHUNK = 1 << 16


class ImportFileError(Exception):
    """The file cannot be read at all; nothing was imported."""


def detect_format(path: Path, given: str | None) -> str:
    if given is not None:
        return given
    try:
        return EXTENSIONS[path.suffix.lower()]
    except KeyError:
        raise ImportFileError(
            f"Cannot tell the format from the name {path.name!r}: use a .csv, .jsonl or "
            ".ndjson file, or --format"
        ) from None


def count_lines(path: Path) -> int:
    """The number of lines, after checking (streaming) that the whole file is UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    lines, last = 0, b""
    try:
        with path.open("rb") as file:
            while chunk := file.read(_CHUNK):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    line = lines + chunk[: exc.start].count(b"\n") + 1
                    raise ImportFileError(
                        f"Line {line} is not valid UTF-8: save the file as UTF-8"
                    ) from exc
                lines += chunk.count(b"\n")
                last = chunk[-1:]
            decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise ImportFileError("The file ends inside a character: it is not valid UTF-8") from exc
    except OSError as exc:
        raise ImportFileError(f"Cannot read the file: {exc.strerror or exc}") from exc
    return lines + (1 if last not in (b"", b"\n") else 0)


def _boolean(cell: str) -> bool | str:
    value = parse_bool(cell)
    return cell if value is None else value


def _integer(cell: str) -> int | str:
    text = cell.strip()
    return int(text) if _INTEGER_RE.fullmatch(text) else cell


def _custom_value(cell: str, definition: FieldDefinition) -> Any:
    if definition.type == "checkbox":
        return _boolean(cell)
    if definition.type == "number":
        return form_values_to_json({definition.key: cell}, [definition])[definition.key]
    return cell


def check_header(header: list[str]) -> list[str]:
    names = [name.strip() for name in header]
    unknown = [
        name
        for name in names
        if name not in CSV_COLUMNS
        and not (name.startswith(CUSTOM_FIELD_PREFIX) and name != CUSTOM_FIELD_PREFIX)
    ]
    if unknown:
        raise ImportFileError(
            f"Unknown column(s) in the header: {', '.join(repr(n) for n in unknown)}. Columns "
            "are the API's field names, and custom_fields.<key> for custom fields."
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ImportFileError(f"Column(s) named twice in the header: {', '.join(repeated)}")
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise ImportFileError(f"The header has no {' and no '.join(missing)} column")
    return names


class CsvRows:
    """The rows of a CSV file as JSON-typed dicts, with their line numbers."""

    def __init__(self, file: Any, definitions: list[FieldDefinition]) -> None:
        self._reader = csv.reader(file)
        self._definitions = {definition.key: definition for definition in definitions}
        try:
            header = next(self._reader)
        except StopIteration:
            raise ImportFileError(
                "The file is empty: a CSV file starts with a header row"
            ) from None
        except csv.Error as exc:
            raise ImportFileError(f"The header row is not valid CSV: {exc}") from exc
        self.columns = check_header(header)
        unknown = [
            name
            for name in self.columns
            if name.startswith(CUSTOM_FIELD_PREFIX)
            and name[len(CUSTOM_FIELD_PREFIX) :] not in self._definitions
        ]
        if unknown:
            # Every row would be refused for it: say so once, before anything is written.
            raise ImportFileError(
                f"No active custom field for the column(s): {', '.join(unknown)} "
                "(see flask catalog show)"
            )

    def _record(self, cells: list[str]) -> dict[str, Any]:
        record: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        for name, cell in zip(self.columns, cells, strict=False):
            if cell.strip() == "":
                continue  # empty cell: not given
            if name.startswith(CUSTOM_FIELD_PREFIX):
                key = name[len(CUSTOM_FIELD_PREFIX) :]
                custom[key] = _custom_value(cell, self._definitions[key])
            elif name == "is_guest":
                record[name] = _boolean(cell)
            elif name == "wordpress_user_id":
                record[name] = _integer(cell)
            else:
                record[name] = cell
        if custom:
            record["custom_fields"] = custom
        return record

    def __iter__(self) -> Iterator[tuple[int, int, dict[str, Any] | ValidationFailed]]:
        last_line = self._reader.line_num
        while True:
            first_line = last_line + 1
            try:
                cells = next(self._reader)
            except StopIteration:
                return
            except csv.Error as exc:
                last_line = self._reader.line_num
                yield first_line, last_line, ValidationFailed({"row": f"Not valid CSV: {exc}"})
                continue
            last_line = self._reader.line_num
            if not any(cell.strip() for cell in cells):
                continue  # a blank line
            if len(cells) > len(self.columns) and any(
                c.strip() for c in cells[len(self.columns) :]
            ):
                message = f"This row has {len(cells)} cells; the header has {len(self.columns)}"
                yield first_line, last_line, ValidationFailed({"row": message})
                continue
            yield first_line, last_line, self._record(cells)


def json_lines(file: Any) -> Iterator[tuple[int, int, Any]]:
    """Each non-blank line's JSON value (or why it is not JSON), with its line number."""
    for number, line in enumerate(file, start=1):
        if not line.strip():
            continue
        try:
            value = strict_json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield number, number, ValidationFailed({"line": f"Not valid JSON: {exc}"})
            continue
        yield number, number, value


class ImportRun:
    """A file checked and opened for import: its line count (for a progress bar) and the
    rows' results, produced (and written, a batch at a time) as they are iterated. A context
    manager: leaving it closes the file, whether or not every row was read."""

    def __init__(
        self,
        lines: int,
        file: TextIO,
        rows: Iterator[Any],
        settings: RuleSettings,
        definitions: list[FieldDefinition],
        writer: BatchWriter,
        workers: int,
    ) -> None:
        self.lines = lines
        self._file, self._rows, self._writer, self._workers = file, rows, writer, workers
        # One set of settings and custom-field definitions judges every row of the run.
        self._settings, self._definitions = settings, definitions

    def __enter__(self) -> ImportRun:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._file.close()

    @property
    def results(self) -> Iterator[Row]:
        """Every row, in file order; each batch's rows once the batch is settled."""
        parsed_rows = parse_rows(self._rows, self._settings, self._workers)
        for first_line, last_line, parsed in parsed_rows:
            row = Row(first_line, last_line)
            if isinstance(parsed, ValidationFailed):
                row.reject(parsed)
            else:
                data, row.fingerprint = parsed
                try:
                    # The rules that need the catalog and the custom-field definitions.
                    row.checked = check_customer(data, self._settings, self._definitions).data
                except ValidationFailed as error:
                    row.reject(error)
            yield from self._writer.add(row)
        yield from self._writer.flush()


def start_import(
    path: Path,
    file_format: str,
    settings: RuleSettings,
    *,
    dry_run: bool = False,
    batch_size: int = BATCH_SIZE,
    workers: int | None = None,
) -> ImportRun:
    """Check that ``path`` can be read (``ImportFileError`` if not; nothing written yet), then
    import it lazily, a batch of rows per transaction, as ``results`` is iterated.

    ``workers``: processes that run the field rules (``import_rules``); None: one per CPU
    for a large file, none for a small one."""
    lines = count_lines(path)
    # utf-8-sig: a BOM (as spreadsheet programs write) is not part of the first column's name.
    try:
        file = path.open(encoding="utf-8-sig", newline="")
    except OSError as exc:
        raise ImportFileError(f"Cannot read the file: {exc.strerror or exc}") from exc
    try:
        definitions = active_custom_field_definitions()
        rows: Any = iter(CsvRows(file, definitions)) if file_format == "csv" else json_lines(file)
    except BaseException:
        file.close()
        raise
    writer = BatchWriter(dry_run=dry_run, batch_size=batch_size)
    if workers is None:
        workers = default_workers(lines)
    return ImportRun(lines, file, rows, settings, definitions, writer, workers)
