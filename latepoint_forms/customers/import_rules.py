"""The field rules on every row of an import, in worker processes when the file is large.

The rules (``parse_customer_input``: JSON types, then one rule per field) are pure: no Flask,
no database. On a large file they are most of an import's time, so they may run in a pool of
worker processes (``workers``), a chunk of rows per task, while the importer's own process
reads the file, runs the rules that need the database (``check_customer``) and stores the
batches. Results come back in file order, and at most a few chunks per worker are in flight,
so the file is still streamed. The rules and their messages are the same wherever they run:
only where the work is done changes.
"""

from __future__ import annotations

import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from typing import Any

from .bulk import NOT_AN_OBJECT, record_fingerprint
from .errors import ValidationFailed
from .input import CustomerInput, RuleSettings, parse_customer_input

CHUNK = 250  # rows per task: big enough that pickling is cheap beside the rules
IN_FLIGHT_PER_WORKER = 4
PARALLEL_FROM_LINES = 5_000  # below this, starting the workers costs more than they save

# One row's result: its input after the field rules and its fingerprint, or its errors.
Parsed = tuple[CustomerInput, str] | ValidationFailed
# As it crosses a process boundary: an exception with custom arguments does not pickle.
_Wire = tuple[CustomerInput, str] | dict[str, str]


def default_workers(lines: int) -> int:
    """Worker processes for a file of ``lines`` lines: one per CPU for a large file, else 0
    (the rules run in the importer's own process)."""
    cpus = os.cpu_count() or 1
    return cpus if cpus > 1 and lines >= PARALLEL_FROM_LINES else 0


def parse_row(raw: Any, settings: RuleSettings) -> Parsed:
    """The field rules on one row (a JSON-typed mapping), and the fingerprint of its record."""
    try:
        if not isinstance(raw, dict):
            raise ValidationFailed({"customer": NOT_AN_OBJECT})
        data = parse_customer_input(raw, settings)
    except ValidationFailed as error:
        return error
    return data, record_fingerprint(data)


def _watch_importer(importer_pid: int) -> None:
    """In a worker: exit once the importer is gone (killed, say: it never got to shut the
    pool down), rather than wait for work that will never come."""

    def watch() -> None:
        while True:
            time.sleep(1)
            try:
                os.kill(importer_pid, 0)
            except ProcessLookupError:
                os._exit(1)

    threading.Thread(target=watch, name="watch-importer", daemon=True).start()


def _parse_chunk(raws: list[Any], settings: RuleSettings) -> list[_Wire]:
    results: list[_Wire] = []
    for raw in raws:
        parsed = parse_row(raw, settings)
        results.append((parsed.details or {}) if isinstance(parsed, ValidationFailed) else parsed)
    return results


def _from_wire(result: _Wire) -> Parsed:
    return ValidationFailed(result) if isinstance(result, dict) else result


Row = tuple[int, int, Any]  # first line, last line, the row's JSON-typed value


def parse_rows(
    rows: Iterator[Row], settings: RuleSettings, workers: int
) -> Iterator[tuple[int, int, Parsed]]:
    """Each row with its result, in file order. A row that could not be read at all (its
    value a ``ValidationFailed``) passes through as it is."""
    if workers <= 0:
        for first, last, raw in rows:
            yield (
                first,
                last,
                raw if isinstance(raw, ValidationFailed) else parse_row(raw, settings),
            )
        return
    # forkserver: workers fork from a clean process that imported the rules, not from this
    # one (its open database connections and threads stay here).
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    in_flight: deque[tuple[list[Row], Future[list[_Wire]]]] = deque()
    with ProcessPoolExecutor(
        max_workers=workers,
        mp_context=context,
        initializer=_watch_importer,
        initargs=(os.getpid(),),
    ) as pool:

        def submit(chunk: list[Row]) -> None:
            raws = [None if isinstance(raw, ValidationFailed) else raw for _, _, raw in chunk]
            in_flight.append((chunk, pool.submit(_parse_chunk, raws, settings)))

        def settle_oldest() -> Iterator[tuple[int, int, Parsed]]:
            chunk, future = in_flight.popleft()
            for (first, last, raw), result in zip(chunk, future.result(), strict=True):
                parsed = raw if isinstance(raw, ValidationFailed) else _from_wire(result)
                yield first, last, parsed

        chunk: list[Row] = []
        for row in rows:
            chunk.append(row)
            if len(chunk) == CHUNK:
                submit(chunk)
                chunk = []
                if len(in_flight) >= workers * IN_FLIGHT_PER_WORKER:
                    yield from settle_oldest()
        if chunk:
            submit(chunk)
        while in_flight:
            yield from settle_oldest()
