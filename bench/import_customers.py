"""Speed of ``flask customers import`` (SPEC section 7: >= 5,000 rows/s for 100,000 valid rows
on SQLite), against a floor measured in the same run.

Numerator: the command itself (in process, through click's test runner: the progress bar, the
report and the summary included) importing a CSV file of ``--rows`` valid, distinct customers
(name, email, phone, date of birth, address, city, postcode, country, notes) into a fresh,
migrated database. Denominator, the floor: the least an import of the same file can do with
the same rules: read the same CSV, run every row through the same rule pass
(``parse_customer_input`` and ``check_customer``), and insert the validated rows with a plain
batched Core ``INSERT`` (``BATCH`` rows per transaction), into another fresh database of the
same kind. Floor and import alternate for ``--rounds`` rounds; the medians are printed, with
the machine's load average (the absolute figures move with it; the ratio much less).

The import runs as a user runs it, so on a machine with several CPUs the field rules run in
worker processes (see customers/import_rules.py), while the floor runs them in one process:
a ratio above 1 is that parallelism showing.

Target: the import's rows/s on SQLite >= 5,000 (the SPEC's figure; the target fails ``make
bench``). PostgreSQL (when ``TEST_DATABASE_URL`` is set) and the ratio to the floor are
reported, not judged: the floor shows how much of the time is the rules' and the database's.

    python -m bench.import_customers                 # what ``make bench`` runs
    python -m bench.import_customers --rows 20000 --rounds 1
"""

from __future__ import annotations

import argparse
import csv
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import Flask
from flask_migrate import upgrade

from bench.create_customer import database
from latepoint_forms import create_app
from latepoint_forms.customers.custom_fields import active_custom_field_definitions
from latepoint_forms.customers.input import parse_customer_input
from latepoint_forms.customers.service import check_customer, new_customer_code
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer
from latepoint_forms.settings import rule_settings

ROWS = 100_000
ROUNDS = 2
BATCH = 500
TARGET_ROWS_PER_SECOND = {"sqlite": 5_000.0}

HEADER = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "date_of_birth",
    "address",
    "city",
    "zipcode",
    "country",
    "notes",
)
FIRST_NAMES = ("Zoë", "Ann", "José María", "Łukasz", "Siobhán", "Ana-Lucía", "Peter", "Chloé")
LAST_NAMES = ("O'Brien", "Lee", "Nuñez", "Kowalski", "Ní Bhriain", "García", "Smith", "Dupont")


def write_file(path: Path, rows: int) -> Path:
    """``rows`` valid customers, all different (each has its own email)."""
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for i in range(rows):
            writer.writerow(
                (
                    FIRST_NAMES[i % len(FIRST_NAMES)],
                    LAST_NAMES[i // len(FIRST_NAMES) % len(LAST_NAMES)],
                    f"customer{i}@example.com",
                    f"020 7946 {i % 10_000:04d}",
                    f"{1940 + i % 60}-{1 + i % 12:02d}-{1 + i % 28:02d}",
                    f"{1 + i % 200} Downing Street",
                    "London",
                    "SW1A 2AA",
                    "GB",
                    "Prefers mornings.",
                )
            )
    return path


@contextmanager
def migrated_app(kind: str) -> Iterator[Flask]:
    """The project's app on a fresh, migrated database of this kind (production settings:
    real rules, no test shortcuts)."""
    with database(kind) as url:
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "ENV_NAME": "testing"})
        with app.app_context():
            upgrade()
        try:
            yield app
        finally:
            with app.app_context():
                db.engine.dispose()


def stored_count(app: Flask) -> int:
    with app.app_context():
        return db.session.query(Customer).count()


def run_import(kind: str, path: Path, rows: int) -> float:
    """Seconds of ``flask customers import`` for the file, on a fresh database."""
    with migrated_app(kind) as app:
        runner = app.test_cli_runner()
        begin = time.perf_counter()
        result = runner.invoke(args=["customers", "import", str(path)])
        seconds = time.perf_counter() - begin
        if result.exit_code != 0 or f"Created: {rows}" not in result.stdout:
            raise RuntimeError(f"import failed: {result.output}")
        if stored_count(app) != rows:
            raise RuntimeError("import stored the wrong number of rows")
    return seconds


def _floor_values(raw: dict[str, Any], settings: Any, definitions: Any) -> dict[str, Any]:
    data = parse_customer_input({k: v for k, v in raw.items() if v != ""}, settings)
    checked = check_customer(data, settings, definitions).data
    now = datetime.now(UTC)
    return {
        **asdict(checked),
        "customer_code": new_customer_code(),
        "source": "import",
        "created_at": now,
        "updated_at": now,
    }


def run_floor(kind: str, path: Path, rows: int) -> float:
    """Seconds of the floor: the same file read, the same rules, a batched Core insert."""
    with migrated_app(kind) as app, app.app_context():
        table = Customer.__table__
        engine = db.engine
        begin = time.perf_counter()
        settings = rule_settings()
        definitions = active_custom_field_definitions()
        with path.open(encoding="utf-8-sig", newline="") as file:
            batch: list[dict[str, Any]] = []
            for raw in csv.DictReader(file):
                batch.append(_floor_values(raw, settings, definitions))
                if len(batch) == BATCH:
                    with engine.begin() as conn:
                        conn.execute(table.insert(), batch)
                    batch = []
            if batch:
                with engine.begin() as conn:
                    conn.execute(table.insert(), batch)
        seconds = time.perf_counter() - begin
        db.session.remove()
        if db.session.query(Customer).count() != rows:
            raise RuntimeError("the floor stored the wrong number of rows")
    return seconds


def machine() -> str:
    """How busy the machine was: on a shared one, the absolute figures move with it."""
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{os.cpu_count()} CPUs, load average {load}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args(argv)
    logging.getLogger("alembic").setLevel(logging.WARNING)  # each fresh database's migrations
    kinds = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
    print(
        f"flask customers import of {args.rows:,} valid rows vs a floor (same rules, batched "
        f"Core insert); {args.rounds} alternating rounds, medians",
        flush=True,
    )
    failed = False
    with ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        path = write_file(folder / "customers.csv", args.rows)
        for kind in kinds:
            floor_s, import_s = [], []
            for _ in range(args.rounds):
                floor_s.append(run_floor(kind, path, args.rows))
                import_s.append(run_import(kind, path, args.rows))
            floor_rate = args.rows / statistics.median(floor_s)
            import_rate = args.rows / statistics.median(import_s)
            ratio = import_rate / floor_rate
            target = TARGET_ROWS_PER_SECOND.get(kind)
            if target is None:
                verdict = "reported, no target"
            else:
                verdict = f"target >= {target:,.0f} rows/s: " + (
                    "ok" if import_rate >= target else "UNDER TARGET"
                )
                failed |= import_rate < target
            print(
                f"{kind:<10} import {import_rate:8,.0f} rows/s  floor {floor_rate:8,.0f} rows/s  "
                f"ratio {ratio:4.2f} of the floor  ({verdict}); {machine()}",
                flush=True,
            )
    if "postgresql" not in kinds:
        print("postgresql skipped: set TEST_DATABASE_URL to measure it")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
