"""Who is in a live room: one database row per open connection, shared by every worker.

The database rather than worker memory, so that all workers count the same people; rather than
Redis, so that presence works the same on the embedded single-process default. Each row names
the worker process holding it (an id made once per process). A clean disconnect drops its row;
each worker's heartbeat refreshes its rows and drops those of workers that stopped beating
(crashed, restarted or scaled away).

Presence is sent at most once per `LIVE_PRESENCE_SECONDS` per room, and only what changed:
arrivals mark the room, and one loop per worker sends the new count to the crowd and the full
view to the hosts, so 1,000 arrivals cost a few messages rather than half a million. Each
worker tells its own clients only, and tells the other workers (through the message queue)
which rooms changed, so they read the rows again at their next tick: a count one worker
sent over Redis could otherwise arrive after a newer one from another worker and stay shown.
The same tick writes the rows of the connections that arrived since the last one and deletes
those of the ones that left, a few statements for a crowd rather than a transaction per person;
until then this worker counts its arrivals from memory (`arriving`).
"""

import os
import secrets
import socket
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.dialects.postgresql import ARRAY

from . import room_loops
from .broadcast import NAMESPACE, crowd_room, hosts_room, viewers_room
from .errors import DomainError
from .evidence import counting
from .extensions import db, socketio
from .models import Contribution, LiveConnection, utcnow

COUNTED_ROLES = ("participant", "guest")
# A worker's rows outlive a few missed heartbeats, never more.
MISSED_HEARTBEATS = 3
# Rows dropped per statement when many leave at once.
LEAVING_BATCH = 500
TOO_MANY_FOR_PERSON = (
    "You have the live room open in too many tabs or devices: close one and try again."
)
TOO_MANY_FOR_ADDRESS = "Too many live connections from your network: please try again later."
_worker = {}


class WorkerPresence:
    """One app's presence bookkeeping in this worker: rooms to tell, connections to drop."""

    def __init__(self):
        # Rooms whose presence changed here, and rooms other workers said changed there.
        self.changed = set()
        self.heard = set()
        self.leaving = set()
        # Held for a connect's last cap count and its arrival (`admitting`).
        self.admission = threading.Lock()
        # Connections let in since the last tick, by sid: their rows, not yet written; and
        # the rows the tick is writing now (counted from memory until their commit is done,
        # and never from the database as well).
        self.arriving = {}
        self.writing = {}
        # What each room was last told, per audience, so nothing unchanged is sent again.
        self.last_sent = {}
        # Moves whenever this worker's rows in the database or its closing connections
        # change: a count read before a move may be wrong now, one read after it is not.
        self.generation = 0
        # Per room: the people its rows show connected (on any worker), as read at a
        # generation, kept at most a presence tick (`people_in_rows`).
        self.people = {}

    def pending(self):
        """This worker's connections whose rows are not committed yet, by sid."""
        return {**self.writing, **self.arriving}

    def moved(self):
        self.generation += 1


def bookkeeping(app=None):
    app = app or current_app._get_current_object()
    return app.extensions.setdefault("live_presence", WorkerPresence())


def worker_id():
    """This process's name on its presence rows: unique per process, even for workers that
    share a port (gunicorn) or a restart that reuses one, and made again after a fork."""
    pid = os.getpid()
    if pid not in _worker:
        _worker.clear()
        _worker[pid] = f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}"
    return _worker[pid]


def cap_count(column, array):
    """The connections counted against a cap, built once (CapCounts.values binds them):
    every worker's rows for the person or the address, but those leaving or being written.
    With `array` (PostgreSQL) those are one array value: a crowd arriving has hundreds being
    written at each tick, and as an IN list each would be a value of its own, in a statement
    converted and parsed anew at every join."""
    leaving = (
        LiveConnection.sid != sa.all_(sa.bindparam("cap_leaving", type_=ARRAY(sa.String)))
        if array
        else LiveConnection.sid.not_in(sa.bindparam("cap_leaving", expanding=True))
    )
    return (
        sa.select(sa.func.count())
        .select_from(LiveConnection)
        .where(column == sa.bindparam(f"cap_{column.key}", type_=column.type))
        .where(leaving)
        .scalar_subquery()
    )


CAP_COUNTS = {
    (column.key, array): cap_count(column, array)
    for column in (LiveConnection.person_key, LiveConnection.address_key)
    for array in (True, False)
}


class CapCounts:
    """Refuse one more connection for a person or an address that has its share open.

    Counted over every worker, leaving out this worker's connections that are already
    closing (a reload must not be refused by the tab it replaces), and counting this
    worker's arrivals whose rows are not written yet from memory. The database's counts are
    asked in a caller's round trip (`queries`, binding `values`) and checked (`check`) before
    anything is built; `admitting` checks again, asking the database again only if this
    worker's rows or closing connections moved in between."""

    def __init__(self, person_key, address_key, every_pending=False):
        state = bookkeeping()
        config = current_app.config
        self.person_key, self.address_key = person_key, address_key
        self.checks = [
            (column, value, int(config[setting]), refusal)
            for column, value, setting, refusal in (
                (
                    LiveConnection.person_key,
                    person_key,
                    "LIVE_CONNECTIONS_PER_PERSON",
                    TOO_MANY_FOR_PERSON,
                ),
                (
                    LiveConnection.address_key,
                    address_key,
                    "LIVE_CONNECTIONS_PER_ADDRESS",
                    TOO_MANY_FOR_ADDRESS,
                ),
            )
            if value is not None
        ]
        # This worker's side, taken with the database's: rows it is writing are left out of
        # the database's counts and counted from memory, even if their commit ends meanwhile.
        self.generation = state.generation
        self.arriving = arriving_rows(state)
        # Closing connections are not counted; pending ones are counted from memory. Only
        # those being written can have a row, so the first read leaves out only them (a
        # crowd's sids need not go to the database); the re-count leaves out all.
        pending = state.pending() if every_pending else state.writing
        array = db.engine.dialect.name == "postgresql"
        self.queries = tuple(CAP_COUNTS[column.key, array] for column, *_rest in self.checks)
        self.values = {"cap_leaving": list(state.leaving | set(pending))}
        self.values.update((f"cap_{column.key}", value) for column, value, *_rest in self.checks)
        self.found = None

    def check(self, found):
        """The early refusal, `found` being the database's counts for `queries`; not decided
        here if this worker wrote rows meanwhile (one could be counted twice): the last step
        counts again."""
        self.found = tuple(found)
        if self.generation == bookkeeping().generation:
            self.refuse()

    def refuse(self):
        """Refuse when a cap is full."""
        for (column, value, limit, refusal), count in zip(self.checks, self.found, strict=True):
            waiting = sum(1 for row in self.arriving if row[column.key] == value)
            if count + waiting >= limit:
                raise DomainError(refusal, status=429)

    def check_again(self):
        """The same check with this worker's arrivals as they are now; the database is asked
        again only if this worker wrote or closed anything since it was asked."""
        if not self.checks:
            return
        state = bookkeeping()
        if self.found is not None and self.generation == state.generation:
            self.arriving = arriving_rows(state)
            self.refuse()
            return
        again = CapCounts(self.person_key, self.address_key, every_pending=True)
        again.found = tuple(db.session.execute(sa.select(*again.queries), again.values).one())
        again.refuse()


def arriving_rows(state):
    """This worker's open connections whose rows are not committed yet."""
    return [row for sid, row in state.pending().items() if sid not in state.leaving]


@contextmanager
def admitting(caps):
    """The last cap count and the arrival as one step in this worker: connects arriving at
    the same moment take turns here, so no two find the same free place. Across workers a
    cap can be passed until the arrivals' rows are written, at the next presence tick.
    `caps` (CapCounts) were checked earlier in the connect; they are asked again here only if
    this worker's rows or closing connections changed since."""
    with bookkeeping().admission:
        caps.check_again()
        yield


def connection_opened(sid, event_id, role, person_key=None, name="", address_key=None):
    """Count a connection that is in: the caller says so only once everything that can fail
    at connect has passed, so a failed connect leaves no row behind. Its row is written at
    the next tick (`write_arrivals`), off the join's path."""
    start_loops(current_app._get_current_object())
    bookkeeping().arriving[sid] = {
        "sid": sid,
        "event_id": event_id,
        "worker": worker_id(),
        "role": role,
        "person_key": person_key,
        "name": name[:80],
        "address_key": address_key,
    }
    changed(event_id)


def connection_closed(sid):
    """Forget a connection at the next presence tick.

    No database work here: a disconnect handler can run inside whatever context closed the
    socket (a broadcast, another handler), whose session it would share and could break, and a
    crowd leaving at once is one DELETE per tick rather than one transaction per person.
    """
    state = bookkeeping()
    state.leaving.add(sid)
    state.moved()


def close_connections_of(event_id, person_key):
    """Erasure: end every open connection of this person in the room, on every worker (through
    the message queue), and tell the hosts at the next tick that they have gone."""
    state = bookkeeping()
    waiting = [
        sid
        for sid, row in state.pending().items()
        if row["event_id"] == event_id and row["person_key"] == person_key
    ]
    for sid in waiting:
        state.arriving.pop(sid, None)
    sids = db.session.scalars(
        sa.delete(LiveConnection)
        .where(LiveConnection.event_id == event_id, LiveConnection.person_key == person_key)
        .returning(LiveConnection.sid)
    ).all()
    db.session.commit()
    state.moved()
    sids = set(sids) | set(waiting)
    for sid in sids:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    if sids:
        start_loops(current_app._get_current_object())
        changed(event_id)


def start_loops(app):
    room_loops.start(app, "presence", "LIVE_PRESENCE_SECONDS", tell_rooms)
    room_loops.start(app, "heartbeat", "LIVE_HEARTBEAT_SECONDS", beat)
    state = bookkeeping(app)
    socketio.server.manager.on_notice("presence", state.heard.update)


def serving(app):
    """False once the shared socketio object serves another app (tests make one per test)."""
    return room_loops.serving(app)


def changed(event_id):
    """Someone came, left or first spoke: the room hears about it at its next presence tick."""
    bookkeeping().changed.add(event_id)


def tell_rooms():
    """The presence tick: write the rows of connections that came, drop those of connections
    that went, then give each changed room its presence."""
    state = bookkeeping()
    try:
        write_arrivals(state)
        drop_leaving(state)
    except Exception:
        db.session.rollback()
        current_app.logger.exception("live room presence rows could not be written; trying again")
    now = time.monotonic()
    for event_id in [key for key, found in state.people.items() if found[1] <= now]:
        del state.people[event_id]
    rooms = list(state.changed)
    state.changed.difference_update(rooms)
    heard = [event_id for event_id in list(state.heard) if event_id not in rooms]
    state.heard.difference_update(heard)
    if rooms:
        socketio.server.manager.tell_other_workers("presence", rooms)
    for event_id in rooms + [event_id for event_id in heard if has_members_here(event_id)]:
        try:
            send_presence(state, event_id)
        except Exception:
            db.session.rollback()
            current_app.logger.exception("live room presence failed; trying again")
            state.changed.add(event_id)


def write_arrivals(state):
    """Insert the rows of the connections let in since the last tick and still open, in one
    statement; those that closed meanwhile never get one."""
    if not state.arriving:
        return
    # Always counted from one of the two while in memory: `pending` reads both.
    state.writing = arrived = state.arriving
    state.arriving = {}
    try:
        rows = [r for sid, r in arrived.items() if sid not in state.leaving and still_open(sid)]
        if rows:
            db.session.execute(sa.insert(LiveConnection), rows)
            db.session.commit()
    except Exception:
        state.arriving.update(arrived)  # tried again at the next tick
        raise
    finally:
        # In the same step as `writing` empties: nothing counts these rows from neither.
        state.moved()
        state.writing = {}


def drop_leaving(state):
    """Delete the rows of connections closed since the last tick, in a few statements."""
    sids = list(state.leaving)
    events = set()
    for start in range(0, len(sids), LEAVING_BATCH):
        batch = sids[start : start + LEAVING_BATCH]
        events.update(
            db.session.scalars(
                sa.delete(LiveConnection)
                .where(LiveConnection.sid.in_(batch))
                .returning(LiveConnection.event_id)
            ).all()
        )
    db.session.commit()
    state.leaving.difference_update(sids)
    state.moved()
    state.changed.update(events)


def send_presence(state, event_id):
    hosts_view = presence_for(event_id, hosts=True)
    crowd_view = {"present": hosts_view["present"], **moderation_counts(event_id)}
    # Viewers have a room of their own for their frames (consent.py) but hear the crowd's view.
    crowd = (crowd_room(event_id), viewers_room(event_id))
    for rooms, view in ((crowd, crowd_view), ((hosts_room(event_id),), hosts_view)):
        if state.last_sent.get(rooms) != view:
            state.last_sent[rooms] = view
            # This worker's clients only: the others hear from their own worker.
            socketio.emit("presence", view, to=list(rooms), namespace=NAMESPACE, ignore_queue=True)


def has_members_here(event_id):
    """Is anyone in the room connected to this worker?"""
    rooms = [hosts_room(event_id), crowd_room(event_id), viewers_room(event_id)]
    members = socketio.server.manager.get_participants(NAMESPACE, rooms)
    return next(iter(members), None) is not None


def beat():
    heartbeat(float(current_app.config["LIVE_HEARTBEAT_SECONDS"]))


def still_open(sid):
    """Is this worker's Socket.IO connection `sid` open (or still being let in)?"""
    manager = socketio.server.manager
    return manager.is_connected(sid, NAMESPACE) or manager.is_pre_connected(sid, NAMESPACE)


def heartbeat(interval):
    """Vouch for this worker's connections; drop those no worker has vouched for lately, and
    this worker's rows whose connection is gone without its disconnect being heard."""
    now = utcnow()
    mine = LiveConnection.worker == worker_id()
    rows = db.session.execute(sa.select(LiveConnection.sid, LiveConnection.event_id).where(mine))
    gone = {sid: event_id for sid, event_id in rows if not still_open(sid)}
    for start in range(0, len(gone), LEAVING_BATCH):
        batch = list(gone)[start : start + LEAVING_BATCH]
        db.session.execute(sa.delete(LiveConnection).where(LiveConnection.sid.in_(batch)))
    db.session.execute(
        sa.update(LiveConnection).where(LiveConnection.worker == worker_id()).values(seen_at=now)
    )
    stale = LiveConnection.seen_at < now - timedelta(seconds=interval * MISSED_HEARTBEATS)
    events = db.session.scalars(sa.select(LiveConnection.event_id).where(stale).distinct()).all()
    db.session.execute(sa.delete(LiveConnection).where(stale))
    db.session.commit()
    bookkeeping().moved()
    for event_id in {*events, *gone.values()}:
        changed(event_id)


def moderation_counts(event_id):
    """How many reflections wait for the hosts and how many were held back: everyone sees the
    numbers (moderation in the open), never the texts."""
    rows = db.session.execute(
        sa.select(Contribution.status, sa.func.count())
        .where(Contribution.event_id == event_id, Contribution.status.in_(("pending", "rejected")))
        .group_by(Contribution.status)
    ).all()
    counts = dict(rows)
    return {"waiting": counts.get("pending", 0), "held_back": counts.get("rejected", 0)}


def watched(event_id):
    """Is a read-only viewer connected to the room, on any worker (or arriving on this one)?"""
    if any(
        row["event_id"] == event_id and row["role"] == "viewer"
        for row in bookkeeping().pending().values()
    ):
        return True
    return (
        db.session.scalar(
            sa.select(LiveConnection.sid)
            .where(LiveConnection.event_id == event_id, LiveConnection.role == "viewer")
            .limit(1)
        )
        is not None
    )


def arrivals(event_id):
    """This worker's counted connections to the room whose rows the next tick writes."""
    state = bookkeeping()
    return [
        row
        for sid, row in state.pending().items()
        if row["event_id"] == event_id and row["role"] in COUNTED_ROLES and sid not in state.leaving
    ]


def present_count(event_id, joining=None):
    """Distinct participants and guests connected now, on any worker, with those this worker
    let in since its last tick and `joining` (a person key being let in)."""
    waiting = {row["person_key"] for row in arrivals(event_id)}
    if joining is not None:
        waiting.add(joining)
    return len(people_in_rows(event_id) | waiting)


def people_in_rows(event_id):
    """The person keys the room's rows show connected, on any worker.

    A crowd joining would otherwise count the same rows once per joiner: the presence tick's
    own read (or the first joiner's) is used until this worker's rows move or a tick has
    passed, so another worker's arrivals show within a tick, as its presence does."""
    state = bookkeeping()
    found = state.people.get(event_id)
    if found is not None and found[0] == state.generation and found[1] > time.monotonic():
        return found[2]
    generation = state.generation
    keys = db.session.scalars(
        sa.select(LiveConnection.person_key)
        .where(LiveConnection.event_id == event_id, LiveConnection.role.in_(COUNTED_ROLES))
        .distinct()
    ).all()
    return note_people(state, event_id, generation, keys)


def note_people(state, event_id, generation, keys):
    keys = frozenset(keys)
    ttl = float(current_app.config["LIVE_PRESENCE_SECONDS"])
    state.people[event_id] = (generation, time.monotonic() + ttl, keys)
    return keys


def presence_for(event_id, hosts=False):
    """What `presence` carries: counts for everyone; names and voices heard for hosts."""
    if not hosts:
        return {"present": present_count(event_id), **moderation_counts(event_id)}
    state = bookkeeping()
    generation = state.generation
    rows = db.session.execute(
        sa.select(LiveConnection.person_key, LiveConnection.name, LiveConnection.role)
        .where(LiveConnection.event_id == event_id, LiveConnection.role.in_(COUNTED_ROLES))
        .distinct()
    ).all()
    note_people(state, event_id, generation, [key for key, _name, _role in rows])
    rows += [(row["person_key"], row["name"], row["role"]) for row in arrivals(event_id)]
    people = {key: {"name": name, "role": role} for key, name, role in rows}
    return {
        "present": len(people),
        "voices_heard": counting.voices_heard(event_id),
        "people": sorted(people.values(), key=lambda person: person["name"].lower()),
        **moderation_counts(event_id),
    }
