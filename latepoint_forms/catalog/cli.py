"""``flask catalog load FILE`` and ``flask catalog show``. Commands call services, nothing more."""

from __future__ import annotations

from collections import defaultdict

import click
from flask.cli import AppGroup
from sqlalchemy import select

from ..extensions import db
from ..models import WEEKDAYS, Agent, CustomFieldDefinition, Location, Service
from ..unit_of_work import commits
from .loader import CatalogFileError, load_catalog_file

catalog_cli = AppGroup("catalog", help="Load and show services, locations, agents, custom fields.")


@catalog_cli.command("load")
@click.argument("file", type=click.Path(dir_okay=False))
@commits
def load_command(file: str) -> None:
    """Create or update the catalog from a TOML FILE (running it twice changes nothing)."""
    try:
        report = load_catalog_file(file)
    except CatalogFileError as exc:
        lines = "\n".join(f"  {problem}" for problem in exc.problems)
        raise click.ClickException(f"{file} was not loaded; nothing changed:\n{lines}") from exc
    for line in report.lines():
        click.echo(line)
    click.echo("Catalog updated." if report.changed else "Nothing to change.")


def _state(active: bool) -> str:
    return "" if active else "  (inactive)"


def _hours(opening_hours: dict[str, list[list[str]]]) -> str:
    days = []
    for day in WEEKDAYS:
        intervals = opening_hours.get(day) or []
        spans = ", ".join(f"{a}-{b}" for a, b in intervals) if intervals else "closed"
        days.append(f"{day.capitalize()} {spans}")
    return "; ".join(days)


@catalog_cli.command("show")
def show_command() -> None:
    """List the catalog: ids (what the API and preferences use), keys and settings."""
    services = db.session.execute(select(Service).order_by(Service.id)).scalars().all()
    locations = db.session.execute(select(Location).order_by(Location.id)).scalars().all()
    agents = db.session.execute(select(Agent).order_by(Agent.id)).scalars().all()
    fields = db.session.execute(
        select(CustomFieldDefinition).order_by(CustomFieldDefinition.position)
    ).scalars()
    service_keys = {s.id: s.key for s in services}
    location_keys = {loc.id: loc.key for loc in locations}

    click.echo("Services")
    for s in services:
        click.echo(
            f"  {s.id:>4}  {s.key:<20} {s.name:<28} {s.duration_minutes} min, "
            f"starts every {s.slot_interval_minutes} min{_state(s.active)}"
        )
    click.echo("Locations")
    for loc in locations:
        click.echo(
            f"  {loc.id:>4}  {loc.key:<20} {loc.name:<28} {loc.timezone}{_state(loc.active)}"
        )
        click.echo(f"        {_hours(loc.opening_hours)}")
        contact = ", ".join(part for part in (loc.address, loc.country, loc.phone) if part)
        if contact:
            click.echo(f"        {contact}")
    click.echo("Agents")
    for agent in agents:
        by_service: dict[str, list[str]] = defaultdict(list)
        offers = sorted(agent.offers, key=lambda o: (o.service_id, o.location_id))
        for offer in offers:
            by_service[service_keys[offer.service_id]].append(location_keys[offer.location_id])
        offered = "; ".join(f"{s} at {', '.join(locs)}" for s, locs in by_service.items())
        click.echo(f"  {agent.id:>4}  {agent.key:<20} {agent.name}{_state(agent.active)}")
        click.echo(f"        offers: {offered or 'nothing'}")
    click.echo("Custom fields")
    for field in fields:
        limits = _limits(field)
        required = "required" if field.required else "optional"
        click.echo(
            f"        {field.key:<20} {field.type:<9} {required:<9} {field.label}"
            f"{limits}{_state(field.active)}"
        )


def _bound(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _limits(field: CustomFieldDefinition) -> str:
    parts = []
    if field.options:
        parts.append("options: " + ", ".join(o["value"] for o in field.options))
    if field.max_length:
        parts.append(f"max {field.max_length} characters")
    low = _bound(field.min_date if field.type == "date" else field.min_number)
    high = _bound(field.max_date if field.type == "date" else field.max_number)
    if low or high:
        parts.append(f"from {low or '…'} to {high or '…'}")
    return f"  ({'; '.join(parts)})" if parts else ""
