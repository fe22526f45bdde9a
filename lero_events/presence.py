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

from .broadcast import NAMESPACE, crowd_room, hosts_room
from .extensions import db, socketio
from .models import Contribution, LiveConnection, utcnow

COUNTED_ROLES = ("participant", "guest")
# A worker's rows outlive a few missed heartbeats, never more.
MISSED_HEARTBEATS = 3
_worker = {}

_started = threading.Lock()
_loops_running = False
_changed = set()
# What each room was last told, per audience, so nothing unchanged is sent again.
_last_sent = {}


def worker_id():
    """This process's name on its presence rows: unique per process, even for workers that
    share a port (gunicorn) or a restart that reuses one, and made again after a fork."""
    pid = os.getpid()
    if pid not in _worker:
        _worker.clear()
        _worker[pid] = f"{socket.gethostname()}:{pid}:{secrets.token_hex(4)}"
    return _worker[pid]


def connection_opened(sid, event_id, role, person_key=None, name=""):
    """Record a connection; the first one this worker handles starts its loops."""
    start_loops(current_app._get_current_object())
    db.session.add(
        LiveConnection(
            sid=sid,
            event_id=event_id,
            worker=worker_id(),
            role=role,
            person_key=person_key,
            name=name[:80],
        )
    )
    db.session.commit()


def connection_closed(sid):
    """Forget a connection; returns its event id, or None if it was never recorded."""
    event_id = db.session.scalar(
        sa.delete(LiveConnection)
        .where(LiveConnection.sid == sid)
        .returning(LiveConnection.event_id)
    )
    db.session.commit()
    return event_id


def start_loops(app):
    global _loops_running
    with _started:
        if _loops_running:
            return
        _loops_running = True
    socketio.start_background_task(keep_beating, app)
    socketio.start_background_task(keep_telling, app)


def changed(event_id):
    """Someone came, left or first spoke: the room hears about it at its next presence tick."""
    _changed.add(event_id)


def keep_telling(app):
    """The worker's presence loop: each changed room gets at most one presence per interval."""
    interval = float(app.config["LIVE_PRESENCE_SECONDS"])
    while True:
        socketio.sleep(interval)
        rooms = list(_changed)
        _changed.difference_update(rooms)
        with app.app_context():
            for event_id in rooms:
                try:
                    send_presence(event_id)
                except Exception:
                    db.session.rollback()
                    app.logger.exception("live room presence failed; trying again")
                    _changed.add(event_id)
            db.session.remove()


def send_presence(event_id):
    hosts_view = presence_for(event_id, hosts=True)
    crowd_view = {"present": hosts_view["present"], **moderation_counts(event_id)}
    for room, view in ((crowd_room(event_id), crowd_view), (hosts_room(event_id), hosts_view)):
        if _last_sent.get(room) != view:
            _last_sent[room] = view
            socketio.emit("presence", view, to=room, namespace=NAMESPACE)


def keep_beating(app):
    """The worker's heartbeat, for as long as the process lives."""
    interval = float(app.config["LIVE_HEARTBEAT_SECONDS"])
    while True:
        socketio.sleep(interval)
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


def voices_heard(event_id):
    """Distinct people who have sent at least one contribution, whatever became of it."""
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Contribution.author_key))).where(
            Contribution.event_id == event_id
        )
    )


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
        "voices_heard": voices_heard(event_id),
        "people": sorted(people.values(), key=lambda person: person["name"].lower()),
        **moderation_counts(event_id),
    }
