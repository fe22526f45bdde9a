"""Outgoing email: what attendees are told, and how it leaves.

With MAIL_SERVER set, messages go through SMTP (MAIL_PORT, MAIL_USE_TLS for STARTTLS,
MAIL_USE_SSL for SMTPS, MAIL_USERNAME/MAIL_PASSWORD to log in). Without one, or when the
server fails, each message is written to OUTBOX_DIR (instance/outbox/) as a .eml file and
the log says where: nothing fails and nothing is silently dropped. Logs name the file and
the subject, never the recipient or the private link.
"""

import logging
import smtplib
import ssl
import uuid
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from flask import current_app, render_template

from . import registrations
from .invites import public_url, render_invite

TRUE_WORDS = {"1", "true", "yes", "on"}


def logger():
    """This module's logger, looked up when used, not at import: the migrations' logging
    set-up (Alembic's fileConfig, run at start-up) disables every logger that exists then."""
    return logging.getLogger(__name__)


def setting_is_on(value):
    """MAIL_USE_TLS and friends arrive as booleans from code and as strings from the shell."""
    return value is True or str(value).strip().lower() in TRUE_WORDS


def private_link(registration):
    """The attendee's private link, absolute (PUBLIC_BASE_URL, else this request's root)."""
    return public_url("registration.private_page", token=registrations.private_token(registration))


def build_message(to, subject, body, invite=None):
    """A plain-text email; `invite` is (method, ics bytes) for a text/calendar part."""
    sender = current_app.config["MAIL_DEFAULT_SENDER"]
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
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


def send(message):
    """Send through SMTP, or keep in the outbox when there is no server or it fails."""
    config = current_app.config
    if not config.get("MAIL_SERVER"):
        return write_to_outbox(message, "no MAIL_SERVER is set")
    try:
        deliver_by_smtp(message)
    except OSError:  # smtplib's errors are OSErrors too
        logger().exception(
            "Could not send %r through %s", message["Subject"], config["MAIL_SERVER"]
        )
        return write_to_outbox(message, "sending failed")
    return None


def deliver_by_smtp(message):
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


def write_to_outbox(message, reason):
    """Keep the message as a .eml file (readable only by us: it holds personal data)."""
    outbox = Path(current_app.config["OUTBOX_DIR"])
    outbox.mkdir(parents=True, exist_ok=True)
    # Microseconds in the name, so a listing sorts in the order the emails were written.
    path = outbox / f"{datetime.now(UTC):%Y%m%dT%H%M%S.%fZ}-{uuid.uuid4().hex[:8]}.eml"
    path.write_bytes(bytes(message))
    path.chmod(0o600)
    # A warning, so it shows with the default logging: this email has reached nobody yet.
    logger().warning("Email %r not sent (%s): written to %s", message["Subject"], reason, path)
    return path


def send_to_attendee(registration, kind, subject, invite_method=None):
    """Render templates/registration/email/<kind>.txt for one person and send it."""
    event = registration.event
    body = render_template(
        f"registration/email/{kind}.txt",
        registration=registration,
        event=event,
        link=private_link(registration),
        event_link=public_url("public.event", slug=event.slug),
    )
    invite = None
    if invite_method:
        invite = (invite_method, render_invite(event, invite_method, registration))
    return send(build_message(registration.email, subject, body, invite))


def send_confirmation(registration):
    return send_to_attendee(
        registration, "confirmed", f"You are booked: {registration.event.title}", "REQUEST"
    )


def send_waitlisted(registration):
    return send_to_attendee(
        registration, "waitlisted", f"You are on the waitlist: {registration.event.title}"
    )


def send_promoted(registration):
    return send_to_attendee(
        registration,
        "promoted",
        f"A place is yours: {registration.event.title}",
        "REQUEST",
    )


def send_link_again(registration):
    """The same email registered again: send their private link (and invite) once more."""
    return send_to_attendee(
        registration,
        "link_again",
        f"Your private link: {registration.event.title}",
        "REQUEST" if registration.status == "confirmed" else None,
    )


def send_event_changed(event):
    """The time or place changed: confirmed attendees get the invite with a higher SEQUENCE."""
    for registration in registrations.confirmed_attendees(event):
        send_to_attendee(registration, "changed", f"Changed: {event.title}", "REQUEST")


def send_event_cancelled(event):
    """Confirmed attendees get METHOD:CANCEL, so calendars remove it; the waitlist is told too."""
    for registration in registrations.confirmed_attendees(event):
        send_to_attendee(registration, "cancelled", f"Cancelled: {event.title}", "CANCEL")
    for registration in registrations.waitlisted_people(event):
        send_to_attendee(registration, "cancelled", f"Cancelled: {event.title}")
