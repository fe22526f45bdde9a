"""What hosts do in the live room: prompts, moderation, spoken phrases, pausing.

Each function checks that `host` hosts the event, changes the room in one transaction with
its room update, then broadcasts it (lero_events.broadcast.room_change).
"""

import re

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from .broadcast import room_change
from .contributions import (
    NOT_IN_ROOM,
    clean_text,
    record_contribution,
    room_contribution,
    views_of,
)
from .contributions import replay as contributions_replay
from .errors import DomainError, Forbidden, NotFound
from .extensions import db
from .harvest.poem import drop_lines_no_longer_in
from .models import Contribution, Phrase, PoemLine, Prompt, utcnow
from .security import whole_number
from .visibility import phrase_shown, shown_in_harvest, shown_in_room

MAX_PROMPT = 300
MAX_PHRASE = 500
MAX_ATTRIBUTION = 120
MODERATION_MODES = ("pre", "post")
# What each host action takes (the statuses it accepts) and gives.
TRANSITIONS = {
    "approve": (("pending", "rejected"), "approved"),
    "reject": (("pending",), "rejected"),
    "withdraw": (("approved",), "withdrawn"),
}
# Undo: a rejected contribution goes back to the queue, a withdrawn one back to the room.
RESTORED = {"rejected": "pending", "withdrawn": "approved"}
BULK_ACTIONS = ("approve", "reject")
MAX_BULK = 100
# Why a host holds a reflection back, as its author reads it; "other" takes written text.
HOLD_BACK_REASONS = {
    "identifies": "It could identify someone.",
    "distressing": "It could be hard for others to read without support.",
    "off_topic": "It is not about this conversation.",
    "repeated": "Someone has said much the same already.",
}
MAX_REASON = 200
# What a host can remove from a reflection, and the marker left in its place.
REDACTION_LABELS = {
    "name": "[name removed]",
    "place": "[place removed]",
    "detail": "[detail removed]",
}
MAX_REDACTION = 200
MAX_REDACTIONS = 20


def require_host(event, host):
    if not event.is_hosted_by(host):
        raise Forbidden("Only this event's hosts can do that.")


def prompt_view(prompt):
    return None if prompt is None else {"id": prompt.id, "text": prompt.text}


def phrase_view(phrase):
    """A phrase as the protocol shows it; a withdrawn one keeps only its id and time."""
    return {
        "id": phrase.id,
        "text": "" if phrase.withdrawn else phrase.text,
        "attribution": "" if phrase.withdrawn else phrase.attribution,
        "withdrawn": phrase.withdrawn,
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
    return moderate(event, host, contribution_id, "approve")


def reject_contribution(event, host, contribution_id, reason=None, reason_text=None):
    """Hold a waiting contribution back from the room; its author sees that it was, and why
    when the host gave a reason (a key of HOLD_BACK_REASONS, or "other" with written text)."""
    held_back_reason = hold_back_reason(reason, reason_text)
    return moderate(event, host, contribution_id, "reject", held_back_reason)


def hold_back_reason(reason, reason_text=None):
    """The reason's text as the author reads it ("" for none), or a clear refusal."""
    if reason is None or reason == "":
        return ""
    if reason == "other":
        if not isinstance(reason_text, str) or not reason_text.strip():
            raise DomainError("Choose a reason from the list, or write one.")
        text = " ".join(reason_text.split())
        if len(text) > MAX_REASON:
            raise DomainError(f"Please keep the reason under {MAX_REASON} characters.")
        return text
    if not isinstance(reason, str) or reason not in HOLD_BACK_REASONS:
        raise DomainError("Choose a reason from the list, or write one.")
    return HOLD_BACK_REASONS[reason]


def hold_back_reasons():
    return [{"key": key, "text": text} for key, text in HOLD_BACK_REASONS.items()]


def withdraw_contribution(event, host, contribution_id):
    """Take a published contribution back out of the room and the harvest."""
    return moderate(event, host, contribution_id, "withdraw")


def moderate(event, host, contribution_id, action, held_back_reason=""):
    require_host(event, host)
    with room_change(event) as change:
        contribution = room_contribution(event, contribution_id)
        apply_action(change, contribution, action, held_back_reason)
    return contribution


def apply_action(change, contribution, action, held_back_reason=""):
    """Move one contribution as a host action says, inside an open room change.

    Refuses (before changing anything) when the contribution is in a state the action does
    not take, so a batch can skip it and carry on.
    """
    allowed, status = TRANSITIONS[action]
    if contribution.status not in allowed:
        raise DomainError(
            f"That contribution is {contribution.status}, so it cannot be {status}.",
            status=409,
        )
    set_status(change, contribution, status, held_back_reason)


def set_status(change, contribution, status, held_back_reason=""):
    contribution.status = status
    if status != "approved":
        contribution.featured = False
    contribution.held_back_reason = held_back_reason if status == "rejected" else ""
    contribution.moderated_at = utcnow()
    record_contribution(change, contribution)


def moderate_many(event, host, action, contribution_ids):
    """Approve or reject several contributions in one transaction, one room update each.

    Returns (changed, skipped): items not in the room or no longer in a state the action
    takes (another host was quicker) are skipped with the reason, never fail the rest.
    """
    require_host(event, host)
    if action not in BULK_ACTIONS:
        raise DomainError('action must be "approve" or "reject".')
    ids = clean_ids(contribution_ids)
    changed, skipped = [], []
    with room_change(event) as change:
        found = {
            contribution.id: contribution
            for contribution in db.session.scalars(
                sa.select(Contribution)
                .where(Contribution.event_id == event.id, Contribution.id.in_(ids))
                .options(selectinload(Contribution.registration))
            )
        }
        # Oldest first, as the queue shows them, so the room hears them in that order.
        for contribution_id in sorted(ids):
            contribution = found.get(contribution_id)
            try:
                if contribution is None:
                    raise DomainError(NOT_IN_ROOM)
                apply_action(change, contribution, action)
            except DomainError as error:
                skipped.append({"id": contribution_id, "error": error.message})
            else:
                changed.append(contribution)
    return changed, skipped


def clean_ids(values):
    if not isinstance(values, list) or not all(whole_number(value) for value in values):
        raise DomainError("contribution_ids must be a list of numbers.")
    ids = set(values)
    if not 1 <= len(ids) <= MAX_BULK:
        raise DomainError(f"Choose between 1 and {MAX_BULK} contributions.")
    return ids


def restore_contribution(event, host, contribution_id):
    """Undo a reject (back to the queue) or a withdraw (back in the room)."""
    require_host(event, host)
    with room_change(event) as change:
        contribution = room_contribution(event, contribution_id)
        status = RESTORED.get(contribution.status)
        if status is None:
            raise DomainError(
                f"That contribution is {contribution.status}, so it cannot be restored.",
                status=409,
            )
        set_status(change, contribution, status)
    return contribution


def held_back(event):
    """The rejected contributions, most recently moderated first, as the hosts' list shows
    them (a host's `state` and the hosts' page): the newest LIVE_SNAPSHOT_SIZE."""
    return views_of(
        db.session.scalars(
            sa.select(Contribution)
            .where(Contribution.event_id == event.id, Contribution.status == "rejected")
            .options(selectinload(Contribution.registration))
            .order_by(Contribution.moderated_at.desc(), Contribution.id.desc())
            .limit(int(current_app.config["LIVE_SNAPSHOT_SIZE"]))
        ).all()
    )


def redact_contribution(event, host, contribution_id, text, label):
    """Remove words (a name, a place, a detail) from a reflection instead of holding it back.

    Every occurrence, ignoring case, becomes a marker such as "[name removed]". The words are
    not kept anywhere (docs/live-protocol.md section 14 says why); lines of the found poem cut
    from the reflection change the same way, so they stay its own words in order.
    """
    require_host(event, host)
    if label not in REDACTION_LABELS:
        raise DomainError("Choose what was removed: a name, a place or a detail.")
    if not isinstance(text, str) or not text.strip() or len(text.strip()) > MAX_REDACTION:
        raise DomainError(f"Choose the words to remove (1-{MAX_REDACTION} characters).")
    words = re.compile(re.escape(text.strip()), re.IGNORECASE)
    with room_change(event) as change:
        contribution = room_contribution(event, contribution_id)
        if contribution.status not in ("pending", "approved"):
            raise DomainError(
                f"That contribution is {contribution.status}, so it cannot be redacted.",
                status=409,
            )
        if not words.search(contribution.text):
            raise DomainError("That text is not in the reflection.")
        labels = [part for part in contribution.redacted.split(",") if part]
        if len(labels) >= MAX_REDACTIONS:
            raise DomainError("This reflection has been redacted too often; hold it back instead.")
        marker = REDACTION_LABELS[label]
        redacted = words.sub(marker, contribution.text)
        if not redacted.replace(marker, "").strip(" \t\n.,;:!?-"):
            raise DomainError("Removing that would leave nothing of the reflection.")
        contribution.text = redacted
        contribution.redacted = ",".join([*labels, label])
        for line in db.session.scalars(
            sa.select(PoemLine).where(PoemLine.contribution_id == contribution.id)
        ):
            line.text = words.sub(marker, line.text)[:500]
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


def clean_phrase(text, attribution):
    text = clean_text(text, MAX_PHRASE)
    if attribution is None:
        attribution = ""
    if not isinstance(attribution, str):
        raise DomainError("attribution must be text.")
    attribution = attribution.strip()
    if len(attribution) > MAX_ATTRIBUTION:
        raise DomainError(f"Please keep the attribution under {MAX_ATTRIBUTION} characters.")
    return text, attribution


def record_phrase(change, phrase):
    """Send a phrase as it is now; only its id is kept, so replay never shows old words."""
    change.record("phrase", {"phrase": phrase_view(phrase)}, stored={"phrase": {"id": phrase.id}})


def capture_phrase(event, host, text, attribution=""):
    """Keep a phrase heard from a speaker: straight into the harvest, shown to the room."""
    require_host(event, host)
    text, attribution = clean_phrase(text, attribution)
    with room_change(event) as change:
        phrase = Phrase(event_id=event.id, text=text, attribution=attribution, created_at=utcnow())
        db.session.add(phrase)
        db.session.flush()
        record_phrase(change, phrase)
    return phrase


def room_phrase(event, phrase_id):
    if not whole_number(phrase_id):
        raise DomainError("phrase_id must be a number.")
    phrase = db.session.get(Phrase, phrase_id)
    if phrase is None or phrase.event_id != event.id:
        raise NotFound("That phrase is not in this room.")
    return phrase


def edit_phrase(event, host, phrase_id, text, attribution=""):
    """Correct a captured phrase (a misheard word, a name that must not be shared).

    Found-poem lines cut from it that are no longer its words are dropped with the change.
    """
    require_host(event, host)
    text, attribution = clean_phrase(text, attribution)
    with room_change(event) as change:
        phrase = room_phrase(event, phrase_id)
        if phrase.withdrawn:
            raise DomainError("That phrase is withdrawn, so it cannot be edited.", status=409)
        phrase.text, phrase.attribution = text, attribution
        drop_lines_no_longer_in(phrase)
        record_phrase(change, phrase)
    return phrase


def withdraw_phrase(event, host, phrase_id):
    """Take a phrase out of the room and the harvest (and its poem lines with it)."""
    return set_phrase_withdrawn(event, host, phrase_id, True)


def restore_phrase(event, host, phrase_id):
    """Undo withdrawing a phrase."""
    return set_phrase_withdrawn(event, host, phrase_id, False)


def set_phrase_withdrawn(event, host, phrase_id, withdrawn):
    require_host(event, host)
    with room_change(event) as change:
        phrase = room_phrase(event, phrase_id)
        if phrase.withdrawn == withdrawn:
            state = "already withdrawn" if withdrawn else "not withdrawn"
            raise DomainError(f"That phrase is {state}.", status=409)
        phrase.withdrawn = withdrawn
        record_phrase(change, phrase)
    return phrase


def phrases_of(event):
    """Every phrase captured for the event, withdrawn ones too, oldest first (for hosts)."""
    return db.session.scalars(
        sa.select(Phrase).where(Phrase.event_id == event.id).order_by(Phrase.created_at, Phrase.id)
    ).all()


def replay(updates, role, author_key=None, as_harvest=False):
    """Stored updates as messages, each contribution and phrase shown as it is now
    (`as_harvest`: public contributions as the harvest may show them, consent.py)."""
    messages = contributions_replay(updates, role, author_key, as_harvest)
    ids = [m["data"]["phrase"]["id"] for m in messages if m["kind"] == "phrase"]
    if ids:
        current = {
            phrase.id: phrase
            for phrase in db.session.scalars(sa.select(Phrase).where(Phrase.id.in_(ids)))
        }
        for message in messages:
            if message["kind"] == "phrase":
                message["data"] = {"phrase": phrase_view(current[message["data"]["phrase"]["id"]])}
    return messages


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
    `as_harvest`, as the harvest shows them (docs/live-protocol.md section 16)."""
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
