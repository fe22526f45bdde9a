"""Room updates: numbered and stored with the change, then sent to the room in per-tick frames.

Every change a live room hears goes through `room_change()`: the update is stored with the
next sequence number, and the previous seq on its audience chain (docs/live-protocol.md section
4), in the same transaction as the change itself, and handed to the room's sender only after
that commit. The sender gathers a room's updates for one short tick and sends each audience one
frame, encoded once for all its members. No process-wide lock: the event row lock orders
commits across workers, and clients put frames back in order by the gap rule.
"""

import logging
import threading
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from flask import current_app, g

from . import signals
from .extensions import db, socketio
from .models import Event, RoomUpdate, utcnow

NAMESPACE = "/live"
# What a worker that lost the message queue tells its clients (live-protocol.md 10.5).
DELIVERY_DELAYED = {
    "live": False,
    "message": "Live updates from the rest of the room are delayed. What you send is still saved.",
}
PUBLIC = "all"
OWN = "hosts"
# RoomChange.record(replaces=EVERY): the new update replaces every stored one of its kind.
EVERY = object()
logger = logging.getLogger(__name__)


def everyone_room(event_id):
    return f"live:{event_id}"


def hosts_room(event_id):
    return f"live:{event_id}:hosts"


def crowd_room(event_id):
    """Participants and guests: they get the public frames and the short form of presence."""
    return f"live:{event_id}:crowd"


def viewers_room(event_id):
    """The harvest page following the room: public frames as the harvest may show them
    (consent.py), and the day's figures."""
    return f"live:{event_id}:viewers"


def author_room(event_id, author_key):
    return f"live:{event_id}:author:{author_key}"


def organiser_room(event_id, organiser_id):
    """One host's connections: wellbeing frames go to the rooms of the wellbeing hosts."""
    return f"live:{event_id}:host:{organiser_id}"


@dataclass
class Update:
    seq: int
    prev: int
    kind: str
    data: dict
    author_key: str | None = None
    # "public", "own" (hosts and one author) or "wellbeing" (numbered on its own chain).
    chain: str = "public"
    # For a wellbeing update: the rooms of the wellbeing hosts at the time of the change.
    rooms: tuple = ()
    # What the harvest may show of it (consent.py), when that differs from `data`.
    harvest_data: dict | None = None
    # The session has ended: participants and guests get the harvest's view too.
    crowd_sees_harvest: bool = False

    @property
    def public(self):
        return self.chain == "public"

    def message(self, as_harvest=False):
        data = self.harvest_data if as_harvest and self.harvest_data is not None else self.data
        return {
            "seq": self.seq,
            "prev": self.prev,
            "chain": self.chain,
            "kind": self.kind,
            "data": data,
        }


def chain_head(event_id, author_key=None, upto=None):
    """The latest seq on the public chain, or on `author_key`'s own chain (0 when empty)."""
    return db.session.scalar(chain_head_query(event_id, author_key, upto)) or 0


def chain_head_query(event_id, author_key=None, upto=None):
    """The query behind `chain_head`, to ask it in the same round trip as something else."""
    query = sa.select(sa.func.max(RoomUpdate.seq)).where(RoomUpdate.event_id == event_id)
    if author_key is None:
        query = query.where(RoomUpdate.audience == PUBLIC)
    else:
        query = query.where(RoomUpdate.audience == OWN, RoomUpdate.author_key == author_key)
    if upto is not None:
        query = query.where(RoomUpdate.seq <= upto)
    return query


# The statements every room change runs, built once: building and caching a statement for each
# change cost more than running it. Values are bound at each execution.
ROOM_EVENT_ID = sa.bindparam("room_event_id", type_=sa.Integer)
BUMP_SEQ = (
    sa.update(Event.__table__)
    .where(Event.__table__.c.id == ROOM_EVENT_ID)
    .values(live_seq=sa.bindparam("room_seq", type_=sa.Integer))
)
ADD_UPDATES = sa.insert(RoomUpdate.__table__)
UPDATE_COLUMNS = ("event_id", "seq", "kind", "payload", "audience", "author_key", "created_at")
_finish_statements = {}
_lock_statements = {}


def finish_statement(row_count, waiting_public, written=None):
    """PostgreSQL's one statement for a change of `row_count` updates, returning the heads of
    the chains waiting for them (`waiting_public`: for each, True for the public chain, else
    the own chain of the author bound as head{n}_author), and writing `written` (an INSERT,
    its values bound as written_{column}) too."""
    key = (row_count, waiting_public, id(written))
    statement = _finish_statements.get(key)
    if statement is not None:
        return statement
    updates = RoomUpdate.__table__
    bumped = BUMP_SEQ.returning(Event.__table__.c.id).cte("bumped")
    # Bound parameters named by position, not literal VALUES: one statement for every change
    # of as many rows.
    rows = [
        sa.select(
            *(sa.bindparam(f"row{n}_{name}", type_=updates.c[name].type) for name in UPDATE_COLUMNS)
        ).select_from(bumped)
        for n in range(row_count)
    ]
    statement = sa.insert(updates).from_select(
        UPDATE_COLUMNS, rows[0] if row_count == 1 else sa.union_all(*rows)
    )
    if written is not None:
        table = written.table
        values = {
            column.name: sa.bindparam(f"written_{column.name}", type_=column.type)
            for column in table.columns
        }
        statement = statement.add_cte(written.values(values).cte("written"))
    if waiting_public:
        statement = statement.returning(
            *(
                chain_head_query(
                    ROOM_EVENT_ID,
                    None if public else sa.bindparam(f"head{n}_author", type_=sa.String),
                ).scalar_subquery()
                for n, public in enumerate(waiting_public)
            )
        )
    _finish_statements[key] = statement
    return statement


def lock_statement(also):
    """The room's row read under its lock, with `also` (and, with `also`, the seq as the
    statement's subqueries see it), and `also` alone for a read again after the lock."""
    key = tuple(map(id, also))
    statements = _lock_statements.get(key)
    if statements is None:
        before_lock = (
            [sa.select(Event.live_seq).where(Event.id == ROOM_EVENT_ID).scalar_subquery()]
            if also
            else []
        )
        locked = (
            sa.select(Event, *before_lock, *also)
            .where(Event.id == ROOM_EVENT_ID)
            .with_for_update(of=Event)
            .execution_options(populate_existing=True)
        )
        statements = _lock_statements[key] = (locked, sa.select(*also) if also else None)
    return statements


class RoomChange:
    """Collects the updates of one change to a room while its transaction is open."""

    def __init__(self, event, locked_seq, also=()):
        self.event = event
        self.updates = []
        # The room's seq as read under the lock; numbers are handed out from it in memory and
        # written back once, before the commit (`finish`).
        self.seq = locked_seq
        self.locked_seq = locked_seq
        # What the caller asked to read with the locked row (`room_change(event, also=...)`).
        self.also = also
        # Each chain's head before this change (None: the public chain), when asked already;
        # a chain not asked is learnt by `finish` in the statement that writes the change.
        self.heads_before = {}
        # Each chain's last update recorded in this change.
        self.last = {}
        # The room_update rows recorded, written with the seq by `finish`.
        self.rows = []
        # A statement and its values that `finish` writes with the rows (`write_with`).
        self.written_with = None

    def write_with(self, statement, values):
        """Have `finish` write `statement` (an INSERT, built once, its values bound by column
        name) with the change's updates: on PostgreSQL in the same statement, one round trip
        fewer; elsewhere just before them."""
        self.written_with = (statement, values)

    def waiting_chains(self):
        """The chains whose first update in this change still waits for its `prev`."""
        return {update.author_key for update in self.updates if update.prev is None}

    def learn_heads(self, chains=()):
        """Ask the heads of `chains` and of every chain still waiting for its head, and give
        each chain's first update its `prev`."""
        for chain_author in (self.waiting_chains() | set(chains)) - set(self.heads_before):
            self.heads_before[chain_author] = chain_head(self.event.id, chain_author)
        self.give_prevs()

    def give_prevs(self):
        for update in self.updates:
            if update.prev is None:
                update.prev = self.heads_before[update.author_key]

    def finish(self):
        """Write the change's room updates and the room's last handed-out seq, once for the
        whole change: on PostgreSQL in one statement (the insert reads from the update's
        RETURNING, so both or neither are written, and returns the heads before the change of
        the chains it adds to), elsewhere in a few."""
        if not self.rows:
            if self.written_with is not None:
                db.session.execute(*self.written_with)
            return
        bump = {"room_event_id": self.event.id, "room_seq": self.seq}
        written, written_values = self.written_with or (None, {})
        if db.session.get_bind().dialect.name != "postgresql":
            if written is not None:
                db.session.execute(written, written_values)
            self.learn_heads()
            db.session.execute(ADD_UPDATES, self.rows)
            db.session.execute(BUMP_SEQ, bump)
            return
        # A statement's subqueries do not see what it inserts, and it runs under the lock:
        # each is the chain's head as the room's clients last heard it.
        waiting = sorted(self.waiting_chains(), key=lambda chain_author: chain_author or "")
        values = {
            f"row{n}_{name}": value
            for n, row in enumerate(self.rows)
            for name, value in row.items()
        }
        values.update((f"head{n}_author", author) for n, author in enumerate(waiting) if author)
        if written is not None:
            values.update((f"written_{name}", value) for name, value in written_values.items())
        statement = finish_statement(
            len(self.rows), tuple(author is None for author in waiting), written
        )
        result = db.session.execute(statement, {**bump, **values})
        if waiting:
            heads = result.first()
            self.heads_before.update(zip(waiting, (head or 0 for head in heads), strict=True))
            self.give_prevs()

    def record(
        self,
        kind,
        data,
        audience=PUBLIC,
        author_key=None,
        stored=None,
        replaces=None,
        harvest_data=None,
        crowd_sees_harvest=False,
    ):
        """Store an update under the room's next sequence number; it is sent after commit.

        `stored` is what is kept for replay when it differs from what is sent now (a
        contribution is kept by id and shown as it is at replay time). With `replaces` (a
        field of `data`), stored updates of this kind with the same value there are deleted,
        and with `replaces=EVERY` every stored update of this kind: the new one says all they
        said. Heads are taken first, so chains are unaffected.
        `harvest_data` is what viewers get instead (and, with `crowd_sees_harvest`,
        participants and guests too).
        """
        chain_author = author_key if audience == OWN else None
        if replaces is not None:
            # Clients heard the updates about to be deleted: heads are asked before that.
            self.learn_heads({chain_author})
            # Those recorded earlier in this change are not written yet.
            every = replaces is EVERY
            self.rows = [
                row
                for row in self.rows
                if row["kind"] != kind
                or not (every or row["payload"].get(replaces) == data[replaces])
            ]
            replaced = sa.delete(RoomUpdate).where(
                RoomUpdate.event_id == self.event.id, RoomUpdate.kind == kind
            )
            if not every:
                replaced = replaced.where(
                    RoomUpdate.payload[replaces].as_integer() == data[replaces]
                )
            db.session.execute(replaced.execution_options(synchronize_session=False))
        # None until `finish` (or `learn_heads`) asks the chain's head.
        prev = self.last.get(chain_author, self.heads_before.get(chain_author))
        self.seq = seq = self.seq + 1
        self.last[chain_author] = seq
        self.rows.append(
            {
                "event_id": self.event.id,
                "seq": seq,
                "kind": kind,
                "payload": data if stored is None else stored,
                "audience": audience,
                "author_key": chain_author,
                "created_at": utcnow(),
            }
        )
        chain = "public" if chain_author is None else "own"
        self.updates.append(
            Update(
                seq,
                prev,
                kind,
                data,
                chain_author,
                chain,
                harvest_data=harvest_data,
                crowd_sees_harvest=crowd_sees_harvest,
            )
        )
        return seq

    def record_wellbeing(self, kind, data, organiser_ids):
        """An update only the wellbeing hosts `organiser_ids` hear, sent after commit.

        It is numbered on the wellbeing chain (Event.support_seq), never with the room's seq,
        so nobody else sees even a gap where it was. The caller stores what it changed with
        the returned seq, which is what a reconnecting wellbeing host is replayed from.
        """
        seq = db.session.execute(
            sa.update(Event)
            .where(Event.id == self.event.id)
            .values(support_seq=Event.support_seq + 1)
            .returning(Event.support_seq)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        rooms = tuple(organiser_room(self.event.id, oid) for oid in organiser_ids)
        self.updates.append(Update(seq, seq - 1, kind, data, chain="wellbeing", rooms=rooms))
        return seq


@contextmanager
def room_change(event, also=(), values=None):
    """Lock the room's row, let the caller change it and record updates, commit, then send.

    The event row is re-read under a row lock (FOR UPDATE on PostgreSQL, BEGIN IMMEDIATE on
    SQLite), so checks such as "are contributions open?" see the latest committed state and
    sequence numbers stay unique and gapless across workers. `also` are scalar subqueries read
    in the same statement (`change.also`), built once, with their bound `values`; they are
    read again once the lock is granted when the room changed while this waited for it: on
    PostgreSQL a statement's subqueries see the database as it was when the statement began.
    """
    event_id = event.id  # the commit expires the row: no reload just to name the room
    try:
        connection = db.session.connection()
        if (
            connection.dialect.name == "sqlite"
            and not connection.connection.dbapi_connection.in_transaction
        ):
            # Take SQLite's write lock first, so two writers never deadlock upgrading.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        lock, read_again = lock_statement(also)
        values = {**(values or {}), "room_event_id": event_id}
        locked, *read = db.session.execute(lock, values).one()
        if also:
            # The seq as the statement's subqueries saw it: if the lock was granted after a
            # change committed, they are read again.
            seq_before_lock, *read = read
            if seq_before_lock != locked.live_seq:
                read = db.session.execute(read_again, values).one()
        change = RoomChange(event, locked.live_seq, tuple(read))
        yield change
        change.finish()
        if change.updates:
            signals.room_changed.send(event, kinds={update.kind for update in change.updates})
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise
    send_after_commit(event_id, change.updates)


def change_written(event, seq, prev, chain_author=None):
    """A change whose one update a statement wrote already (pg_contribution), numbered `seq`
    after `prev` on `chain_author`'s own chain (None: the public one): the caller `record`s
    that update, to build what is sent, then calls `written_change_committed`."""
    change = RoomChange(event, seq - 1)
    change.heads_before[chain_author] = prev
    return change


def written_change_committed(change):
    """What room_change does after its commit, for a `change_written`."""
    signals.room_changed.send(change.event, kinds={update.kind for update in change.updates})
    send_after_commit(change.event.id, change.updates)


def send_after_commit(event_id, updates):
    """Committed updates to the room's sender, or held for it until the handler's ack is out
    (`frames_after`)."""
    if not updates:
        return
    held = g.get("held_frames")
    if held is None:
        hand_to_sender(event_id, updates)
    else:
        held.append((event_id, updates))


def hand_to_sender(event_id, updates):
    sender_for(event_id).add(updates, float(current_app.config["LIVE_TICK_SECONDS"]))


@contextmanager
def frames_after():
    """Changes committed inside reach their rooms' senders only as it ends: a socket handler
    returns its ack first, and a quiet room's frame to 1,000 people (sent at once) would
    otherwise be written before that ack whenever the handler yields after its commit. The
    events sent inside (`tell_author`) go in a task of their own, after the ack too."""
    g.held_frames, g.held_events = [], []
    try:
        yield
    finally:
        held, g.held_frames = g.held_frames, None
        events, g.held_events = g.held_events, None
        if events:
            socketio.start_background_task(emit_all, events)
        for event_id, updates in held:
            hand_to_sender(event_id, updates)


def emit_all(events):
    for name, data, room in events:
        socketio.emit(name, data, to=room, namespace=NAMESPACE)


class RoomSender:
    """One room's updates waiting in this worker for the next tick; its lock is this room's."""

    def __init__(self, event_id):
        self.event_id = event_id
        self.lock = threading.Lock()
        self.pending = []
        self.running = False

    def add(self, updates, tick):
        if tick <= 0:
            send_frames(self.event_id, updates)
            return
        with self.lock:
            self.pending.extend(updates)
            if self.running:
                return
            self.running = True
        socketio.start_background_task(self.run, tick)

    def run(self, tick):
        """Send what is waiting at once (a quiet room's change need not wait a tick, and is
        then out of the way of the next one), then what gathers each tick until a tick passes
        with nothing new."""
        while True:
            with self.lock:
                updates, self.pending = self.pending, []
                if not updates:
                    self.running = False
                    return
            try:
                send_frames(self.event_id, updates)
            except Exception:
                # A lost frame is a gap the clients close with catch_up; the sender goes on.
                logger.exception("live room frame for event %s failed", self.event_id)
            socketio.sleep(tick)


_senders = {}
_senders_lock = threading.Lock()


def sender_for(event_id):
    with _senders_lock:
        sender = _senders.get(event_id)
        if sender is None:
            sender = _senders[event_id] = RoomSender(event_id)
        return sender


def send_frames(event_id, updates):
    """One frame per author (their own chain), one for the hosts (the room's updates), one
    for the crowd and one for viewers (public), and the wellbeing updates to the wellbeing
    hosts of the moment only.

    Authors first: hosts react to what they see (approving a pending contribution), and with
    several workers that reaction is published after this frame, so it never reaches the
    author before their own update does.
    """
    updates = sorted(updates, key=lambda update: update.seq)
    room_updates = [update for update in updates if update.chain != "wellbeing"]
    by_author = {}
    by_rooms = {}
    for update in updates:
        if update.chain == "own":
            by_author.setdefault(update.author_key, []).append(update.message())
        elif update.chain == "wellbeing" and update.rooms:
            by_rooms.setdefault(update.rooms, []).append(update.message())
    for author_key, messages in by_author.items():
        emit_frame(author_room(event_id, author_key), messages)
    emit_frame(hosts_room(event_id), [update.message() for update in room_updates])
    public = [update for update in room_updates if update.public]
    crowd = [update.message(update.crowd_sees_harvest) for update in public]
    viewers = [update.message(as_harvest=True) for update in public]
    if crowd == viewers:
        emit_frame([crowd_room(event_id), viewers_room(event_id)], crowd)
    else:
        emit_frame(crowd_room(event_id), crowd)
        emit_frame(viewers_room(event_id), viewers)
    for rooms, messages in by_rooms.items():
        emit_frame(list(rooms), messages)


def tell_author(event_id, author_key, view):
    """A reflection shared at once is news on the public chain, which never says whose it is:
    its author's other tabs and devices hear it is theirs from `mine` (live-protocol.md 4),
    after the ack when a socket handler sends it (`frames_after`)."""
    event = ("mine", {"contribution": view}, author_room(event_id, author_key))
    held = g.get("held_events")
    if held is None:
        emit_all([event])
    else:
        held.append(event)


def emit_frame(room, messages):
    if messages:
        socketio.emit("updates", messages, to=room, namespace=NAMESPACE)


def visible_updates(event_id, upto, role, last_seq=0, author_key=None, own_seq=0, limit=None):
    """Stored updates up to `upto` that a client has not seen, oldest first.

    Hosts: every update after last_seq. Others: public ones after last_seq and, for an author,
    their own after own_seq. With `limit`, at most limit + 1 (enough to tell "too many").
    """
    query = sa.select(RoomUpdate).where(RoomUpdate.event_id == event_id, RoomUpdate.seq <= upto)
    if role == "host":
        query = query.where(RoomUpdate.seq > last_seq)
    else:
        visible = (RoomUpdate.audience == PUBLIC) & (RoomUpdate.seq > last_seq)
        if author_key:
            visible = visible | (
                (RoomUpdate.audience == OWN)
                & (RoomUpdate.author_key == author_key)
                & (RoomUpdate.seq > own_seq)
            )
        query = query.where(visible)
    query = query.order_by(RoomUpdate.seq)
    if limit is not None:
        query = query.limit(limit + 1)
    return db.session.scalars(query).all()


def current_seq(event_id):
    return db.session.scalar(sa.select(Event.live_seq).where(Event.id == event_id))
