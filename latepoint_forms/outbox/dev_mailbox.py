"""The development mailbox: without ``MAIL_SERVER``, "sent" messages are kept as .eml files in
the instance folder (``instance/dev_mailbox``) and read at /dev/mailbox (web/dev_mailbox.py).

A Flask-Mailman backend, so a message goes through exactly the composing code it would take
to an SMTP server. One file per message, named so that the newest sorts last, written under
another name and renamed into place so the page never reads half a message.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from flask import current_app
from flask_mailman.backends.base import BaseEmailBackend

FOLDER_NAME = "dev_mailbox"
FILE_RE = re.compile(r"[0-9]{8}T[0-9]{12}-[0-9a-f]{8}\.eml")


def mailbox_folder() -> Path:
    """``DEV_MAILBOX_PATH`` (the tests set one), else ``instance/dev_mailbox``."""
    configured = current_app.config.get("DEV_MAILBOX_PATH")
    return Path(configured) if configured else Path(current_app.instance_path) / FOLDER_NAME


class EmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages: Sequence[Any]) -> int:
        folder = mailbox_folder()
        folder.mkdir(parents=True, exist_ok=True)
        count = 0
        for message in email_messages:
            stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
            name = f"{stamp}-{secrets.token_hex(4)}.eml"
            staging = folder / f".{name}.tmp"
            staging.write_bytes(message.message().as_bytes())
            os.replace(staging, folder / name)
            count += 1
        return count


def stored_messages() -> list[Path]:
    """The mailbox's files, newest first."""
    folder = mailbox_folder()
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if FILE_RE.fullmatch(p.name)), reverse=True)
