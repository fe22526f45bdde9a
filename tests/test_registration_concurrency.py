"""Capacity under concurrent registrations, on SQLite and on PostgreSQL.

As pretix does: a test-only pause between counting the seats and taking one shows that the
race is real without the lock (the event is oversold) and gone with it.
"""

import threading
import time

import pytest
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Event, OutgoingEmail, Registration

from .conftest import (
    POSTGRES_URL,
    create_event,
    csrf_token,
    fresh_app,
    missing,
    postgres_available,
)


@pytest.fixture(params=["sqlite", "postgresql"])
def concurrent_app(request, tmp_path):
    """An app on SQLite or on PostgreSQL (LERO_TEST_POSTGRES_URL), with a connection each."""
    if request.param == "postgresql":
        if not postgres_available(POSTGRES_URL):
            missing(f"PostgreSQL at {POSTGRES_URL} is not answering")
        url = POSTGRES_URL
    else:
        url = f"sqlite:///{tmp_path / 'concurrent.sqlite'}"
    with fresh_app(
        tmp_path,
        url,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 25, "max_overflow": 30, "pool_timeout": 60},
    ) as app:
        yield app


def register_at_once(app, slug, count, email=None):
    """`count` people, each their own client and address, post the form at the same moment
    (all with `email`, when given)."""
    barrier = threading.Barrier(count)
    outcomes = [None] * count

    def attempt(number):
        try:
            client = app.test_client()
            client.environ_base["REMOTE_ADDR"] = f"10.1.{number // 200}.{number % 200 + 1}"
            data = {
                "csrf_token": csrf_token(client),
                "name": f"Person {number}",
                "email": email or f"person{number}@example.org",
                "consent": "y",
            }
            barrier.wait(timeout=60)
            outcomes[number] = client.post(f"/events/{slug}/register", data=data).status_code
        except Exception as error:  # reported by the assertion below, not lost in the thread
            outcomes[number] = repr(error)

    threads = [threading.Thread(target=attempt, args=(number,)) for number in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert outcomes == [303] * count


def statuses(app, slug):
    with app.app_context():
        rows = db.session.execute(
            sa.select(Registration.status, sa.func.count())
            .join(Event, Event.id == Registration.event_id)
            .where(Event.slug == slug)
            .group_by(Registration.status)
        ).all()
    return dict(rows)


def test_fifty_concurrent_registrations_for_the_last_ten_seats_confirm_exactly_ten(
    concurrent_app,
):
    app = concurrent_app
    with app.app_context():
        create_event(slug="last-seats", capacity=15)
    early = app.test_client()
    for number in range(5):
        early.post(
            "/events/last-seats/register",
            data={
                "csrf_token": csrf_token(early),
                "name": "Early Bird",
                "email": f"early{number}@example.org",
                "consent": "y",
            },
        )
    assert statuses(app, "last-seats") == {"confirmed": 5}

    register_at_once(app, "last-seats", 50)
    assert statuses(app, "last-seats") == {"confirmed": 15, "waitlisted": 40}


def test_without_the_lock_the_race_oversells_and_with_it_it_does_not(concurrent_app):
    app = concurrent_app
    app.config["TEST_REGISTRATION_PAUSE"] = 0.1
    with app.app_context():
        create_event(slug="unlocked", capacity=10)
        create_event(slug="locked", capacity=10)

    app.config["TEST_REGISTRATION_UNLOCKED"] = True
    register_at_once(app, "unlocked", 20)
    oversold = statuses(app, "unlocked")
    assert oversold.get("confirmed", 0) > 10, f"the race did not show: {oversold}"

    app.config["TEST_REGISTRATION_UNLOCKED"] = False
    register_at_once(app, "locked", 20)
    assert statuses(app, "locked") == {"confirmed": 10, "waitlisted": 10}


def emails(app):
    with app.app_context():
        rows = db.session.execute(
            sa.select(OutgoingEmail.kind, OutgoingEmail.to_address, OutgoingEmail.subject).order_by(
                OutgoingEmail.id
            )
        ).all()
    return [tuple(row) for row in rows]


def test_one_address_posted_many_times_at_once_gets_one_place_and_its_link_each_time(
    concurrent_app,
):
    """The pause keeps the first booking uncommitted while the others read: on PostgreSQL
    they all find the address free before the lock, and must find it booked under it."""
    app = concurrent_app
    app.config["TEST_REGISTRATION_PAUSE"] = 0.1
    with app.app_context():
        create_event(slug="same-address", capacity=5)

    register_at_once(app, "same-address", 8, email="robin@example.org")
    assert statuses(app, "same-address") == {"confirmed": 1}
    kinds = sorted(kind for kind, _, _ in emails(app))
    assert kinds == ["confirmed"] + ["link_again"] * 7
    assert {to for _, to, _ in emails(app)} == {"robin@example.org"}


def test_an_event_renamed_while_a_booking_waits_for_the_lock_is_booked_under_its_new_name(
    tmp_path,
):
    """PostgreSQL renders the email before the lock (pg_booking); a change to the event meanwhile
    must not leave the email naming the old title."""
    if not postgres_available(POSTGRES_URL):
        missing(f"PostgreSQL at {POSTGRES_URL} is not answering")
    with fresh_app(tmp_path, POSTGRES_URL) as app:
        with app.app_context():
            event_id = create_event(slug="renamed", title="Old Title", capacity=5).id
        holder = sa.create_engine(POSTGRES_URL)
        outcome = []
        with holder.connect() as connection:
            connection.execute(
                sa.text("SELECT 1 FROM event WHERE id = :id FOR UPDATE"), {"id": event_id}
            )
            booking = threading.Thread(
                target=lambda: outcome.append(register_at_once(app, "renamed", 1))
            )
            booking.start()
            waiting_for_the_lock(connection)
            connection.execute(
                sa.text("UPDATE event SET title = 'New Title' WHERE id = :id"), {"id": event_id}
            )
            connection.commit()
        booking.join(60)
        holder.dispose()
        assert outcome == [None]
        assert statuses(app, "renamed") == {"confirmed": 1}
        assert [subject for _, _, subject in emails(app)] == ["You are booked: New Title"]


def waiting_for_the_lock(connection, timeout=30):
    """Until another session of this database waits for a lock (the booking, on the event)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        waiting = connection.scalar(
            sa.text(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
            )
        )
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the booking never waited for the lock")


def test_a_pooled_connection_the_server_closed_while_idle_is_replaced_before_registering(
    tmp_path,
):
    """Pings happen only after a connection sat idle (database.py); one the database ended
    meanwhile is then replaced, and the person registering never sees it."""
    if not postgres_available(POSTGRES_URL):
        missing(f"PostgreSQL at {POSTGRES_URL} is not answering")
    with fresh_app(tmp_path, POSTGRES_URL, DATABASE_PING_AFTER_IDLE_SECONDS=0) as app:
        with app.app_context():
            create_event(slug="after-restart", capacity=5)
            pooled = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
            db.session.remove()
        killer = sa.create_engine(POSTGRES_URL)
        with killer.connect() as connection:
            assert connection.scalar(sa.select(sa.func.pg_terminate_backend(pooled)))
        killer.dispose()

        client = app.test_client()
        data = {
            "csrf_token": csrf_token(client),
            "name": "Robin Reader",
            "email": "robin@example.org",
            "consent": "y",
        }
        assert client.post("/events/after-restart/register", data=data).status_code == 303
        assert statuses(app, "after-restart") == {"confirmed": 1}
