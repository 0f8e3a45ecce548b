"""``flask customers import`` a batch of rows per transaction: a bad row in the middle of a
batch, duplicates within a batch and against the database, rows refused at insert (a write
that lands between the batch's look-up and its insert), re-runs and dry runs; both databases.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import multiprocessing.connection
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, insert, select

from latepoint_forms.customers import import_batch, import_rules, rules
from latepoint_forms.customers.bulk import record_fingerprint
from latepoint_forms.customers.input import CustomerInput
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer

from .conftest import ApiClient
from .test_api import BASIC, customer_count
from .test_import import read_report, run_import, stored, summary, write

HEADER = "first_name,last_name,email,wordpress_user_id\n"

# Line numbers are the file's (the header is line 1). With --batch-size 4 the rows fall in
# batches of lines 2-5, 6-9, 10-13.
MIDDLE_CSV = HEADER + (
    "Ann,Lee,ann@example.com,\n"  # 2: created
    "B0b,Kim,bob@example.com,\n"  # 3: rejected by a rule, in the middle of the batch
    "Cy,Ray,taken@example.com,\n"  # 4: rejected: the email is registered already (the API)
    "Di,Fox,di@example.com,7\n"  # 5: created
    "Ed,Ng,ANN@example.com,\n"  # 6: rejected: line 2's email, an earlier batch
    "Fay,Po,fay@example.com,\n"  # 7: created
    "Guy,Ho,FAY@example.com,\n"  # 8: rejected: line 7's email, the same batch
    "Fay,Po,fay@example.com,\n"  # 9: already present: line 7's record, the same batch
    "Hal,Ek,hal@example.com,7\n"  # 10: rejected: line 5's WordPress user
    "Ian,Oz,,\n"  # 11: created
    "Ian,Oz,,\n"  # 12: already present: line 11's record (no email to tell them apart)
    "Jo,Wu,jo@example.com,\n"  # 13: created
)
MIDDLE_REPORT = [
    ["row", "field", "message"],
    ["3", "first_name", "First name can only contain letters, spaces, hyphens and apostrophes"],
    ["4", "email", "This email address is already registered"],
    ["6", "email", "This email address is already registered"],
    ["8", "email", "This email address is already registered"],
    ["10", "wordpress_user_id", "This WordPress user is already linked to another customer"],
]
MIDDLE_STORED = ["taken", "Ann", "Di", "Fay", "Ian", "Jo"]


def first_names(app: Flask) -> list[str]:
    return [c.first_name if c.source == "import" else "taken" for c in stored(app)]


@pytest.mark.parametrize(("batch_size", "workers"), [(1, 0), (4, 0), (500, 0), (4, 2)])
def test_bad_rows_in_the_middle_of_a_batch_block_nothing(
    runner: Any, api: ApiClient, tmp_path: Path, batch_size: int, workers: int
) -> None:
    """Whatever the batch size, and wherever the field rules run, every row is judged as a
    row-at-a-time import would judge it."""
    assert api.post("/customers", {**BASIC, "email": "taken@example.com"}).status_code == 201
    file = write(tmp_path / "middle.csv", MIDDLE_CSV)
    report = tmp_path / "report.csv"

    result = run_import(
        runner, file, "--report", report, "--batch-size", batch_size, "--workers", workers
    )

    assert summary(result) == ["Created: 5", "Already present: 2", f"Rejected: 5 (see {report})"]
    assert read_report(report) == MIDDLE_REPORT
    assert first_names(api.app) == MIDDLE_STORED
    assert "Importing" in result.stderr


def test_a_dry_run_judges_batches_as_the_real_run_and_writes_nothing(
    runner: Any, api: ApiClient, tmp_path: Path
) -> None:
    """Across batches too: a dry run remembers what it would have written (line 6 meets line
    2's email in an earlier batch, which a dry run never stored)."""
    assert api.post("/customers", {**BASIC, "email": "taken@example.com"}).status_code == 201
    file = write(tmp_path / "middle.csv", MIDDLE_CSV)
    report = tmp_path / "report.csv"

    result = run_import(runner, "--dry-run", file, "--report", report, "--batch-size", 4)

    assert summary(result) == [
        "Dry run: nothing was written.",
        "Would create: 5",
        "Already present: 2",
        f"Rejected: 5 (see {report})",
    ]
    assert read_report(report) == MIDDLE_REPORT
    assert customer_count(api.app) == 1


def test_rerunning_with_other_batch_sizes_creates_nothing_new(
    runner: Any, api: ApiClient, tmp_path: Path
) -> None:
    assert api.post("/customers", {**BASIC, "email": "taken@example.com"}).status_code == 201
    file = write(tmp_path / "middle.csv", MIDDLE_CSV)
    first = run_import(runner, file, "--batch-size", 3)
    report = tmp_path / "report.csv"

    second = run_import(runner, file, "--batch-size", 500, "--report", report)
    dry = run_import(runner, "--dry-run", file, "--batch-size", 2)

    assert summary(first) == [
        "Created: 5",
        "Already present: 2",
        "Rejected: 5 (use --report FILE to see why)",
    ]
    # The five created rows and their two repeats are found by their fingerprints; line 6 and
    # line 8 meet the emails of rows now stored, as before.
    assert summary(second) == ["Created: 0", "Already present: 7", f"Rejected: 5 (see {report})"]
    assert read_report(report) == MIDDLE_REPORT
    assert summary(dry)[1:] == [
        "Would create: 0",
        "Already present: 7",
        "Rejected: 5 (use --report FILE to see why)",
    ]
    assert first_names(api.app) == MIDDLE_STORED


def test_a_repeated_record_follows_its_first_row_when_that_is_rejected(
    runner: Any, api: ApiClient, tmp_path: Path
) -> None:
    """Two identical rows whose email is taken: both rejected, neither "already present"."""
    assert api.post("/customers", BASIC).status_code == 201
    row = f"Ann,Lee,{BASIC['email']},\n"
    file = write(tmp_path / "twice.csv", HEADER + row + row)

    result = run_import(runner, file, "--batch-size", 10)

    assert summary(result)[-3:] == [
        "Created: 0",
        "Already present: 0",
        "Rejected: 2 (use --report FILE to see why)",
    ]


@pytest.mark.parametrize("workers", [0, 1])
def test_a_large_file_in_many_batches(
    runner: Any, app: Flask, tmp_path: Path, workers: int
) -> None:
    """2,100 rows, one bad row in every hundred: five batches of 500 land around them. With a
    worker process, more chunks of rows than may be in flight at once: results still come
    back in file order."""
    rows = 2100
    assert rows > import_rules.CHUNK * import_rules.IN_FLIGHT_PER_WORKER
    lines = [
        f"Ann,Lee,{'not-an-email' if i % 100 == 50 else f'ann{i}@example.com'},\n"
        for i in range(rows)
    ]
    file = write(tmp_path / "many.csv", HEADER + "".join(lines))
    report = tmp_path / "report.csv"

    result = run_import(runner, file, "--report", report, "--workers", workers)

    assert summary(result) == [
        "Created: 2079",
        "Already present: 0",
        f"Rejected: 21 (see {report})",
    ]
    bad_lines = [str(i + 2) for i in range(50, rows, 100)]
    assert [row[0] for row in read_report(report)[1:]] == bad_lines
    with app.app_context():
        emails = set(db.session.execute(select(Customer.email)).scalars())
    assert emails == {f"ann{i}@example.com" for i in range(rows) if i % 100 != 50}


def test_workers_by_default_only_for_a_large_file() -> None:
    assert import_rules.default_workers(import_rules.PARALLEL_FROM_LINES - 1) == 0
    large = import_rules.default_workers(import_rules.PARALLEL_FROM_LINES)
    assert large == ((os.cpu_count() or 1) if (os.cpu_count() or 1) > 1 else 0)


# --- rows refused at insert: written by someone else after the batch's look-up ---------------


@contextmanager
def before_the_batch_insert(
    app: Flask, write_first: Callable[[list[dict[str, Any]]], None]
) -> Iterator[None]:
    """Run ``write_first(rows)`` on a connection of its own, committed, just before the first
    batch INSERT of the import goes to the database: a concurrent writer, deterministically."""
    done: list[bool] = []

    def listener(conn: Any, clause: Any, multiparams: Any, params: Any, options: Any) -> None:
        if done or clause is not import_batch._INSERT_ROWS[conn.dialect.name]:
            return
        done.append(True)
        write_first(list(multiparams))

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_execute", listener)
    try:
        yield
    finally:
        event.remove(engine, "before_execute", listener)
    assert done, "the batch insert never ran"


def other_customer(app: Flask, **values: Any) -> Callable[[list[dict[str, Any]]], None]:
    def write_first(rows: list[dict[str, Any]]) -> None:
        with app.app_context():
            engine = db.engine
        with engine.begin() as conn:
            conn.execute(
                insert(Customer.__table__).values(
                    first_name="Other",
                    last_name="Writer",
                    source="api",
                    customer_code=values.pop("customer_code", None)
                    or rows[0]["customer_code"][::-1],
                    **values,
                )
            )

    return write_first


def test_a_row_refused_at_insert_is_reported_and_the_rest_of_its_batch_lands(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    file = write(
        tmp_path / "race.csv",
        HEADER + "Ann,Lee,ann@example.com,\nBo,Kim,bo@example.com,5\nCy,Ray,cy@example.com,\n",
    )
    report = tmp_path / "report.csv"

    with before_the_batch_insert(app, other_customer(app, email="bo@example.com")):
        result = run_import(runner, file, "--report", report)

    assert summary(result) == ["Created: 2", "Already present: 0", f"Rejected: 1 (see {report})"]
    assert read_report(report)[1:] == [["3", "email", "This email address is already registered"]]
    assert [c.first_name for c in stored(app)] == ["Other", "Ann", "Cy"]


def test_a_row_whose_fingerprint_was_stored_meanwhile_is_already_present(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    """Another run of the same file won the race for line 2: that customer stands."""
    file = write(tmp_path / "race.csv", HEADER + "Ann,Lee,,\nBo,Kim,,\n")
    fingerprint = record_fingerprint(CustomerInput(first_name="Ann", last_name="Lee"))

    with before_the_batch_insert(app, other_customer(app, import_fingerprint=fingerprint)):
        result = run_import(runner, file)

    assert summary(result) == ["Created: 1", "Already present: 1", "Rejected: 0"]
    assert [c.first_name for c in stored(app)] == ["Other", "Bo"]


def test_a_customer_code_drawn_twice_is_drawn_again(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    """The code of line 2 is taken just before the insert: the row goes in with a new one."""
    file = write(tmp_path / "race.csv", HEADER + "Ann,Lee,,\nBo,Kim,,\n")
    codes: list[str] = []

    def take_the_first_code(rows: list[dict[str, Any]]) -> None:
        codes.append(rows[0]["customer_code"])
        other_customer(app, customer_code=codes[0])(rows)

    with before_the_batch_insert(app, take_the_first_code):
        result = run_import(runner, file)

    assert summary(result) == ["Created: 2", "Already present: 0", "Rejected: 0"]
    # Ann went in again, after Bo, with a code of her own.
    by_name = {c.first_name: c for c in stored(app)}
    assert sorted(by_name) == ["Ann", "Bo", "Other"]
    ann = by_name["Ann"]
    assert by_name["Other"].customer_code == codes[0] != ann.customer_code
    assert ann.search_text.endswith(ann.customer_code.lower())


# --- the cheaper code paths give the same results ---------------------------------------------


def test_the_fingerprint_is_the_one_earlier_imports_stored() -> None:
    """A shallow dict instead of ``asdict``: the same JSON, so the same hash, as before."""
    data = CustomerInput(
        first_name="Zoë",
        last_name="O'Brien",
        email="zoe@example.com",
        date_of_birth=date(1990, 5, 15),
        custom_fields={"visits": 3, "tags": {"b": [1, 2], "a": "x"}},
        preferences={"service_id": 1, "location_id": 2, "time_slots": ["2026-12-01T09:00"]},
        wordpress_user_id=12,
    )
    canonical = json.dumps(
        asdict(data),
        sort_keys=True,
        ensure_ascii=False,
        default=lambda v: v.isoformat() if isinstance(v, date) else str(v),
    )
    assert record_fingerprint(data) == hashlib.sha256(canonical.encode()).hexdigest()


@pytest.mark.parametrize("multiline", [False, True])
def test_the_forbidden_character_class_is_the_rule_on_every_code_point(multiline: bool) -> None:
    pattern = rules._FORBIDDEN_MULTILINE_RE if multiline else rules._FORBIDDEN_RE
    disagree = [
        hex(code)
        for code in range(sys.maxunicode + 1)
        if bool(pattern.match(chr(code)))
        != rules._is_forbidden_char(chr(code), multiline=multiline)
    ]
    assert disagree == []


def test_an_import_costs_a_few_statements_per_batch_not_per_row(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    """What makes the import fast, counted rather than timed: 1,000 rows in two batches are
    two commits and a handful of statements (the look-ups and the INSERT of each batch), not
    a look-up, an insert and a commit per row."""
    lines = [f"Ann,Lee,ann{i}@example.com,{i + 1}\n" for i in range(1000)]
    file = write(tmp_path / "thousand.csv", HEADER + "".join(lines))
    statements: list[str] = []
    commits: list[bool] = []
    with app.app_context():
        engine = db.engine

    def count_statement(*args: Any) -> None:
        statements.append(args[2])

    def count_commit(conn: Any) -> None:
        commits.append(True)

    event.listen(engine, "before_cursor_execute", count_statement)
    event.listen(engine, "commit", count_commit)
    try:
        result = run_import(runner, file)
    finally:
        event.remove(engine, "before_cursor_execute", count_statement)
        event.remove(engine, "commit", count_commit)

    assert summary(result) == ["Created: 1000", "Already present: 0", "Rejected: 0"]
    assert len(commits) <= 3  # a batch each, and the command's own unit of work
    inserts = [s for s in statements if s.lstrip().upper().startswith("INSERT")]
    assert 2 <= len(inserts) <= 4  # one per batch (SQLAlchemy may split one by its page size)
    assert len(statements) <= 20


def _watch_then_wait_for_ever(importer_pid: int) -> None:
    """A pool worker's start (the watch on its importer), then nothing to do."""
    import_rules._watch_importer(importer_pid)
    threading.Event().wait()


def test_a_worker_exits_when_its_importer_is_killed() -> None:
    """A killed import never shuts its pool down; its workers must not wait for ever."""
    stand_in = [sys.executable, "-c", "import sys; sys.stdin.read()"]  # the importer's place
    with subprocess.Popen(stand_in, stdin=subprocess.PIPE) as importer:
        worker = multiprocessing.get_context("forkserver").Process(
            target=_watch_then_wait_for_ever, args=(importer.pid,)
        )
        worker.start()
        try:
            importer.kill()
            importer.wait()
            # Waits for the worker's exit (no polling here); the bound only keeps a broken
            # watch from hanging the suite.
            exited = multiprocessing.connection.wait([worker.sentinel], timeout=60)
            assert exited == [worker.sentinel]
            worker.join()
            assert worker.exitcode == 1
        finally:
            if worker.is_alive():
                worker.kill()
                worker.join()
