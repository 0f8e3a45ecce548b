"""Load the catalog from a TOML file: create or update by each item's stable ``key``.

Running the same file twice changes nothing. Items the file does not mention are left as they
are (retire one with ``active = false``: bookings keep pointing at it). An agent's offers are
exactly what the file lists for that agent. The whole file is checked first and every problem
reported at once (schema.py); nothing is written unless the file is valid. The file format
is documented in ``demo.toml`` beside this module.
"""

from __future__ import annotations

import tomllib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from ..extensions import db
from ..models import (
    Agent,
    AgentOffer,
    CustomFieldDefinition,
    Location,
    Service,
)
from .schema import SECTIONS, CatalogFileError, check_catalog


@dataclass
class LoadReport:
    counts: dict[str, Counter[str]] = field(
        default_factory=lambda: {section: Counter() for section in SECTIONS}
    )

    def note(self, section: str, outcome: str) -> None:
        self.counts[section][outcome] += 1

    @property
    def changed(self) -> bool:
        return any(c["created"] or c["updated"] for c in self.counts.values())

    def lines(self) -> list[str]:
        return [
            f"{section.replace('_', ' ')}: {c['created']} created, {c['updated']} updated, "
            f"{c['unchanged']} unchanged"
            for section, c in self.counts.items()
        ]


def read_catalog_file(path: str | Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:
        raise CatalogFileError([f"{path}: cannot be read ({exc.strerror})"]) from exc
    except tomllib.TOMLDecodeError as exc:
        raise CatalogFileError([f"{path}: not valid TOML: {exc}"]) from exc


def _existing_keys(model: Any) -> set[str]:
    return set(db.session.execute(select(model.key)).scalars())


def _upsert(model: Any, key: str, values: dict[str, Any]) -> tuple[Any, str]:
    row = db.session.execute(select(model).where(model.key == key)).scalar_one_or_none()
    if row is None:
        row = model(key=key, **values)
        db.session.add(row)
        return row, "created"
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return row, "updated" if changed else "unchanged"


def load_catalog(data: dict[str, Any]) -> LoadReport:
    """Check ``data`` (a parsed catalog file) completely, then write it (and flush)."""
    checked = check_catalog(
        data,
        stored_services=_existing_keys(Service),
        stored_locations=_existing_keys(Location),
    )
    services, locations = checked["services"], checked["locations"]
    agents, fields = checked["agents"], checked["custom_fields"]

    report = LoadReport()
    for key, values in services.items():
        report.note("services", _upsert(Service, key, values)[1])
    for key, values in locations.items():
        report.note("locations", _upsert(Location, key, values)[1])
    db.session.flush()
    for key, values in agents.items():
        report.note("agents", _load_agent(key, values))
    for position, (key, values) in enumerate(fields.items()):
        outcome = _upsert(CustomFieldDefinition, key, {**values, "position": position})[1]
        report.note("custom_fields", outcome)
    db.session.flush()
    return report


def _load_agent(key: str, values: dict[str, Any]) -> str:
    wanted_keys = values.pop("offers")
    agent, outcome = _upsert(Agent, key, values)
    db.session.flush()
    service_ids = dict(db.session.execute(select(Service.key, Service.id)).all())
    location_ids = dict(db.session.execute(select(Location.key, Location.id)).all())
    wanted = {(service_ids[s], location_ids[loc]) for s, loc in wanted_keys}
    current = {(o.service_id, o.location_id): o for o in agent.offers}
    for pair, offer in current.items():
        if pair not in wanted:
            agent.offers.remove(offer)
    for service_id, location_id in sorted(wanted - set(current)):
        agent.offers.append(AgentOffer(service_id=service_id, location_id=location_id))
    if outcome == "unchanged" and set(current) != wanted:
        outcome = "updated"
    return outcome


def load_catalog_file(path: str | Path) -> LoadReport:
    return load_catalog(read_catalog_file(path))
