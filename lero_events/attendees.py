"""Who is coming, as an event's hosts see it: the counts, the list, the organisations and the
CSV, and what hosts do for people: move them up from the waitlist, or cancel with a reason.

Lists are filtered in Python: an event has hundreds of registrations, not millions, and the
search then matches names the way a person reads them (any case, any accents typed as shown).
"""

import csv
import io
from collections import Counter
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from . import registrations, signals
from .errors import DomainError, NotFound
from .evidence.counting import organisation_key
from .extensions import db
from .harvest.exports import csv_cell
from .models import Contribution, Registration
from .places import ACTIVE, status_of

STATUSES = ("confirmed", "waitlisted", "cancelled", "erased")
MAX_REASON = 1000


@dataclass
class Counts:
    confirmed: int = 0
    waitlisted: int = 0
    cancelled: int = 0
    erased: int = 0


@dataclass
class Attendee:
    """One registration as the list shows it."""

    registration: Registration
    contributed: bool

    @property
    def status(self):
        return status_of(self.registration)


@dataclass
class OrganisationCount:
    name: str
    confirmed: int = 0
    waitlisted: int = 0


def all_attendees(event):
    """Every registration of `event`, oldest first, with whether they posted in the live room."""
    contributed = (
        sa.select(Contribution.id).where(Contribution.registration_id == Registration.id).exists()
    )
    rows = db.session.execute(
        sa.select(Registration, contributed)
        .where(Registration.event_id == event.id)
        .options(selectinload(Registration.attendance_marked_by))
        .order_by(Registration.created_at, Registration.id)
    ).all()
    return [Attendee(registration, bool(posted)) for registration, posted in rows]


def count_by_status(attendees):
    counts = Counts()
    for attendee in attendees:
        setattr(counts, attendee.status, getattr(counts, attendee.status) + 1)
    return counts


def matching(attendees, search="", status=""):
    """Those whose name, email, organisation or live-room name contain `search`."""
    words = search.casefold().split()
    chosen = []
    for attendee in attendees:
        if status and attendee.status != status:
            continue
        r = attendee.registration
        haystack = " ".join((r.name, r.email, r.organisation, r.display_name)).casefold()
        if all(word in haystack for word in words):
            chosen.append(attendee)
    return chosen


def organisation_breakdown(attendees):
    """People holding or waiting for a place, per organisation (ignoring case and spaces, as
    the evidence and the harvest do), largest first; the most used spelling names each one."""
    groups = {}
    spellings = {}
    for attendee in attendees:
        name = " ".join(attendee.registration.organisation.split())
        if attendee.status not in ACTIVE:
            continue
        key = organisation_key(name)
        spellings.setdefault(key, Counter())[name] += 1
        group = groups.setdefault(key, OrganisationCount(name))
        setattr(group, attendee.status, getattr(group, attendee.status) + 1)
    for key, group in groups.items():
        group.name = spellings[key].most_common(1)[0][0] or "No organisation given"
    return sorted(groups.values(), key=lambda g: (-(g.confirmed + g.waitlisted), g.name.lower()))


CSV_COLUMNS = (
    "status",
    "name",
    "email",
    "organisation",
    "live-room name",
    "access needs",
    "registered at (UTC)",
    "attended at (UTC)",
    "attendance",
    "contributed",
)


def attendance_of(registration):
    """How attendance was recorded, in words."""
    if registration.attended_at is None:
        return ""
    if registration.attendance_marked_by is None:
        return "joined the live room"
    return f"marked by {registration.attendance_marked_by.name}"


def attendees_as_csv(attendees):
    """The list as a spreadsheet; every cell made safe from formula injection."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for attendee in attendees:
        r = attendee.registration
        writer.writerow(
            map(
                csv_cell,
                [
                    attendee.status,
                    r.name,
                    r.email,
                    r.organisation,
                    r.display_name,
                    r.access_needs,
                    f"{r.created_at:%Y-%m-%d %H:%M}",
                    f"{r.attended_at:%Y-%m-%d %H:%M}" if r.attended_at else "",
                    attendance_of(r),
                    "yes" if attendee.contributed else "no",
                ],
            )
        )
    return buffer.getvalue()


def registration_of(event, registration_id):
    registration = db.session.get(Registration, registration_id)
    if registration is None or registration.event_id != event.id:
        raise NotFound("There is no such registration for this event.")
    return registration


def move_from_waitlist(registration):
    """A host gives a waitlisted person a place, even beyond the capacity: their choice."""
    with registrations.seat_transaction(registration.event):
        db.session.refresh(registration)
        if registration.status != "waitlisted":
            raise DomainError(f"{registration.name} is not on the waitlist.", status=409)
        registration.status = "confirmed"
        signals.promoted.send(registration)
    return registration


def clean_reason(reason):
    reason = (reason or "").strip()
    if not reason:
        raise DomainError("Say why: the email they get gives your reason.")
    if len(reason) > MAX_REASON:
        raise DomainError(f"Keep the reason to {MAX_REASON} characters or fewer.")
    return reason


def cancel_for_attendee(registration, reason):
    """A host cancels someone's place; `reason` goes into the email they get."""
    reason = clean_reason(reason)
    if registration.status not in ACTIVE:
        raise DomainError("That registration is already cancelled.", status=409)
    return registrations.cancel_registration(registration, reason=reason)
