"""A real SMTP server for the tests: aiosmtpd on loopback, started and stopped by the test.

``SmtpServer`` keeps every message it accepted, parsed (``email.policy.default``). It can be
stopped and started again on the same port, to play a mail server that goes down and comes
back; ``hold()`` makes it keep the next message waiting before it answers (a worker then has
a message "in hand").
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import threading
from collections import Counter
from collections.abc import Iterator
from email.message import EmailMessage
from typing import Any

import icalendar
from aiosmtpd.controller import Controller

from .servers import free_port


class _Handler:
    def __init__(self, server: SmtpServer) -> None:
        self.server = server

    async def handle_RCPT(
        self, _server: Any, _session: Any, envelope: Any, address: str, _options: Any
    ) -> str:
        if address in self.server.refused:
            return "550 5.1.1 No such user here"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        if self.server.holding is not None:
            self.server.arrived.set()
            release = self.server.holding
            await asyncio.get_running_loop().run_in_executor(None, release.wait, 30)
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self.server.lock:
            self.server.messages.append(parsed)  # type: ignore[arg-type]
            self.server.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpServer:
    def __init__(self) -> None:
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.lock = threading.Lock()
        self.holding: threading.Event | None = None
        self.refused: set[str] = set()  # recipients answered "550 No such user"
        self.arrived = threading.Event()
        self._controller: Controller | None = None

    def start(self) -> None:
        assert self._controller is None
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def running(self) -> bool:
        return self._controller is not None

    def hold(self) -> threading.Event:
        """Keep the next messages waiting until the returned event is set."""
        self.arrived.clear()
        self.holding = threading.Event()
        return self.holding

    def message_ids(self) -> Counter[str]:
        with self.lock:
            return Counter(str(m["Message-ID"]) for m in self.messages)

    def by_subject_start(self, prefix: str) -> list[EmailMessage]:
        with self.lock:
            return [m for m in self.messages if str(m["Subject"]).startswith(prefix)]


@contextlib.contextmanager
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        if server.holding is not None:
            server.holding.set()
        server.stop()


def calendar_of(message: EmailMessage) -> tuple[icalendar.Calendar, icalendar.Event, str]:
    """The message's .ics attachment, parsed: (calendar, its one event, the part's METHOD)."""
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(parts) == 1, [p.get_content_type() for p in message.iter_attachments()]
    part = parts[0]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    calendar = icalendar.Calendar.from_ical(payload)
    events = calendar.walk("VEVENT")
    assert len(events) == 1
    return calendar, events[0], str(part.get_param("method"))


def text_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None
    return str(part.get_content())


def html_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())
