"""Outbox workers as real processes (``flask outbox deliver`` / ``worker``) against a real SMTP
server: two at once deliver every message exactly once (PostgreSQL: FOR UPDATE SKIP LOCKED;
SQLite: one claim at a time), and SIGTERM lets a worker finish the message in hand."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from latepoint_forms.extensions import db
from latepoint_forms.models import OutboxMessage
from latepoint_forms.outbox.service import queue_message
from latepoint_forms.unit_of_work import unit_of_work

from .mail_support import SmtpServer, smtp_server
from .servers import ROOT

FLASK = Path(sys.executable).parent / "flask"
COUNTS = {"postgresql": 1000, "sqlite": 200}


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


def worker_env(database: str, smtp: SmtpServer) -> dict[str, str]:
    return {
        **os.environ,
        "FLASK_APP": "app.py",
        "LATEPOINT_ENV": "testing",
        "SECRET_KEY": "test-secret-for-workers",
        "DATABASE_URL": database,
        "PUBLIC_URL": "https://book.example.com",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp.port),
        "MAIL_TIMEOUT": "20",
        "PYTHONUNBUFFERED": "1",
    }


def queue(app: Flask, count: int) -> None:
    with app.app_context(), unit_of_work():
        for n in range(count):
            queue_message(
                kind="welcome",
                recipient=f"person{n}@example.com",
                subject=f"Message {n}",
                body_text=f"Message {n}",
                body_html=f"<p>Message {n}</p>",
            )


def rows(app: Flask) -> list[OutboxMessage]:
    with app.app_context():
        return list(db.session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def test_two_workers_deliver_each_message_exactly_once(
    app: Flask, database: str, smtp: SmtpServer, request: Any
) -> None:
    backend = request.node.callspec.params["database"]
    count = COUNTS[backend]
    queue(app, count)
    env = worker_env(database, smtp)
    workers = [
        subprocess.Popen(
            [str(FLASK), "outbox", "deliver"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    try:
        outputs = [worker.communicate(timeout=300) for worker in workers]
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
    for worker, (out, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, (out, err)
    sent_by = [set(map(int, re.findall(r"^sent (\d+)$", out, re.M))) for out, _ in outputs]

    # Each message arrived once; together the workers sent each once, and neither alone.
    ids = smtp.message_ids()
    assert len(ids) == count
    assert set(ids.values()) == {1}
    assert sorted(str(m["To"]) for m in smtp.messages) == sorted(
        f"person{n}@example.com" for n in range(count)
    )
    assert sent_by[0].isdisjoint(sent_by[1])
    assert len(sent_by[0]) + len(sent_by[1]) == count
    if backend == "postgresql":
        assert sent_by[0], [len(s) for s in sent_by]  # both did work
        assert sent_by[1], [len(s) for s in sent_by]
    stored = rows(app)
    assert {r.state for r in stored} == {"sent"}
    assert {r.attempts for r in stored} == {1}
    print(f"{backend}: {count} messages, worker shares {[len(s) for s in sent_by]}")


def test_sigterm_finishes_the_message_in_hand(app: Flask, database: str, smtp: SmtpServer) -> None:
    queue(app, 3)
    release = smtp.hold()
    worker = subprocess.Popen(
        [str(FLASK), "outbox", "worker", "--poll", "0.2"],
        cwd=ROOT,
        env=worker_env(database, smtp),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert smtp.arrived.wait(60), "the worker never sent the first message"
        worker.send_signal(signal.SIGTERM)
        release.set()
        out, err = worker.communicate(timeout=60)
    finally:
        release.set()
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert worker.returncode == 0, (out, err)
    assert "Stopping after the message in hand (SIGTERM)" in out
    assert "Outbox worker stopped." in out
    assert len(smtp.messages) == 1
    stored = rows(app)
    assert [(r.state, r.attempts) for r in stored] == [
        ("sent", 1),
        ("pending", 0),
        ("pending", 0),
    ]
