"""The outbox and its worker against a real SMTP server (aiosmtpd on loopback), on SQLite and
PostgreSQL (SPEC section 8): every kind of message arrives exactly once, with its .ics; a
rolled-back change sends nothing; with the mail server down nothing is lost and each message
arrives once after it comes back; backoff, failure, listing and retry."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from latepoint_forms.bookings.service import cancel_booking, granules, reserve_booking
from latepoint_forms.customers.input import CustomerInput, RuleSettings
from latepoint_forms.customers.service import create_customer
from latepoint_forms.extensions import db
from latepoint_forms.messages import service as messages
from latepoint_forms.messages.ics import booking_uid
from latepoint_forms.models import Booking, BookingSlotClaim, Customer, OutboxMessage
from latepoint_forms.outbox.delivery import backoff, deliver_due
from latepoint_forms.outbox.service import queue_message
from latepoint_forms.unit_of_work import unit_of_work

from .catalog_fixtures import NOW, Catalog, build_catalog
from .mail_support import SmtpServer, calendar_of, html_body, smtp_server, text_body
from .web_support import build_web_catalog, csrf_token

LONDON = ZoneInfo("Europe/London")
# Wednesday 3 March 2027, 10:00 in London (GMT): more than 24 hours after NOW.
START = datetime(2027, 3, 3, 10, 0, tzinfo=LONDON).astimezone(UTC)
MAX_ATTEMPTS = 4


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture
def app_config(smtp: SmtpServer) -> dict[str, Any]:
    return {
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": smtp.port,
        "MAIL_TIMEOUT": 5,
        "MAIL_DEFAULT_SENDER": "bookings@book.example.com",
        "PUBLIC_URL": "https://book.example.com",
        "OUTBOX_MAX_ATTEMPTS": MAX_ATTEMPTS,
        "REMINDER_HOURS": 24,
    }


@pytest.fixture
def catalog(app: Flask) -> Catalog:
    return build_catalog(app)


@pytest.fixture
def ctx(app_context: None, catalog: Catalog) -> Catalog:
    return catalog


def new_customer(email: str | None = "zoe@example.com", first_name: str = "Zoë") -> Customer:
    return create_customer(
        CustomerInput(first_name=first_name, last_name="Brown", email=email, is_guest=True),
        source="quick_booking",
        settings=RuleSettings(),
    )


def make_booking(catalog: Catalog, start: datetime = START, **customer: Any) -> Booking:
    with unit_of_work():
        person = new_customer(**customer)
        return reserve_booking(
            person, catalog.haircut, catalog.london, catalog.alice, start, now=NOW
        )


def move(booking: Booking, new_start: datetime) -> None:
    """A reschedule in place, as the manage page does it: same row, SEQUENCE + 1."""
    with unit_of_work():
        previous = booking.start_at
        length = booking.end_at - booking.start_at
        booking.claims.clear()
        db.session.flush()
        booking.start_at, booking.end_at = new_start, new_start + length
        booking.claims = [
            BookingSlotClaim(agent_id=booking.agent_id, slot_start=g)
            for g in granules(new_start, new_start + length)
        ]
        booking.sequence += 1
        db.session.flush()
        messages.queue_booking_rescheduled(booking, previous_start=previous, now=NOW)


def outbox_rows() -> list[OutboxMessage]:
    db.session.expire_all()
    return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def states() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for row in outbox_rows():
        found.setdefault(row.kind, []).append(row.state)
    return found


def assert_each_arrived_once(smtp: SmtpServer, expected: int) -> None:
    counts = smtp.message_ids()
    assert sum(counts.values()) == expected, counts
    assert all(n == 1 for n in counts.values()), counts


# --- every kind, exactly once ------------------------------------------------------------------


def test_a_booking_s_life_in_messages(ctx: Catalog, smtp: SmtpServer) -> None:
    booking = make_booking(ctx)
    assert states() == {"booking_confirmation": ["pending"], "booking_reminder": ["pending"]}
    reminder = next(r for r in outbox_rows() if r.kind == "booking_reminder")
    assert reminder.due_at == START - timedelta(hours=24)

    clock = Clock(NOW)
    assert [o.sent for o in deliver_due(clock)] == [True]  # the reminder is not due yet
    moved_to = START + timedelta(days=1, hours=2)
    move(booking, moved_to)
    with unit_of_work():
        cancel_booking(booking.id, booking.customer_id, now=NOW)
    assert [o.sent for o in deliver_due(clock)] == [True, True]
    clock.advance(timedelta(days=5))
    assert deliver_due(clock) == []  # both reminders were withdrawn: nothing more goes out

    assert_each_arrived_once(smtp, 3)
    (confirmation,) = smtp.by_subject_start("Booking confirmed")
    (rescheduled,) = smtp.by_subject_start("Booking moved")
    (cancelled,) = smtp.by_subject_start("Booking cancelled")
    assert states() == {
        "booking_confirmation": ["sent"],
        "booking_reminder": ["withdrawn", "withdrawn"],
        "booking_rescheduled": ["sent"],
        "booking_cancelled": ["sent"],
    }

    uids, sequences = set(), []
    for message, method, status in [
        (confirmation, "REQUEST", "CONFIRMED"),
        (rescheduled, "REQUEST", "CONFIRMED"),
        (cancelled, "CANCEL", "CANCELLED"),
    ]:
        assert message["To"] == "zoe@example.com"
        assert message["From"] == "bookings@book.example.com"
        assert str(message["Message-ID"]).endswith("@book.example.com>")
        calendar, event, part_method = calendar_of(message)
        assert calendar["METHOD"] == method == part_method
        assert event["STATUS"] == status
        assert event["DTSTART"].params["TZID"] == "Europe/London"
        uids.add(str(event["UID"]))
        sequences.append(int(event["SEQUENCE"]))
    assert uids == {booking_uid(booking)}
    assert sequences == [0, 1, 2]  # the move and the cancellation each revise the event

    _, first_event, _ = calendar_of(confirmation)
    assert first_event.decoded("DTSTART") == datetime(2027, 3, 3, 10, 0, tzinfo=LONDON)
    _, moved_event, _ = calendar_of(rescheduled)
    assert moved_event.decoded("DTSTART") == datetime(2027, 3, 4, 12, 0, tzinfo=LONDON)

    text = text_body(confirmation)
    assert "Wednesday 3 March 2027, 10:00 GMT (Europe/London)" in text
    assert "12 Greek Street, London W1D 4DT" in text
    assert "+44 20 7946 0321" in text
    assert "https://book.example.com/bookings/" in text
    assert booking.booking_code in text
    html = html_body(confirmation)
    assert 'href="https://book.example.com/bookings/' in html
    assert "Wednesday 3 March 2027, 10:00 GMT (Europe/London)" in html
    moved_text = text_body(rescheduled)
    assert "Was: Wednesday 3 March 2027, 10:00 GMT (Europe/London)" in moved_text
    assert "When: Thursday 4 March 2027, 12:00 GMT (Europe/London)" in moved_text


def test_the_reminder_arrives_once_when_due(ctx: Catalog, smtp: SmtpServer) -> None:
    make_booking(ctx)
    clock = Clock(NOW)
    deliver_due(clock)
    clock.now = START - timedelta(hours=24) - timedelta(seconds=1)
    assert deliver_due(clock) == []
    clock.advance(timedelta(seconds=1))
    assert [o.sent for o in deliver_due(clock)] == [True]
    assert deliver_due(clock) == []
    assert_each_arrived_once(smtp, 2)
    (reminder,) = smtp.by_subject_start("Reminder")
    assert "Wednesday 3 March 2027, 10:00 GMT (Europe/London)" in text_body(reminder)
    assert not list(reminder.iter_attachments())


def test_a_new_york_booking_is_told_in_new_york_time(ctx: Catalog, smtp: SmtpServer) -> None:
    new_york = ZoneInfo("America/New_York")
    start = datetime(2027, 3, 3, 9, 0, tzinfo=new_york).astimezone(UTC)
    with unit_of_work():
        reserve_booking(new_customer(), ctx.haircut, ctx.new_york, ctx.bob, start, now=NOW)
    deliver_due(Clock(NOW))
    (confirmation,) = smtp.by_subject_start("Booking confirmed")
    assert "Wednesday 3 March 2027, 09:00 EST (America/New_York)" in text_body(confirmation)
    assert "+1 212-555-0187" in text_body(confirmation)
    _, event, _ = calendar_of(confirmation)
    assert event["DTSTART"].params["TZID"] == "America/New_York"


def test_no_reminder_for_a_booking_made_within_reminder_hours(
    ctx: Catalog, smtp: SmtpServer
) -> None:
    soon = NOW + timedelta(hours=13)  # Tuesday 09:00 in London: sooner than 24 hours
    make_booking(ctx, start=soon)
    assert states() == {"booking_confirmation": ["pending"]}


def test_reminders_off_with_reminder_hours_zero(app: Flask, ctx: Catalog, smtp: SmtpServer) -> None:
    app.config["REMINDER_HOURS"] = 0
    make_booking(ctx)
    assert states() == {"booking_confirmation": ["pending"]}


def test_a_move_moves_the_pending_reminder(ctx: Catalog, smtp: SmtpServer) -> None:
    booking = make_booking(ctx)
    move(booking, START + timedelta(days=2))
    reminders = [r for r in outbox_rows() if r.kind == "booking_reminder"]
    assert [(r.state, r.due_at) for r in reminders] == [
        ("withdrawn", START - timedelta(hours=24)),
        ("pending", START + timedelta(days=1)),
    ]


def test_a_customer_without_email_gets_nothing(ctx: Catalog, smtp: SmtpServer) -> None:
    make_booking(ctx, email=None)
    assert outbox_rows() == []


def test_asking_twice_queues_once(ctx: Catalog, smtp: SmtpServer) -> None:
    booking = make_booking(ctx)
    with unit_of_work():
        cancel_booking(booking.id, booking.customer_id, now=NOW)
        cancel_booking(booking.id, booking.customer_id, now=NOW)
        messages.queue_booking_cancelled(booking, now=NOW)
        messages.queue_booking_confirmation(booking, now=NOW)
    assert sorted(r.kind for r in outbox_rows()) == [
        "booking_cancelled",
        "booking_confirmation",
        "booking_reminder",
    ]


def test_a_reschedule_needs_the_raised_sequence(ctx: Catalog, smtp: SmtpServer) -> None:
    booking = make_booking(ctx)
    with pytest.raises(ValueError, match="sequence"):
        messages.queue_booking_rescheduled(booking, now=NOW)


# --- nothing for what was rolled back -----------------------------------------------------------


def test_a_rolled_back_booking_sends_nothing(ctx: Catalog, smtp: SmtpServer) -> None:
    queued: list[int] = []

    def book_then_fail() -> None:
        with unit_of_work():
            reserve_booking(new_customer(), ctx.haircut, ctx.london, ctx.alice, START, now=NOW)
            queued.append(db.session.execute(select(func.count(OutboxMessage.id))).scalar_one())
            raise RuntimeError("something after the booking failed")

    with pytest.raises(RuntimeError):
        book_then_fail()
    assert queued == [2]  # the confirmation and the reminder were in the transaction
    assert outbox_rows() == []
    assert db.session.execute(select(func.count(Booking.id))).scalar_one() == 0
    assert deliver_due(Clock(NOW + timedelta(days=30))) == []
    assert smtp.messages == []


def test_a_web_booking_refused_as_taken_sends_nothing(
    app: Flask, client: FlaskClient, smtp: SmtpServer
) -> None:
    web = build_web_catalog(app)
    start = web.start()
    path = web.book_path(start).replace("agent=any", f"agent={web.agents[0]}")
    guest = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
    token = csrf_token(client, path)
    with app.app_context(), unit_of_work():  # someone else takes the time meanwhile
        other = new_customer(email="other@example.com")
        reserve_booking(other, web.service, web.location, web.agents[0], start)
    response = client.post(path, data={**guest, "csrf_token": token})
    assert response.status_code == 409
    with app.app_context():
        assert [r.recipient for r in outbox_rows()] == ["other@example.com"] * 2
        assert (
            db.session.execute(
                select(Customer).where(Customer.email == "grace@example.com")
            ).first()
            is None
        )


def test_a_web_booking_queues_its_confirmation(
    app: Flask, client: FlaskClient, smtp: SmtpServer
) -> None:
    web = build_web_catalog(app)
    path = web.book_path(web.start())
    guest = {"first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com"}
    response = client.post(path, data={**guest, "csrf_token": csrf_token(client, path)})
    assert response.status_code == 302
    with app.app_context():
        assert sorted(r.kind for r in outbox_rows()) == [
            "booking_confirmation",
            "booking_reminder",
        ]
        deliver_due()
    (confirmation,) = smtp.messages
    assert confirmation["To"] == "grace@example.com"
    assert "Harbour Street" in text_body(confirmation)


# --- the mail server down -----------------------------------------------------------------------


def test_with_the_mail_server_down_nothing_is_lost(
    app: Flask, client: FlaskClient, smtp: SmtpServer
) -> None:
    smtp.stop()
    web = build_web_catalog(app)
    guests = [("Grace", "grace@example.com"), ("Ada", "ada@example.com")]
    for day, (name, email) in enumerate(guests, start=2):
        path = web.book_path(web.start(days_ahead=day))
        data = {"first_name": name, "last_name": "Hopper", "email": email}
        response = client.post(path, data={**data, "csrf_token": csrf_token(client, path)})
        assert response.status_code == 302  # the booking succeeds all the same
    with app.app_context():
        clock = Clock(datetime.now(UTC))
        outcomes = deliver_due(clock)
        assert [o.state for o in outcomes] == ["pending", "pending"]
        rows = [r for r in outbox_rows() if r.kind == "booking_confirmation"]
        assert [(r.state, r.attempts) for r in rows] == [("pending", 1), ("pending", 1)]
        assert all("Connection refused" in (r.last_error or "") for r in rows)
        assert all(r.next_attempt_at == clock.now + backoff(1) for r in rows)
        assert deliver_due(clock) == []  # not due again before the backoff

        smtp.start()
        clock.advance(backoff(1))
        assert [o.sent for o in deliver_due(clock)] == [True, True]
        assert deliver_due(clock) == []
    assert_each_arrived_once(smtp, 2)
    assert sorted(m["To"] for m in smtp.messages) == ["ada@example.com", "grace@example.com"]


def test_backoff_then_failed_then_listed_and_retried(
    app: Flask, ctx: Catalog, smtp: SmtpServer, runner: Any
) -> None:
    make_booking(ctx, start=NOW + timedelta(hours=13))  # a confirmation, no reminder
    smtp.stop()
    clock = Clock(NOW)
    waits = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        (outcome,) = deliver_due(clock)
        (row,) = outbox_rows()
        assert row.attempts == attempt
        if attempt < MAX_ATTEMPTS:
            assert outcome.state == "pending"
            waits.append(row.next_attempt_at - clock.now)
            clock.now = row.next_attempt_at
        else:
            assert outcome.state == "failed"
            assert row.state == "failed"
    assert waits == [timedelta(seconds=30), timedelta(seconds=60), timedelta(seconds=120)]
    clock.advance(timedelta(days=1))
    assert deliver_due(clock) == []  # a failed message is not tried again by itself

    listed = runner.invoke(args=["outbox", "list", "--failed"])
    assert listed.exit_code == 0
    assert f"{row.id}\tfailed\tbooking_confirmation\tzoe@example.com" in listed.output
    assert "ConnectionRefusedError" in listed.output

    smtp.start()
    retried = runner.invoke(args=["outbox", "retry", str(row.id)])
    assert retried.exit_code == 0, retried.output
    assert "is due again" in retried.output
    assert [o.sent for o in deliver_due()] == [True]
    assert_each_arrived_once(smtp, 1)
    again = runner.invoke(args=["outbox", "retry", str(row.id)])
    assert again.exit_code != 0
    assert "is sent; only a failed message is retried" in again.output
    unknown = runner.invoke(args=["outbox", "retry", "999999"])
    assert unknown.exit_code != 0
    assert "No message has the id 999999" in unknown.output


def test_a_permanent_refusal_fails_at_once(ctx: Catalog, smtp: SmtpServer) -> None:
    smtp.refused.add("nobody@example.com")
    with unit_of_work():
        queue_message(
            kind="welcome",
            recipient="nobody@example.com",
            subject="Hi",
            body_text="Hi",
            body_html="<p>Hi</p>",
            now=NOW,
        )
    (outcome,) = deliver_due(Clock(NOW))
    assert outcome.state == "failed"
    (row,) = outbox_rows()
    assert (row.state, row.attempts) == ("failed", 1)
    assert "550" in (row.last_error or "")
    assert smtp.messages == []


# --- the CLI ------------------------------------------------------------------------------------


def queue_now(recipient: str = "zoe@example.com") -> None:
    """A message due now (the CLI delivers by the real clock)."""
    with unit_of_work():
        queue_message(
            kind="booking_confirmation",
            recipient=recipient,
            subject="Hello",
            body_text="Hello",
            body_html="<p>Hello</p>",
        )


def test_deliver_exits_zero_when_all_went_out(
    app_context: None, smtp: SmtpServer, runner: Any
) -> None:
    queue_now()
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 0, result.output
    assert "1 sent, 0 not sent" in result.output
    assert_each_arrived_once(smtp, 1)
    assert runner.invoke(args=["outbox", "list"]).output.strip() == "No messages."
    listed = runner.invoke(args=["outbox", "list", "--all"]).output
    assert "\tsent\tbooking_confirmation\t" in listed


def test_deliver_exits_non_zero_when_the_server_is_down(
    app_context: None, smtp: SmtpServer, runner: Any
) -> None:
    queue_now()
    smtp.stop()
    result = runner.invoke(args=["outbox", "deliver"])
    assert result.exit_code == 1
    assert "0 sent, 1 not sent" in result.output
    listed = runner.invoke(args=["outbox", "list"]).output
    assert "\tpending\tbooking_confirmation\tzoe@example.com\t" in listed


def test_a_message_that_cannot_be_composed_ends_up_failed(ctx: Catalog, smtp: SmtpServer) -> None:
    with unit_of_work():
        queue_message(
            kind="welcome",
            recipient="zoe@example.com\nBcc: everyone@example.com",  # header injection
            subject="Hi",
            body_text="Hi",
            body_html="<p>Hi</p>",
            now=NOW,
        )
    clock = Clock(NOW)
    for _ in range(MAX_ATTEMPTS):
        (outcome,) = deliver_due(clock)
        clock.advance(timedelta(hours=2))
    assert outcome.state == "failed"
    (row,) = outbox_rows()
    assert (row.state, row.attempts) == ("failed", MAX_ATTEMPTS)
    assert smtp.messages == []


# --- review findings: order per booking, failed reminders, the ORGANIZER, the lease ----------


def test_a_cancellation_never_overtakes_its_confirmation(ctx: Catalog, smtp: SmtpServer) -> None:
    booking = make_booking(ctx, start=NOW + timedelta(hours=13))  # a confirmation, no reminder
    smtp.stop()
    clock = Clock(NOW)
    assert [o.state for o in deliver_due(clock)] == ["pending"]  # the confirmation waits
    clock.advance(timedelta(seconds=10))
    with unit_of_work():
        cancel_booking(booking.id, booking.customer_id, now=clock.now)
    smtp.start()

    # The cancellation is due, but its booking's confirmation is still waiting out its backoff.
    assert deliver_due(clock) == []
    clock.advance(backoff(1))
    assert [o.sent for o in deliver_due(clock)] == [True, True]

    subjects = [m["Subject"] for m in smtp.messages]
    assert subjects[0].startswith("Booking confirmed")
    assert subjects[1].startswith("Booking cancelled")


def test_a_failed_reminder_is_withdrawn_when_its_booking_is_cancelled(
    ctx: Catalog, smtp: SmtpServer, runner: Any
) -> None:
    booking = make_booking(ctx)
    (reminder,) = [r for r in outbox_rows() if r.kind == "booking_reminder"]
    with unit_of_work():
        db.session.get(OutboxMessage, reminder.id).state = "failed"  # as after its attempts
    with unit_of_work():
        cancel_booking(booking.id, booking.customer_id, now=NOW)

    assert states()["booking_reminder"] == ["withdrawn"]
    retried = runner.invoke(args=["outbox", "retry", str(reminder.id)])
    assert retried.exit_code != 0  # a reminder of a cancelled time can never be sent


def test_the_organizer_is_the_address_of_a_named_sender(app: Flask, ctx: Catalog) -> None:
    from latepoint_forms.messages.ics import booking_calendar

    booking = make_booking(ctx)
    app.config["MAIL_DEFAULT_SENDER"] = "Hair Studio <bookings@book.example.com>"
    from icalendar import Calendar

    event = Calendar.from_ical(booking_calendar(booking, method="REQUEST")).walk("VEVENT")[0]

    assert str(event["ORGANIZER"]) == "mailto:bookings@book.example.com"
    assert event["ORGANIZER"].params["CN"] == "Hair Studio"


@pytest.mark.parametrize(("mail_timeout", "minutes"), [(5, 5), (30, 6), (60, 12)])
def test_the_lease_outlasts_the_slowest_send(
    app: Flask, app_context: None, mail_timeout: int, minutes: int
) -> None:
    from latepoint_forms.outbox.delivery import lease

    app.config["MAIL_TIMEOUT"] = mail_timeout
    assert lease() == timedelta(minutes=minutes)
