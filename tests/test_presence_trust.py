"""Presence that cannot be faked or left behind, and limits per person and per address.

Issue 11's findings 4 and 5 (docs/live-protocol.md section 8): a connect that fails writes
nothing; a disconnect inside a broken session and a crowd leaving at once leave no ghost; one
person or one address cannot multiply their caps and limits with more connections or new
guest keys; resonance toggles are compacted, not replayed one by one.
"""

import subprocess
import time
import uuid

import pytest
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.live import COULD_NOT_LET_IN, TOO_MANY_MESSAGES
from lero_events.models import Event, LiveConnection, Registration, RoomUpdate
from lero_events.presence import TOO_MANY_FOR_ADDRESS, TOO_MANY_FOR_PERSON

from .conftest import JS_DIR, fresh_app, login, node_with
from .live_clients import (
    LiveClient,
    RoomView,
    join,
    make_room,
    refused_message,
)
from .live_in_process import InProcessClient, presence_rows, wait_for_presence_rows

QUICK = {"LIVE_PRESENCE_SECONDS": 0.02, "LIVE_TICK_SECONDS": 0}


@pytest.fixture
def app(tmp_path, database_url):
    with fresh_app(tmp_path, database_url, **QUICK) as app:
        yield app


@pytest.fixture
def room(app):
    return make_room(app)


def attended(app, name):
    with app.app_context():
        return db.session.scalar(
            sa.select(Registration.attended_at).where(Registration.name == name)
        )


def guest(room, n, **extra):
    return {
        "slug": room["slug"],
        "guest_name": f"Guest {n}",
        "guest_key": f"guest-key-{n:06d}-abcdefgh",
        **extra,
    }


@pytest.mark.parametrize(
    "cursors",
    [
        {"last_seq": 2**63},
        {"own_seq": 2**70},
        {"last_seq": -1},
        {"last_seq": "5"},
        {"own_seq": True},
    ],
)
def test_a_connect_with_bad_cursors_is_refused_and_writes_nothing(app, room, cursors):
    alice = InProcessClient(
        app, {"slug": room["slug"], "token": room["tokens"]["alice"], **cursors}
    )
    assert not alice.connected
    assert alice.refused == "The live room could not understand how you are joining."
    assert presence_rows(app) == []
    assert attended(app, "Alice") is None, "a refused connect records no attendance"


def test_a_connect_that_fails_while_building_its_state_leaves_no_presence_or_attendance(
    app, room, caplog
):
    with app.app_context():
        # The room's history table is gone (a botched restore, say): every check passes, then
        # the state cannot be built.
        RoomUpdate.__table__.drop(db.engine)
    alice = InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["alice"]})
    assert not alice.connected
    assert alice.refused == COULD_NOT_LET_IN
    assert presence_rows(app) == [], "no ghost row for a connection that never got in"
    assert attended(app, "Alice") is None
    assert "live room connect failed" in caplog.text


def test_a_disconnect_inside_a_broken_session_still_drops_its_row(app, room):
    """A disconnect handler runs inside whatever context closed the socket (a broadcast,
    another handler) and used to share that context's database session: one broken session
    left every connection closed inside it behind, for ever."""
    people = [InProcessClient(app, guest(room, n)) for n in range(3)]
    wait_for_presence_rows(app, ["guest"] * 3)
    with app.app_context():
        sid = db.session.scalars(sa.select(LiveConnection.sid)).first()
        db.session.add(LiveConnection(sid=sid, event_id=room["event_id"], worker="x", role="x"))
        with pytest.raises(sa.exc.IntegrityError):
            db.session.flush()  # this context's session now needs a rollback nobody did
        for person in people:
            person.disconnect()
    wait_for_presence_rows(app, [])


CROWD = 200


def test_a_crowd_dropping_at_once_leaves_no_ghost_behind(app, room, start_server):
    node = node_with("socket.io-client")
    server = start_server(LERO_LIVE_CONNECTIONS_PER_ADDRESS=CROWD + 10)
    host = join(server, room, "host")
    crowd = subprocess.Popen(
        [node, str(JS_DIR / "crowd.mjs"), server.url, room["slug"], str(CROWD)],
        cwd=JS_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert crowd.stdout.readline().strip() == "ready"
        host.wait_for("presence", lambda p: p["present"] == CROWD, timeout=30)
        before = host.mark()
        crowd.kill()  # every connection drops in the same moment
        host.wait_for("presence", lambda p: p["present"] == 0, timeout=30, after=before)
    finally:
        crowd.kill()
        crowd.wait()
        crowd.stdout.close()
    assert presence_rows(app) == ["host"], "only the host is still connected"
    assert join(server, room, "host").state["present"] == 0
    log = server.log.read_text()
    assert "Traceback" not in log, log[-3000:]


def test_one_person_opens_at_most_their_share_of_connections(app, room):
    app.config["LIVE_CONNECTIONS_PER_PERSON"] = 2
    auth = {"slug": room["slug"], "token": room["tokens"]["alice"]}
    tabs = [InProcessClient(app, auth) for _ in range(2)]
    third = InProcessClient(app, auth)
    assert third.refused == TOO_MANY_FOR_PERSON and not third.connected
    assert InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["bob"]}).connected
    tabs[0].disconnect()
    # A reload: the new tab is let in even before the closed one's row is dropped.
    assert InProcessClient(app, auth).connected
    wait_for_presence_rows(app, ["participant"] * 3)


def test_connects_at_the_same_moment_never_pass_the_caps(app, room):
    """Counting the open connections and writing the new one are one step (under a lock), so
    a burst of connects at once cannot all see room under a cap and all get in."""
    app.config["LIVE_CONNECTIONS_PER_PERSON"] = 3
    alice = {"slug": room["slug"], "token": room["tokens"]["alice"]}
    tabs = InProcessClient.all_at_once(app, [alice] * 12)
    assert sum(tab.connected for tab in tabs) == 3
    assert {tab.refused for tab in tabs if not tab.connected} == {TOO_MANY_FOR_PERSON}
    wait_for_presence_rows(app, ["participant"] * 3)

    app.config["LIVE_CONNECTIONS_PER_ADDRESS"] = 7  # alice's three, and four new guests
    guests = InProcessClient.all_at_once(app, [guest(room, n) for n in range(12)])
    assert sum(one.connected for one in guests) == 4
    assert {one.refused for one in guests if not one.connected} == {TOO_MANY_FOR_ADDRESS}
    wait_for_presence_rows(app, ["guest"] * 4 + ["participant"] * 3)


def test_a_token_on_five_connections_gets_one_persons_message_limit(app, room):
    host = InProcessClient(app, {"slug": room["slug"], "role": "host"}, http=logged_in(app))
    said = post(InProcessClient(app, guest(room, 1)), "Worth resonating with")
    assert host.call("approve", {"contribution_id": said})["ok"] is True
    tabs = [
        InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["alice"]})
        for _ in range(5)
    ]
    acks = [tabs[n % 5].call("resonate", {"contribution_id": said}) for n in range(70)]
    assert [ack["ok"] for ack in acks] == [True] * 60 + [False] * 10
    assert acks[-1]["error"] == TOO_MANY_MESSAGES
    # Someone else is not held back by alice's limit.
    assert InProcessClient(app, guest(room, 2)).call("resonate", {"contribution_id": said})["ok"]


def test_a_persons_message_limit_opens_again_as_its_oldest_messages_leave_the_window(app, room):
    """The worker's own windows (no Redis here) count as limits' moving window does."""
    app.config["LIVE_MESSAGES_PER_PERSON"] = "3 per 3 seconds"
    host = InProcessClient(app, {"slug": room["slug"], "role": "host"}, http=logged_in(app))
    said = post(InProcessClient(app, guest(room, 1)), "Worth resonating with")
    assert host.call("approve", {"contribution_id": said})["ok"] is True
    alice = InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["alice"]})
    acks = [alice.call("resonate", {"contribution_id": said}) for _ in range(4)]
    assert [ack["ok"] for ack in acks] == [True, True, True, False]
    assert acks[-1]["error"] == TOO_MANY_MESSAGES
    time.sleep(3.05)
    acks = [alice.call("resonate", {"contribution_id": said})["ok"] for _ in range(4)]
    assert acks == [True, True, True, False]


def test_new_guest_keys_from_one_address_cannot_pass_its_contribution_limit(app, room):
    app.config["LIVE_CONTRIBUTIONS_PER_ADDRESS"] = "10 per 30 seconds"
    acks = []
    for n in range(15):
        client, client_id = InProcessClient(app, guest(room, n)), str(uuid.uuid4())
        ack = client.call("contribute", {"client_id": client_id, "text": f"Guest {n} speaks"})
        acks.append((client, client_id, ack))
    results = [ack for _, _, ack in acks]
    assert [ack["ok"] for ack in results] == [True] * 10 + [False] * 5
    assert results[-1]["error"].startswith("You are sending a lot very quickly")
    first, client_id, ack = acks[0]
    resent = first.call("contribute", {"client_id": client_id, "text": "Guest 0 speaks"})
    assert resent["ok"] is True and resent["id"] == ack["id"], "a resend is never limited"


def test_resonance_toggles_are_compacted_and_chains_still_hold(app, room):
    with app.app_context():
        db.session.get(Event, room["event_id"]).moderation = "post"
        db.session.commit()
    alice = InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["alice"]})
    bob = InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["bob"]})
    first, second = post(alice, "First"), post(alice, "Second")
    watcher = InProcessClient(app, guest(room, 9))
    for n in range(40):
        toggler = (alice, bob)[n % 2]
        assert toggler.call("resonate", {"contribution_id": (first, second)[n % 3 == 0]})["ok"]
    alice.call("resonate", {"contribution_id": first})

    with app.app_context():
        kept = db.session.scalars(
            sa.select(RoomUpdate.payload).where(RoomUpdate.kind == "resonance")
        ).all()
    assert sorted(p["contribution_id"] for p in kept) == [first, second], "one per contribution"

    # The watcher saw every toggle live and, by the gap rule, applied each one.
    view = RoomView(host=False)
    for kind, data in watcher.received():
        if kind == "state":
            view.apply_state(data)
        elif kind == "updates":
            for update in data:
                view.offer(update)
    assert view.held == [], "no gap: each update's prev was the head the watcher had"
    counts = {cid: view.shown[cid]["resonance_count"] for cid in (first, second)}
    assert counts == {first: kept_count(kept, first), second: kept_count(kept, second)}

    # A joiner a little behind gets a short tail: the current count once per contribution.
    late = InProcessClient(app, {**guest(room, 10), "last_seq": 2, "own_seq": 0}).received("state")[
        0
    ]
    resonance = [u for u in late["updates"] if u["kind"] == "resonance"]
    assert sorted(u["data"]["contribution_id"] for u in resonance) == [first, second]


def kept_count(kept, contribution_id):
    return next(p["count"] for p in kept if p["contribution_id"] == contribution_id)


def post(client, text):
    ack = client.call("contribute", {"client_id": str(uuid.uuid4()), "text": text})
    assert ack["ok"] is True, ack
    return ack["id"]


def logged_in(app):
    http = app.test_client()
    assert login(http).status_code == 302
    return http


def test_caps_and_limits_count_the_client_address_behind_a_proxy(app, room, start_server):
    server = start_server(
        LERO_PROXY_COUNT=1,
        LERO_LIVE_CONNECTIONS_PER_ADDRESS=2,
        LERO_LIVE_CONTRIBUTIONS_PER_ADDRESS="3 per 30 seconds",
    )
    office = {"X-Forwarded-For": "203.0.113.5"}
    people = [LiveClient(server, guest(room, n), office).connect() for n in range(2)]
    assert refused_message(server, guest(room, 7), office) == TOO_MANY_FOR_ADDRESS
    home = {"X-Forwarded-For": "198.51.100.7"}
    elsewhere = LiveClient(server, guest(room, 8), home).connect()

    acks = [post_ack(people[n % 2], f"office {n}") for n in range(4)]
    assert [ack["ok"] for ack in acks] == [True, True, True, False]
    assert post_ack(elsewhere, "from home")["ok"] is True, "another address has its own limit"


def post_ack(client, text):
    return client.call("contribute", {"client_id": str(uuid.uuid4()), "text": text})
