"""``flask outbox deliver | worker | list [--failed] | retry ID`` (SPEC section 8).

The worker sends the webhook deliveries too (webhooks/delivery.py), taking turns with the
messages."""

from __future__ import annotations

import os
import signal
import threading
from datetime import datetime
from types import FrameType

import click
from flask import current_app
from flask.cli import AppGroup

from ..config import DEVELOPMENT_ENVIRONMENTS
from ..extensions import db
from ..models import OutboxMessage
from ..models.types import utcnow
from ..unit_of_work import unit_of_work
from .delivery import Outcome, deliver_due, deliver_next
from .mail import uses_dev_mailbox
from .service import OutboxError, list_messages, retry_message

outbox_cli = AppGroup("outbox", help="Deliver and inspect the messages to customers.")


def _check_mail_settings() -> None:
    if uses_dev_mailbox():
        if current_app.config["ENV_NAME"] not in DEVELOPMENT_ENVIRONMENTS:
            raise click.ClickException(
                "MAIL_SERVER is not set: outside development messages are only sent over SMTP "
                "(they wait in the outbox until it is set)"
            )
        click.echo("No MAIL_SERVER: messages go to the development mailbox, /dev/mailbox.")


def _report(outcome: Outcome) -> None:
    if outcome.sent:
        click.echo(f"sent {outcome.id}")
    else:
        click.echo(f"not sent {outcome.id} ({outcome.state}): {outcome.error}", err=True)


@outbox_cli.command("deliver")
def deliver_command() -> None:
    """Send every message that is due, then exit (1 if any of them did not go out)."""
    _check_mail_settings()
    outcomes = deliver_due(utcnow)
    for outcome in outcomes:
        _report(outcome)
    failed = [o for o in outcomes if not o.sent]
    click.echo(f"{len(outcomes) - len(failed)} sent, {len(failed)} not sent")
    if failed:
        raise SystemExit(1)


@outbox_cli.command("worker")
@click.option("--poll", default=2.0, show_default=True, help="Seconds between looks when idle.")
def worker_command(poll: float) -> None:
    """Keep delivering until SIGTERM or Ctrl-C (the message in hand is finished first)."""
    _check_mail_settings()
    stop = threading.Event()

    def request_stop(signum: int, _frame: FrameType | None) -> None:
        click.echo(f"Stopping after the message in hand ({signal.Signals(signum).name}).")
        stop.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, request_stop)
    click.echo(f"Outbox worker running (pid {os.getpid()}).")
    run_worker(stop, poll_seconds=poll)
    click.echo("Outbox worker stopped.")


def run_worker(stop: threading.Event, *, poll_seconds: float = 2.0) -> None:
    """Deliver due messages until ``stop`` is set; between messages only, never mid-send."""
    from ..webhooks.delivery import deliver_next as deliver_next_webhook

    while not stop.is_set():
        worked = False
        try:
            # Due messages first, then one webhook delivery: a receiver that is slow or down
            # delays the customers' mail by one bounded attempt at most (webhooks/delivery.py).
            while not stop.is_set():
                outcome = deliver_next(utcnow)
                if outcome is None:
                    break
                worked = True
                _report(outcome)
            webhook = None if stop.is_set() else deliver_next_webhook(utcnow)
            if webhook is not None:
                worked = True
                state = "delivered" if webhook.delivered else f"not delivered ({webhook.state})"
                click.echo(f"webhook {webhook.id} {state}")
        except Exception:  # the database went away: say so, wait, try again
            db.session.rollback()
            current_app.logger.exception("Outbox worker: delivery failed; retrying")
        finally:
            db.session.remove()
        if not worked:
            stop.wait(poll_seconds)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%SZ") if moment else "-"


@outbox_cli.command("list")
@click.option("--failed", "failed_only", is_flag=True, help="Only the failed messages.")
@click.option("--all", "include_done", is_flag=True, help="Sent and withdrawn ones too.")
def list_command(failed_only: bool, include_done: bool) -> None:
    """Messages waiting or failed (newest first)."""
    messages: list[OutboxMessage] = list_messages(
        failed_only=failed_only, include_done=include_done
    )
    if not messages:
        click.echo("No failed messages." if failed_only else "No messages.")
        return
    click.echo("ID\tSTATE\tKIND\tTO\tDUE\tNEXT ATTEMPT\tATTEMPTS\tLAST ERROR")
    for m in messages:
        next_attempt = _when(m.next_attempt_at) if m.state == "pending" else "-"
        click.echo(
            f"{m.id}\t{m.state}\t{m.kind}\t{m.recipient}\t{_when(m.due_at)}\t{next_attempt}\t"
            f"{m.attempts}\t{(m.last_error or '-')[:200]}"
        )


@outbox_cli.command("retry")
@click.argument("message_id", type=int)
def retry_command(message_id: int) -> None:
    """Send a failed message again (due now, attempts counted afresh)."""
    try:
        with unit_of_work():
            message = retry_message(message_id)
    except OutboxError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Message {message.id} ({message.kind} to {message.recipient}) is due again.")
