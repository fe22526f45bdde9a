"""The live room's agreement: what everyone taking part agrees to, accepted once per person.

The organiser writes it (new events start from DEFAULT_AGREEMENT); an empty agreement asks
nothing. A participant or guest accepts it once, stored by their author key, and until then
the room refuses their joining, posting and resonating with AGREEMENT_FIRST, over Socket.IO
and over plain HTTP alike. Pages take the acceptance as a form; other Socket.IO clients show
the text that comes with the refusal and connect again with `accept_agreement`
(docs/live-protocol.md section 15).
"""

import sqlalchemy as sa

from .errors import DomainError
from .extensions import db
from .models import RoomAgreementAcceptance

MAX_AGREEMENT = 5000
DEFAULT_AGREEMENT = """\
We share from our own experience, and we listen without judging.
What people share here stays here: no screenshots, no names passed on.
We use first names or no names, and we never name someone who is not here.
We go gently with each other: no advice unless it is asked for.
Anyone can step away at any time, and anyone can post anonymously.
Hosts may hold back a reflection that could hurt or identify someone."""
AGREEMENT_FIRST = "Please read and accept the room agreement before taking part."


class AgreementFirst(DomainError):
    """Refused until the person accepts the room agreement; carries its text to show them."""

    status = 403

    def __init__(self, text):
        super().__init__(AGREEMENT_FIRST)
        self.text = text


def agreement_text(event):
    return (event.room_agreement or "").strip()


def clean_agreement(text):
    """The agreement as the organiser wrote it, with browser line breaks made plain."""
    text = (text or "").replace("\r\n", "\n").strip()
    if len(text) > MAX_AGREEMENT:
        raise DomainError(f"Keep the room agreement to {MAX_AGREEMENT:,} characters or fewer.")
    return text


def has_accepted(event, person_key):
    """True when there is nothing to accept, or this person accepted it already."""
    if not agreement_text(event):
        return True
    return (
        db.session.scalar(
            sa.select(RoomAgreementAcceptance.accepted_at).where(
                RoomAgreementAcceptance.event_id == event.id,
                RoomAgreementAcceptance.person_key == person_key,
            )
        )
        is not None
    )


def require_accepted(event, person_key):
    if not has_accepted(event, person_key):
        raise AgreementFirst(agreement_text(event))


def note_acceptance(event, author):
    """Add `author`'s acceptance to the current transaction (once); the caller commits."""
    if not has_accepted(event, author.key):
        db.session.add(RoomAgreementAcceptance(event_id=event.id, person_key=author.key))


def accept_agreement(event, author):
    """Record that `author` accepted the agreement; accepting again changes nothing."""
    note_acceptance(event, author)
    try:
        db.session.commit()
    except sa.exc.IntegrityError:  # the same person accepting in two tabs at once
        db.session.rollback()
