"""/dev/mailbox: read the messages the development mailbox kept (outbox/dev_mailbox.py).

Registered only in development (and the tests), never in production. A newcomer running
``make run`` books a time and reads the confirmation here, links and .ics included. The HTML
part is shown in a sandboxed frame from its own URL, under a CSP of its own (a message's HTML
carries inline styles, which the site's CSP refuses, and never runs a script).
"""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from flask import Blueprint, Response, abort, render_template

from ..outbox.dev_mailbox import FILE_RE, mailbox_folder, stored_messages

bp = Blueprint("dev_mailbox", __name__, url_prefix="/dev/mailbox")

MESSAGE_HTML_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'self'; "
    "base-uri 'none'; form-action 'none'"
)


@dataclass(frozen=True)
class Attachment:
    index: int
    filename: str
    content_type: str


@dataclass(frozen=True)
class StoredMessage:
    name: str
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))

    @property
    def recipient(self) -> str:
        return str(self.message.get("To", ""))

    @property
    def date(self) -> str:
        return str(self.message.get("Date", ""))

    @property
    def headers(self) -> list[tuple[str, str]]:
        names = ("From", "To", "Subject", "Date", "Message-ID")
        return [(n, str(self.message[n])) for n in names if self.message[n] is not None]

    def body(self, subtype: str) -> str | None:
        part = self.message.get_body(preferencelist=(subtype,))
        if part is None or part.get_content_subtype() != subtype:
            return None
        return str(part.get_content())

    def attachments(self) -> list[tuple[Attachment, EmailMessage]]:
        return [
            (Attachment(i, part.get_filename() or f"part-{i}", part.get_content_type()), part)
            for i, part in enumerate(self.message.iter_attachments())
        ]


def _read(path: Path) -> StoredMessage:
    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return StoredMessage(path.name, parsed)


def _load(name: str) -> StoredMessage:
    path = mailbox_folder() / name
    if not FILE_RE.fullmatch(name) or not path.is_file():
        abort(404)
    return _read(path)


@bp.get("", endpoint="index")
def index() -> str:
    return render_template("dev/mailbox.html", messages=[_read(p) for p in stored_messages()])


@bp.get("/<name>", endpoint="message")
def message(name: str) -> str:
    stored = _load(name)
    return render_template(
        "dev/mailbox_message.html",
        stored=stored,
        text=stored.body("plain"),
        has_html=stored.body("html") is not None,
        attachments=[a for a, _ in stored.attachments()],
    )


@bp.get("/<name>/html", endpoint="html")
def html(name: str) -> Response:
    body = _load(name).body("html")
    if body is None:
        abort(404)
    # Links open in the whole window (the frame's sandbox allows that on a click only).
    body = body.replace("<head>", '<head><base target="_top">', 1)
    response = Response(body, mimetype="text/html")
    response.headers["Content-Security-Policy"] = MESSAGE_HTML_POLICY
    response.headers["X-Frame-Options"] = "SAMEORIGIN"
    return response


@bp.get("/<name>/attachments/<int:index>", endpoint="attachment")
def attachment(name: str, index: int) -> Response:
    found = {a.index: (a, part) for a, part in _load(name).attachments()}
    if index not in found:
        abort(404)
    meta, part = found[index]
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    response = Response(payload, mimetype=meta.content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{meta.filename}"'
    return response
