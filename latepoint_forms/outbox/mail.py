"""Composing and sending one message with Flask-Mailman (Django's mail classes, ported).

With ``MAIL_SERVER`` set, messages go out over SMTP. Without it (development), they are
written to the development mailbox (``dev_mailbox.py``), read at /dev/mailbox.
"""

from __future__ import annotations

from collections.abc import Iterable
from email.mime.base import MIMEBase
from email.mime.text import MIMEText

from flask import Flask, current_app
from flask_mailman import EmailMultiAlternatives, Mail

from .service import Attachment

mail = Mail()

DEV_MAILBOX_BACKEND = "latepoint_forms.outbox.dev_mailbox.EmailBackend"


def init_app(app: Flask) -> None:
    # Flask-Mailman would pick an in-memory backend whenever TESTING is on; say which.
    if not app.config.get("MAIL_BACKEND"):
        app.config["MAIL_BACKEND"] = (
            "smtp" if app.config.get("MAIL_SERVER") else (DEV_MAILBOX_BACKEND)
        )
    mail.init_app(app)


def uses_dev_mailbox() -> bool:
    return bool(current_app.config.get("MAIL_BACKEND") == DEV_MAILBOX_BACKEND)


def _part(attachment: Attachment) -> MIMEBase:
    basetype, subtype = attachment.mimetype.split("/", 1)
    part: MIMEBase
    if basetype == "text":
        part = MIMEText(attachment.content.decode("utf-8"), subtype, "utf-8")
    else:
        part = MIMEBase(basetype, subtype)
        part.set_payload(attachment.content)
    for name, value in attachment.params:
        part.set_param(name, value)
    part.add_header("Content-Disposition", "attachment", filename=attachment.filename)
    return part


def build_email(
    *,
    message_id: str,
    recipient: str,
    subject: str,
    body_text: str,
    body_html: str,
    attachments: Iterable[Attachment] = (),
) -> EmailMultiAlternatives:
    email = EmailMultiAlternatives(
        subject=subject,
        body=body_text,
        from_email=current_app.config["MAIL_DEFAULT_SENDER"],
        to=[recipient],
        headers={"Message-ID": message_id},
    )
    email.attach_alternative(body_html, "text/html")
    for attachment in attachments:
        email.attach(_part(attachment))
    return email


def send_email(**fields: object) -> None:
    """Send one message now (raises what the mail server or the network raised)."""
    email = build_email(**fields)  # type: ignore[arg-type]
    with mail.get_connection(fail_silently=False) as connection:
        sent = connection.send_messages([email])
    if sent != 1:
        raise OSError("the mail backend did not send the message")
