"""Registrations: places and the waitlist, private links, cancelling and erasing.

Capacity is counted and taken inside one locked transaction (a row lock on the event in
PostgreSQL, BEGIN IMMEDIATE in SQLite), so two people can never take the last seat at once.
On PostgreSQL the public form's booking holds that lock for one round trip (pg_booking).
Each change is announced (signals.py) inside its transaction; the emails it causes are written
with it and sent later by the task queue, so SMTP never slows or undoes a booking.
"""

import hmac
import secrets
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from sqlalchemy.orm import joinedload

from . import contributions, presence, signals, support
from .errors import DomainError, NotFound
from .extensions import db
from .models import Event, EventHost, Registration, utcnow
from .places import ACTIVE, CONFIRMED, WAITLISTED, holding_place, holds_place
from .visibility import NO_EVENT, event_visible

# The longest value each field may hold; the form shows the same limits.
FIELD_LIMITS = {
    "name": 120,
    "email": 254,
    "organisation": 200,
    "display_name": 80,
    "access_needs": 2000,
}
STALE_LINK = (
    "This private link does not work. It may be mistyped or cut short, or the registration "
    "behind it has been erased. Check the link in your email, or register again."
)


class RegistrationInvalid(DomainError):
    """Field-by-field reasons a registration cannot be saved."""

    def __init__(self, errors):
        super().__init__(" ".join(errors.values()))
        self.errors = errors


@dataclass
class RegistrationData:
    """What a person enters on the registration form."""

    name: str
    email: str
    organisation: str = ""
    display_name: str = ""
    access_needs: str = ""
    consent: bool = False
    # Neutral invites and emails for this person (lero_events.discreet).
    discreet: bool = False


@dataclass
class Booking:
    """A registration just written, as plain values: what its email needs, without reading
    back the row the insert wrote. `event` is the event as the caller loaded it."""

    id: int
    token: str
    name: str
    email: str
    status: str
    discreet: bool
    event: Event


@dataclass
class Registered:
    """The outcome of registering: a new registration, or the one this email already had."""

    registration_id: int
    already_registered: bool = False

    @property
    def registration(self):
        """The stored row, read when asked for (the public form never asks)."""
        return db.session.get(Registration, self.registration_id)


def validate_registration(data):
    """Tidy and check what was entered; returns the tidied data or raises RegistrationInvalid."""
    errors = {}
    for name in FIELD_LIMITS:
        setattr(data, name, (getattr(data, name) or "").strip())
    for name, limit in FIELD_LIMITS.items():
        if len(getattr(data, name)) > limit:
            errors[name] = f"Keep this to {limit} characters or fewer."
    if not data.name:
        errors["name"] = "Tell us your name."
    if "email" not in errors:
        try:
            address = validate_email(data.email, check_deliverability=False).normalized
            data.email = address.lower()
        except EmailNotValidError as error:
            errors["email"] = f"That email address does not look right: {error}"
    if not data.consent:
        errors["consent"] = (
            "Please tick the box to agree to the privacy notice, or we cannot book you."
        )
    if errors:
        raise RegistrationInvalid(errors)
    return data


def registration_problem(event, now=None):
    """Why `event` takes no registrations right now, as a DomainError, or None when it does."""
    now = now or utcnow()
    if event.status == "cancelled":
        return DomainError("This event has been cancelled, so it takes no registrations.", 410)
    if event.status != "published":
        return DomainError("This event is not open for registration yet.", 409)
    if event.ends_at <= now:
        return DomainError("This event has already taken place, so registration is closed.", 410)
    return None


def check_open(event):
    problem = registration_problem(event)
    if problem:
        raise problem


def confirmed_count(event):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Registration)
        .where(Registration.event_id == event.id, holding_place())
    )


# The statements run while the seat lock is held are built once: Core, no ORM objects.
EVENTS = Event.__table__
REGISTRATIONS = Registration.__table__
# Only what the seat rule reads (registration_problem, seats_left), not the whole event row.
SEATS = sa.select(EVENTS.c.id, EVENTS.c.status, EVENTS.c.ends_at, EVENTS.c.capacity).where(
    EVENTS.c.id == sa.bindparam("event_id")
)
LOCKED_SEATS = SEATS.with_for_update()
BOOKING_AND_SEATS = sa.select(
    sa.func.max(REGISTRATIONS.c.id).filter(
        REGISTRATIONS.c.email == sa.bindparam("email"), REGISTRATIONS.c.status.in_(ACTIVE)
    ),
    sa.func.count().filter(holding_place()),
).where(REGISTRATIONS.c.event_id == sa.bindparam("event_id"))
EVENT_TO_BOOK = (
    sa.select(Event)
    .where(Event.slug == sa.bindparam("slug"))
    .options(joinedload(Event.hosts).joinedload(EventHost.organiser))
)
LOCKED_EVENT_TO_BOOK = EVENT_TO_BOOK.with_for_update(of=Event)
NEW_REGISTRATION = sa.insert(REGISTRATIONS).returning(REGISTRATIONS.c.id)


def booking_and_seats_taken(seats, email):
    """The id of `email`'s active booking on the event (or None) and its confirmed seats, in
    one round trip: it runs while the seat lock is held, where every round trip counts."""
    row = (
        db.session.connection()
        .execute(BOOKING_AND_SEATS, {"event_id": seats.id, "email": email})
        .one()
    )
    return row[0], row[1]


def seats_left(event):
    """Free seats, or None when the event has no limit."""
    if event.capacity is None:
        return None
    return max(event.capacity - confirmed_count(event), 0)


@contextmanager
def committed():
    """Commit what the block did, or roll it all back on any failure."""
    try:
        yield
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


@contextmanager
def seat_transaction(event):
    """One transaction holding `event`'s seat lock: yields its seat columns as read under the
    lock (see lock_event), commits at the end, rolls back on any failure."""
    with committed():
        yield lock_event(event)


def lock_event(event):
    """Start the transaction that serialises everything touching `event`'s seats; returns the
    event's id, status, ends_at and capacity as they are under the lock (a row, not the ORM
    event: the seat rule reads nothing else, and reloading the whole event costs more).

    PostgreSQL: SELECT ... FOR UPDATE on the event row; others wait on it until we commit.
    SQLite: BEGIN IMMEDIATE takes the database's write lock before we count anything.
    TEST_REGISTRATION_UNLOCKED (test-only) skips the lock, to show the race it prevents.
    """
    connection = begin_seat_transaction()
    statement = SEATS if current_app.config.get("TEST_REGISTRATION_UNLOCKED") else LOCKED_SEATS
    return connection.execute(statement, {"event_id": event.id}).one()


def lock_event_at(slug):
    """lock_event for the event at `slug`, or None: the whole event, with its hosts and owner
    (what the booking's email names), in the one statement that takes the lock."""
    begin_seat_transaction()
    unlocked = current_app.config.get("TEST_REGISTRATION_UNLOCKED")
    statement = EVENT_TO_BOOK if unlocked else LOCKED_EVENT_TO_BOOK
    return db.session.scalars(statement, {"slug": slug}).unique().one_or_none()


def begin_seat_transaction():
    """The session's connection, in a transaction; on SQLite one that holds the write lock."""
    connection = db.session.connection()
    # The sqlite3 module opens a transaction only before writes; open ours first.
    if (
        connection.dialect.name == "sqlite"
        and not current_app.config.get("TEST_REGISTRATION_UNLOCKED")
        and not connection.connection.dbapi_connection.in_transaction
    ):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    return connection


def pause_for_tests():
    """TEST_REGISTRATION_PAUSE (test-only): seconds to wait between counting and writing."""
    pause = current_app.config.get("TEST_REGISTRATION_PAUSE")
    if pause:
        time.sleep(float(pause))


def register_attendee(event, data):
    """Book `data`'s person onto `event`: confirmed while seats last, waitlisted after.

    The same email registering again for the same event gets its existing registration
    back (no second seat) and its private link by email again.
    """
    data = validate_registration(data)
    check_open(event)
    with seat_transaction(event) as seats:
        return take_seat(event, seats, data)


def register_attendee_at(slug, data, viewer=None):
    """register_attendee for the event at `slug`, as the public form books: the event is read
    once, by its lock (lock_event_at), instead of once to check it and again to lock it. A
    missing or draft event is NotFound as events.get_event says; a closed one, check_open.
    PostgreSQL books in one round trip under the lock (pg_booking) unless what it read
    before the lock has moved."""
    data = validate_registration(data)
    if db.session.get_bind().dialect.name == "postgresql":
        # Imported here, not at the top: pg_booking imports this module, as outbox does.
        from . import pg_booking

        booked = pg_booking.book_at(slug, data, viewer)
        if booked is not None:
            return booked
    with committed():
        event = lock_event_at(slug)
        if event is None or not event_visible(event, viewer):
            raise NotFound(NO_EVENT)
        return take_seat(event, event, data)


def take_seat(event, seats, data):
    """The booking itself, under the seat lock: `seats` is what the lock read."""
    check_open(seats)
    existing_id, confirmed = booking_and_seats_taken(seats, data.email)
    if existing_id is not None:
        existing = db.session.get(Registration, existing_id)
        # Asking for discretion only ever adds it: nobody can undo it with a second form.
        existing.discreet = existing.discreet or data.discreet
        signals.registered.send(existing, already_registered=True)
        return Registered(existing_id, already_registered=True)
    full = seats.capacity is not None and confirmed >= seats.capacity
    pause_for_tests()
    booking = add_registration(event, data, WAITLISTED if full else CONFIRMED)
    signals.registered.send(booking)
    return Registered(booking.id)


def add_registration(event, data, status):
    """Insert the registration (one Core INSERT, inside the seat lock); returns its Booking."""
    values = {"event_id": event.id, "status": status, **registration_values(data)}
    registration_id = db.session.connection().execute(NEW_REGISTRATION, values).scalar_one()
    return Booking(
        registration_id, values["token"], data.name, data.email, status, data.discreet, event
    )


def registration_values(data):
    """A new registration's columns but its id, event and status: the private link's secret,
    the consent given now."""
    now = utcnow()
    return {
        "token": secrets.token_urlsafe(32),
        "name": data.name,
        "email": data.email,
        "organisation": data.organisation,
        "display_name": data.display_name,
        "access_needs": data.access_needs,
        "discreet": data.discreet,
        "consent_at": now,
        "consent_version": current_app.config["PRIVACY_NOTICE_VERSION"],
        "created_at": now,
    }


def private_token(registration):
    """The secret in a registration's private link, `<id>.<secret>`.

    The id finds the row; the secret (32 random bytes, 256 bits) is then compared in
    constant time, so response times say nothing about how much of a guess was right.
    The secret is kept as it is (not hashed) so a forgotten link can be emailed again.
    """
    return f"{registration.id}.{registration.token}"


def link_fingerprint(registration):
    """A keyed hash naming the registration's private link without revealing it: safe in a
    session cookie or a live pass, and different once the link is replaced (erasure)."""
    key = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(key, f"link:{private_token(registration)}".encode(), "sha256")
    return digest.hexdigest()[:32]


def registration_for_fingerprint(registration_id, fingerprint):
    """The registration whose current private link has this fingerprint, or None."""
    registration = None
    if isinstance(registration_id, int) and 0 < registration_id < 2**63:
        registration = db.session.get(Registration, registration_id)
    if registration is None or not isinstance(fingerprint, str):
        return None
    if not hmac.compare_digest(fingerprint.encode(), link_fingerprint(registration).encode()):
        return None
    return registration


def registration_for_token(token):
    """The registration a private link's token belongs to, or NotFound (a clear 404 page)."""
    number, _, secret = (token or "").partition(".")
    registration = None
    if number.isdigit() and len(number) < 19 and secret:
        registration = db.session.get(Registration, int(number))
    if registration is None or not hmac.compare_digest(
        secret.encode(), registration.token.encode()
    ):
        raise NotFound(STALE_LINK)
    return registration


def fill_free_seats(seats):
    """Promote waitlisted people, first come first served, into free seats (inside the lock:
    `seats` is what lock_event read)."""
    if registration_problem(seats) is not None:
        return []
    free = seats_left(seats)
    query = (
        sa.select(Registration)
        .where(Registration.event_id == seats.id, Registration.status == "waitlisted")
        .order_by(Registration.created_at, Registration.id)
    )
    if free is not None:
        query = query.limit(free)
    promoted = db.session.scalars(query).all()
    for registration in promoted:
        registration.status = "confirmed"
        signals.promoted.send(registration)
    return promoted


def release_seat(registration, seats):
    """Mark `registration` cancelled and hand its seat on; the caller holds the lock."""
    was_confirmed = registration.status == "confirmed"
    registration.status = "cancelled"
    registration.cancelled_at = utcnow()
    db.session.flush()
    return fill_free_seats(seats) if was_confirmed else []


def cancel_registration(registration, reason=None):
    """Cancel a place: the person gets a confirmation with the calendar's CANCEL (and the
    host's `reason` when a host cancelled it); the first waitlisted person gets the seat."""
    if registration.status == "cancelled":
        return []
    with seat_transaction(registration.event) as seats:
        db.session.refresh(registration)
        if registration.status not in ACTIVE:
            return []
        promoted = release_seat(registration, seats)
        signals.registration_cancelled.send(registration, reason=reason)
    return promoted


def erase_registration(registration):
    """Erase everything that identifies a person, at their request.

    The row stays, anonymous and cancelled, so the organiser's counts of how many booked
    and cancelled stay right, and live-room posts that point at it keep working. Its
    secret is replaced, so the old private link stops working at once.
    """
    with seat_transaction(registration.event) as seats:
        db.session.refresh(registration)
        promoted = release_seat(registration, seats) if registration.status in ACTIVE else []
        registration.name = ""
        registration.email = ""
        registration.organisation = ""
        registration.display_name = ""
        registration.access_needs = ""
        registration.token = secrets.token_urlsafe(32)
        registration.erased_at = utcnow()
        signals.registration_erased.send(registration)
    # After the commit, so a reconnect is already refused: their live connections end and the
    # hosts' "Here now" list drops them.
    person_key = contributions.author_for_registration(registration).key
    presence.close_connections_of(registration.event_id, person_key)
    support.forget_requests_of(registration)
    return promoted


def promote_into_free_seats(event):
    """Give free seats (after a capacity rise) to the waitlist, and email those promoted."""
    if not waitlisted_people(event):
        return []
    with seat_transaction(event) as seats:
        return fill_free_seats(seats)


def video_link_visible(registration, now=None):
    """The call link shows to confirmed attendees only, from shortly before the start."""
    event = registration.event
    now = now or utcnow()
    opens = event.starts_at - timedelta(
        minutes=int(current_app.config["VIDEO_LINK_OPENS_MINUTES_BEFORE"])
    )
    return (
        bool(event.video_url)
        and holds_place(registration)
        and event.status == "published"
        and opens <= now <= event.ends_at
    )


def confirmed_attendees(event):
    return db.session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event.id, holding_place())
        .order_by(Registration.id)
    ).all()


def waitlisted_people(event):
    return db.session.scalars(
        sa.select(Registration)
        .where(Registration.event_id == event.id, Registration.status == "waitlisted")
        .order_by(Registration.created_at, Registration.id)
    ).all()
