"""Reminders to confirmed attendees, a day and an hour before an event starts.

The queue checks every minute. A reminder is due from its moment until the next one (or the
start); a reminder is skipped for an event created after that moment, and an event whose start
moves gets reminders for the new time. A ReminderRun row, unique per event, kind and start,
is written in the same transaction as the emails, so two workers or a restart can never send
one twice: the second insert fails and its emails roll back with it.
"""

from datetime import timedelta

import sqlalchemy as sa

from . import signals
from .extensions import db
from .models import Event, ReminderRun, utcnow
from .registrations import confirmed_attendees

LEAD_TIMES = {"day": timedelta(days=1), "hour": timedelta(hours=1)}


def reminders_wanted(event):
    """The kinds this event's hosts left switched on."""
    wanted = {"day": event.remind_day_before, "hour": event.remind_hour_before}
    return [kind for kind, on in wanted.items() if on]


def due_kind(event, now):
    """Which reminder is due for `event` at `now`, or None."""
    if now >= event.starts_at:
        return None
    # The latest reminder whose moment has passed wins: after a pause, no stale "tomorrow".
    for kind in ("hour", "day"):
        moment = event.starts_at - LEAD_TIMES[kind]
        if kind in reminders_wanted(event) and moment <= now:
            return kind if event.created_at <= moment else None
    return None


def send_due_reminders(now=None):
    """Queue the reminders that are due now; returns [(event, kind), ...] sent."""
    now = now or utcnow()
    candidates = db.session.scalars(
        sa.select(Event).where(
            Event.status == "published",
            Event.starts_at > now,
            Event.starts_at <= now + LEAD_TIMES["day"],
        )
    ).all()
    sent = []
    for event in candidates:
        kind = due_kind(event, now)
        if kind and send_reminder(event, kind):
            sent.append((event, kind))
    return sent


def send_reminder(event, kind):
    """Record the reminder and queue its emails in one transaction; False if already sent."""
    already = db.session.scalar(
        sa.select(ReminderRun.id).where(
            ReminderRun.event_id == event.id,
            ReminderRun.kind == kind,
            ReminderRun.starts_at == event.starts_at,
        )
    )
    if already:
        return False
    db.session.add(ReminderRun(event_id=event.id, kind=kind, starts_at=event.starts_at))
    try:
        db.session.flush()
    except sa.exc.IntegrityError:  # another worker recorded it first
        db.session.rollback()
        return False
    signals.reminder_due.send(event, kind=kind, recipients=confirmed_attendees(event))
    db.session.commit()
    return True
