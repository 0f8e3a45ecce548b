"""A small catalog for the tests, written straight to the database (not via the loader, so a
loader bug cannot hide a validation bug). Test modules wrap ``build_catalog`` in a fixture.

Times: the tests pass ``now`` explicitly; NOW is a Monday night in London, before the 2027
daylight-saving changes the DST tests cross (London 28 March / 31 October, New York 14 March /
7 November).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from flask import Flask

from latepoint_forms.extensions import db
from latepoint_forms.models import (
    Agent,
    AgentOffer,
    CustomFieldDefinition,
    Location,
    Service,
)

NOW = datetime(2027, 3, 1, 20, 0, tzinfo=UTC)  # Monday 1 March 2027
WEEKDAYS_9_TO_5 = {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}


@dataclass(frozen=True)
class Catalog:
    haircut: int  # 30 min on a 15-minute grid
    colour: int  # 90 min on a 30-minute grid
    retired_service: int  # inactive
    london: int  # Europe/London, Mon-Fri 09-17, Sat 10-14, Sun closed
    new_york: int  # America/New_York, Mon-Sat 09-18
    night: int  # Europe/London, open round the clock (for the DST edge cases)
    closed_location: int  # inactive
    alice: int  # haircut + colour in London, haircut at night
    bob: int  # haircut in London and New York
    carol: int  # inactive; haircut in London
    dave: int  # colour in New York


def _add(item: object) -> int:
    db.session.add(item)
    db.session.flush()
    return item.id  # type: ignore[attr-defined]


def build_catalog(app: Flask) -> Catalog:
    with app.app_context():
        haircut = Service(
            key="haircut", name="Haircut", duration_minutes=30, slot_interval_minutes=15
        )
        colour = Service(
            key="colour", name="Colouring", duration_minutes=90, slot_interval_minutes=30
        )
        retired = Service(
            key="retired", name="Perm", duration_minutes=60, slot_interval_minutes=30, active=False
        )
        london = Location(
            key="london",
            name="London Soho",
            timezone="Europe/London",
            opening_hours={**WEEKDAYS_9_TO_5, "sat": [["10:00", "14:00"]], "sun": []},
            address="12 Greek Street, London W1D 4DT",
            country="GB",
            phone="+442079460321",
        )
        new_york = Location(
            key="new-york",
            name="New York Midtown",
            timezone="America/New_York",
            opening_hours={
                d: [["09:00", "18:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")
            },
            address="250 West 54th Street, New York, NY 10019",
            country="US",
            phone="+12125550187",
        )
        night = Location(
            key="night",
            name="Night Owl",
            timezone="Europe/London",
            opening_hours={
                d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
            },
        )
        closed = Location(
            key="closed",
            name="Closed Branch",
            timezone="Europe/London",
            opening_hours=WEEKDAYS_9_TO_5,
            active=False,
        )
        ids = {
            name: _add(item)
            for name, item in [
                ("haircut", haircut),
                ("colour", colour),
                ("retired_service", retired),
                ("london", london),
                ("new_york", new_york),
                ("night", night),
                ("closed_location", closed),
            ]
        }
        agents = {
            "alice": Agent(key="alice", name="Alice"),
            "bob": Agent(key="bob", name="Bob"),
            "carol": Agent(key="carol", name="Carol", active=False),
            "dave": Agent(key="dave", name="Dave"),
        }
        for name, agent in agents.items():
            ids[name] = _add(agent)
        offers = [
            ("alice", "haircut", "london"),
            ("alice", "colour", "london"),
            ("alice", "haircut", "night"),
            ("alice", "retired_service", "london"),
            ("alice", "haircut", "closed_location"),
            ("bob", "haircut", "london"),
            ("bob", "haircut", "new_york"),
            ("carol", "haircut", "london"),
            ("dave", "colour", "new_york"),
        ]
        for agent, service, location in offers:
            db.session.add(
                AgentOffer(agent_id=ids[agent], service_id=ids[service], location_id=ids[location])
            )
        db.session.commit()
        return Catalog(**ids)


def add_custom_fields(app: Flask, *, required: bool = False) -> None:
    """One definition of every type; all required, or none."""
    definitions = [
        {"key": "referral", "label": "How did you hear of us", "type": "text", "max_length": 20},
        {"key": "allergies", "label": "Allergies", "type": "textarea", "max_length": 100},
        {
            "key": "visits",
            "label": "Visits a year",
            "type": "number",
            "min_number": 0,
            "max_number": 52,
        },
        {
            "key": "anniversary",
            "label": "Anniversary",
            "type": "date",
            "min_date": date(2000, 1, 1),
            "max_date": date(2030, 12, 31),
        },
        {
            "key": "membership_level",
            "label": "Membership level",
            "type": "select",
            "options": [{"value": "basic", "label": "Basic"}, {"value": "gold", "label": "Gold"}],
        },
        {"key": "newsletter", "label": "Newsletter", "type": "checkbox"},
        {"key": "work_email", "label": "Work email", "type": "email"},
        {"key": "mobile", "label": "Mobile", "type": "phone"},
        {"key": "website", "label": "Website", "type": "url", "max_length": 60},
    ]
    with app.app_context():
        for position, fields in enumerate(definitions):
            db.session.add(CustomFieldDefinition(**fields, required=required, position=position))
        db.session.commit()
