"""What hosts do in the live room: prompts, moderation, spoken phrases, pausing.

Each function checks that `host` hosts the event, changes the room in one transaction with
its room update, then broadcasts it (lero_events.broadcast.room_change).
"""

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from .broadcast import room_change
from .contributions import clean_text, record_contribution, room_contribution, views_of
from .errors import DomainError, Forbidden
from .extensions import db
from .models import Contribution, Phrase, Prompt, utcnow
from .visibility import phrase_shown, shown_in_harvest, shown_in_room

MAX_PROMPT = 300
MAX_PHRASE = 500
MAX_ATTRIBUTION = 120
MODERATION_MODES = ("pre", "post")


def require_host(event, host):
    if not event.is_hosted_by(host):
        raise Forbidden("Only this event's hosts can do that.")


def prompt_view(prompt):
    return None if prompt is None else {"id": prompt.id, "text": prompt.text}


def phrase_view(phrase):
    return {
        "id": phrase.id,
        "text": phrase.text,
        "attribution": phrase.attribution,
        "created_at": phrase.created_at.isoformat(),
    }


def set_prompt(event, host, text):
    """Put a new question to the room; contributions sent from now on answer it."""
    require_host(event, host)
    text = clean_text(text, MAX_PROMPT)
    with room_change(event) as change:
        prompt = Prompt(event_id=event.id, text=text, asked_at=utcnow())
        db.session.add(prompt)
        db.session.flush()
        event.current_prompt_id = prompt.id
        change.record("prompt", {"prompt": prompt_view(prompt)})
    return prompt


def approve_contribution(event, host, contribution_id):
    """Publish a waiting (or earlier rejected) contribution to everyone in the room."""
    return moderate(event, host, contribution_id, ("pending", "rejected"), "approved")


def reject_contribution(event, host, contribution_id):
    """Keep a waiting contribution out of the room; its author sees it was not published."""
    return moderate(event, host, contribution_id, ("pending",), "rejected")


def withdraw_contribution(event, host, contribution_id):
    """Take a published contribution back out of the room and the harvest."""
    return moderate(event, host, contribution_id, ("approved",), "withdrawn")


def moderate(event, host, contribution_id, allowed, status):
    require_host(event, host)
    with room_change(event) as change:
        contribution = room_contribution(event, contribution_id)
        if contribution.status not in allowed:
            raise DomainError(
                f"That contribution is {contribution.status}, so it cannot be {status}.",
                status=409,
            )
        contribution.status = status
        if status != "approved":
            contribution.featured = False
        contribution.moderated_at = utcnow()
        record_contribution(change, contribution)
    return contribution


def feature_contribution(event, host, contribution_id, featured=True):
    """Highlight a published contribution for the room and the harvest (or stop doing so)."""
    require_host(event, host)
    if not isinstance(featured, bool):
        raise DomainError("featured must be true or false.")
    with room_change(event) as change:
        contribution = room_contribution(event, contribution_id)
        if contribution.status != "approved":
            raise DomainError("Only a published contribution can be featured.", status=409)
        contribution.featured = featured
        record_contribution(change, contribution)
    return contribution


def capture_phrase(event, host, text, attribution=""):
    """Keep a phrase heard from a speaker: straight into the harvest, shown to the room."""
    require_host(event, host)
    text = clean_text(text, MAX_PHRASE)
    if attribution is None:
        attribution = ""
    if not isinstance(attribution, str):
        raise DomainError("attribution must be text.")
    attribution = attribution.strip()
    if len(attribution) > MAX_ATTRIBUTION:
        raise DomainError(f"Please keep the attribution under {MAX_ATTRIBUTION} characters.")
    with room_change(event) as change:
        phrase = Phrase(event_id=event.id, text=text, attribution=attribution, created_at=utcnow())
        db.session.add(phrase)
        db.session.flush()
        change.record("phrase", {"phrase": phrase_view(phrase)})
    return phrase


def set_contributions_open(event, host, is_open):
    """Pause or reopen contributions (moderation and phrases carry on either way)."""
    require_host(event, host)
    if not isinstance(is_open, bool):
        raise DomainError("open must be true or false.")
    with room_change(event) as change:
        event.contributions_open = is_open
        change.record("settings", settings_view(event))
    return event


def set_moderation_mode(event, host, mode):
    """Switch between pre-moderation (hosts approve first) and post-moderation (shown at once).

    What is already waiting stays waiting: switching never publishes it unseen.
    """
    require_host(event, host)
    if mode not in MODERATION_MODES:
        raise DomainError('mode must be "pre" or "post".')
    with room_change(event) as change:
        event.moderation = mode
        change.record("settings", settings_view(event))
    return event


def settings_view(event):
    return {"contributions_open": event.contributions_open, "moderation": event.moderation}


def room_stream(event, size, as_harvest=False):
    """What the room shows now, newest first: the newest `size` approved contributions (and
    every featured one) and phrases, as a joining client's snapshot carries them; with
    `as_harvest`, as the harvest shows them (docs/live-protocol.md section 9)."""
    shown = shown_in_harvest() if as_harvest else shown_in_room()
    approved = sa.select(Contribution).where(Contribution.event_id == event.id, shown)
    newest = db.session.scalars(
        approved.options(selectinload(Contribution.registration))
        .order_by(Contribution.moderated_at.desc(), Contribution.id.desc())
        .limit(size)
    ).all()
    shown = {contribution.id for contribution in newest}
    featured = db.session.scalars(
        approved.where(Contribution.featured, Contribution.id.not_in(shown)).options(
            selectinload(Contribution.registration)
        )
    ).all()
    contributions = newest + featured
    phrases = db.session.scalars(
        sa.select(Phrase)
        .where(Phrase.event_id == event.id, phrase_shown())
        .order_by(Phrase.created_at.desc(), Phrase.id.desc())
        .limit(size)
    ).all()
    entries = [
        (contribution.moderated_at or contribution.created_at, {"contribution": view})
        for contribution, view in zip(
            contributions, views_of(contributions, as_harvest), strict=True
        )
    ]
    entries += [(phrase.created_at, {"phrase": phrase_view(phrase)}) for phrase in phrases]
    entries.sort(key=lambda entry: entry[0], reverse=True)
    return [entry for _, entry in entries]
