"""Room updates: numbered and stored in the database, then sent to the right Socket.IO rooms.

Every change a live room hears goes through `room_change()`, so that the update is stored
with the next sequence number in the same transaction as the change itself (a reconnecting
client replays them from the database), and is broadcast only after that commit.
"""

import threading
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from .extensions import db, socketio
from .models import Event, RoomUpdate

NAMESPACE = "/live"

# One room change at a time in this process, broadcast included, so that this worker sends
# updates in sequence order. Under gevent or eventlet this is a green lock (app.py patches
# threading before importing the app). Across processes the event row lock takes over.
_room_lock = threading.Lock()


def everyone_room(event_id):
    return f"live:{event_id}"


def hosts_room(event_id):
    return f"live:{event_id}:hosts"


def crowd_room(event_id):
    """Everyone but the hosts: they get the short form of presence."""
    return f"live:{event_id}:crowd"


def author_room(event_id, author_key):
    return f"live:{event_id}:author:{author_key}"


@dataclass
class Update:
    seq: int
    kind: str
    data: dict
    rooms: list

    def message(self):
        return {"seq": self.seq, "kind": self.kind, "data": self.data}


class RoomChange:
    """Collects the updates of one change to a room while its transaction is open."""

    def __init__(self, event):
        self.event = event
        self.updates = []

    def record(self, kind, data, audience="all", author_key=None, stored=None):
        """Store an update under the room's next sequence number; it is sent after commit.

        `stored` is what is kept for replay when it differs from what is sent now (a
        contribution is kept by id and shown as it is at replay time).
        """
        seq = db.session.execute(
            sa.update(Event)
            .where(Event.id == self.event.id)
            .values(live_seq=Event.live_seq + 1)
            .returning(Event.live_seq)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        db.session.add(
            RoomUpdate(
                event_id=self.event.id,
                seq=seq,
                kind=kind,
                payload=data if stored is None else stored,
                audience=audience,
                author_key=author_key,
            )
        )
        if audience == "all":
            rooms = [everyone_room(self.event.id)]
        else:
            rooms = [hosts_room(self.event.id)]
            if author_key:
                rooms.append(author_room(self.event.id, author_key))
        self.updates.append(Update(seq, kind, data, rooms))
        return seq


@contextmanager
def room_change(event):
    """Lock the room, let the caller change it and record updates, commit, then broadcast.

    The event row is re-read under a row lock (FOR UPDATE on PostgreSQL; SQLite has one writer
    at a time and this process's lock), so checks such as "are contributions open?" see the
    latest committed state and sequence numbers stay unique and gapless.
    """
    with _room_lock:
        try:
            connection = db.session.connection()
            if (
                connection.dialect.name == "sqlite"
                and not connection.connection.dbapi_connection.in_transaction
            ):
                # Take SQLite's write lock first, so two writers never deadlock upgrading.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            db.session.scalars(
                sa.select(Event)
                .where(Event.id == event.id)
                .with_for_update()
                .execution_options(populate_existing=True)
            ).one()
            change = RoomChange(event)
            yield change
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        for update in change.updates:
            socketio.emit("update", update.message(), to=update.rooms, namespace=NAMESPACE)


@contextmanager
def room_snapshot():
    """Hold the room lock while a joining client reads its state, so that this worker sends it
    nothing newer before its `state` (updates from other workers may still overtake it)."""
    with _room_lock:
        yield


def visible_updates(event_id, after, upto, role, author_key=None):
    """Stored updates with after < seq <= upto that a client in `role` may see, oldest first."""
    query = sa.select(RoomUpdate).where(
        RoomUpdate.event_id == event_id, RoomUpdate.seq > after, RoomUpdate.seq <= upto
    )
    if role != "host":
        visible = RoomUpdate.audience == "all"
        if author_key:
            visible = visible | (RoomUpdate.author_key == author_key)
        query = query.where(visible)
    return db.session.scalars(query.order_by(RoomUpdate.seq)).all()


def current_seq(event_id):
    return db.session.scalar(sa.select(Event.live_seq).where(Event.id == event_id))
