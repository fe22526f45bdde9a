"""Reminders a day and an hour before the start: once each, to confirmed attendees only.

The clock is an argument of `send_due_reminders`, so the tests move time without sleeping.
"""

from datetime import datetime, timedelta

from lero_events import reminders
from lero_events.extensions import db
from lero_events.models import Event

from .conftest import create_event, create_registration, csrf_token, login


def in_days(days, hour=18):
    """A wall-clock time in London, `days` from today."""
    return (datetime.now() + timedelta(days=days)).replace(
        hour=hour, minute=0, second=0, microsecond=0
    )


def reminders_at(app, moment):
    """Run the reminder check as the queue's periodic task would at `moment`."""
    with app.app_context():
        return [(event.slug, kind) for event, kind in reminders.send_due_reminders(now=moment)]


def event_starts(app, slug):
    with app.app_context():
        return db.session.scalar(db.select(Event.starts_at).where(Event.slug == slug))


def test_reminders_go_once_a_day_and_an_hour_before_to_confirmed_people(app, smtp_server):
    with app.app_context():
        event = create_event(
            slug="big-conversation",
            starts_at=in_days(3),
            capacity=1,
            video_url="https://meet.example.org/big",
        )
        create_registration(event, name="Ada Booked", email="ada@example.org")
        create_registration(event, email="wait@example.org", status="waitlisted")
        create_registration(event, email="gone@example.org", status="cancelled")
    start = event_starts(app, "big-conversation")

    assert reminders_at(app, start - timedelta(days=2)) == []
    assert reminders_at(app, start - timedelta(hours=23, minutes=59)) == [
        ("big-conversation", "day")
    ]
    assert reminders_at(app, start - timedelta(hours=23, minutes=58)) == [], "never twice"
    assert reminders_at(app, start - timedelta(hours=5)) == []
    (day,) = smtp_server.messages()
    assert day["To"] == "ada@example.org"
    assert day["Subject"] == "Tomorrow: A Big Conversation"
    assert "Hello Ada Booked" in day.get_body(("plain",)).get_content()

    assert reminders_at(app, start - timedelta(minutes=59)) == [("big-conversation", "hour")]
    assert reminders_at(app, start - timedelta(minutes=30)) == []
    assert reminders_at(app, start + timedelta(minutes=5)) == []
    _, hour = smtp_server.messages()
    assert hour["To"] == "ada@example.org"
    assert hour["Subject"] == "Starting in an hour: A Big Conversation"
    body = hour.get_body(("plain",)).get_content()
    assert "Join the video call: https://meet.example.org/big" in body
    assert "http://localhost/r/" in body


def test_a_moved_event_is_reminded_for_its_new_time_only(app, client, smtp_server):
    with app.app_context():
        event = create_event(slug="big-conversation", starts_at=in_days(3))
        create_registration(event, email="ada@example.org")
    old_start = event_starts(app, "big-conversation")
    assert reminders_at(app, old_start - timedelta(hours=23)) == [("big-conversation", "day")]

    new_local = in_days(5, hour=19)
    login(client)
    moved = client.post(
        "/organiser/events/big-conversation/edit",
        data={
            "csrf_token": csrf_token(client, "/organiser/events/big-conversation/edit"),
            "title": "A Big Conversation",
            "slug": "big-conversation",
            "timezone": "Europe/London",
            "starts_at": f"{new_local:%Y-%m-%dT%H:%M}",
            "ends_at": f"{new_local + timedelta(minutes=90):%Y-%m-%dT%H:%M}",
            "remind_day_before": "y",
            "remind_hour_before": "y",
        },
    )
    assert moved.status_code == 302
    new_start = event_starts(app, "big-conversation")
    assert new_start > old_start

    assert reminders_at(app, old_start - timedelta(minutes=50)) == [], "the old time is gone"
    assert reminders_at(app, new_start - timedelta(hours=23)) == [("big-conversation", "day")]
    assert reminders_at(app, new_start - timedelta(hours=22)) == []
    assert reminders_at(app, new_start - timedelta(minutes=45)) == [("big-conversation", "hour")]
    subjects = [m["Subject"] for m in smtp_server.messages()]
    assert subjects == [
        "Tomorrow: A Big Conversation",
        "Changed: A Big Conversation",
        "Tomorrow: A Big Conversation",
        "Starting in an hour: A Big Conversation",
    ]


def test_no_day_reminder_for_an_event_created_later_than_it_and_none_when_switched_off(
    app, smtp_server
):
    soon = datetime.now().replace(second=0, microsecond=0) + timedelta(hours=10)
    with app.app_context():
        late = create_event(slug="late", starts_at=soon)
        quiet = create_event(slug="quiet", starts_at=soon, remind_day_before=False)
        quiet.remind_hour_before = False
        db.session.commit()
        create_registration(late, email="ada@example.org")
        create_registration(quiet, email="ada@example.org")
    start = event_starts(app, "late")
    assert reminders_at(app, start - timedelta(hours=9)) == []
    assert reminders_at(app, start - timedelta(minutes=55)) == [("late", "hour")]
    assert [m["Subject"] for m in smtp_server.messages()] == [
        "Starting in an hour: A Big Conversation"
    ]


def test_the_queue_runs_the_reminder_check_as_a_periodic_task(app):
    from lero_events import tasks

    periodic = {task.name for task in tasks.huey.read_periodic(datetime.now())}
    assert {"send_reminders", "sweep_outbox"} <= periodic
