"""The live room's Socket.IO namespace `/live`: the contract is docs/live-protocol.md.

Handlers only translate. Who a connection is gets settled once, at connect, and kept for that
connection in this worker; each event calls one domain function and returns its ack; domain
errors become `{"ok": false, "error": ...}` acks in one place (`live_event`).
"""

import functools
from dataclasses import dataclass, replace

import sqlalchemy as sa
from flask import current_app, request
from flask_login import current_user
from flask_socketio import ConnectionRefusedError, emit, join_room

from . import (
    agreement,
    attendance,
    contributions,
    live_pass,
    moderation,
    pg_direct,
    presence,
    prompts,
    retention,
    room_limits,
    room_snapshot,
    self_service,
    support,
)
from .broadcast import (
    DELIVERY_DELAYED,
    NAMESPACE,
    author_room,
    chain_head_query,
    crowd_room,
    everyone_room,
    frames_after,
    hosts_room,
    organiser_room,
    viewers_room,
    visible_updates,
)
from .contributions import Author
from .errors import DomainError, NotFound
from .events import get_event
from .extensions import db, socketio
from .harvest import live_figures
from .models import Contribution, Event, EventHost, Organiser, Resonance, SupportRequest
from .places import holds_place
from .security import unstorable, whole_number
from .visibility import harvest_access, presenter_access, sees_room_as_harvest

NOT_UNDERSTOOD = "The live room could not understand that message."
TOO_MANY_MESSAGES = "Too many messages at once: please slow down."
COULD_NOT_LET_IN = "The live room could not let you in just now; please try again."


@dataclass(frozen=True)
class Member:
    """Who one connection is: settled at connect, kept while it lasts."""

    event_id: int
    role: str
    address_key: str
    author: Author | None = None
    organiser_id: int | None = None

    @property
    def person_key(self):
        """Whom the caps and limits count: the author, the organiser, or no one (a viewer)."""
        if self.author is not None:
            return self.author.key
        return f"o:{self.organiser_id}" if self.organiser_id else None


# Connections held by this worker, by Socket.IO sid.
members = {}


@socketio.on("connect", namespace=NAMESPACE)
def connect(auth=None):
    """Validate everything, then count the connection in the one commit that follows its
    `state`: a connect that fails at any step leaves no presence row and no attendance."""
    sid = request.sid
    try:
        reads_without_transaction(auth)
        event, member, cursors = identify(auth, room_limits.address_key(request.remote_addr))
        if member.author is not None and auth.get("accept_agreement") is True:
            # Written with the presence row, in admit's one commit.
            agreement.note_acceptance(event, member.author)
        state = admit(sid, event, member, cursors)
    except agreement.AgreementFirst as error:
        db.session.rollback()
        # The client shows the agreement and connects again with accept_agreement.
        raise ConnectionRefusedError(error.message, {"agreement": error.text}) from None
    except DomainError as error:
        db.session.rollback()
        raise ConnectionRefusedError(error.message) from None
    except Exception:
        db.session.rollback()
        current_app.logger.exception("live room connect failed")
        raise ConnectionRefusedError(COULD_NOT_LET_IN) from None
    members[sid] = member
    emit("state", state)
    live_figures.start_loop(current_app._get_current_object())
    if not message_queue_live():
        emit("delivery", DELIVERY_DELAYED)


def reads_without_transaction(auth):
    """On PostgreSQL, a connect that saves nothing but an attendance reads in autocommit: no
    BEGIN and no COMMIT, two round trips of a join's four. Each of its reads is one statement,
    which sees what was committed when it began either way, and the attendance is one
    statement (`note_live_room_join`). An agreement accepted at this connect is written
    before the checks that follow it, so that connect keeps its transaction."""
    accepting = isinstance(auth, dict) and auth.get("accept_agreement") is True
    if (
        not accepting
        and db.session.get_bind().dialect.name == "postgresql"
        and pg_direct.can_begin_own_transaction()
    ):
        pg_direct.autocommit_connection()


def admit(sid, event, member, cursors):
    """Join the rooms, count the caps and build the state, then in one step
    (`presence.admitting`) count the caps again, commit the attendance and count the
    connection: in that order."""
    # Rooms first, state second: whatever is committed after the state's seq reaches this
    # connection in a frame, and the client's gap rule drops what the state already had.
    join_room(everyone_room(event.id))
    join_room({"host": hosts_room, "viewer": viewers_room}.get(member.role, crowd_room)(event.id))
    if member.role == "host":
        # Wellbeing frames go to the rooms of whoever is a wellbeing host at the change.
        join_room(organiser_room(event.id, member.organiser_id))
    if member.author is not None:
        join_room(author_room(event.id, member.author.key))
    caps = presence.CapCounts(member.person_key, member.address_key)
    state = room_state(event, member, *cursors, caps=caps)
    with presence.admitting(caps):
        if member.author is not None and member.author.registration_id is not None:
            attendance.note_live_room_join(member.author.registration_id)
        db.session.commit()  # the attendance and an agreement accepted at this connect
        # Last, once nothing can fail: the connection counts (its row is written at the tick).
        name = member.author.name if member.author else ""
        # member.event_id, not event.id: the commit above expired the event's row.
        presence.connection_opened(
            sid, member.event_id, member.role, member.person_key, name, member.address_key
        )
    return state


@socketio.on("disconnect", namespace=NAMESPACE)
def disconnect(reason=None):
    members.pop(request.sid, None)
    # Even for a connection still being let in: its row must not be written.
    presence.connection_closed(request.sid)


def message_queue_live():
    """False while this worker cannot reach the message queue (docs/live-protocol.md 10.5)."""
    return getattr(socketio.server.manager, "queue_live", True)


def cursor(value):
    """A client's cursor (last_seq, own_seq): an integer >= 0, missing means 0."""
    if value is None:
        return 0
    if not whole_number(value) or not 0 <= value < 2**63:
        raise DomainError("The live room could not understand how you are joining.")
    return value


def identify(auth, address_key):
    """The event, who is joining it and their cursors (last_seq, own_seq, support_seq), from
    `auth`. Reads only: nothing is written until everything about the connect has been checked.
    """
    if not isinstance(auth, dict) or not isinstance(auth.get("slug"), str) or unstorable(auth):
        raise DomainError("The live room could not understand how you are joining.")
    cursors = tuple(cursor(auth.get(name)) for name in ("last_seq", "own_seq", "support_seq"))
    organiser = current_user if current_user.is_authenticated else None
    try:
        event = get_event(auth["slug"], organiser)
    except NotFound:
        raise DomainError("There is no live room at that address.") from None
    if event.status == "cancelled":
        raise DomainError(contributions.ROOM_CANCELLED)

    role = auth.get("role")
    if role == "host":
        if not event.is_hosted_by(organiser):
            raise DomainError("Only this event's hosts can host the live room.")
        host = Member(event.id, "host", address_key, organiser_id=organiser.id)
        return event, host, cursors
    if role == "viewer" and "presenter_secret" in auth:
        secret = auth["presenter_secret"] if isinstance(auth["presenter_secret"], str) else None
        try:
            presenter_access(event, organiser, secret)
        except NotFound as error:
            raise DomainError(error.message) from None
        return event, Member(event.id, "viewer", address_key), cursors
    if role == "viewer":
        secret = auth.get("harvest_secret")
        try:
            harvest_access(event, organiser, secret if isinstance(secret, str) else None)
        except NotFound:
            raise DomainError("This harvest is not published yet.") from None
        return event, Member(event.id, "viewer", address_key), cursors
    if retention.passed(event):
        raise DomainError(retention.room_closed_message(event))
    if "live_pass" in auth or "token" in auth:
        author = registered_author(event, auth.get("live_pass"), auth.get("token"))
    elif "guest_name" in auth or "guest_key" in auth:
        if not event.allow_guests:
            raise DomainError("This live room is only open to registered participants.")
        author = contributions.author_for_guest(
            event, auth.get("guest_name"), auth.get("guest_key")
        )
    else:
        raise DomainError("The live room could not understand how you are joining.")
    if auth.get("accept_agreement") is not True:  # else recorded as the connection is admitted
        agreement.require_accepted(event, author.key)
    author = replace(author, address_key=address_key)
    role = "guest" if author.registration_id is None else "participant"
    return event, Member(event.id, role, address_key, author=author), cursors


def registered_author(event, pass_, token):
    """A participant: by the live pass a browser page fetched (section 11), or by the private
    token a program holding the link sends."""
    from .registrations import registration_for_token

    if pass_ is not None:
        if not isinstance(pass_, str):
            raise DomainError(live_pass.NOT_VALID)
        registration = live_pass.registration_for_live_pass(pass_, event)
    else:
        if not isinstance(token, str):
            raise DomainError("That private link is not valid.")
        try:
            registration = registration_for_token(token)
        except NotFound:
            raise DomainError("That private link is not valid.") from None
    if registration is None or registration.event_id != event.id:
        raise DomainError("That private link is not valid.")
    if not holds_place(registration):
        raise DomainError("This registration is not confirmed, so it cannot join the live room.")
    return contributions.author_for_registration(registration)


def room_state(event, member, last_seq=0, own_seq=0, support_seq=0, caps=None):
    """The `state` message: the room now, and the tail since the client's cursors when it is
    short, else a snapshot of what the room shows (docs/live-protocol.md section 2).

    For a connect, `caps` (presence.CapCounts) are counted and checked in the same round trip
    as the event row, before anything else is built."""
    author_key = member.author.key if member.author else None
    own = AUTHOR_THINGS if author_key else ()
    extra = caps.queries if caps else ()
    values = {"join_event_id": event.id, "join_author_key": author_key}
    values.update(caps.values if caps else {})
    # Read after joining the rooms: what is committed later reaches this client in a frame.
    row = db.session.execute(state_statement(own, extra), values).one()
    if caps:
        caps.check(row[1 + len(own) :])
    seq = event.live_seq
    ended = contributions.session_ended(event)
    as_harvest = sees_room_as_harvest(member.role, ended)
    shared = room_snapshot.shared_view(event, seq, as_harvest)
    state = {
        "seq": seq,
        "public_seq": shared["public_seq"],
        "role": member.role,
        "you": {"name": member.author.name, "author_key": author_key} if member.author else None,
        "event": {
            "slug": event.slug,
            "title": event.title,
            "starts_at": event.starts_at.isoformat(),
            "ends_at": event.ends_at.isoformat(),
            "ended": ended,
        },
        "prompt": shared["prompt"],
        "contributions_open": event.contributions_open,
        "moderation": event.moderation,
        **shared["counts"],
    }
    limit = int(current_app.config["LIVE_TAIL_LIMIT"])
    tail = None
    if 0 < last_seq <= seq:
        tail = visible_updates(event.id, seq, member.role, last_seq, author_key, own_seq, limit)
    if tail is not None and len(tail) <= limit:
        state["updates"] = moderation.replay(tail, member.role, author_key, as_harvest)
    else:
        state["snapshot"] = {"stream": shared["stream"]}
    if member.role == "host":
        state.update(presence.presence_for(event.id, hosts=True))
        state["queue"] = contributions.views_of(
            contributions.contributions_for(event, status="pending")
        )
        state["held_back_items"] = moderation.held_back(event)
        state["prepared"] = prompts.prepared_views(event)
        prompts.prepared_as_now(state.get("updates", []), state["prepared"])
        state["hold_back_reasons"] = moderation.hold_back_reasons()
        state.update(support.state_for_host(event, host_of(member), support_seq))
    else:
        state["present"] = presence.present_count(event.id, joining=member.person_key)
    if member.role == "viewer":
        state["figures"] = live_figures.figures_message(event)
    if member.author is not None:
        state.update(author_state(event, author_key, row[1 : 1 + len(own)]))
    return state


# Which of an author's things exist at all (and whether the room has a wellbeing host),
# asked with the event row, so someone new (most of a crowd arriving) costs nothing more.
# Built once, like every statement of the join: building one cost more than running it.
JOIN_EVENT_ID = sa.bindparam("join_event_id", type_=sa.Integer)
JOIN_AUTHOR_KEY = sa.bindparam("join_author_key", type_=sa.String)
AUTHOR_THINGS = (
    # The head as of the row read in the same statement.
    chain_head_query(JOIN_EVENT_ID, JOIN_AUTHOR_KEY, upto=Event.live_seq).scalar_subquery(),
    sa.exists().where(
        Contribution.event_id == JOIN_EVENT_ID, Contribution.author_key == JOIN_AUTHOR_KEY
    ),
    sa.exists()
    .where(Resonance.participant_key == JOIN_AUTHOR_KEY)
    .where(Resonance.contribution_id == Contribution.id)
    .where(Contribution.event_id == JOIN_EVENT_ID),
    sa.exists().where(
        SupportRequest.event_id == JOIN_EVENT_ID, SupportRequest.author_key == JOIN_AUTHOR_KEY
    ),
    sa.exists().where(EventHost.event_id == JOIN_EVENT_ID, EventHost.wellbeing),
)
_state_statements = {}


def state_statement(own, extra):
    """The event row read again with `own` (AUTHOR_THINGS or nothing) and `extra` (the cap
    counts), built once for each such set."""
    key = (own, extra)
    statement = _state_statements.get(key)
    if statement is None:
        statement = _state_statements[key] = (
            sa.select(Event, *own, *extra)
            .where(Event.id == JOIN_EVENT_ID)
            .execution_options(populate_existing=True)
        )
    return statement


def author_state(event, author_key, things):
    """What `state` tells an author about themselves, from AUTHOR_THINGS."""
    own_seq, posted, resonated, asked, support_available = things
    mine = contributions.mine(event, author_key) if posted else []
    return {
        "own_seq": own_seq or 0,
        "mine": contributions.views_of(mine),
        "resonated": contributions.resonated_by(event, author_key) if resonated else [],
        "support": support.state_for_person(
            event, author_key, available=support_available, ask=asked
        ),
    }


# The live room's events after the connect, by name (`live_event`, served by `serve_events`).
EVENTS = {}


def live_event(name):
    """Register a handler for `name` that gets (event, member, payload) and returns an ack."""

    def register(handler):
        EVENTS[name] = handler
        return handler

    return register


def serve_events(app):
    """Every live event straight on `app`'s Socket.IO server, each message in an app context
    only. Flask-SocketIO's handlers push a whole request context for each message (a request,
    the cookie session, a URL match): a tenth of an idle contribution's time. Who a connection
    is was settled at connect, which stays Flask-SocketIO's, so nothing after it needs one."""
    for name, handler in EVENTS.items():
        answer = functools.partial(answer_event, app, name, handler)
        socketio.server.on(name, answer, namespace=NAMESPACE)


def answer_event(app, name, handler, sid, *arguments):
    """One message's ack: `handler`'s answer, or why there is none. A message carries one
    payload; anything else is not understood."""
    with app.app_context():
        member = members.get(sid)
        if member is None:
            return {"ok": False, "error": "Please reconnect to the live room."}
        if not room_limits.allow_message(member.person_key or sid, member.address_key):
            return {"ok": False, "error": TOO_MANY_MESSAGES}
        payload = arguments[0] if len(arguments) == 1 else None
        if not isinstance(payload, dict) or unstorable(payload):
            return {"ok": False, "error": NOT_UNDERSTOOD}
        try:
            with frames_after():
                event = event_read_when_needed(member.event_id)
                return {"ok": True, **handler(event, member, payload)}
        except DomainError as error:
            db.session.rollback()
            return {"ok": False, "error": error.message}
        except Exception:
            db.session.rollback()
            current_app.logger.exception("live room event %s failed", name)
            return {"ok": False, "error": "Something went wrong on our side; please try again."}


def event_read_when_needed(event_id):
    """The member's event, its row read when an attribute other than its id is first asked
    for: a room change reads the row under its lock anyway, so a contribution reads it once.
    Added, not merged, unless the session has it already: a merge copies every column, and
    cost a fifth of an idle contribution's time before its statement."""
    known = db.session.identity_map.get(db.session.identity_key(Event, event_id))
    if known is not None:
        return known
    unread = Event(id=event_id)
    sa.orm.make_transient_to_detached(unread)
    db.session.add(unread)
    return unread


def host_of(member):
    """The organiser behind a host connection, or None, which every host action refuses."""
    return db.session.get(Organiser, member.organiser_id) if member.organiser_id else None


def author_of(member):
    if member.role == "host":
        raise DomainError("Hosts capture what they hear as phrases rather than contribute.")
    if member.author is None:
        raise DomainError("This view is read-only: join the live room to take part.")
    return member.author


@live_event("contribute")
def contribute(event, member, payload):
    author = author_of(member)
    # A new one marks the room for its next presence tick (record_contribution).
    _contribution, _created, view = contributions.submit_contribution(
        event,
        author,
        payload.get("client_id"),
        payload.get("text"),
        prompt_id=payload.get("prompt_id"),
        anonymous=payload.get("anonymous", False),
        sharing=payload.get("sharing"),
    )
    return {"id": view["id"], "status": view["status"], "contribution": view}


@live_event("catch_up")
def catch_up(event, member, payload):
    """A client saw a gap: the room from the database, as `state` gives it."""
    try:
        cursors = tuple(
            cursor(payload.get(name)) for name in ("last_seq", "own_seq", "support_seq")
        )
    except DomainError:
        raise DomainError(NOT_UNDERSTOOD) from None
    return room_state(event, member, *cursors)


@live_event("resonate")
def resonate(event, member, payload):
    author = author_of(member)
    contribution_id = payload.get("contribution_id")
    resonating, count = contributions.toggle_resonance(event, author.key, contribution_id)
    return {"contribution_id": contribution_id, "resonating": resonating, "count": count}


@live_event("set_prompt")
def set_prompt(event, member, payload):
    prompt = moderation.set_prompt(event, host_of(member), payload.get("text"))
    return {"prompt": moderation.prompt_view(prompt)}


@live_event("ask_prompt")
def ask_prompt(event, member, payload):
    prompt = prompts.ask_prompt(event, host_of(member), payload.get("prompt_id"))
    return {"prompt": moderation.prompt_view(prompt), "prepared": prompts.prepared_views(event)}


@live_event("next_prompt")
def next_prompt(event, member, payload):
    prompt = prompts.ask_next_prompt(event, host_of(member))
    return {"prompt": moderation.prompt_view(prompt), "prepared": prompts.prepared_views(event)}


@live_event("move_prompt")
def move_prompt(event, member, payload):
    views = prompts.move_prepared_prompt(
        event, host_of(member), payload.get("prompt_id"), payload.get("to")
    )
    return {"prepared": views}


def contribution_action(name, action):
    @live_event(name)
    def handle(event, member, payload):
        contribution = action(event, host_of(member), payload.get("contribution_id"))
        return {"contribution": contributions.contribution_view(contribution)}


contribution_action("approve", moderation.approve_contribution)
contribution_action("withdraw", moderation.withdraw_contribution)
contribution_action("restore", moderation.restore_contribution)


@live_event("moderate_many")
def moderate_many(event, member, payload):
    changed, skipped = moderation.moderate_many(
        event, host_of(member), payload.get("action"), payload.get("contribution_ids")
    )
    return {"contributions": contributions.views_of(changed), "skipped": skipped}


@live_event("reject")
def reject(event, member, payload):
    contribution = moderation.reject_contribution(
        event,
        host_of(member),
        payload.get("contribution_id"),
        reason=payload.get("reason"),
        reason_text=payload.get("reason_text"),
    )
    return {"contribution": contributions.contribution_view(contribution)}


@live_event("redact")
def redact(event, member, payload):
    contribution = moderation.redact_contribution(
        event,
        host_of(member),
        payload.get("contribution_id"),
        payload.get("text"),
        payload.get("label"),
    )
    return {"contribution": contributions.contribution_view(contribution)}


@live_event("take_down")
def take_down(event, member, payload):
    """The author takes one of their own reflections down, as the room's page without
    scripts and the private page do (docs/live-protocol.md section 16)."""
    contribution = self_service.take_down_in_room(
        event, author_of(member), payload.get("contribution_id")
    )
    return {"contribution": contributions.contribution_view(contribution)}


@live_event("request_support")
def request_support(event, member, payload):
    author = author_of(member)
    request, created = support.request_support(event, author)
    return {
        "request": support.mine_view(request),
        "contacts": event.support_contacts,
        "created": created,
    }


@live_event("support_handled")
def support_handled(event, member, payload):
    request = support.mark_handled(event, host_of(member), payload.get("request_id"))
    return {"request": support.request_view(request)}


@live_event("feature")
def feature(event, member, payload):
    contribution = moderation.feature_contribution(
        event, host_of(member), payload.get("contribution_id"), payload.get("featured", True)
    )
    return {"contribution": contributions.contribution_view(contribution)}


@live_event("capture_phrase")
def capture_phrase(event, member, payload):
    phrase = moderation.capture_phrase(
        event, host_of(member), payload.get("text"), payload.get("attribution", "")
    )
    return {"phrase": moderation.phrase_view(phrase)}


@live_event("edit_phrase")
def edit_phrase(event, member, payload):
    phrase = moderation.edit_phrase(
        event,
        host_of(member),
        payload.get("phrase_id"),
        payload.get("text"),
        payload.get("attribution", ""),
    )
    return {"phrase": moderation.phrase_view(phrase)}


def phrase_action(name, action):
    @live_event(name)
    def handle(event, member, payload):
        phrase = action(event, host_of(member), payload.get("phrase_id"))
        return {"phrase": moderation.phrase_view(phrase)}


phrase_action("withdraw_phrase", moderation.withdraw_phrase)
phrase_action("restore_phrase", moderation.restore_phrase)


@live_event("set_contributions_open")
def set_contributions_open(event, member, payload):
    event = moderation.set_contributions_open(event, host_of(member), payload.get("open"))
    return {"contributions_open": event.contributions_open}


@live_event("set_moderation")
def set_moderation(event, member, payload):
    event = moderation.set_moderation_mode(event, host_of(member), payload.get("mode"))
    return {"moderation": event.moderation}
