"""Messages hosts write to an event's registrants, and how each one's delivery went.

Composing writes the message and one outgoing email per recipient in one transaction (through
the message_composed signal), so a message to 168 people takes one quick request; the task
queue sends them. Each recipient's email is personal: their name and private link.
"""

from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa

from . import registrations, signals
from .errors import DomainError, NotFound
from .extensions import db
from .invites import public_url
from .models import EventMessage, OutgoingEmail, utcnow
from .outbox import site_url

AUDIENCES = {
    "confirmed": "Confirmed attendees",
    "waitlisted": "People on the waiting list",
    "all": "Everyone registered (confirmed and waiting)",
}
SUBJECT_LIMIT = 200
BODY_LIMIT = 10_000


class MessageInvalid(DomainError):
    """Field-by-field reasons a message cannot be sent."""

    def __init__(self, errors):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass
class Delivery:
    """How a message's emails are doing: counts by status (queued, sent, failed, ...)."""

    counts: Counter

    @property
    def total(self):
        return sum(self.counts.values())

    @property
    def waiting(self):
        return self.counts["queued"] + self.counts["sending"]


def recipients(event, audience):
    """The registrations `audience` reaches, in booking order; erased people are never reached."""
    if audience not in AUDIENCES:
        raise MessageInvalid({"audience": "Choose who the message is for."})
    people = []
    if audience in ("confirmed", "all"):
        people += registrations.confirmed_attendees(event)
    if audience in ("waitlisted", "all"):
        people += registrations.waitlisted_people(event)
    return [person for person in people if person.email]


def validate_message(subject, body):
    # Browsers send CRLF line breaks; the email and the page want plain newlines.
    subject, body = (subject or "").strip(), (body or "").replace("\r\n", "\n").strip()
    errors = {}
    if not subject:
        errors["subject"] = "Give the message a subject."
    elif len(subject) > SUBJECT_LIMIT or "\n" in subject or "\r" in subject:
        errors["subject"] = f"Keep the subject to one line of {SUBJECT_LIMIT} characters or fewer."
    if not body:
        errors["body"] = "Write the message."
    elif len(body) > BODY_LIMIT:
        errors["body"] = f"Keep the message to {BODY_LIMIT:,} characters or fewer."
    if errors:
        raise MessageInvalid(errors)
    return subject, body


def compose_message(event, author, audience, subject, body):
    """Save the message and queue one email per recipient, in one transaction."""
    subject, body = validate_message(subject, body)
    people = recipients(event, audience)
    if not people:
        raise MessageInvalid({"audience": f"Nobody is in that group yet: {AUDIENCES[audience]}."})
    message = EventMessage(
        event_id=event.id,
        author_id=author.id,
        audience=audience,
        subject=subject,
        body=body,
        created_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    signals.message_composed.send(message, recipients=people)
    db.session.commit()
    return message


def messages_for(event):
    """The event's messages, newest first, each with its delivery counts."""
    messages = db.session.scalars(
        sa.select(EventMessage)
        .where(EventMessage.event_id == event.id)
        .order_by(EventMessage.created_at.desc(), EventMessage.id.desc())
    ).all()
    counts = delivery_counts([message.id for message in messages])
    return [(message, Delivery(counts.get(message.id, Counter()))) for message in messages]


def delivery_counts(message_ids):
    rows = db.session.execute(
        sa.select(OutgoingEmail.message_id, OutgoingEmail.status, sa.func.count())
        .where(OutgoingEmail.message_id.in_(message_ids))
        .group_by(OutgoingEmail.message_id, OutgoingEmail.status)
    ).all()
    counts = {}
    for message_id, status, count in rows:
        counts.setdefault(message_id, Counter())[status] = count
    return counts


def get_message(event, message_id):
    message = db.session.get(EventMessage, message_id)
    if message is None or message.event_id != event.id:
        raise NotFound("There is no such message for this event.")
    return message


def follow_up_draft(event, next_event=None):
    """A thank-you after the event: the harvest link and, when given, the next booking link."""
    base = site_url()
    lines = [
        f"Thank you for being part of {event.title}.",
        "",
        "Everything we gathered together, the reflections, the phrases we heard and the found "
        "poem, is on the harvest page:",
        public_url("harvest.show", base, slug=event.slug),
    ]
    if next_event is not None:
        lines += [
            "",
            f"The conversation goes on: {next_event.title} is open for booking.",
            public_url("registration.register", base, slug=next_event.slug),
        ]
    lines += ["", "With thanks,", ", ".join(host.organiser.name for host in event.hosts)]
    return f"Thank you for coming: {event.title}", "\n".join(lines)
