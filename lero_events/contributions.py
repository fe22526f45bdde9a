"""What participants say in the live room: contributions and resonance.

Every change is validated, written with its room update in one transaction, then broadcast
(lero_events.broadcast.room_change). Socket handlers and any HTTP view call these functions.
"""

import hashlib
import re
import uuid
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import selectinload

from . import broadcast, consent, pg_contribution, pg_direct, presence, room_limits
from .agreement import require_accepted
from .broadcast import room_change, tell_author
from .errors import DomainError, Forbidden, NotFound
from .extensions import db
from .models import Contribution, Prompt, Registration, Resonance, utcnow
from .naming import author_name, harvest_name, registration_name
from .places import holds_place
from .security import whole_number
from .visibility import allowed_in_harvest, in_room, prompt_heard, room_text_visible

MAX_TEXT = 500
MAX_GUEST_NAME = 80
GUEST_KEY = re.compile(r"[A-Za-z0-9_-]{16,100}")
ROOM_CANCELLED = "This event has been cancelled, so its live room is closed."
NOT_IN_ROOM = "That contribution is not in this room."


@dataclass(frozen=True)
class Author:
    """Someone who may contribute: a confirmed registration or a named guest."""

    key: str
    name: str
    registration_id: int | None = None
    guest_name: str | None = None
    # The client address (a keyed hash) it is connected from, for the limit per address.
    address_key: str | None = None


def registration_author_key(registration):
    """A booked person's key in the room: on their contributions, resonance and connections."""
    return f"r:{registration.id}"


def author_for_registration(registration):
    return Author(
        key=registration_author_key(registration),
        name=registration_name(registration),
        registration_id=registration.id,
    )


def author_for_guest(event, guest_name, guest_key):
    """A guest, known again on reconnect by the random key their browser keeps."""
    if not isinstance(guest_name, str) or not isinstance(guest_key, str):
        raise DomainError("Please tell us the name to show next to what you write.")
    name = " ".join(guest_name.split())
    if not name or len(name) > MAX_GUEST_NAME or not GUEST_KEY.fullmatch(guest_key):
        raise DomainError("Please tell us the name to show next to what you write.")
    digest = hashlib.sha256(f"{event.id}:{guest_key}".encode()).hexdigest()[:40]
    return Author(key=f"g:{digest}", name=name, guest_name=name)


def clean_text(value, limit, what="text"):
    """Text as typed, trimmed; refused when empty, too long or not text at all."""
    if not isinstance(value, str):
        raise DomainError(f"{what} must be text.")
    text = value.strip()
    if not text:
        raise DomainError("Please write something before sending.")
    if len(text) > limit:
        raise DomainError(f"Please keep it under {limit} characters (yours has {len(text)}).")
    return text


def session_ended(event, now=None):
    """True once the event's end plus the grace period has passed."""
    grace = timedelta(minutes=int(current_app.config["LIVE_GRACE_MINUTES"]))
    return (now or utcnow()) > event.ends_at + grace


def contributions_closed_reason(event, now=None):
    """Why the room takes no contributions right now, or None when it does."""
    if event.status == "cancelled":
        return ROOM_CANCELLED
    if session_ended(event, now):
        return "This session has ended, so it no longer takes contributions."
    if not event.contributions_open:
        return "Contributions are paused by the hosts for now."
    return None


def submit_contribution(
    event, author, client_id, text, prompt_id=None, anonymous=False, sharing=None
):
    """Save a contribution once per client_id and share it as the moderation mode says;
    `sharing` is the author's choice for the published harvest (consent.py).

    Returns (contribution, created, view), the view as the protocol shows it to the author,
    built before the commit expires the row. A retry with a client_id this author already used
    returns the stored contribution, whatever the room's state now, so a lost ack never loses
    or duplicates anything.
    """
    client_id = clean_client_id(client_id)
    if prompt_id is not None and not whole_number(prompt_id):
        raise DomainError("prompt_id must be a number or null.")
    if not isinstance(anonymous, bool):
        raise DomainError("anonymous must be true or false.")
    sharing = consent.clean_sharing(sharing)
    text = clean_text(text, MAX_TEXT)
    # Asked before the room's lock is taken (room_limits says why), counted after the commit.
    address_full = author.address_key is not None and not (
        room_limits.contribution_allowed_from(author.address_key)
    )

    fields = {
        "client_id": client_id,
        "text": text,
        "prompt_id": prompt_id,
        "anonymous": anonymous,
        "sharing": sharing,
    }
    seconds = int(current_app.config["LIVE_RATE_LIMIT_SECONDS"])
    since = utcnow() - timedelta(seconds=seconds)
    if not address_full and one_round_trip_possible():
        written = submitted_in_one_round_trip(event, author, fields, since)
        if written is not None:
            return written
    return submitted_under_lock(event, author, fields, since, address_full)


def one_round_trip_possible():
    """On PostgreSQL, with prepared statements, and no transaction open in the session
    (pg_contribution)."""
    return (
        current_app.config["DATABASE_PREPARED_STATEMENTS"]
        and db.session.get_bind().dialect.name == "postgresql"
        and pg_direct.can_begin_own_transaction()
    )


def submitted_in_one_round_trip(event, author, fields, since):
    """submit_contribution's answer when pg_contribution wrote it, else None: the ordinary
    path then checks and answers (a resend, a closed room, a refusal)."""
    grace = timedelta(minutes=int(current_app.config["LIVE_GRACE_MINUTES"]))
    now = utcnow()
    event_id = event.id  # the commit below expires the row: no reload just for its id
    row = contribution_row(event_id, author, "pending", now, **fields)
    limit = int(current_app.config["LIVE_RATE_LIMIT_COUNT"])
    written = pg_contribution.contribute(row, since, now - grace, limit)
    db.session.commit()  # gives back the connection it took in autocommit mode
    if written is None:
        return None
    row = contribution_row(event_id, author, written.status, now, id=written.id, **fields)
    # As saved, in no session: building it as a new object cost five times as much.
    contribution = pg_direct.loaded(Contribution, row, registration=written.registration)
    chain_author = None if written.status == "approved" else author.key
    change = broadcast.change_written(written.event, written.seq, written.prev, chain_author)
    record_contribution(change, contribution, resonance_count=0)
    broadcast.written_change_committed(change)
    return shared(event_id, author, contribution)


def submitted_under_lock(event, author, fields, since, address_full):
    """submit_contribution's ordinary path: the room locked, then each check and the write
    statement by statement."""
    # Read with the locked row: whether this client_id is saved already (a resend racing its
    # original may not see it, and meets the unique constraint below instead), and how many
    # the author sent lately (one in flight at the same time may not be counted).
    values = {
        "event_id": event.id,
        "client_id": fields["client_id"],
        "author_key": author.key,
        "since": since,
    }
    # On PostgreSQL the new row's id is read with the lock too, and the row is written in the
    # statement that writes the room's update (RoomChange.write_with): one round trip fewer.
    written_with_update = db.session.get_bind().dialect.name == "postgresql"
    also = (SAVED_ID, RECENT_COUNT, NEXT_ID) if written_with_update else (SAVED_ID, RECENT_COUNT)
    try:
        with room_change(event, also=also, values=values) as change:
            saved_id, recent, *next_id = change.also
            if saved_id is not None:
                return resent(event, author, fields["client_id"])
            require_accepted(event, author.key)
            reason = contributions_closed_reason(event)
            if reason:
                raise DomainError(reason, status=409)
            # The mode may have changed while this waited for the lock.
            status = "approved" if event.moderation == "post" else "pending"
            registration = check_still_registered(author)
            prompt_id = fields["prompt_id"]
            if prompt_id is not None:
                prompt = db.session.get(Prompt, prompt_id)
                # A prepared question is part of the room only once a host has asked it.
                if prompt is None or prompt.event_id != event.id or not prompt_heard(prompt):
                    raise DomainError("That prompt is not part of this event.")
            check_rate_limit(recent, address_full)

            row = contribution_row(event.id, author, status, utcnow(), **fields)
            # Core, not the ORM's unit of work: the row is written as it is and shown from
            # what was written (below), with nothing for the commit to expire.
            if written_with_update:
                row["id"] = next_id[0]
                change.write_with(ADD_CONTRIBUTION_WITH_ID, row)
            else:
                row["id"] = db.session.execute(ADD_CONTRIBUTION, row).scalar_one()
            contribution = Contribution(registration=registration, **row)
            # Nobody can have resonated with it yet: no count to ask.
            record_contribution(change, contribution, resonance_count=0)
            event_id = event.id
    except sa.exc.IntegrityError:
        # The same client_id saved first by a resend racing its original. The room lock makes
        # this rare (the check above sees committed rows), but the unique constraint is the
        # guarantee, so its violation means "already saved", never an error (room_change has
        # rolled back).
        return resent(event, author, fields["client_id"])
    return shared(event_id, author, contribution)


def shared(event_id, author, contribution):
    """A new contribution, committed and on its way to the room: its author's other tabs
    hear of it, and its address has sent one more."""
    view = contribution_view(contribution, resonance_count=0)
    if contribution.status == "approved":
        tell_author(event_id, author.key, view)
    if author.address_key is not None:
        room_limits.count_contribution_from(author.address_key)
    return contribution, True, view


def contribution_row(event_id, author, status, now, **fields):
    """A new contribution's row with every column given (`fields`: what the author sent): it
    is written with Core and shown as it is here (submit_contribution)."""
    return {
        "event_id": event_id,
        "registration_id": author.registration_id,
        "guest_name": author.guest_name,
        "author_key": author.key,
        **fields,
        "status": status,
        "featured": False,
        "created_at": now,
        "moderated_at": now if status == "approved" else None,
        "taken_down_at": None,
        "held_back_reason": "",
        "redacted": "",
    }


def clean_client_id(client_id):
    if not isinstance(client_id, str):
        raise DomainError("client_id must be a UUID.")
    try:
        return str(uuid.UUID(client_id))
    except ValueError:
        raise DomainError("client_id must be a UUID.") from None


def saved_query(event, client_id):
    """The contribution saved in `event` with `client_id`, if any."""
    return sa.select(Contribution).where(
        Contribution.event_id == event.id, Contribution.client_id == client_id
    )


# Read with the room's locked row for each new contribution, built once (room_change).
SAVED_ID = (
    sa.select(Contribution.id)
    .where(
        Contribution.event_id == sa.bindparam("event_id"),
        Contribution.client_id == sa.bindparam("client_id"),
    )
    .scalar_subquery()
)
RECENT_COUNT = (
    sa.select(sa.func.count(Contribution.id))
    .where(
        Contribution.event_id == sa.bindparam("event_id"),
        Contribution.author_key == sa.bindparam("author_key"),
        Contribution.created_at > sa.bindparam("since"),
    )
    .scalar_subquery()
)
ADD_CONTRIBUTION = sa.insert(Contribution.__table__).returning(Contribution.__table__.c.id)
# PostgreSQL: the id taken with the lock, the row written with the room's update.
NEXT_ID = sa.select(
    sa.func.nextval(sa.func.pg_get_serial_sequence("contribution", "id"))
).scalar_subquery()
ADD_CONTRIBUTION_WITH_ID = sa.insert(Contribution.__table__)


def resent(event, author, client_id):
    """A resend's answer: (contribution, False, view) for the one this author saved with
    `client_id`, whatever the room's state now, so a lost ack never loses or duplicates."""
    saved = db.session.scalar(saved_query(event, client_id))
    if saved is None or saved.author_key != author.key:
        raise DomainError("That client_id is already used; make a new one.")
    return saved, False, contribution_view(saved)


def check_still_registered(author):
    """A place cancelled or erased since joining takes its voice with it. Returns the
    author's registration (None for a guest)."""
    if author.registration_id is None:
        return None
    registration = db.session.get(Registration, author.registration_id)
    if not holds_place(registration):
        raise Forbidden("Your place at this event is no longer confirmed, so you cannot post.")
    return registration


def check_rate_limit(recent, address_full=False):
    """Refuse flooding: per person in the database (`recent`, how many the author sent
    within the window), so it holds across workers and restarts, and per client address in
    the rate-limit store, so new guest keys do not multiply it."""
    if recent >= int(current_app.config["LIVE_RATE_LIMIT_COUNT"]) or address_full:
        raise DomainError(
            "You are sending a lot very quickly: please wait a few seconds and try again.",
            status=429,
        )


def record_contribution(change, contribution, resonance_count=None):
    """Record a contribution's new state for whoever may see it now.

    Only its id is stored for replay (see `replay`), so the stored history never keeps a name
    or a text that has been erased or withdrawn since. Public updates also carry the view the
    harvest allows (consent.py), for the harvest page and, after the session, the room.
    """
    stored = {"contribution": {"id": contribution.id}}
    # The waiting and held-back counts may have changed: the room hears at its next presence
    # tick, never once per post.
    presence.changed(contribution.event_id)
    if contribution.status in ("approved", "withdrawn"):
        public = in_room(contribution)
        if resonance_count is None:
            resonance_count = resonance_counts([contribution.id]).get(contribution.id, 0)
        view = contribution_view(contribution, public, resonance_count)
        harvest_view = contribution_view(contribution, public, resonance_count, as_harvest=True)
        change.record(
            "contribution",
            {"contribution": view},
            stored=stored,
            harvest_data={"contribution": harvest_view},
            crowd_sees_harvest=session_ended(change.event),
        )
    else:
        change.record(
            "contribution",
            {"contribution": contribution_view(contribution, resonance_count=resonance_count)},
            audience="hosts",
            author_key=contribution.author_key,
            stored=stored,
        )


def toggle_resonance(event, participant_key, contribution_id):
    """Mark (or unmark) an approved contribution as resonating; returns (resonating, count)."""
    require_accepted(event, participant_key)
    contribution = room_contribution(event, contribution_id)
    if not in_room(contribution):
        raise NotFound(NOT_IN_ROOM)
    with room_change(event) as change:
        mark = db.session.get(Resonance, (contribution.id, participant_key))
        if mark is None:
            db.session.add(
                Resonance(contribution_id=contribution.id, participant_key=participant_key)
            )
        else:
            db.session.delete(mark)
        db.session.flush()
        count = resonance_counts([contribution.id]).get(contribution.id, 0)
        # Only the latest count is kept for replay: toggles never pile up (protocol 10.4).
        change.record(
            "resonance",
            {"contribution_id": contribution.id, "count": count},
            replaces="contribution_id",
        )
    return mark is None, count


def room_contribution(event, contribution_id, author=None):
    """The contribution with this id in this event's room, or a NotFound for the person.
    With `author`, only one of theirs: anyone else's is as missing as one never sent, so
    nobody learns what waits unseen."""
    if not whole_number(contribution_id):
        raise DomainError("contribution_id must be a number.")
    contribution = db.session.get(Contribution, contribution_id)
    if contribution is not None and contribution.event_id != event.id:
        contribution = None
    if author is not None and (contribution is None or contribution.author_key != author.key):
        raise NotFound("That reflection is not one of yours.")
    if contribution is None:
        raise NotFound(NOT_IN_ROOM)
    return contribution


def resonance_counts(contribution_ids):
    if not contribution_ids:
        return {}
    rows = db.session.execute(
        sa.select(Resonance.contribution_id, sa.func.count())
        .where(Resonance.contribution_id.in_(contribution_ids))
        .group_by(Resonance.contribution_id)
    )
    return dict(rows.all())


def resonated_by(event, participant_key):
    return db.session.scalars(
        sa.select(Resonance.contribution_id)
        .join(Contribution, Contribution.id == Resonance.contribution_id)
        .where(Contribution.event_id == event.id, Resonance.participant_key == participant_key)
        .order_by(Resonance.contribution_id)
    ).all()


def contribution_view(contribution, with_text=True, resonance_count=None, as_harvest=False):
    """A contribution as the protocol shows it; without its text once it is not public.

    `as_harvest`: as the harvest may show it (docs/live-protocol.md section 16): under the
    harvest's name rule, and `hidden` (no text, no name) when its author kept it to the room.
    """
    if resonance_count is None:
        resonance_count = resonance_counts([contribution.id]).get(contribution.id, 0)
    hidden = as_harvest and not allowed_in_harvest(contribution)
    with_text = with_text and not hidden
    name = harvest_name(contribution) if as_harvest else author_name(contribution)
    return {
        "id": contribution.id,
        "client_id": contribution.client_id,
        "text": contribution.text if with_text else "",
        "author": name if with_text else "",
        "anonymous": contribution.anonymous,
        "sharing": contribution.sharing,
        "hidden": hidden,
        "status": contribution.status,
        "featured": contribution.featured,
        "prompt_id": contribution.prompt_id,
        "resonance_count": resonance_count,
        "created_at": contribution.created_at.isoformat(),
        "held_back_reason": contribution.held_back_reason if with_text else "",
        "redacted": redacted_labels(contribution),
    }


def redacted_labels(contribution):
    return [label for label in (contribution.redacted or "").split(",") if label]


def mine(event, author_key):
    """Every reflection of the author's that still exists, as the author sees it: waiting,
    held back (with the reason), redacted (with what was removed) or shared, each one they
    may still take down (docs/live-protocol.md sections 14 and 16)."""
    return [
        contribution
        for contribution in contributions_for(event, author_key=author_key)
        if contribution.status != "taken_down"
    ]


def contributions_for(event, status=None, author_key=None):
    query = (
        sa.select(Contribution)
        .where(Contribution.event_id == event.id)
        .options(selectinload(Contribution.registration))
        .order_by(Contribution.id)
    )
    if status is not None:
        query = query.where(Contribution.status == status)
    if author_key is not None:
        query = query.where(Contribution.author_key == author_key)
    return db.session.scalars(query).all()


def views_of(contributions, as_harvest=False):
    counts = resonance_counts([contribution.id for contribution in contributions])
    return [
        contribution_view(c, resonance_count=counts.get(c.id, 0), as_harvest=as_harvest)
        for c in contributions
    ]


def replay(updates, role, author_key=None, as_harvest=False):
    """Stored updates as messages, each contribution shown as it is now.

    Showing the current state rather than the stored one means names erased since are gone
    and a contribution withdrawn since reaches nobody but hosts and its author with its text.
    `as_harvest`: public contributions as the harvest may show them (consent.py).
    """
    ids = [u.payload["contribution"]["id"] for u in updates if u.kind == "contribution"]
    current = {}
    if ids:
        rows = db.session.scalars(
            sa.select(Contribution)
            .where(Contribution.id.in_(ids))
            .options(selectinload(Contribution.registration))
        )
        current = {contribution.id: contribution for contribution in rows}
    counts = resonance_counts(list(current))
    messages = []
    for update in updates:
        data = update.payload
        if update.kind == "contribution":
            contribution = current[data["contribution"]["id"]]
            with_text = room_text_visible(contribution, role, author_key)
            view = contribution_view(
                contribution,
                with_text,
                counts.get(contribution.id, 0),
                as_harvest=as_harvest and update.audience == "all",
            )
            data = {"contribution": view}
        chain = "public" if update.audience == "all" else "own"
        messages.append({"seq": update.seq, "chain": chain, "kind": update.kind, "data": data})
    return messages
