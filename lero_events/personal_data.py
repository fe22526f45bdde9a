"""The log of every look hosts take at attendees' personal data: who, when and what.

Registrations hold names, addresses and access needs (health data, in a recovery setting), so
each view of the list and each export is written down, and the event's hosts can read the log.
What people do about their own data from their private link (download, correct, erase) and
what the retention purge removes are written here too, with no organiser.
"""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .extensions import db
from .models import PersonalDataAccess


def record_access(event, organiser, what):
    """Write one line of the log, in its own commit so it stays even if the page fails.
    `organiser` None: the attendee themselves."""
    organiser_id = organiser.id if organiser is not None else None
    db.session.add(PersonalDataAccess(event_id=event.id, organiser_id=organiser_id, what=what))
    db.session.commit()


def access_log(event, limit=200):
    """The latest entries first."""
    return db.session.scalars(
        sa.select(PersonalDataAccess)
        .where(PersonalDataAccess.event_id == event.id)
        .options(selectinload(PersonalDataAccess.organiser))
        .order_by(PersonalDataAccess.accessed_at.desc(), PersonalDataAccess.id.desc())
        .limit(limit)
    ).all()
