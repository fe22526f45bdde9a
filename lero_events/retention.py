"""Retention: personal data is kept for a set number of days after an event, then removed.

RETENTION_DAYS (default 90) after an event's end, or the event's own `retention_days`, its
registrations lose name, email, live-room name and access needs; their private links (and the
live passes made from them) stop working, and a live-room connection of theirs, or of a
guest, still open is closed; from that date the live room lets no participant or guest in
(`passed`). Guests' names leave its contributions and support requests; its
sent-mail log (outbox rows and `.eml` files) and its live room's replay log are deleted. What
the evidence counts stays: each registration row with its status, times, attendance and
organisation, every contribution (anonymous now) and every support request (a number on the
evidence page). The task queue runs `purge_due` every hour; `flask --app app purge` runs it by
hand. Running it again removes nothing new.
"""

import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from . import presence
from .contributions import author_for_registration
from .extensions import db
from .models import (
    Contribution,
    Event,
    LiveConnection,
    OutgoingEmail,
    PersonalDataAccess,
    Registration,
    RoomUpdate,
    SupportRequest,
    utcnow,
)

FINISHED = ("sent", "filed", "failed", "dropped")


@dataclass
class PurgeReport:
    """What one run removed (or, in a dry run, would remove)."""

    registrations: int = 0
    guest_names: int = 0
    support_names: int = 0
    emails: int = 0
    email_files: int = 0
    room_updates: int = 0
    events: list[str] = field(default_factory=list)

    @property
    def removed_anything(self):
        return any(
            (
                self.registrations,
                self.guest_names,
                self.support_names,
                self.emails,
                self.email_files,
                self.room_updates,
            )
        )

    def lines(self):
        return [
            f"personal data of {self.registrations} registration(s)",
            f"{self.guest_names} guest name(s) on reflections",
            f"{self.support_names} guest name(s) on support requests",
            f"{self.emails} email(s) from the sent-mail log and {self.email_files} .eml file(s)",
            f"{self.room_updates} live-room replay update(s)",
        ]


def retention_days(event):
    """How many days after its end an event keeps its attendees' personal data."""
    if event.retention_days is not None:
        return event.retention_days
    return int(current_app.config["RETENTION_DAYS"])


def purge_date(event):
    return event.ends_at + timedelta(days=retention_days(event))


def passed(event, now=None):
    """Whether the event's retention period is over: from then on its personal data is due for
    removal, and its live room lets no participant or guest in (the purge runs hourly, so this
    does not wait for it)."""
    return purge_date(event) <= (now or utcnow())


def room_closed_message(event):
    """Why the live room refuses a participant or guest once `passed(event)`."""
    days = retention_days(event)
    when = "when it ended" if days == 0 else f"{days} day{'s' * (days != 1)} after it ended"
    return (
        f"This event's personal data was removed {when}, so its live room is closed to "
        "reflections. Its harvest page stays, if its hosts shared one."
    )


def due_events(now):
    """Ended events whose retention period is over, oldest first."""
    ended = db.session.scalars(
        sa.select(Event).where(Event.ends_at <= now).order_by(Event.ends_at, Event.id)
    )
    return [event for event in ended if passed(event, now)]


def purge_due(now=None, dry_run=False):
    """Remove what is due; with dry_run, count it and change nothing."""
    now = now or utcnow()
    report = PurgeReport()
    forgotten = []
    for event in due_events(now):
        before = report.lines()
        forgotten += purge_event(event, now, report, dry_run)
        if report.lines() != before:
            report.events.append(event.slug)
    purge_unattached_emails(now, report, dry_run)
    if dry_run:
        db.session.rollback()
        return report
    db.session.commit()
    close_connections(forgotten)
    return report


def close_connections(forgotten):
    """After the commit, as erasure does: a room kept open past its end (retention of 0 days)
    may still hold a connection of someone just forgotten, registration or guest, whose
    presence row shows their name to the hosts. `forgotten`: (event id, person key) pairs."""
    connected = set(
        db.session.execute(sa.select(LiveConnection.event_id, LiveConnection.person_key)).all()
    )
    for event_id, key in forgotten:
        if (event_id, key) in connected:
            presence.close_connections_of(event_id, key)


def purge_event(event, now, report, dry_run):
    registrations = db.session.scalars(
        sa.select(Registration).where(
            Registration.event_id == event.id,
            Registration.purged_at.is_(None),
            Registration.erased_at.is_(None),
        )
    ).all()
    guests = db.session.scalars(
        sa.select(Contribution).where(
            Contribution.event_id == event.id, Contribution.guest_name.is_not(None)
        )
    ).all()
    support_guests = db.session.scalars(
        sa.select(SupportRequest).where(
            SupportRequest.event_id == event.id, SupportRequest.guest_name.is_not(None)
        )
    ).all()
    emails = db.session.scalars(
        sa.select(OutgoingEmail).where(OutgoingEmail.event_id == event.id)
    ).all()
    updates = db.session.scalar(
        sa.select(sa.func.count()).select_from(RoomUpdate).where(RoomUpdate.event_id == event.id)
    )
    report.registrations += len(registrations)
    report.guest_names += len(guests)
    report.support_names += len(support_guests)
    report.room_updates += updates
    delete_emails(emails, report, dry_run)
    if dry_run:
        return []
    for registration in registrations:
        forget_person(registration, now)
    forgotten = [(event.id, author_for_registration(r).key) for r in registrations]
    forgotten += db.session.execute(
        sa.select(LiveConnection.event_id, LiveConnection.person_key)
        .where(LiveConnection.event_id == event.id, LiveConnection.role == "guest")
        .distinct()
    ).all()
    for guest in (*guests, *support_guests):
        guest.guest_name = None
    db.session.execute(sa.delete(RoomUpdate).where(RoomUpdate.event_id == event.id))
    if registrations or guests or support_guests or emails or updates:
        db.session.add(
            PersonalDataAccess(
                event_id=event.id,
                organiser_id=None,
                what=(
                    f"Retention ({retention_days(event)} days after the event): removed the "
                    f"personal data of {len(registrations)} registration(s), "
                    f"{len(guests) + len(support_guests)} guest name(s), "
                    f"{len(emails)} email(s) and {updates} live-room replay update(s)"
                ),
            )
        )
    return forgotten


def forget_person(registration, now):
    """Blank what identifies the person; keep what the evidence counts."""
    registration.name = ""
    registration.email = ""
    registration.display_name = ""
    registration.access_needs = ""
    registration.token = secrets.token_urlsafe(32)
    registration.purged_at = now


def purge_unattached_emails(now, report, dry_run):
    """Emails tied to no event (password resets): finished ones go after RETENTION_DAYS."""
    cutoff = now - timedelta(days=int(current_app.config["RETENTION_DAYS"]))
    emails = db.session.scalars(
        sa.select(OutgoingEmail).where(
            OutgoingEmail.event_id.is_(None),
            OutgoingEmail.status.in_(FINISHED),
            OutgoingEmail.created_at <= cutoff,
        )
    ).all()
    delete_emails(emails, report, dry_run)


def delete_emails(emails, report, dry_run):
    report.emails += len(emails)
    for email in emails:
        if email.file_path and Path(email.file_path).exists():
            report.email_files += 1
            if not dry_run:
                Path(email.file_path).unlink(missing_ok=True)
        if not dry_run:
            db.session.delete(email)
