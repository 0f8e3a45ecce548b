"""``flask webhooks add | list | remove | deliveries | replay | deliver`` (SPEC section 10).

The outbox worker (``flask outbox worker``) sends due deliveries too; ``deliver`` sends the
ones due now and exits, for a scheduler.
"""

from __future__ import annotations

from datetime import datetime

import click
from flask import current_app
from flask.cli import AppGroup

from ..models.types import utcnow
from ..unit_of_work import unit_of_work
from .delivery import deliver_due
from .service import (
    WebhookError,
    WebhookSettings,
    add_endpoint,
    list_deliveries,
    list_endpoints,
    parse_events,
    remove_endpoint,
    replay_delivery,
)

webhooks_cli = AppGroup("webhooks", help="Webhook endpoints, deliveries and replays.")


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


@webhooks_cli.command("add")
@click.argument("url")
@click.option(
    "--events",
    default=None,
    help="Comma-separated event types (default: all of them).",
)
def add_command(url: str, events: str | None) -> None:
    """Add an endpoint; prints its signing secret (whsec_…) alone on the last line."""
    settings = WebhookSettings.from_config(current_app.config)
    try:
        with unit_of_work():
            endpoint = add_endpoint(url, parse_events(events), settings)
            secret = endpoint.secret
    except WebhookError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Webhook endpoint {endpoint.id} for {', '.join(endpoint.events)}")
    click.echo("Its signing secret (shown once here, verify signatures with it):")
    click.echo(secret)


@webhooks_cli.command("list")
def list_command() -> None:
    """The active endpoints."""
    endpoints = list_endpoints()
    if not endpoints:
        click.echo("No webhook endpoints.")
        return
    click.echo("ID\tURL\tEVENTS\tCREATED")
    for e in endpoints:
        click.echo(f"{e.id}\t{e.url}\t{','.join(e.events)}\t{_when(e.created_at)}")


@webhooks_cli.command("remove")
@click.argument("endpoint_id", type=int)
def remove_command(endpoint_id: int) -> None:
    """Stop sending to an endpoint (its delivery log stays; pending ones are not sent)."""
    try:
        with unit_of_work():
            endpoint = remove_endpoint(endpoint_id)
    except WebhookError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Webhook endpoint {endpoint.id} ({endpoint.url}) removed.")


@webhooks_cli.command("deliveries")
@click.option("--failed", "failed_only", is_flag=True, help="Only the failed deliveries.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10_000))
def deliveries_command(failed_only: bool, limit: int) -> None:
    """The delivery log, newest first: state, attempts, the receiver's last HTTP status."""
    deliveries = list_deliveries(failed_only=failed_only, limit=limit)
    if not deliveries:
        click.echo("No failed deliveries." if failed_only else "No deliveries.")
        return
    click.echo("ID\tENDPOINT\tEVENT\tSTATE\tATTEMPTS\tSTATUS\tWEBHOOK-ID\tCREATED\tLAST ERROR")
    for d in deliveries:
        status = d.last_status if d.last_status is not None else "-"
        click.echo(
            f"{d.id}\t{d.endpoint_id}\t{d.event_type}\t{d.state}\t{d.attempts}\t{status}\t"
            f"{d.webhook_id}\t{_when(d.created_at)}\t{(d.last_error or '-')[:200]}"
        )


@webhooks_cli.command("replay")
@click.argument("delivery_id", type=int)
def replay_command(delivery_id: int) -> None:
    """Send a delivery again, with the same webhook-id and body."""
    try:
        with unit_of_work():
            replay = replay_delivery(delivery_id)
    except WebhookError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Delivery {delivery_id} queued again as {replay.id} ({replay.webhook_id}).")


@webhooks_cli.command("deliver")
def deliver_command() -> None:
    """Send every delivery that is due, then exit (1 if any of them did not go through)."""
    outcomes = deliver_due(utcnow)
    for outcome in outcomes:
        if outcome.delivered:
            click.echo(f"delivered {outcome.id} (HTTP {outcome.status})")
        else:
            click.echo(f"not delivered {outcome.id} ({outcome.state}): {outcome.error}", err=True)
    failed = [o for o in outcomes if not o.delivered]
    click.echo(f"{len(outcomes) - len(failed)} delivered, {len(failed)} not delivered")
    if failed:
        raise SystemExit(1)
