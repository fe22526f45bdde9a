"""PostgreSQL writes a new contribution in one message under the room's lock, with a statement
prepared once per connection (pg_contribution); the ordinary path (statement by statement
under the lock) runs whenever that writes nothing, and when prepared statements are off.
Both must answer, store and send the same, refusals included.
"""

import uuid

import pytest
import sqlalchemy as sa

from lero_events import moderation, prompts
from lero_events.extensions import db, socketio
from lero_events.models import Contribution, Event, Organiser, Registration, RoomUpdate

from .conftest import (
    POSTGRES_URL,
    create_event,
    create_organiser,
    create_registration,
    fresh_app,
    missing,
    statements_run,
)
from .conftest import postgres_available as postgres_answers
from .live_clients import private_token

NS = "/live"
# What differs between two rooms whatever the path: ids, times, the room's own numbers.
VARYING = {"id", "client_id", "created_at", "prompt_id"}


@pytest.fixture
def postgres_app(tmp_path):
    if not postgres_answers(POSTGRES_URL):
        missing(f"PostgreSQL at {POSTGRES_URL} is not answering")
    settings = {
        "LIVE_TICK_SECONDS": 0,
        "LIVE_PRESENCE_SECONDS": 3600,
        "LIVE_HEARTBEAT_SECONDS": 3600,
        "LIVE_RATE_LIMIT_COUNT": 4,
        # One connection, so a test knows which one the room's next message goes on.
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0},
    }
    with fresh_app(tmp_path, POSTGRES_URL, **settings) as app:
        yield app


def make_room(app, slug):
    """A post-moderated room with a question asked and one prepared (not yet asked), Alice
    and Bob booked, and guests welcome."""
    with app.app_context():
        owner = db.session.scalar(sa.select(Organiser)) or create_organiser()
        event = create_event(owner=owner, slug=slug, allow_guests=True)
        event.moderation = "post"
        db.session.commit()
        heard = moderation.set_prompt(event, owner, "What helped?")
        waiting = prompts.add_prepared_prompt(event, owner, "What next?")
        people = {
            name: private_token(create_registration(event, name, f"{name}@example.org"))
            for name in ("alice", "bob")
        }
        return {"slug": slug, "heard": heard.id, "waiting": waiting.id, **people}


def connect(app, room, who):
    if who == "gina":
        auth = {"guest_name": "Gina", "guest_key": "gina-key-0123456789abcdef"}
    else:
        auth = {"token": room[who]}
    client = socketio.test_client(app, namespace=NS, auth={"slug": room["slug"], **auth})
    assert client.is_connected(NS), "the live room refused the connection"
    return client


def without_varying(value):
    if isinstance(value, dict):
        return {k: without_varying(v) for k, v in value.items() if k not in VARYING}
    if isinstance(value, list):
        return [without_varying(item) for item in value]
    return value


def run_session(app, room):
    """The same session in `room`: acks, what each connection heard, and the SQL each new
    contribution ran through SQLAlchemy."""
    clients = {who: connect(app, room, who) for who in ("alice", "bob", "gina")}
    for client in clients.values():
        client.get_received(NS)
    resend = str(uuid.uuid4())
    acks, statements, sent = [], [], set()

    def post(who, text, client_id=None, **fields):
        payload = {"client_id": client_id or str(uuid.uuid4()), "text": text, **fields}
        with statements_run(app) as ran:
            ack = clients[who].emit("contribute", payload, namespace=NS, callback=True)
        acks.append((who, text, without_varying(ack)))
        if ack.get("ok") and payload["client_id"] not in sent:
            statements.append(ran)
        sent.add(payload["client_id"])
        return ack

    first = post("gina", "Being heard", client_id=resend, prompt_id=room["heard"])
    post("alice", "Someone listened", sharing="named", anonymous=True)
    again = post("gina", "Being heard", client_id=resend, prompt_id=room["heard"])
    assert again["contribution"]["id"] == first["contribution"]["id"]
    post("alice", "Too soon", prompt_id=room["waiting"])
    with app.app_context():
        event = db.session.scalars(sa.select(Event).where(Event.slug == room["slug"])).one()
        host = event.hosts[0].organiser
        moderation.set_moderation_mode(event, host, "pre")
    post("bob", "Waiting for a host", sharing="room")
    for n in range(4):
        post("gina", f"Again {n}")
    with app.app_context():
        bob = db.session.get(Registration, int(room["bob"].split(".")[0]))
        bob.status = "cancelled"
        db.session.commit()
    post("bob", "After cancelling")
    with app.app_context():
        event = db.session.scalars(sa.select(Event).where(Event.slug == room["slug"])).one()
        moderation.set_contributions_open(event, event.hosts[0].organiser, False)
    post("alice", "After closing")
    heard = {who: without_varying(client.get_received(NS)) for who, client in clients.items()}
    for client in clients.values():
        client.disconnect(NS)
    return acks, heard, statements


def stored(app, slug):
    """The room's contributions and room updates, without what differs between rooms."""
    with app.app_context():
        event_id = db.session.scalar(sa.select(Event.id).where(Event.slug == slug))
        contributions = db.session.scalars(
            sa.select(Contribution).where(Contribution.event_id == event_id).order_by("id")
        ).all()
        contribution_rows = [
            (c.author_key[:2], c.guest_name, c.text, c.anonymous, c.sharing, c.status)
            + (c.featured, c.moderated_at == c.created_at, c.prompt_id is not None)
            + (c.taken_down_at, c.held_back_reason, c.redacted)
            for c in contributions
        ]
        updates = db.session.scalars(
            sa.select(RoomUpdate).where(RoomUpdate.event_id == event_id).order_by("seq")
        ).all()
        update_rows = [
            (u.seq, u.kind, u.audience, u.author_key is not None, without_varying(u.payload))
            for u in updates
        ]
        live_seq = db.session.get(Event, event_id).live_seq
        db.session.remove()
    return contribution_rows, update_rows, live_seq


def test_the_one_message_and_the_ordinary_path_answer_store_and_send_the_same(postgres_app):
    app = postgres_app
    one_message = make_room(app, "one-message")
    ordinary = make_room(app, "ordinary")

    fast = run_session(app, one_message)
    app.config["DATABASE_PREPARED_STATEMENTS"] = False
    slow = run_session(app, ordinary)

    fast_acks, fast_heard, fast_statements = fast
    slow_acks, slow_heard, slow_statements = slow
    # A new contribution in one message runs nothing through SQLAlchemy; the ordinary path
    # several statements. Six new ones were written before the room closed.
    assert fast_statements == [[]] * 6
    assert len(slow_statements) == 6 and all(slow_statements)
    assert fast_acks == slow_acks
    assert [ack["ok"] for _who, _text, ack in fast_acks] == [True] * 3 + [False] + [True] * 4 + [
        False
    ] * 3
    refusals = [ack["error"] for _who, _text, ack in fast_acks if not ack["ok"]]
    assert refusals == [
        "That prompt is not part of this event.",
        "You are sending a lot very quickly: please wait a few seconds and try again.",
        "Your place at this event is no longer confirmed, so you cannot post.",
        "Contributions are paused by the hosts for now.",
    ]
    # Each connection heard the same frames, numbered and chained the same way.
    assert fast_heard == slow_heard
    alice_heard = [
        update
        for message in fast_heard["alice"]
        if message["name"] == "updates"
        for update in message["args"][0]
    ]
    assert [(u["seq"], u["prev"], u["chain"], u["kind"]) for u in alice_heard[:2]] == [
        (3, 1, "public", "contribution"),
        (4, 3, "public", "contribution"),
    ]
    assert stored(app, "one-message") == stored(app, "ordinary")
    contributions, _updates, _seq = stored(app, "one-message")
    assert [row[2] for row in contributions] == [
        "Being heard",
        "Someone listened",
        "Waiting for a host",
        "Again 0",
        "Again 1",
        "Again 2",
    ]


def test_a_statement_gone_from_the_connection_is_prepared_again(postgres_app):
    """psycopg deallocates every prepared statement when it rolls back after preparing its
    own: the next contribution meets its statement gone, and still goes in one message."""
    app = postgres_app
    room = make_room(app, "deallocated")
    gina = connect(app, room, "gina")

    def post(text):
        payload = {"client_id": str(uuid.uuid4()), "text": text}
        with statements_run(app) as ran:
            ack = gina.emit("contribute", payload, namespace=NS, callback=True)
        assert ack["ok"] is True, ack
        assert ran == []
        return ack

    post("Prepared the first time")
    with app.app_context():
        db.session.connection().exec_driver_sql("DEALLOCATE ALL")
        db.session.commit()
    after = post("Prepared again")
    assert stored(app, "deallocated")[0][-1][2] == "Prepared again"
    assert after["contribution"]["status"] == "approved"
    gina.disconnect(NS)
