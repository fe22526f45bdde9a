"""Who is in a live room: one database row per open connection, shared by every worker.

The database rather than worker memory, so that all workers count the same people; rather than
Redis, so that presence works the same on the embedded single-process default. Each row names
the worker (host:port) holding it. A clean disconnect drops its row; a worker restarted after a
crash drops its old rows when it handles its first connection; and each worker's heartbeat
refreshes its rows and drops those of workers that stopped beating (crashed, or scaled away).
"""

import socket
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from .broadcast import NAMESPACE, crowd_room, current_seq, hosts_room
from .extensions import db, socketio
from .models import Contribution, LiveConnection, utcnow

COUNTED_ROLES = ("participant", "guest")
# A worker's rows outlive a few missed heartbeats, never more.
MISSED_HEARTBEATS = 3
_started_workers = set()


def worker_name(port):
    return f"{socket.gethostname()}:{port}"


def connection_opened(sid, event_id, worker, role, person_key=None, name=""):
    """Record a connection; the first one a worker handles clears what it left before and
    starts its heartbeat."""
    if worker not in _started_workers:
        _started_workers.add(worker)
        db.session.execute(sa.delete(LiveConnection).where(LiveConnection.worker == worker))
        app = current_app._get_current_object()
        socketio.start_background_task(keep_beating, app, worker)
    db.session.add(
        LiveConnection(
            sid=sid,
            event_id=event_id,
            worker=worker,
            role=role,
            person_key=person_key,
            name=name[:80],
        )
    )
    db.session.commit()


def connection_closed(sid):
    """Forget a connection; returns its event id, or None if it was never recorded."""
    connection = db.session.get(LiveConnection, sid)
    if connection is None:
        return None
    event_id = connection.event_id
    db.session.delete(connection)
    db.session.commit()
    return event_id


def keep_beating(app, worker):
    """The worker's heartbeat, for as long as the process lives."""
    interval = float(app.config["LIVE_HEARTBEAT_SECONDS"])
    while True:
        socketio.sleep(interval)
        with app.app_context():
            try:
                heartbeat(worker, interval)
            except Exception:
                db.session.rollback()
                app.logger.exception("live room heartbeat failed; trying again")


def heartbeat(worker, interval):
    """Vouch for this worker's connections; drop those no worker has vouched for lately."""
    now = utcnow()
    db.session.execute(
        sa.update(LiveConnection).where(LiveConnection.worker == worker).values(seen_at=now)
    )
    stale = LiveConnection.seen_at < now - timedelta(seconds=interval * MISSED_HEARTBEATS)
    events = db.session.scalars(sa.select(LiveConnection.event_id).where(stale).distinct()).all()
    db.session.execute(sa.delete(LiveConnection).where(stale))
    db.session.commit()
    for event_id in events:
        broadcast_presence(event_id)


def voices_heard(event_id):
    """Distinct people who have sent at least one contribution, whatever became of it."""
    return db.session.scalar(
        sa.select(sa.func.count(sa.distinct(Contribution.author_key))).where(
            Contribution.event_id == event_id
        )
    )


def presence_for(event_id, hosts=False):
    """What `presence` carries: a count for everyone; names and voices heard for hosts."""
    connections = db.session.scalars(
        sa.select(LiveConnection).where(
            LiveConnection.event_id == event_id, LiveConnection.role.in_(COUNTED_ROLES)
        )
    ).all()
    people = {
        connection.person_key: {"name": connection.name, "role": connection.role}
        for connection in connections
    }
    presence = {"seq": current_seq(event_id), "present": len(people)}
    if hosts:
        presence["voices_heard"] = voices_heard(event_id)
        presence["people"] = sorted(people.values(), key=lambda person: person["name"].lower())
    return presence


def broadcast_presence(event_id):
    """Tell the room how many are here (and the hosts who) after someone came, left or spoke."""
    socketio.emit("presence", presence_for(event_id), to=crowd_room(event_id), namespace=NAMESPACE)
    socketio.emit(
        "presence",
        presence_for(event_id, hosts=True),
        to=hosts_room(event_id),
        namespace=NAMESPACE,
    )
