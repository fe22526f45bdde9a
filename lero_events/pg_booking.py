"""Booking on PostgreSQL in two round trips, one of them under the seat lock
(registrations.register_attendee_at).

Under a burst the seat lock is the queue everyone waits in, and it is held for as many round
trips as the holder makes: each one costs a turn behind every other greenlet the server runs
(parsing forms, checking CSRF), far more than the wire. So everything that does not need the
lock is done before it, in one statement outside any transaction: the event, the version of
its row (`xmin`), a new registration id from its sequence, and the address's active booking
if it has one. The email is rendered from those: for a new booking, once for each status it
can get (confirmed, waitlisted); for a booked address, its private link again. Then one
message sends BEGIN, the lock, the one statement that writes, and COMMIT, and waits once:
PostgreSQL holds the lock only while it runs them, never while the server waits for a turn.
A new address and a booked one take the same two round trips and the same lock. Both go to
psycopg directly, not through SQLAlchemy: the read's rows become ORM objects outside any
session (`loaded`), a fraction of what the ORM's joined load of them cost.

The writing statement writes nothing when what was read first has moved since: the event row
changed (its email would name an old title or time), the address was booked meanwhile, or
its booking changed. The ordinary booking (registrations.take_seat, statement by statement
under the lock) then runs instead, and answers the same.
"""

from dataclasses import dataclass

from flask import current_app
from psycopg.types.json import Jsonb
from sqlalchemy.orm.attributes import set_committed_value

from . import outbox, pg_direct, registrations, signals
from .errors import NotFound
from .models import Event, EventHost, Organiser, Registration, utcnow
from .pg_direct import (
    EVENT_LOADERS,
    REGISTRATION_LOADERS,
    column_values,
    executed,
    loaded,
    naive_utc,
)
from .places import CONFIRMED, WAITLISTED
from .visibility import NO_EVENT, event_visible

STATUSES = {"confirmed": CONFIRMED, "waitlisted": WAITLISTED}

# The event as the email names it, its hosts and owner (only what the email and the seat rule
# read of them), a new id, and the address's active booking (newest first, as take_seat picks
# it), each row with its version. Sent through psycopg itself, not the ORM: building ORM
# objects from a joined load cost more than the round trip (see `loaded`).
TO_BOOK = f"""
SELECT
    {pg_direct.columns_of(Event, "event")}, event.xmin::text,
    nextval(pg_get_serial_sequence('registration', 'id')),
    (
        SELECT json_agg(
            json_build_array(host.organiser_id, host.role, host.wellbeing, organiser.name)
            ORDER BY host.organiser_id
        )
        FROM event_host AS host JOIN organiser ON organiser.id = host.organiser_id
        WHERE host.event_id = event.id
    ),
    {pg_direct.columns_of(Registration, "booked")}, booked.version
FROM event LEFT JOIN LATERAL (
    SELECT *, xmin::text AS version FROM registration
    WHERE event_id = event.id AND email = %(email)s
        AND status IN (%(confirmed)s, %(waitlisted)s)
    ORDER BY id DESC LIMIT 1
) AS booked ON true
WHERE event.slug = %(slug)s
"""  # noqa: S608 (column names from the models)

# Run through psycopg itself (locked_and_committed): PostgreSQL's SQL, psycopg's parameters.
# TEST_REGISTRATION_UNLOCKED (test-only) leaves out pg_direct.LOCK_EVENT's FOR UPDATE.
UNLOCKED = "SELECT 1 FROM event WHERE id = %(event_id)s"
UNCHANGED_EVENT = "EXISTS (SELECT FROM event WHERE id = %(event_id)s AND xmin::text = %(version)s)"
# The emails (outbox.email_row values and the status each is for) that go with the status
# the CTE `{source}` returns.
WRITE_EMAILS = """
written AS (
    INSERT INTO outgoing_email (
        kind, to_address, subject, body, invite_method, discreet, event_id, registration_id,
        message_id, status, attempts, next_attempt_at, last_error, created_at
    )
    SELECT
        email.kind, email.to_address, email.subject, email.body, email.invite_method,
        email.discreet, email.event_id, email.registration_id, email.message_id,
        'queued', 0, %(now)s, '', %(now)s
    FROM jsonb_to_recordset(%(emails)s) AS email (
        for_status text, kind text, to_address text, subject text, body text,
        invite_method text, discreet boolean, event_id integer, registration_id integer,
        message_id integer
    )
    JOIN {source} ON {source}.status = email.for_status
    RETURNING id
)
SELECT (SELECT status FROM {source}), ARRAY(SELECT id FROM written)
"""
# A new booking: seats counted as places.holding_place says. It cannot take the lock itself:
# a statement that waits for a row lock still reads other rows as they were when it began,
# before the holder it waited for committed. BOOK_AFTER_PAUSE (TEST_REGISTRATION_PAUSE,
# test-only) sleeps between counting and writing.
NEW_BOOKING = (
    """
WITH taken AS (
    SELECT
        count(*) FILTER (
            WHERE email = %(email)s AND status IN (%(confirmed)s, %(waitlisted)s)
        ) AS booked,
        count(*) FILTER (WHERE status = %(confirmed)s AND erased_at IS NULL) AS confirmed
    FROM registration
    WHERE event_id = %(event_id)s
), registered AS (
    INSERT INTO registration (
        id, event_id, token, name, email, organisation, display_name, access_needs, discreet,
        consent_at, consent_version, created_at, status
    )
    SELECT
        %(id)s, %(event_id)s, %(token)s, %(name)s, %(email)s, %(organisation)s,
        %(display_name)s, %(access_needs)s, %(discreet)s, %(consent_at)s,
        %(consent_version)s, %(created_at)s,
        CASE WHEN confirmed >= %(capacity)s::integer THEN %(waitlisted)s ELSE %(confirmed)s END
    FROM taken
    WHERE booked = 0 AND """
    + UNCHANGED_EVENT
    + """ {pause}
    RETURNING status
),"""
    + WRITE_EMAILS.format(source="registered")
)
BOOK = NEW_BOOKING.format(pause="")
BOOK_AFTER_PAUSE = NEW_BOOKING.format(pause="AND (SELECT 1 FROM pg_sleep(%(pause)s)) = 1")
# A booked address: discretion only ever added, as take_seat does, and its link again.
BOOK_AGAIN = (
    """
WITH again AS (
    UPDATE registration SET discreet = discreet OR %(discreet)s
    WHERE id = %(id)s AND xmin::text = %(registration_version)s AND """  # noqa: S608 (constants)
    + UNCHANGED_EVENT
    + """
    RETURNING status
),"""
    + WRITE_EMAILS.format(source="again")
)


def book_at(slug, data, viewer=None):
    """register_attendee_at's booking, `data` already validated: Registered, or None when the
    ordinary booking must run instead (see above). NotFound and check_open answer as it does."""
    if not pg_direct.can_begin_own_transaction():
        return None  # the one message begins its own transaction: not inside an open one
    with registrations.committed():
        pg_direct.autocommit_connection()
        found = to_book(slug, data.email)
        if found is None or not event_visible(found.event, viewer):
            raise NotFound(NO_EVENT)
        event = found.event
        registrations.check_open(event)
        values = {"event_id": event.id, "version": found.version, "now": naive_utc(utcnow())}
        if found.existing is None:
            statement, booked = new_booking(event, data, found.registration_id, values)
        else:
            statement, booked = booking_again(found.existing, found.existing_version, data, values)
        status, email_ids = locked_and_committed(statement, values)
        if status is None:
            return None
        outbox.note_new_emails(email_ids)
    return booked


@dataclass
class ToBook:
    """What TO_BOOK read: the event (with its hosts), the version of its row, a new
    registration id, and the address's active booking (or None) with its version."""

    event: Event
    version: str
    registration_id: int
    existing: Registration | None
    existing_version: str | None


def to_book(slug, email):
    """TO_BOOK for `slug` and `email`, or None when no event has that slug."""
    with executed(TO_BOOK, {"slug": slug, "email": email, **STATUSES}) as cursor:
        row = cursor.fetchone()
    if row is None:
        return None
    event_end = len(EVENT_LOADERS)
    event_values = column_values(EVENT_LOADERS, row[:event_end])
    version, registration_id, hosts = row[event_end : event_end + 3]
    hosts = [host_of(event_values["id"], *host) for host in hosts or ()]
    event = loaded(Event, event_values, hosts=hosts)
    existing, existing_version = None, row[-1]
    if existing_version is not None:
        values = column_values(REGISTRATION_LOADERS, row[event_end + 3 : -1])
        existing = loaded(Registration, values, event=event)
    return ToBook(event, version, registration_id, existing, existing_version)


def host_of(event_id, organiser_id, role, wellbeing, name):
    """One of TO_BOOK's hosts, with the organiser's id and name (what the email shows)."""
    organiser = loaded(Organiser, {"id": organiser_id, "name": name})
    values = {"event_id": event_id, "organiser_id": organiser_id, "role": role}
    return loaded(EventHost, {**values, "wellbeing": wellbeing}, organiser=organiser)


def new_booking(event, data, registration_id, values):
    """BOOK's values, with the emails `registered` queues for each status the booking can get
    (only confirmed when the event has no limit)."""
    row = registrations.registration_values(data)
    values.update(row, id=registration_id, capacity=event.capacity)
    values.update(STATUSES)
    values["consent_at"] = values["created_at"] = values["now"]
    statuses = (CONFIRMED,) if event.capacity is None else (CONFIRMED, WAITLISTED)
    emails = []
    for status in statuses:
        booking = registrations.Booking(
            registration_id, row["token"], data.name, data.email, status, data.discreet, event
        )
        emails += emails_queued_by(booking, status)
    values["emails"] = Jsonb(emails)
    return BOOK, registrations.Registered(registration_id)


def booking_again(existing, existing_version, data, values):
    """BOOK_AGAIN's values: the email `registered` queues for a booked address, rendered as
    its booking will be (discretion added, never taken away)."""
    set_committed_value(existing, "discreet", existing.discreet or data.discreet)
    values.update(id=existing.id, registration_version=existing_version, discreet=data.discreet)
    emails = emails_queued_by(existing, existing.status, already_registered=True)
    values["emails"] = Jsonb(emails)
    return BOOK_AGAIN, registrations.Registered(existing.id, already_registered=True)


def emails_queued_by(booking, status, **details):
    """The outbox rows signals.registered's receivers queue, collected instead of written,
    each marked with the status it is for."""
    with outbox.collected() as rows:
        signals.registered.send(booking, **details)
    return [{**row, "for_status": status} for row in rows]


def locked_and_committed(statement, values):
    """pg_direct.locked_and_committed with the seat lock: the status the booking has (None:
    nothing written) and the ids of its emails. The session's own commit then finds nothing
    to commit, and runs its after-commit hooks as usual (tasks.enqueue_committed_emails)."""
    config = current_app.config
    lock = UNLOCKED if config.get("TEST_REGISTRATION_UNLOCKED") else pg_direct.LOCK_EVENT
    pause = config.get("TEST_REGISTRATION_PAUSE") if statement is BOOK else None
    if pause:
        statement, values = BOOK_AFTER_PAUSE, {**values, "pause": float(pause)}
    return pg_direct.locked_and_committed(lock, statement, values)
