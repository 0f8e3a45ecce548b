"""Command-line interface: ``flask api-keys …``, ``idempotency``, ``catalog``, ``customers``.

Commands call services, nothing more."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .api.keys import (
    PERMISSIONS,
    ApiKeyError,
    create_api_key,
    is_publishable,
    list_api_keys,
    revoke_api_key,
)
from .unit_of_work import commits

api_keys_cli = AppGroup("api-keys", help="Create, list and revoke API keys.")


def _split(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


@api_keys_cli.command("create")
@click.option("--name", required=True, help="Who or what uses the key.")
@click.option(
    "--permissions",
    default="",
    help=f"Comma-separated, among: {', '.join(PERMISSIONS)} (a publishable key: none needed).",
)
@click.option("--mode", type=click.Choice(["live", "test"]), default="live", show_default=True)
@click.option("--origins", default="", help="Comma-separated origins allowed for browser use.")
@click.option(
    "--publishable",
    is_flag=True,
    help="A key for a web page's source (pk_…): catalog, availability, registration and "
    "bookings only, from --origins only.",
)
@commits
def create_command(name: str, permissions: str, mode: str, origins: str, publishable: bool) -> None:
    """Create a key and print it (alone, on the last line). It is never shown again."""
    if not publishable and not _split(permissions):
        raise click.UsageError("Missing option '--permissions' (or make it --publishable).")
    try:
        key, plaintext = create_api_key(
            name,
            _split(permissions),
            mode=mode,
            allowed_origins=_split(origins),
            publishable=publishable,
        )
    except ApiKeyError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"Created API key {key.id} ({key.name}, {key.mode}): {', '.join(key.permissions)}")
    click.echo("Store it now; it cannot be shown again:", err=False)
    click.echo(plaintext)


@api_keys_cli.command("list")
def list_command() -> None:
    """List keys (prefix only; the keys themselves are not stored)."""
    keys = list_api_keys()
    if not keys:
        click.echo("No API keys.")
        return
    for key in keys:
        state = f"revoked {key.revoked_at:%Y-%m-%d %H:%M}" if key.revoked_at else "active"
        used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
        kind = "publishable" if is_publishable(key.prefix) else "secret"
        origins = ",".join(key.allowed_origins or []) or "-"
        click.echo(
            f"{key.id:>4}  {key.prefix}…  {kind:<11}  {key.mode:<4}  {state:<24}  "
            f"last used {used:<16}  {','.join(key.permissions):<32}  origins {origins}  "
            f"{key.name}"
        )


@api_keys_cli.command("revoke")
@click.argument("id_or_prefix")
@commits
def revoke_command(id_or_prefix: str) -> None:
    """Revoke a key by id, by the 12-character prefix `list` shows, or by the whole key."""
    try:
        key = revoke_api_key(id_or_prefix)
    except ApiKeyError as exc:
        raise click.UsageError(str(exc)) from exc
    click.echo(f"Revoked API key {key.id} ({key.prefix}…, {key.name})")


idempotency_cli = AppGroup("idempotency", help="Maintain stored Idempotency-Key responses.")


@idempotency_cli.command("purge")
@commits
def purge_idempotency_command() -> None:
    """Delete Idempotency-Key records older than IDEMPOTENCY_TTL_SECONDS (24 h)."""
    from .api.idempotency import purge_expired

    click.echo(f"Deleted {purge_expired()} expired idempotency records")


def register_cli(app: Flask) -> None:
    app.cli.add_command(api_keys_cli)
    app.cli.add_command(idempotency_cli)

    from .catalog.cli import catalog_cli
    from .customers.cli import customers_cli

    app.cli.add_command(catalog_cli)
    app.cli.add_command(customers_cli)

    from .outbox.cli import outbox_cli

    app.cli.add_command(outbox_cli)

    from .webhooks.cli import webhooks_cli

    app.cli.add_command(webhooks_cli)
