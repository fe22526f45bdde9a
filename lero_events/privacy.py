"""The privacy notice each organiser gives: who is the controller, why we hold what we hold,
how long we keep it and whom to ask. Shown at /privacy/<organiser>, linked from every
registration form and every email to an attendee."""

from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app

from .errors import NotFound
from .extensions import db
from .models import Event, EventHost, Organiser
from .retention import retention_days

NO_NOTICE = "There is no privacy notice at that address."


def owner_of(event):
    """The organiser who created the event: the controller of what attendees enter."""
    return next((host.organiser for host in event.hosts if host.role == "owner"), None)


@dataclass
class Notice:
    controller: Organiser
    contact: str
    default_days: int
    # (event, days kept after it) for each of the controller's events, soonest first.
    events: list[tuple[Event, int]]


def controllers():
    """Organisers who own at least one published or past event, by name."""
    return db.session.scalars(
        sa.select(Organiser)
        .join(EventHost, EventHost.organiser_id == Organiser.id)
        .join(Event, Event.id == EventHost.event_id)
        .where(EventHost.role == "owner", Event.status != "draft")
        .distinct()
        .order_by(Organiser.name, Organiser.id)
    ).all()


def notice_for(organiser_id):
    """The notice of an organiser who owns events people can see; NotFound otherwise, so
    the address says nothing about accounts that have nothing public."""
    events = db.session.scalars(
        sa.select(Event)
        .join(EventHost, EventHost.event_id == Event.id)
        .where(
            EventHost.organiser_id == organiser_id,
            EventHost.role == "owner",
            Event.status != "draft",
        )
        .order_by(Event.starts_at.desc())
    ).all()
    if not events:
        raise NotFound(NO_NOTICE)
    config = current_app.config
    return Notice(
        controller=db.session.get(Organiser, organiser_id),
        contact=config.get("PRIVACY_CONTACT") or config["MAIL_DEFAULT_SENDER"],
        default_days=int(config["RETENTION_DAYS"]),
        events=[(event, retention_days(event)) for event in events],
    )
