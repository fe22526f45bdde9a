"""The durable outbox: every email is a row written with the change that causes it.

`queue_email` (`queue_emails` for many at once) writes the row in the caller's transaction;
once that commits, the task queue is asked to deliver it (tasks.py listens for the commit), so
a request never waits on SMTP.
Delivery claims the row, sends it and records what happened. A failure is retried with
backoff, up to MAX_ATTEMPTS, and the reason is kept for the organiser's delivery list.
Rows are the truth: a task lost with a crashed worker or a Redis restart is found again by
`deliver_due`, which the queue runs every minute. Logs name the email's number and kind,
never its recipient or its text.
"""

import logging
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from . import discreet, mail
from .extensions import db
from .invites import render_invite
from .models import Event, OutgoingEmail, utcnow

# What each status means, as hosts read it on the delivery list.
STATUSES = {
    "queued": "Queued",
    "sending": "Sending",
    "sent": "Sent",
    "filed": "Kept as a file (no mail server is set)",
    "failed": "Failed",
    "dropped": "Not sent (the person erased their data)",
}
MAX_ATTEMPTS = 8
# Waits after the 1st, 2nd, ... failure; the last one repeats: about 9 hours before giving up.
BACKOFF = [timedelta(minutes=m) for m in (1, 2, 5, 15, 30, 60, 120, 240)]
CLAIM_FOR = timedelta(minutes=5)
# A queued row this overdue has lost its task; deliver_due picks it up.
OVERDUE = timedelta(seconds=30)

NEW_EMAIL_IDS = "lero_new_email_ids"
COLLECTED_EMAILS = "lero_collected_emails"

logger = logging.getLogger(__name__)


def email_row(
    to,
    subject,
    body,
    *,
    kind,
    event=None,
    registration=None,
    message=None,
    invite_method=None,
    discreet=False,
):
    """The values of one outbox row; `discreet` sends it under the neutral sender name
    (lero_events.discreet). queue_emails writes them."""
    return {
        "discreet": discreet,
        "kind": kind,
        "to_address": to,
        "subject": subject[:300],
        "body": body,
        "event_id": event.id if event else None,
        "registration_id": registration.id if registration else None,
        "message_id": message.id if message else None,
        "invite_method": invite_method,
    }


# Core, not ORM objects: an email is written inside the seat lock when someone registers,
# where an ORM flush cost more than the INSERT itself.
NEW_EMAILS = sa.insert(OutgoingEmail.__table__).returning(OutgoingEmail.__table__.c.id)


def queue_emails(rows):
    """Write email_row values in the current transaction, all in one INSERT (a host's message
    to everyone booked is one statement); they are sent after the caller commits. Inside
    `collected()` they are handed to the caller instead, and None stands for each id."""
    collecting = db.session.info.get(COLLECTED_EMAILS)
    if collecting is not None:
        collecting.extend(rows)
        return [None] * len(rows)
    if not rows:
        return []
    ids = list(db.session.connection().execute(NEW_EMAILS, rows).scalars())
    note_new_emails(ids)
    return ids


@contextmanager
def collected():
    """Emails queued inside the block are not written but gathered into the list it yields,
    for a statement that writes them together with the change itself (pg_booking); that
    statement's caller passes the ids it wrote to note_new_emails."""
    rows = db.session.info[COLLECTED_EMAILS] = []
    try:
        yield rows
    finally:
        del db.session.info[COLLECTED_EMAILS]


def note_new_emails(ids):
    """Emails written in this transaction, for the task queue once it commits."""
    db.session.info.setdefault(NEW_EMAIL_IDS, []).extend(ids)


def queue_email(to, subject, body, **details):
    """Write one email (email_row's arguments) in the current transaction; returns its id."""
    (email_id,) = queue_emails([email_row(to, subject, body, **details)])
    return email_id


@sa.event.listens_for(Session, "after_rollback")
def forget_new_emails(session):
    session.info.pop(NEW_EMAIL_IDS, None)


def committed_email_ids(session):
    """The ids of emails the transaction that just committed wrote (each returned once)."""
    return session.info.pop(NEW_EMAIL_IDS, None) or []


def claim(email_id, now):
    """Take the row for this worker; False when it is not due or another worker has it."""
    result = db.session.execute(
        sa.update(OutgoingEmail)
        .where(
            OutgoingEmail.id == email_id,
            OutgoingEmail.status == "queued",
            OutgoingEmail.next_attempt_at <= now,
        )
        .values(
            status="sending", claimed_until=now + CLAIM_FOR, attempts=OutgoingEmail.attempts + 1
        )
    )
    db.session.commit()
    return result.rowcount == 1


def deliver(email_id, now=None):
    """Send one queued email if it is due; records sent, filed, a retry or the final failure."""
    now = now or utcnow()
    if not claim(email_id, now):
        return None
    email = db.session.get(OutgoingEmail, email_id)
    message = mail.build_message(
        email.to_address,
        email.subject,
        email.body,
        invite_for(email),
        sender=discreet.mail_sender(email.discreet),
    )
    demo = about_the_demo(email)
    if demo or not current_app.config.get("MAIL_SERVER"):
        email.file_path = str(mail.write_to_file(message))
        email.status = "filed"
        if not demo:
            # A warning, so it shows with the default logging: this email reached nobody yet.
            logger.warning(
                "Email %s (%s) not sent, no MAIL_SERVER is set: written to %s",
                email.id,
                email.kind,
                email.file_path,
            )
    else:
        try:
            mail.deliver_by_smtp(message)
        except OSError as error:
            record_failure(email, error, now)
        else:
            email.status = "sent"
            email.sent_at = utcnow()
            email.last_error = ""
            # Sent: the text (names, private links, reset links) need not be kept here.
            email.body = ""
    email.claimed_until = None
    db.session.commit()
    return email.status


def about_the_demo(email):
    """An email about a `flask demo` event is to a made-up person: it is written to the outbox
    folder, never sent, whatever MAIL_SERVER says (a mail worker can take it before the demo
    command has filed it)."""
    if email.event_id is None:
        return False
    return bool(db.session.scalar(sa.select(Event.is_demo).where(Event.id == email.event_id)))


def invite_for(email):
    """The registration's calendar invite as it stands now, for emails that carry one."""
    if not email.invite_method or email.registration is None:
        return None
    registration = email.registration
    return email.invite_method, render_invite(
        registration.event, email.invite_method, registration, base_url=site_url()
    )


def record_failure(email, error, now):
    reason = f"{type(error).__name__}: {error}"[:500]
    email.last_error = reason
    if email.attempts >= MAX_ATTEMPTS:
        email.status = "failed"
        logger.error("Email %s (%s) failed for good: %s", email.id, email.kind, reason)
        return
    email.status = "queued"
    email.next_attempt_at = now + BACKOFF[min(email.attempts, len(BACKOFF)) - 1]
    logger.warning(
        "Email %s (%s) not sent (attempt %s), retrying at %s: %s",
        email.id,
        email.kind,
        email.attempts,
        f"{email.next_attempt_at:%H:%M:%S}",
        reason,
    )


def deliver_due(now=None):
    """Send every queued email that is due and has lost its task; free expired claims."""
    now = now or utcnow()
    db.session.execute(
        sa.update(OutgoingEmail)
        .where(OutgoingEmail.status == "sending", OutgoingEmail.claimed_until < now)
        .values(status="queued", claimed_until=None)
    )
    db.session.commit()
    due = db.session.scalars(
        sa.select(OutgoingEmail.id)
        .where(
            OutgoingEmail.status == "queued",
            OutgoingEmail.next_attempt_at <= now - OVERDUE,
        )
        .order_by(OutgoingEmail.id)
    ).all()
    for email_id in due:
        deliver(email_id, now)
    return len(due)


def site_url():
    """The site's address for links in emails: PUBLIC_BASE_URL, else where the server listens.

    Never the request's Host header: anyone can forge it, and the link would then send a real
    attendee's private link to another site.
    """
    config = current_app.config
    return config.get("PUBLIC_BASE_URL") or f"http://{config['HOST']}:{config['PORT']}"


def forget_registration(registration):
    """Erasure: emails that have not gone are dropped, and no copy keeps their address or text."""
    emails = db.session.scalars(
        sa.select(OutgoingEmail).where(OutgoingEmail.registration_id == registration.id)
    ).all()
    for email in emails:
        if email.status in ("queued", "sending"):
            email.status = "dropped"
        email.to_address = ""
        email.body = ""
        # An SMTP refusal quotes the address ("550 <name@example.org>: no such mailbox").
        email.last_error = ""
        if email.file_path:
            Path(email.file_path).unlink(missing_ok=True)
            email.file_path = None
