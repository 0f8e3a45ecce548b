"""``flask catalog load`` and ``flask catalog show`` (SPEC section 4), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.bookings.availability import available_starts
from latepoint_forms.extensions import db
from latepoint_forms.models import (
    Agent,
    AgentOffer,
    CustomFieldDefinition,
    Location,
    Service,
)

DEMO = Path(__file__).resolve().parents[1] / "latepoint_forms" / "catalog" / "demo.toml"
MODELS = (Service, Location, Agent, AgentOffer, CustomFieldDefinition)


def snapshot(app: Flask) -> dict[str, list[dict[str, Any]]]:
    """Every row of every catalog table, as plain values."""
    with app.app_context():
        tables: dict[str, list[dict[str, Any]]] = {}
        for model in MODELS:
            columns = model.__table__.columns
            rows = db.session.execute(select(*columns).order_by(model.id)).mappings().all()
            tables[model.__tablename__] = [dict(row) for row in rows]
        return tables


def load(runner: Any, path: Path | str) -> Any:
    return runner.invoke(args=["catalog", "load", str(path)])


def test_loading_the_demo_twice_leaves_the_same_rows(app: Flask, runner: Any) -> None:
    first = load(runner, DEMO)
    assert first.exit_code == 0, first.output
    assert "services: 4 created, 0 updated, 0 unchanged" in first.output
    assert "custom fields: 5 created" in first.output
    rows = snapshot(app)
    assert len(rows["services"]) == 4
    assert len(rows["locations"]) == 2
    assert len(rows["agents"]) == 4
    assert len(rows["agent_offers"]) == 11

    second = load(runner, DEMO)
    assert second.exit_code == 0, second.output
    assert "services: 0 created, 0 updated, 4 unchanged" in second.output
    assert "Nothing to change." in second.output
    assert snapshot(app) == rows


def test_the_demo_is_bookable_at_once(app: Flask, runner: Any) -> None:
    assert load(runner, DEMO).exit_code == 0
    with app.app_context():
        haircut = db.session.execute(select(Service).where(Service.key == "haircut")).scalar_one()
        london = db.session.execute(
            select(Location).where(Location.key == "london-soho")
        ).scalar_one()
        thursday = date(2027, 3, 4)
        slots = available_starts(
            haircut.id, london.id, thursday, now=datetime(2027, 3, 1, tzinfo=UTC)
        )
        assert slots[0].local_text == "2027-03-04T09:00"
        assert slots[-1].local_text == "2027-03-04T19:30"
        assert len(slots[0].agent_ids) == 3  # Amara, Tom and Dan
        sunday = date(2027, 3, 7)
        assert (
            available_starts(haircut.id, london.id, sunday, now=datetime(2027, 3, 1, tzinfo=UTC))
            == []
        )


def test_show_lists_the_catalog(runner: Any) -> None:
    assert load(runner, DEMO).exit_code == 0
    result = runner.invoke(args=["catalog", "show"])
    assert result.exit_code == 0
    assert "haircut" in result.output
    assert "30 min, starts every 15 min" in result.output
    assert "Europe/London" in result.output
    assert "Sun closed" in result.output
    assert "12 Greek Street, London W1D 4DT, GB, +442079460321" in result.output
    assert "Sofía Ramírez" in result.output
    assert "haircut at london-soho, new-york-midtown" in result.output
    assert "membership_level     select" in result.output
    assert "options: basic, gold" in result.output
    assert "from 0 to 52" in result.output


CHANGED = """
[[services]]
key = "haircut"
name = "Haircut"
duration = 45
slot_interval = 15

[[locations]]
key = "london-soho"
name = "London Soho"
timezone = "Europe/London"
active = false
hours = { mon = ["09:00-17:30"] }

[[agents]]
key = "tom-hughes"
name = "Tom Hughes"
offers = [{ service = "beard-trim", locations = ["london-soho"] }]
"""


def test_loading_a_changed_file_updates_by_key(app: Flask, runner: Any, tmp_path: Path) -> None:
    assert load(runner, DEMO).exit_code == 0
    changed = tmp_path / "changed.toml"
    changed.write_text(CHANGED, encoding="utf-8")
    result = load(runner, changed)
    assert result.exit_code == 0, result.output
    assert "services: 0 created, 1 updated, 0 unchanged" in result.output
    assert "agents: 0 created, 1 updated, 0 unchanged" in result.output
    with app.app_context():
        haircut = db.session.execute(select(Service).where(Service.key == "haircut")).scalar_one()
        assert haircut.duration_minutes == 45
        london = db.session.execute(
            select(Location).where(Location.key == "london-soho")
        ).scalar_one()
        assert london.active is False
        assert london.opening_hours["tue"] == []
        tom = db.session.execute(select(Agent).where(Agent.key == "tom-hughes")).scalar_one()
        assert [(o.service.key, o.location.key) for o in tom.offers] == [
            ("beard-trim", "london-soho")
        ]
        # Items the file does not mention are left alone.
        assert db.session.execute(select(Service).where(Service.key == "colouring")).scalar_one()


BAD = """
[[services]]
key = "Hair Cut"
name = "Haircut"
duration = 30
slot_interval = 15

[[services]]
key = "trim"
name = "Trim"
duration = 7
slot_interval = 0
colour = "red"

[[locations]]
key = "mars"
name = "Mars Base"
timezone = "Mars/Olympus_Mons"
hours = { mon = ["17:00-09:00"], funday = [], tue = ["9-5"], wed = ["09:00-13:00", "12:00-14:00"] }

[[agents]]
key = "ann"
name = "Ann"
offers = [{ service = "perm", locations = ["mars", "venus"] }]

[[custom_fields]]
key = "level"
label = "Level"
type = "select"

[[custom_fields]]
key = "age"
label = "Age"
type = "number"
min = 99
max = 1
max_length = 3

[[custom_fields]]
key = "colour"
label = "Colour"
type = "colour"

[extras]
"""


def test_a_bad_file_is_refused_with_every_problem_and_nothing_written(
    app: Flask, runner: Any, tmp_path: Path
) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(BAD, encoding="utf-8")
    result = load(runner, bad)
    assert result.exit_code != 0
    expected = [
        "nothing changed",
        "extras: unknown section",
        "services[0].key: must be 1 to 64 characters",
        "services[1].duration: must be a whole number of minutes, a multiple of 5",
        "services[1].slot_interval: must be a whole number of minutes",
        "services[1].colour: unknown setting",
        "locations[0].timezone: 'Mars/Olympus_Mons' is not an IANA time zone name",
        "locations[0].hours.mon: '17:00-09:00': must open before it closes",
        "locations[0].hours.wed: '12:00-14:00': intervals must be in order and not overlap",
        "locations[0].hours.funday: must be one of mon, tue",
        "locations[0].hours.tue: '9-5': use the form HH:MM-HH:MM",
        "agents[0].offers[0].service: no service has the key 'perm'",
        "agents[0].offers[0].locations: no location has the key 'venus'",
        "custom_fields[0].options: a select field needs options",
        "custom_fields[1].max_length: does not apply to a number field",
        "custom_fields[1].min: must not be above max",
        "custom_fields[2].type: must be one of: text, textarea, number",
    ]
    for line in expected:
        assert line in result.output, line
    assert snapshot(app) == {model.__tablename__: [] for model in MODELS}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('[[services]]\nkey = "a"\nname = ', "not valid TOML"),
        ("services = 3", "services: must be a list of tables"),
    ],
)
def test_unreadable_files_are_refused(
    runner: Any, tmp_path: Path, content: str, message: str
) -> None:
    path = tmp_path / "catalog.toml"
    path.write_text(content, encoding="utf-8")
    result = load(runner, path)
    assert result.exit_code != 0
    assert message in result.output
    missing = load(runner, tmp_path / "missing.toml")
    assert missing.exit_code != 0
    assert "cannot be read" in missing.output


# --- a location's address, country and phone ----------------------------------------------------


def test_the_demo_locations_carry_address_country_and_phone(app: Flask, runner: Any) -> None:
    assert load(runner, DEMO).exit_code == 0
    with app.app_context():
        rows = db.session.execute(
            select(Location.key, Location.address, Location.country, Location.phone)
        ).all()
    assert sorted(tuple(row) for row in rows) == [
        ("london-soho", "12 Greek Street, London W1D 4DT", "GB", "+442079460321"),
        ("new-york-midtown", "250 West 54th Street, New York, NY 10019", "US", "+12125550187"),
    ]


def location_file(tmp_path: Path, extra: str) -> Path:
    path = tmp_path / "contact.toml"
    path.write_text(
        '[[locations]]\nkey = "shop"\nname = "Shop"\ntimezone = "Europe/Paris"\n' + extra,
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ('country = "XX"\n', "locations[0].country: Use a two-letter ISO 3166-1 country code"),
        ('country = "FRA"\n', "locations[0].country: Use a two-letter ISO 3166-1 country code"),
        (
            'country = "FR"\nphone = "01 23"\n',
            "locations[0].phone: Enter a valid phone number for France",
        ),
        # A valid number, but of another country: not this shop's.
        (
            'country = "FR"\nphone = "+44 20 7946 0321"\n',
            "locations[0].phone: Enter a valid phone number for France",
        ),
        (
            'phone = "+33 1 42 68 53 00"\n',
            "locations[0].phone: a location's phone needs the location's country",
        ),
        (
            'country = "FR"\nphone = "01 42 68 53 00 ext"\n',
            "locations[0].phone: Phone numbers cannot contain letters",
        ),
        ('address = "1 rue\\u0000 de la Paix"\n', "locations[0].address:"),
        (
            f'address = "{"x" * 201}"\n',
            "locations[0].address: Address must be at most 200 characters",
        ),
        ("country = 33\n", "locations[0].country: must be text"),
    ],
)
def test_bad_location_contacts_are_refused_with_the_customers_messages(
    app: Flask, runner: Any, tmp_path: Path, extra: str, message: str
) -> None:
    result = load(runner, location_file(tmp_path, extra))
    assert result.exit_code != 0
    assert message in result.output
    assert snapshot(app)["locations"] == []


def test_location_contacts_are_normalised_like_a_customers(
    app: Flask, runner: Any, tmp_path: Path
) -> None:
    extra = (
        'address = "  1 Rue de la Paix,  75002 Paris "\ncountry = "fr"\nphone = "01 42 68 53 00"\n'
    )
    assert load(runner, location_file(tmp_path, extra)).exit_code == 0
    with app.app_context():
        shop = db.session.execute(select(Location)).scalar_one()
    assert (shop.address, shop.country, shop.phone) == (
        "1 Rue de la Paix,  75002 Paris",
        "FR",
        "+33142685300",
    )
