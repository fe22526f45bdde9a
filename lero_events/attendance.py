"""Attendance, recorded rather than guessed: the live room notes a person's first join, and
hosts mark by hand those who only came on the video call."""

import sqlalchemy as sa

from .errors import DomainError
from .extensions import db
from .models import Registration, utcnow
from .places import holds_place


def note_live_room_join(registration_id):
    """Note the time of a confirmed person's first join in the open transaction; later joins
    change nothing. One conditional UPDATE, so several workers and reconnects keep the
    earliest time. The live room commits it with the connection's presence row."""
    db.session.execute(
        sa.update(Registration)
        .where(Registration.id == registration_id, Registration.attended_at.is_(None))
        .values(attended_at=utcnow())
    )


def record_live_room_join(registration):
    """A first join, committed on its own (the demo's story)."""
    note_live_room_join(registration.id)
    db.session.commit()


def mark_attended(registration, host):
    """A host says this person took part (on the video call, say)."""
    if not holds_place(registration):
        raise DomainError("Only confirmed people can be marked as having attended.", status=409)
    if registration.attended_at is None:
        registration.attended_at = utcnow()
        registration.attendance_marked_by_id = host.id
        db.session.commit()


def unmark_attended(registration):
    """Undo a host's mark; a live-room join is a record, not an opinion, so it stays."""
    if registration.attended_at is not None and registration.attendance_marked_by_id is None:
        raise DomainError("They joined the live room, so their attendance stays recorded.", 409)
    registration.attended_at = None
    registration.attendance_marked_by_id = None
    db.session.commit()
