"""PostgreSQL books the public form in one message under the lock (pg_booking), from an event
it read through psycopg itself; the ordinary booking (registrations.take_seat) runs whenever
that cannot. Both must leave the same bookings and the same emails, word for word.
"""

import pytest
import sqlalchemy as sa

from lero_events import events, registrations
from lero_events.extensions import db
from lero_events.models import Event, OutgoingEmail, Registration
from lero_events.registrations import RegistrationData

from .conftest import (
    POSTGRES_URL,
    create_event,
    create_organiser,
    fresh_app,
    missing,
    postgres_available,
    statements_run,
)

# New, new and discreet, new into the waitlist (two places), then two booked addresses again:
# one asking for discretion it did not have, one on the waitlist.
PEOPLE = [
    {
        "name": "Alex Able",
        "email": "alex@example.org",
        "organisation": "Hope Street",
        "display_name": "Alex",
        "access_needs": "Captions, please.",
    },
    {"name": "Sam Sure", "email": "sam@example.org", "discreet": True},
    {"name": "Robin Rest", "email": "robin@example.org"},
    {"name": "Alex Again", "email": "alex@example.org", "discreet": True},
    {"name": "Robin Again", "email": "robin@example.org"},
]


@pytest.fixture
def postgres_app(tmp_path):
    if not postgres_available(POSTGRES_URL):
        missing(f"PostgreSQL at {POSTGRES_URL} is not answering")
    with fresh_app(tmp_path, POSTGRES_URL) as app:
        yield app


def book(app, slug, people, ordinary):
    """Book each person at `slug`, as the public form does; returns the statements that went
    through SQLAlchemy for each. `ordinary`: with a transaction already open, which the one
    message (it begins its own) leaves to the ordinary booking."""
    ran = []
    for person in people:
        with app.test_request_context(), statements_run(app) as statements:
            if ordinary:
                db.session.connection()
            registrations.register_attendee_at(slug, RegistrationData(consent=True, **person))
            db.session.remove()
        ran.append(statements)
    return ran


def bookings_and_emails(app, slug):
    """The event's registrations and emails, each email's private link and event link written
    the same way whichever registration and event they name."""
    with app.app_context():
        event = db.session.scalars(sa.select(Event).where(Event.slug == slug)).one()
        booked = db.session.scalars(
            sa.select(Registration).where(Registration.event_id == event.id).order_by("id")
        ).all()
        links = {registration.id: registration for registration in booked}
        rows = [
            (
                r.name,
                r.email,
                r.organisation,
                r.display_name,
                r.access_needs,
                r.status,
                r.discreet,
                r.consent_version,
                r.consent_at is not None,
            )
            for r in booked
        ]
        emails = []
        for email in db.session.scalars(
            sa.select(OutgoingEmail).where(OutgoingEmail.event_id == event.id).order_by("id")
        ):
            registration = links[email.registration_id]
            body = email.body.replace(f"{registration.id}.{registration.token}", "<link>")
            emails.append(
                (
                    email.kind,
                    email.to_address,
                    email.subject,
                    body.replace(f"/events/{slug}", "/events/<slug>"),
                    email.invite_method,
                    email.discreet,
                    email.status,
                    booked.index(registration),
                )
            )
    return rows, emails


def test_the_one_message_and_the_ordinary_booking_leave_the_same_bookings_and_emails(
    postgres_app,
):
    app = postgres_app
    with app.app_context():
        owner = create_organiser("owner@example.org", "Olive Owner")
        create_organiser("cohost@example.org", "Cory Cohost")
        for slug in ("one-message", "ordinary"):
            event = create_event(owner, slug=slug, title="Morning Circle", capacity=2)
            events.add_cohost(event, "cohost@example.org")
        create_event(owner, slug="unlimited-one-message", title="Open Circle")
        create_event(owner, slug="unlimited-ordinary", title="Open Circle")

    in_one_message = book(app, "one-message", PEOPLE, ordinary=False)
    ordinarily = book(app, "ordinary", PEOPLE, ordinary=True)
    book(app, "unlimited-one-message", PEOPLE[:1], ordinary=False)
    book(app, "unlimited-ordinary", PEOPLE[:1], ordinary=True)

    # The one message runs no statement through SQLAlchemy; the ordinary booking several.
    assert in_one_message == [[]] * len(PEOPLE)
    assert all(ordinarily)
    fast, slow = bookings_and_emails(app, "one-message"), bookings_and_emails(app, "ordinary")
    assert fast == slow
    rows, emails = fast
    assert [row[5:7] for row in rows] == [
        ("confirmed", True),
        ("confirmed", True),
        ("waitlisted", False),
    ]
    assert [email[0] for email in emails] == [
        "confirmed",
        "confirmed",
        "waitlisted",
        "link_again",
        "link_again",
    ]
    assert "How Olive Owner uses your data" in emails[0][3]
    assert bookings_and_emails(app, "unlimited-one-message") == bookings_and_emails(
        app, "unlimited-ordinary"
    )
