"""Who is in a live room: one database row per open connection, shared by every worker.

The database rather than worker memory, so that all workers count the same people; rather than
Redis, so that presence works the same on the embedded single-process default. Each row names
the worker process holding it (an id made once per process). A clean disconnect drops its row;
each worker's heartbeat refreshes its rows and drops those of workers that stopped beating
(crashed, restarted or scaled away).

Presence is sent at most once per `LIVE_PRESENCE_SECONDS` per room, and only what changed:
arrivals mark the room, and one loop per worker sends the new count to the crowd and the full
view to the hosts, so 1,000 arrivals cost a few messages rather than half a million.
"""

import os
import secrets
import socket
import threading
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

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
        self.lock = threading.Lock()
        self.server = None
        self.changed = set()
        self.leaving = set()
        # What each room was last told, per audience, so nothing unchanged is sent again.
        self.last_sent = {}


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


def refuse_if_full(person_key, address_key, opened=False):
    """Refuse one more connection for a person or an address that has its share open.

    Counted over every worker, leaving out this worker's connections that are already
    closing (a reload must not be refused by the tab it replaces). Asked twice per connect:
    first before anything is written or built, a cheap refusal; then with `opened`, once the
    connection's own row is written and just before its commit, under the caps' locks
    (`lock_caps`) and counting that row, so that counting and writing are one step and
    connects arriving at the same moment cannot all find room under a cap.
    """
    if opened:
        lock_caps(person_key, address_key)
    leaving = list(bookkeeping().leaving)
    config = current_app.config
    for column, value, limit, refusal in (
        (
            LiveConnection.person_key,
            person_key,
            config["LIVE_CONNECTIONS_PER_PERSON"],
            TOO_MANY_FOR_PERSON,
        ),
        (
            LiveConnection.address_key,
            address_key,
            config["LIVE_CONNECTIONS_PER_ADDRESS"],
            TOO_MANY_FOR_ADDRESS,
        ),
    ):
        if value is None:
            continue
        query = sa.select(sa.func.count()).select_from(LiveConnection).where(column == value)
        if leaving:
            query = query.where(LiveConnection.sid.not_in(leaving))
        if db.session.scalar(query) > int(limit) - (0 if opened else 1):
            raise DomainError(refusal, status=429)


def lock_caps(person_key, address_key):
    """Hold the person's and the address's cap until this transaction ends.

    PostgreSQL: transaction-scoped advisory locks (an address spans rooms, so no room row
    would do), always the person's before the address's, so two connects never wait on each
    other in a circle. SQLite: the connection's row, already written, holds the database's
    write lock until the commit, so no other connect can write in between.
    """
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    for kind, value in (("person", person_key), ("address", address_key)):
        if value is not None:
            connection.execute(
                sa.select(sa.func.pg_advisory_xact_lock(sa.func.hashtext(f"live {kind} {value}")))
            )


def connection_opened(sid, event_id, role, person_key=None, name="", address_key=None):
    """Add a connection's row to the open transaction; the caller commits it once everything
    else that can fail at connect has passed, so a failed connect leaves no row behind."""
    start_loops(current_app._get_current_object())
    db.session.add(
        LiveConnection(
            sid=sid,
            event_id=event_id,
            worker=worker_id(),
            role=role,
            person_key=person_key,
            name=name[:80],
            address_key=address_key,
        )
    )
    db.session.flush()


def connection_closed(sid):
    """Forget a connection at the next presence tick.

    No database work here: a disconnect handler can run inside whatever context closed the
    socket (a broadcast, another handler), whose session it would share and could break, and a
    crowd leaving at once is one DELETE per tick rather than one transaction per person.
    """
    bookkeeping().leaving.add(sid)


def close_connections_of(event_id, person_key):
    """Erasure: end every open connection of this person in the room, on every worker (through
    the message queue), and tell the hosts at the next tick that they have gone."""
    sids = db.session.scalars(
        sa.delete(LiveConnection)
        .where(LiveConnection.event_id == event_id, LiveConnection.person_key == person_key)
        .returning(LiveConnection.sid)
    ).all()
    db.session.commit()
    for sid in sids:
        socketio.server.disconnect(sid, namespace=NAMESPACE)
    if sids:
        start_loops(current_app._get_current_object())
        changed(event_id)


def start_loops(app):
    state = bookkeeping(app)
    with state.lock:
        if state.server is socketio.server:
            return
        state.server = socketio.server
    socketio.start_background_task(keep_beating, app)
    socketio.start_background_task(keep_telling, app)


def serving(app):
    """False once the shared socketio object serves another app (tests make one per test)."""
    return bookkeeping(app).server is socketio.server


def changed(event_id):
    """Someone came, left or first spoke: the room hears about it at its next presence tick."""
    bookkeeping().changed.add(event_id)


def keep_telling(app):
    """The worker's presence loop: drop the rows of connections that closed, then give each
    changed room at most one presence per interval."""
    interval = float(app.config["LIVE_PRESENCE_SECONDS"])
    state = bookkeeping(app)
    while serving(app):
        socketio.sleep(interval)
        if not serving(app):
            return
        with app.app_context():
            try:
                drop_leaving(state)
            except Exception:
                db.session.rollback()
                app.logger.exception("live room presence rows could not be dropped; trying again")
            rooms = list(state.changed)
            state.changed.difference_update(rooms)
            for event_id in rooms:
                try:
                    send_presence(state, event_id)
                except Exception:
                    db.session.rollback()
                    app.logger.exception("live room presence failed; trying again")
                    state.changed.add(event_id)
            db.session.remove()


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
    state.changed.update(events)


def send_presence(state, event_id):
    hosts_view = presence_for(event_id, hosts=True)
    crowd_view = {"present": hosts_view["present"], **moderation_counts(event_id)}
    # Viewers have a room of their own for their frames (consent.py) but hear the crowd's view.
    crowd = (crowd_room(event_id), viewers_room(event_id))
    for rooms, view in ((crowd, crowd_view), ((hosts_room(event_id),), hosts_view)):
        if state.last_sent.get(rooms) != view:
            state.last_sent[rooms] = view
            socketio.emit("presence", view, to=list(rooms), namespace=NAMESPACE)


def keep_beating(app):
    """The worker's heartbeat, for as long as the process serves this app."""
    interval = float(app.config["LIVE_HEARTBEAT_SECONDS"])
    while serving(app):
        socketio.sleep(interval)
        if not serving(app):  # replaced while asleep: its database may be gone
            return
        with app.app_context():
            try:
                heartbeat(interval)
            except Exception:
                db.session.rollback()
                app.logger.exception("live room heartbeat failed; trying again")
            db.session.remove()


def heartbeat(interval):
    """Vouch for this worker's connections; drop those no worker has vouched for lately."""
    now = utcnow()
    db.session.execute(
        sa.update(LiveConnection).where(LiveConnection.worker == worker_id()).values(seen_at=now)
    )
    stale = LiveConnection.seen_at < now - timedelta(seconds=interval * MISSED_HEARTBEATS)
    events = db.session.scalars(sa.select(LiveConnection.event_id).where(stale).distinct()).all()
    db.session.execute(sa.delete(LiveConnection).where(stale))
    db.session.commit()
    for event_id in events:
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


def present_count(event_id):
    """Distinct participants and guests connected now, on any worker."""
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(LiveConnection.person_key))).where(
            LiveConnection.event_id == event_id, LiveConnection.role.in_(COUNTED_ROLES)
        )
    )


def presence_for(event_id, hosts=False):
    """What `presence` carries: counts for everyone; names and voices heard for hosts."""
    if not hosts:
        return {"present": present_count(event_id), **moderation_counts(event_id)}
    rows = db.session.execute(
        sa.select(LiveConnection.person_key, LiveConnection.name, LiveConnection.role)
        .where(LiveConnection.event_id == event_id, LiveConnection.role.in_(COUNTED_ROLES))
        .distinct()
    ).all()
    people = {key: {"name": name, "role": role} for key, name, role in rows}
    return {
        "present": len(people),
        "voices_heard": counting.voices_heard(event_id),
        "people": sorted(people.values(), key=lambda person: person["name"].lower()),
        **moderation_counts(event_id),
    }
