"""Evidence across an organiser's events: events run, people reached, people who came back,
and organisations reached over time."""

from dataclasses import dataclass

import sqlalchemy as sa

from ..extensions import db
from ..models import Event, EventHost, Registration, utcnow
from . import counting

RUN = "published"


@dataclass(frozen=True)
class EventLine:
    """One event that has taken place (or is under way), as the organiser page lists it."""

    event: Event
    signed_up: int
    took_part: int
    contributed: int
    guests: int
    organisations: int
    new_organisations: int
    organisations_so_far: int


@dataclass
class OrganiserEvidence:
    lines: list[EventLine]
    returning: int
    upcoming: int

    @property
    def events_run(self):
        return len(self.lines)

    @property
    def people_reached(self):
        return sum(line.took_part + line.guests for line in self.lines)

    @property
    def organisations_reached(self):
        return self.lines[-1].organisations_so_far if self.lines else 0


def organiser_figures(evidence):
    values = {
        "events_run": evidence.events_run,
        "people_reached": evidence.people_reached,
        "returning": evidence.returning,
        "organisations_reached": evidence.organisations_reached,
    }
    return [counting.figure(key, value) for key, value in values.items()]


def events_run_by(organiser, now=None):
    """Published events `organiser` hosts that have started, oldest first."""
    return db.session.scalars(
        sa.select(Event)
        .join(EventHost)
        .where(
            EventHost.organiser_id == organiser.id,
            Event.status == RUN,
            Event.starts_at <= (now or utcnow()),
        )
        .order_by(Event.starts_at, Event.id)
    ).all()


def upcoming_count(organiser, now=None):
    return db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Event)
        .join(EventHost)
        .where(
            EventHost.organiser_id == organiser.id,
            Event.status == RUN,
            Event.starts_at > (now or utcnow()),
        )
    )


def returning_count(events):
    """People who took part in two or more of `events`; the address is only compared here."""
    if len(events) < 2:
        return 0
    repeat = (
        sa.select(Registration.email)
        .where(
            Registration.event_id.in_([event.id for event in events]),
            Registration.attended_at.is_not(None),
            Registration.email != "",
        )
        .group_by(Registration.email)
        .having(sa.func.count(sa.distinct(Registration.event_id)) > 1)
        .subquery()
    )
    return db.session.scalar(sa.select(sa.func.count()).select_from(repeat))


def organiser_evidence(organiser, now=None):
    events = events_run_by(organiser, now)
    seen, lines = set(), []
    for event in events:
        authors = counting.author_keys(event)
        organisations = counting.organisation_keys(event)
        new = organisations - seen
        seen |= organisations
        lines.append(
            EventLine(
                event=event,
                signed_up=sum(counting.status_counts(event).values()),
                took_part=counting.took_part_count(event),
                contributed=counting.contributed_count(authors),
                guests=counting.guest_count(event, authors),
                organisations=len(organisations),
                new_organisations=len(new),
                organisations_so_far=len(seen),
            )
        )
    return OrganiserEvidence(lines, returning_count(events), upcoming_count(organiser, now))
