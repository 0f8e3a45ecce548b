"""Webhooks (SPEC section 10) against a real HTTP receiver on loopback, on SQLite and
PostgreSQL: endpoints from the CLI, events from every door committed with the change,
signatures that the ``standardwebhooks`` library verifies, retries with the same webhook-id,
replays, the delivery log, a rolled-back change that sends nothing, and the guard against
server-side request forgery."""

from __future__ import annotations

import ipaddress
import json
import re
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from sqlalchemy import select
from standardwebhooks import Webhook

from latepoint_forms.bookings.service import cancel_booking, reschedule_booking, reserve_booking
from latepoint_forms.customers.input import CustomerInput, RuleSettings
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.models import WebhookDelivery, WebhookEndpoint
from latepoint_forms.outbox.delivery import backoff
from latepoint_forms.unit_of_work import unit_of_work
from latepoint_forms.webhooks.addresses import AddressRefused, check_url, refused_because
from latepoint_forms.webhooks.delivery import deliver_due

from .catalog_fixtures import NOW, Catalog, build_catalog
from .conftest import ApiClient
from .webhook_receiver import Receiver, webhook_receiver

LONDON = ZoneInfo("Europe/London")
START = datetime(2027, 3, 3, 10, 0, tzinfo=LONDON).astimezone(UTC)
MAX_ATTEMPTS = 3


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as running:
        yield running


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {
        "WEBHOOKS_ALLOW_PRIVATE": True,
        "WEBHOOK_TIMEOUT": 1.0,
        "WEBHOOK_MAX_ATTEMPTS": MAX_ATTEMPTS,
    }


def add(app: Flask, url: str, events: str | None = None) -> tuple[int, str]:
    """``flask webhooks add`` as an operator runs it: the endpoint's id and its secret."""
    args = ["webhooks", "add", url] + (["--events", events] if events else [])
    result = app.test_cli_runner().invoke(args=args)
    assert result.exit_code == 0, result.output
    secret = result.output.strip().splitlines()[-1]
    with app.app_context():
        endpoint = db.session.execute(
            select(WebhookEndpoint).order_by(WebhookEndpoint.id.desc())
        ).scalar_one()
        return endpoint.id, secret


def deliveries(app: Flask) -> list[WebhookDelivery]:
    with app.app_context():
        rows = list(
            db.session.execute(select(WebhookDelivery).order_by(WebhookDelivery.id)).scalars()
        )
        db.session.expunge_all()
        return rows


def verified(secret: str, received: Any) -> dict[str, Any]:
    """The body, once the standardwebhooks library has checked its signature.

    ``verify`` also wants the timestamp within 5 minutes of the real time; a delivery made at
    an injected time in the future (the catalog's NOW) is checked by the library's ``sign``
    over the same id, timestamp and body instead."""
    headers = received.headers
    sent_at = datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC)
    if abs(sent_at - datetime.now(UTC)) < timedelta(minutes=4):
        payload: dict[str, Any] = Webhook(secret).verify(received.body, headers)
        return payload
    expected = Webhook(secret).sign(headers["webhook-id"], sent_at, received.body.decode())
    assert expected in headers["webhook-signature"].split(" ")
    body: dict[str, Any] = json.loads(received.body)
    return body


def new_customer(email: str = "zoe@example.com") -> Any:
    return create_customer(
        CustomerInput(first_name="Zoë", last_name="Brown", email=email, is_guest=True),
        source="quick_booking",
        settings=RuleSettings(),
    )


# --- endpoints -------------------------------------------------------------------------------


def test_add_prints_the_secret_last_and_list_and_remove(app: Flask, receiver: Receiver) -> None:
    endpoint_id, secret = add(app, receiver.url, "booking.created,customer.created")
    assert secret.startswith("whsec_")
    Webhook(secret)  # the library takes it as a signing secret
    runner = app.test_cli_runner()
    listing = runner.invoke(args=["webhooks", "list"]).output
    assert receiver.url in listing
    assert "customer.created,booking.created" in listing  # in the documented order
    assert secret not in listing  # shown once, at creation
    removed = runner.invoke(args=["webhooks", "remove", str(endpoint_id)])
    assert removed.exit_code == 0, removed.output
    assert runner.invoke(args=["webhooks", "list"]).output.strip() == "No webhook endpoints."
    again = runner.invoke(args=["webhooks", "remove", str(endpoint_id)])
    assert again.exit_code != 0
    assert f"no webhook endpoint {endpoint_id}" in again.output


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://hooks.example.com/x", "must use"),
        ("https://user:pw@hooks.example.com/x", "user name or password"),
        ("https:///no-host", "needs a host"),
        ("https://hooks.example.com/x#frag", "fragment"),
        ("https://hooks.example.com:99999/x", "malformed"),
        ("https://hooks .example.com/x", "spaces"),
        ("http://127.0.0.1:0/x", "port must be 1 to 65535"),
    ],
)
def test_malformed_endpoint_urls_are_refused(app: Flask, url: str, reason: str) -> None:
    result = app.test_cli_runner().invoke(args=["webhooks", "add", url])
    assert result.exit_code != 0
    assert reason in result.output
    with app.app_context():
        assert db.session.execute(select(WebhookEndpoint)).first() is None


@pytest.mark.parametrize(
    ("events", "message"),
    [("customer.deleted", "unknown event customer.deleted"), (",", "name at least one event")],
)
def test_unknown_or_no_events_are_refused(
    app: Flask, receiver: Receiver, events: str, message: str
) -> None:
    result = app.test_cli_runner().invoke(
        args=["webhooks", "add", receiver.url, "--events", events]
    )
    assert result.exit_code != 0
    assert message in result.output


def test_an_international_host_name_is_looked_up_as_its_xn_form() -> None:
    with pytest.raises(AddressRefused, match=r"xn--bcher-kva\.invalid does not resolve"):
        check_url("https://bücher.invalid/hooks", https_only=True, allow_private=False)


# --- the guard against server-side request forgery --------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # the cloud metadata service
        "100.64.0.1",  # shared address space
        "::1",
        "fe80::1",
        "fc00::1",
        "::ffff:127.0.0.1",  # loopback written as IPv6
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a9fe:a9fe",  # NAT64 of the metadata service
        "64:ff9b:1::a00:1",  # local-use NAT64
        "2002:7f00:1::",  # 6to4 of 127.0.0.1
        "::7f00:1",  # IPv4-compatible
        "::ffff:0:7f00:1",  # IPv4-translated
        "fec0::1",  # site-local
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "224.0.0.1",
    ],
)
def test_private_addresses_are_refused(address: str) -> None:
    assert refused_because(ipaddress.ip_address(address), allow_private=False) is not None


def test_public_addresses_pass_and_allow_private_keeps_the_unusable_ones_out() -> None:
    assert refused_because(ipaddress.ip_address("93.184.215.14"), allow_private=False) is None
    assert refused_because(ipaddress.ip_address("2606:4700::1"), allow_private=False) is None
    assert refused_because(ipaddress.ip_address("127.0.0.1"), allow_private=True) is None
    assert refused_because(ipaddress.ip_address("0.0.0.0"), allow_private=True) is not None  # noqa: S104
    assert refused_because(ipaddress.ip_address("224.0.0.1"), allow_private=True) is not None


def test_names_are_judged_by_what_they_resolve_to() -> None:
    with pytest.raises(AddressRefused, match="loopback"):
        check_url("https://localhost/hooks", https_only=True, allow_private=False)
    with pytest.raises(AddressRefused, match="must use https"):
        check_url("http://93.184.215.14/hooks", https_only=True, allow_private=False)
    with pytest.raises(AddressRefused, match="does not resolve"):
        check_url("https://no-such-host.invalid/x", https_only=False, allow_private=False)
    target = check_url("http://[::1]:8080/a?b=1", https_only=False, allow_private=True)
    assert (target.addresses, target.path, target.host_header) == (("::1",), "/a?b=1", "[::1]:8080")


def test_in_production_only_public_https_endpoints_are_taken(app: Flask) -> None:
    app.config.update(ENV_NAME="production", WEBHOOKS_ALLOW_PRIVATE=False)
    runner = app.test_cli_runner()
    for url, reason in [
        ("http://93.184.215.14/hooks", "must use https"),
        ("https://127.0.0.1/hooks", "loopback"),
        ("https://169.254.169.254/latest/meta-data", "link-local"),
    ]:
        result = runner.invoke(args=["webhooks", "add", url])
        assert result.exit_code != 0
        assert reason in result.output


def test_an_address_refused_at_delivery_time_fails_without_a_request(
    app: Flask, receiver: Receiver
) -> None:
    """The endpoint was allowed when added; at delivery its address no longer is (a changed
    setting here; a name that now resolves elsewhere alike): nothing is sent."""
    add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        new_customer()
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    with app.app_context():
        [outcome] = deliver_due(Clock(datetime.now(UTC)))
    assert (outcome.delivered, outcome.state) == (False, "failed")
    assert "loopback" in (outcome.error or "")
    assert receiver.received == []


# --- events, signatures, retries ---------------------------------------------------------------


def test_a_customer_created_over_the_api_is_signed_and_delivered(
    app: Flask, api: ApiClient, receiver: Receiver
) -> None:
    _, secret = add(app, receiver.url)
    response = api.post(
        "/customers", {"first_name": "Ana", "last_name": "Lima", "email": "ana@example.com"}
    )
    assert response.status_code == 201, response.get_json()
    assert receiver.received == []  # queued with the customer, sent by the worker
    with app.app_context():
        [outcome] = deliver_due(Clock(datetime.now(UTC)))
    assert outcome.delivered
    [received] = receiver.received
    assert received.path == "/hooks/latepoint?source=tests"
    assert received.headers["content-type"] == "application/json"
    body = verified(secret, received)
    assert body["type"] == "customer.created"
    answered = response.get_json()["data"]
    answered.pop("welcome_email_sent")  # what this request did, not part of the customer
    assert body["data"] == answered  # the API representation
    tampered = received.body.replace(b"Ana", b"Eve")
    with pytest.raises(Exception, match="signature"):
        Webhook(secret).verify(tampered, received.headers)
    [row] = deliveries(app)
    assert (row.state, row.attempts, row.last_status) == ("sent", 1, 200)


def test_a_failing_receiver_gets_the_same_webhook_id_again_after_backoff(
    app: Flask, receiver: Receiver
) -> None:
    _, secret = add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        new_customer()
    receiver.answers = [500, 503]
    clock = Clock(datetime.now(UTC))
    with app.app_context():
        [first] = deliver_due(clock)
        assert (first.delivered, first.state, first.status) == (False, "pending", 500)
        assert deliver_due(clock) == []  # not due before its backoff
        clock.now += backoff(1)
        [second] = deliver_due(clock)
        assert (second.delivered, second.status) == (False, 503)
        clock.now += backoff(2)
        [third] = deliver_due(clock)
        assert third.delivered
    ids = receiver.ids()
    assert len(ids) == 3
    assert len(set(ids)) == 1
    for received in receiver.received:
        assert verified(secret, received)["type"] == "customer.created"
    [row] = deliveries(app)
    assert (row.state, row.attempts, row.last_status) == ("sent", 3, 200)


def test_after_the_last_attempt_it_is_failed_listed_and_replayable(
    app: Flask, receiver: Receiver
) -> None:
    add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        new_customer()
    receiver.answers = [500] * MAX_ATTEMPTS
    clock = Clock(datetime.now(UTC))
    with app.app_context():
        for attempt in range(1, MAX_ATTEMPTS + 1):
            [outcome] = deliver_due(clock)
            clock.now += backoff(attempt)
    assert outcome.state == "failed"
    runner = app.test_cli_runner()
    log = runner.invoke(args=["webhooks", "deliveries", "--failed"]).output
    [row] = deliveries(app)
    assert f"{row.id}\t" in log
    assert "\tfailed\t3\t500\t" in log
    replayed = runner.invoke(args=["webhooks", "replay", str(row.id)])
    assert replayed.exit_code == 0, replayed.output
    with app.app_context():
        [again] = deliver_due(clock)
    assert again.delivered
    ids = receiver.ids()
    assert len(ids) == MAX_ATTEMPTS + 1
    assert len(set(ids)) == 1  # the replay sends the same webhook-id
    original, replay = deliveries(app)
    assert (replay.replay_of, replay.payload, replay.state) == (
        original.id,
        original.payload,
        "sent",
    )
    assert original.state == "failed"  # the log keeps what happened


def test_a_silent_receiver_times_out_and_is_tried_again(app: Flask, receiver: Receiver) -> None:
    add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        new_customer()
    receiver.silent.set()
    with app.app_context():
        [outcome] = deliver_due(Clock(datetime.now(UTC)))
    assert (outcome.delivered, outcome.state) == (False, "pending")
    assert "timed out" in (outcome.error or "").lower()


def test_a_rolled_back_change_sends_nothing(app: Flask, receiver: Receiver) -> None:
    add(app, receiver.url)

    def failing_request() -> None:
        with app.app_context(), unit_of_work():
            new_customer()
            raise RuntimeError("the rest of the request failed")

    with pytest.raises(RuntimeError):
        failing_request()
    assert deliveries(app) == []
    with app.app_context():
        assert deliver_due(Clock(datetime.now(UTC))) == []
    assert receiver.received == []


def test_a_removed_endpoint_gets_nothing_more(app: Flask, receiver: Receiver) -> None:
    endpoint_id, _ = add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        new_customer()
    app.test_cli_runner().invoke(args=["webhooks", "remove", str(endpoint_id)])
    with app.app_context(), unit_of_work():
        new_customer("other@example.com")
    with app.app_context():
        assert deliver_due(Clock(datetime.now(UTC))) == []
    [row] = deliveries(app)
    assert (row.state, row.last_error) == ("failed", "endpoint removed")
    assert receiver.received == []


def test_a_booking_s_life_in_events(app: Flask, receiver: Receiver) -> None:
    catalog: Catalog = build_catalog(app)
    _, secret = add(app, receiver.url, "booking.created,booking.cancelled,booking.rescheduled")
    with app.app_context(), unit_of_work():
        customer = new_customer()
        booking = reserve_booking(
            customer, catalog.haircut, catalog.london, catalog.alice, START, now=NOW
        )
        booking_id, customer_id = booking.id, customer.id
    later = START + timedelta(hours=1)
    with app.app_context(), unit_of_work():
        reschedule_booking(booking_id, later, None, expected_sequence=0, now=NOW)
    with app.app_context(), unit_of_work():
        cancel_booking(booking_id, customer_id, now=NOW)
    with app.app_context():
        outcomes = deliver_due(Clock(NOW))
    assert [o.delivered for o in outcomes] == [True, True, True]
    bodies = [verified(secret, r) for r in receiver.received]
    assert [b["type"] for b in bodies] == [
        "booking.created",
        "booking.rescheduled",
        "booking.cancelled",
    ]
    created, moved, cancelled = (b["data"] for b in bodies)
    assert created["start"] == "2027-03-03T10:00:00+00:00"
    assert created["timezone"] == "Europe/London"
    assert created["service"]["key"] == "haircut"
    assert created["customer"]["id"] == customer_id
    assert (moved["start"], moved["previous_start"]) == (
        "2027-03-03T11:00:00+00:00",
        "2027-03-03T10:00:00+00:00",
    )
    assert cancelled["status"] == "cancelled"
    assert len({r.headers["webhook-id"] for r in receiver.received}) == 3


def test_an_import_sends_customer_created_for_each_row_it_creates(
    app: Flask, receiver: Receiver, tmp_path: Path
) -> None:
    _, secret = add(app, receiver.url, "customer.created")
    csv = tmp_path / "customers.csv"
    csv.write_text(
        "first_name,last_name,email\n"
        "Ana,Lima,ana@example.com\n"
        "Bo,Li,not-an-email\n"
        "Cy,Young,cy@example.com\n",
        encoding="utf-8",
    )
    result = app.test_cli_runner().invoke(args=["customers", "import", str(csv)])
    assert result.exit_code == 0, result.output
    assert "Created: 2" in result.output
    assert "Rejected: 1" in result.output
    with app.app_context():
        outcomes = deliver_due(Clock(datetime.now(UTC)))
    assert [o.delivered for o in outcomes] == [True, True]
    emails = sorted(verified(secret, r)["data"]["email"] for r in receiver.received)
    assert emails == ["ana@example.com", "cy@example.com"]


def test_concurrent_workers_deliver_each_event_once(app: Flask, receiver: Receiver) -> None:
    add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        for n in range(24):
            new_customer(f"person{n}@example.com")
    clock = Clock(datetime.now(UTC))
    errors: list[BaseException] = []

    def work() -> None:
        try:
            with app.app_context():
                deliver_due(clock)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    ids = receiver.ids()
    assert len(ids) == 24
    assert len(set(ids)) == 24
    assert {row.state for row in deliveries(app)} == {"sent"}


def test_no_endpoint_no_deliveries(app: Flask) -> None:
    with app.app_context(), unit_of_work():
        new_customer()
    assert deliveries(app) == []


def test_the_outbox_worker_process_delivers_webhooks_too(
    app: Flask, database: str, receiver: Receiver
) -> None:
    import os
    import signal
    import subprocess
    import sys

    from .mail_support import smtp_server
    from .servers import ROOT

    _, secret = add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        for n in range(5):
            new_customer(f"worker{n}@example.com")
    with smtp_server() as smtp:
        env = {
            **os.environ,
            "FLASK_APP": "app.py",
            "LATEPOINT_ENV": "testing",
            "SECRET_KEY": "test-secret-for-workers",
            "DATABASE_URL": database,
            "PUBLIC_URL": "https://book.example.com",
            "MAIL_SERVER": "127.0.0.1",
            "MAIL_PORT": str(smtp.port),
            "WEBHOOKS_ALLOW_PRIVATE": "1",
            "PYTHONUNBUFFERED": "1",
        }
        worker = subprocess.Popen(
            [str(Path(sys.executable).parent / "flask"), "outbox", "worker", "--poll", "0.2"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert receiver.wait_for(5), "the worker did not deliver the five events"
            worker.send_signal(signal.SIGTERM)
            out, err = worker.communicate(timeout=60)
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    assert worker.returncode == 0, (out, err)
    assert len(set(receiver.ids())) == 5
    assert all(verified(secret, r)["type"] == "customer.created" for r in receiver.received)
    assert len(re.findall(r"^webhook \d+ delivered$", out, re.MULTILINE)) == 5


def test_a_receiver_that_trickles_its_answer_is_cut_at_the_attempt_s_deadline(
    app: Flask, receiver: Receiver
) -> None:
    add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        new_customer()
    receiver.trickle.set()
    with app.app_context():
        [outcome] = deliver_due(Clock(datetime.now(UTC)))
    receiver.release.set()
    assert (outcome.delivered, outcome.state) == (False, "pending")
    assert outcome.error == "AttemptTooLong: no answer within 2 s"


def test_a_redirect_is_not_followed(app: Flask, receiver: Receiver) -> None:
    add(app, receiver.url, "customer.created")
    with app.app_context(), unit_of_work():
        new_customer()
    receiver.answers = [302]
    with app.app_context():
        [outcome] = deliver_due(Clock(datetime.now(UTC)))
    assert (outcome.delivered, outcome.status, outcome.error) == (False, 302, "HTTP 302")
    assert [r.path for r in receiver.received] == ["/hooks/latepoint?source=tests"]


def test_a_name_that_now_resolves_to_a_private_address_is_refused_at_delivery(
    app: Flask, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: public when added, loopback when delivered. (The name's answers come
    from a patched resolver: this machine has no DNS server to play the attacker's.)"""
    import socket

    from latepoint_forms.webhooks import addresses

    answers = {"hooks.example.com": "93.184.215.14"}

    def getaddrinfo(host: str, port: int, *args: Any, **kwargs: Any) -> list[Any]:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(addresses.socket, "getaddrinfo", getaddrinfo)
    app.config["WEBHOOKS_ALLOW_PRIVATE"] = False
    add(app, f"http://hooks.example.com:{receiver.port}/hooks", "customer.created")
    answers["hooks.example.com"] = "127.0.0.1"
    with app.app_context(), unit_of_work():
        new_customer()
    with app.app_context():
        [outcome] = deliver_due(Clock(datetime.now(UTC)))
    assert (outcome.delivered, outcome.state) == (False, "failed")
    assert outcome.error == "refused: 127.0.0.1 is a loopback address"
    assert receiver.received == []


def test_the_web_booking_door_sends_its_events_and_a_refused_one_sends_none(
    app: Flask, receiver: Receiver
) -> None:
    from .web_support import build_web_catalog, csrf_token

    catalog = build_web_catalog(app)
    _, secret = add(app, receiver.url)
    path = catalog.book_path(catalog.start())
    # Three guests open the form for one time; two agents can take it: the third is refused.
    browsers = [app.test_client() for _ in range(3)]
    tokens = [csrf_token(browser, path) for browser in browsers]
    emails = ["grace@example.com", "ada@example.com", "alan@example.com"]
    answers = [
        browser.post(
            path,
            data={"first_name": "Grace", "last_name": "Hopper", "email": email, "csrf_token": t},
        ).status_code
        for browser, token_email in zip(browsers, zip(tokens, emails, strict=True), strict=True)
        for t, email in [token_email]
    ]
    assert answers == [302, 302, 409]
    with app.app_context():
        outcomes = deliver_due(Clock(datetime.now(UTC)))
    assert [o.delivered for o in outcomes] == [True] * 4
    bodies = [verified(secret, r) for r in receiver.received]
    assert [b["type"] for b in bodies] == ["customer.created", "booking.created"] * 2
    assert bodies[0]["data"]["email"] == "grace@example.com"
    assert bodies[1]["data"]["customer"]["id"] == bodies[0]["data"]["id"]
    # The refused guest's record was rolled back with its event.
    created = [
        json.loads(d.payload)["data"]["email"]
        for d in deliveries(app)
        if d.event_type == "customer.created"
    ]
    assert created == emails[:2]


def test_an_api_create_reads_no_endpoints_when_the_key_look_up_saw_none(
    app: Flask, api: ApiClient, receiver: Receiver
) -> None:
    """The key's statement says whether any endpoint is active: without one, a create makes no
    read of its own for webhooks; with one, the event is queued as usual."""
    from .web_support import counted_statements

    api.post("/customers", {"first_name": "Warm", "last_name": "Up"})  # the key's use noted
    with counted_statements(app) as statements:
        assert api.post("/customers", {"first_name": "Ana", "last_name": "Lima"}).status_code == 201
    assert not [s for s in statements if s.lower().lstrip().startswith("select webhook_endpoints")]
    assert deliveries(app) == []
    add(app, receiver.url, "customer.created")
    assert api.post("/customers", {"first_name": "Bo", "last_name": "Li"}).status_code == 201
    assert [d.event_type for d in deliveries(app)] == ["customer.created"]
