"""``make run``'s one command: the development server and an outbox worker side by side (a real
process tree on a free port); a queued message shows up in /dev/mailbox; SIGINT stops both."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from latepoint_forms import create_app
from latepoint_forms.extensions import db
from latepoint_forms.outbox.service import queue_message
from latepoint_forms.unit_of_work import unit_of_work

from .conftest import base_config, empty_all_tables
from .servers import ROOT, free_port

DEADLINE = 60.0


def get(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:  # noqa: S310 (http only)
            return str(response.read().decode("utf-8"))
    except OSError:
        return None


def test_make_run_serves_and_delivers_and_stops_on_ctrl_c(sqlite_url: str, tmp_path: Path) -> None:
    app = create_app(base_config(sqlite_url))
    with app.app_context(), unit_of_work():
        queue_message(
            kind="welcome",
            recipient="newcomer@example.com",
            subject="Hello from the worker",
            body_text="Hello",
            body_html="<p>Hello</p>",
        )
    port = free_port()
    env = {
        **os.environ,
        "FLASK_APP": "app.py",
        "LATEPOINT_ENV": "development",
        "SECRET_KEY": "test-secret-for-make-run",
        "DATABASE_URL": sqlite_url,
        "DEV_MAILBOX_PATH": str(tmp_path / "mailbox"),
        "MAIL_SERVER": "",
        "PYTHONUNBUFFERED": "1",
    }
    supervisor = subprocess.Popen(
        [sys.executable, "-m", "latepoint_forms.run_development", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its own process group: a failed test kills the children too
    )
    try:
        deadline = time.monotonic() + DEADLINE
        page = None
        while time.monotonic() < deadline:
            page = get(f"http://127.0.0.1:{port}/dev/mailbox")
            if page is not None and "Hello from the worker" in page:
                break
            time.sleep(0.3)
        assert page is not None
        assert "Hello from the worker" in page
        supervisor.send_signal(signal.SIGINT)
        out, _ = supervisor.communicate(timeout=DEADLINE)
    finally:
        if supervisor.poll() is None:
            # SIGKILL to the whole group: the server and worker hold the output pipe, and
            # communicate() would wait on them forever if only the supervisor died.
            os.killpg(supervisor.pid, signal.SIGKILL)
            supervisor.communicate(timeout=30)
        with app.app_context():
            empty_all_tables()
            db.engine.dispose()
    assert supervisor.returncode == 0, out
    assert "Outbox worker stopped." in out
    with socket.socket() as probe:
        assert probe.connect_ex(("127.0.0.1", port)) != 0  # the web server is gone too
