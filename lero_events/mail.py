"""How an email leaves: MIME building and SMTP, or a .eml file when there is no server.

MAIL_SERVER and MAIL_PORT name the server, MAIL_USE_TLS asks for STARTTLS, MAIL_USE_SSL for
SMTPS, MAIL_USERNAME/MAIL_PASSWORD log in. Nothing here decides what to say or when to retry:
notifications.py writes the emails and outbox.py delivers them.
"""

import os
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from pathlib import Path

from flask import current_app

TRUE_WORDS = {"1", "true", "yes", "on"}


def setting_is_on(value):
    """MAIL_USE_TLS and friends arrive as booleans from code and as strings from the shell."""
    return value is True or str(value).strip().lower() in TRUE_WORDS


def build_message(to, subject, body, invite=None, sender=None):
    """A plain-text email; `invite` is (method, ics bytes) for a text/calendar part; `sender`
    is the From header (MAIL_DEFAULT_SENDER unless given)."""
    sender = sender or current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(sender)[1].rpartition("@")[2] or None)
    message.set_content(body)
    if invite:
        method, ics = invite
        # Calendar clients read the method from the MIME type; it must match METHOD inside.
        message.add_attachment(
            ics,
            maintype="text",
            subtype="calendar",
            params={"method": method, "charset": "utf-8"},
            filename="invite.ics",
        )
    return message


def deliver_by_smtp(message):
    """Hand `message` to MAIL_SERVER; raises OSError (smtplib's errors are OSErrors too)."""
    config = current_app.config
    host, port = config["MAIL_SERVER"], int(config["MAIL_PORT"])
    if setting_is_on(config.get("MAIL_USE_SSL")):
        server = smtplib.SMTP_SSL(host, port, timeout=30, context=ssl.create_default_context())
    else:
        server = smtplib.SMTP(host, port, timeout=30)
    with server:
        if setting_is_on(config.get("MAIL_USE_TLS")):
            server.starttls(context=ssl.create_default_context())
        if config.get("MAIL_USERNAME"):
            server.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        server.send_message(message)


def write_to_file(message):
    """Keep `message` as a .eml file in OUTBOX_DIR, readable only by us (it is personal data)."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    # Microseconds in the name, so a listing sorts in the order the emails were written.
    path = outbox / f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex[:8]}.eml"
    write_private_file(path, bytes(message))
    return path


def write_private_file(path, data):
    """Create `path` readable by this user only from its first byte (never world-readable,
    not even for a moment before a chmod), and refuse to reuse a file already there."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(data)
