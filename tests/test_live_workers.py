"""The live room across processes: concurrent workers, a crash and restart, Redis."""

import json
import socket
import threading
import time
import uuid

import pytest
import redis
import socketio
import sqlalchemy as sa
import websocket

from lero_events.broadcast import crowd_room, hosts_room
from lero_events.contributions import resonance_counts
from lero_events.extensions import db
from lero_events.live import TOO_MANY_MESSAGES
from lero_events.models import Contribution, Event, LiveConnection, Phrase, RoomUpdate
from lero_events.serving import NOTICE, read_relay_message, relay_message

from .conftest import wait_until, workers_through_redis
from .live_clients import NS, contribute, join, make_room, publish_harvest


@pytest.fixture
def room(app):
    return make_room(app)


def room_seqs(app, event_id):
    with app.app_context():
        seqs = db.session.scalars(
            sa.select(RoomUpdate.seq).where(RoomUpdate.event_id == event_id).order_by("seq")
        ).all()
        live_seq = db.session.get(Event, event_id).live_seq
    return seqs, live_seq


def test_concurrent_contributions_through_two_workers_get_unique_gapless_seqs(
    app, room, start_server
):
    servers = [start_server(), start_server()]
    guests = [
        join(servers[n % 2], room, f"guest:Guest {n}", guest_key=f"guest-key-{n:04d}-abcdefghij")
        for n in range(8)
    ]
    acks, failures = [], []
    start = threading.Barrier(len(guests))

    def post(guest, n):
        start.wait()
        for round_ in range(5):
            ack = contribute(guest, f"guest {n} says {round_}")
            (acks if ack["ok"] else failures).append(ack)

    threads = [threading.Thread(target=post, args=(g, n)) for n, g in enumerate(guests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == [] and len(acks) == 40

    seqs, live_seq = room_seqs(app, room["event_id"])
    assert seqs == list(range(1, 41)), "one update per contribution, no gap, no repeat"
    assert live_seq == 40
    with app.app_context():
        stored = db.session.scalar(sa.select(sa.func.count(Contribution.id)))
    assert stored == 40 == len({ack["id"] for ack in acks})


def test_one_person_flooding_through_two_workers_at_once_is_held_to_the_limit(
    app, room, start_server
):
    """Twelve reflections at the same moment from one person on two workers: exactly
    LIVE_RATE_LIMIT_COUNT (5) are saved, the rest get the reason, although most of them
    waited for the room's lock while the first five were being saved."""
    servers = [start_server(), start_server()]
    tabs = [join(servers[n % 2], room, "alice") for n in range(4)]
    acks = []
    start = threading.Barrier(12)

    def post(tab, n):
        start.wait()
        acks.append(contribute(tab, f"at once {n}"))

    threads = [threading.Thread(target=post, args=(tabs[n % 4], n)) for n in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    saved = [ack for ack in acks if ack["ok"]]
    refused = {ack["error"] for ack in acks if not ack["ok"]}
    assert len(acks) == 12 and len(saved) == 5
    assert refused == {
        "You are sending a lot very quickly: please wait a few seconds and try again."
    }
    with app.app_context():
        stored = db.session.scalar(
            sa.select(sa.func.count(Contribution.id)).where(
                Contribution.event_id == room["event_id"]
            )
        )
    assert stored == 5


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_a_killed_server_loses_nothing_acked_and_every_client_catches_up(
    app, room, start_server, async_mode
):
    server = start_server(async_mode, LERO_LIVE_RATE_LIMIT_COUNT=100)
    host = join(server, room, "host")
    people = ["alice", "bob", "guest:Carol"]
    clients = {who: join(server, room, who) for who in people}
    acked = {}  # client_id -> contribution id
    unacked = {}  # who -> (client_id, text) sent when the server died
    lock = threading.Lock()
    enough = threading.Event()

    def post(who):
        for n in range(200):
            client_id, text = str(uuid.uuid4()), f"{who} line {n}"
            try:
                ack = clients[who].call(
                    "contribute", {"client_id": client_id, "text": text, "prompt_id": None}, 5
                )
            except (socketio.exceptions.TimeoutError, socketio.exceptions.BadNamespaceError):
                unacked[who] = (client_id, text)
                return
            assert ack["ok"] is True, ack
            with lock:
                acked[client_id] = ack["id"]
                if len(acked) >= 9:
                    enough.set()

    threads = [threading.Thread(target=post, args=(who,)) for who in people]
    for thread in threads:
        thread.start()
    assert enough.wait(30)
    with lock:
        approved_before = list(acked.values())[:4]
    for contribution_id in approved_before:
        assert host.call("approve", {"contribution_id": contribution_id})["ok"] is True
    server.kill()
    for thread in threads:
        thread.join(30)
    assert set(unacked) == set(people), "everyone was mid-sentence when the server died"

    server.start()
    rejoined = {}
    for who in people:
        rejoined[who] = join(server, room, who, last_seq=clients[who].last_seq)
        client_id, text = unacked[who]
        ack = contribute(rejoined[who], text, client_id=client_id)
        assert ack["ok"] is True
        acked[client_id] = ack["id"]

    new_host = join(server, room, "host")
    assert new_host.state["present"] == 3, "connections of the killed process are forgotten"
    for contribution in new_host.state["queue"]:
        assert new_host.call("approve", {"contribution_id": contribution["id"]})["ok"] is True

    with app.app_context():
        rows = db.session.execute(sa.select(Contribution.client_id, Contribution.id)).all()
        statuses = set(db.session.scalars(sa.select(Contribution.status)))
    assert sorted(client_id for client_id, _ in rows) == sorted(acked), "each exactly once"
    assert dict(rows) == acked
    assert statuses == {"approved"}
    everything = set(acked.values())
    last = max(acked.values())
    for who in people:
        # Its approval comes a tick after its author's own "pending" update: wait for the view.
        rejoined[who].wait_for_view(lambda view: last in view.shown and not view.held)
        seen = set(clients[who].stream()) | set(rejoined[who].stream())
        assert seen == everything, f"{who} caught up with every approved contribution"
    seqs, live_seq = room_seqs(app, room["event_id"])
    assert seqs == list(range(1, live_seq + 1))


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_an_approval_on_one_worker_reaches_participants_on_another_through_redis(
    app, room, start_server, async_mode
):
    settings = workers_through_redis()
    worker_a = start_server(async_mode, **settings)
    worker_b = start_server(async_mode, **settings)
    host = join(worker_a, room, "host")
    bob = join(worker_a, room, "bob")
    alice = join(worker_b, room, "alice")
    host.wait_for("presence", lambda p: p["present"] == 2)

    ack = contribute(alice, "Said on worker B")
    assert ack["ok"] is True
    queued = host.wait_for_update("contribution", lambda d: d["contribution"]["id"] == ack["id"])
    assert queued["data"]["contribution"]["status"] == "pending"
    assert host.call("approve", {"contribution_id": ack["id"]})["ok"] is True
    for client in (alice, bob):
        approved = client.wait_for_update(
            "contribution",
            lambda d: (
                d["contribution"]["id"] == ack["id"] and d["contribution"]["status"] == "approved"
            ),
        )
        assert approved["seq"] == queued["seq"] + 1
    with app.app_context():
        workers = set(db.session.scalars(sa.select(LiveConnection.worker)))
    assert len(workers) == 2, "presence rows come from both workers"


def counted_rows(app):
    with app.app_context():
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(LiveConnection)
            .where(LiveConnection.role.in_(("participant", "guest")))
        )
        db.session.remove()
    return count


def test_people_on_a_worker_that_died_for_good_stop_being_counted(app, room, start_server):
    settings = {"LERO_LIVE_HEARTBEAT_SECONDS": 0.5}
    worker_a = start_server(**settings)
    worker_b = start_server(**settings)
    host = join(worker_a, room, "host")
    join(worker_a, room, "bob")
    join(worker_b, room, "alice")
    join(worker_b, room, "guest:Carol")
    # Each worker writes its arrivals' rows at its presence tick: then every worker counts them.
    wait_until(lambda: counted_rows(app) >= 3, timeout=10)  # worker B wrote its arrivals' rows
    assert join(worker_a, room, "host").state["present"] == 3

    before_the_crash = host.mark()
    worker_b.kill()
    # No one tells worker A; the missing heartbeats do, and the hosts hear it.
    after = host.wait_for("presence", lambda p: p["present"] == 1, after=before_the_crash)
    assert after["people"] == [{"name": "Bob B", "role": "participant"}]
    with app.app_context():
        rows = db.session.scalars(sa.select(LiveConnection.worker))
        workers = {worker.rsplit(":", 1)[0] for worker in rows}
    assert workers == {f"{socket.gethostname()}:{worker_a.process.pid}"}


def test_two_workers_through_redis_every_client_ends_with_the_databases_room(
    app, room, start_server
):
    """Concurrent changes on both workers: frames from the two can arrive in either order, and
    every client, by the gap rule, ends up showing exactly what the database holds."""
    publish_harvest(app, room)
    settings = {
        **workers_through_redis(),
        "LERO_LIVE_RATE_LIMIT_COUNT": 1000,
        "LERO_LIVE_CONTRIBUTIONS_PER_ADDRESS": "1000 per 30 seconds",
        "LERO_LIVE_MESSAGES_PER_PERSON": "1000 per 10 seconds",
    }
    workers = [start_server(**settings), start_server(**settings)]
    hosts = [join(worker, room, "host") for worker in workers]
    guests = [
        join(workers[n % 2], room, f"guest:Guest {n}", guest_key=f"two-workers-{n:04d}-abcdefgh")
        for n in range(6)
    ]
    watchers = [join(workers[n % 2], room, "viewer") for n in range(2)]
    posted, failures = [], []
    lock = threading.Lock()
    start = threading.Barrier(len(guests) + len(hosts))

    def speak(n, guest):
        start.wait()
        for round_ in range(8):
            ack = contribute(guest, f"guest {n} round {round_}")
            with lock:
                (posted if ack["ok"] else failures).append(ack.get("id", ack))
            with lock:
                approved = [i for i in posted if i % 3 == 0]
            if approved:
                ack = guest.call("resonate", {"contribution_id": approved[-1]})
                if not ack["ok"] and "not in this room" not in ack["error"]:
                    failures.append(ack)

    def moderate(n, host):
        start.wait()
        done = set()
        for _ in range(60):
            with lock:
                mine = [i for i in posted if i % 2 == n and i not in done]
            for contribution_id in mine:
                ack = host.call("approve", {"contribution_id": contribution_id})
                assert ack["ok"], ack
                done.add(contribution_id)
                if contribution_id % 5 == 0:
                    assert host.call("withdraw", {"contribution_id": contribution_id})["ok"]
            assert host.call("capture_phrase", {"text": f"heard by host {n}"})["ok"]
            if len(done) >= 24:
                return
            time.sleep(0.05)

    threads = [threading.Thread(target=speak, args=(n, g)) for n, g in enumerate(guests)]
    threads += [threading.Thread(target=moderate, args=(n, h)) for n, h in enumerate(hosts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(90)
    assert failures == [] and len(posted) == 48

    with app.app_context():
        live_seq = db.session.get(Event, room["event_id"]).live_seq
        approved = db.session.scalars(
            sa.select(Contribution.id).where(Contribution.status == "approved")
        ).all()
        counts = resonance_counts(approved)
        expected = {contribution_id: counts.get(contribution_id, 0) for contribution_id in approved}
        phrases = set(db.session.scalars(sa.select(Phrase.id)))
    for host in hosts:
        host.wait_for("update", lambda u: u["seq"] == live_seq, timeout=20)
    time.sleep(1.5)  # past the gap wait: a client would have asked catch_up by now
    for client in hosts + guests + watchers:
        view = client.view()
        if view.held:
            client.catch_up()
            view = client.view()
        shown = {cid: c["resonance_count"] for cid, c in view.shown.items()}
        assert shown == expected, "every client shows the database's room"
        assert set(view.phrases) == phrases


@pytest.fixture
def raw_frames(monkeypatch):
    """Every WebSocket text frame each client of the test receives, as it arrived: by
    client, `raw_frames[client]`."""
    frames = {}
    receive = websocket.WebSocket.recv

    def recording(connection):
        frame = receive(connection)
        frames.setdefault(connection, []).append(frame)
        return frame

    monkeypatch.setattr(websocket.WebSocket, "recv", recording)
    return RawFrames(frames)


class RawFrames:
    def __init__(self, frames):
        self.frames = frames

    def __getitem__(self, client):
        return self.frames.get(client.sio.eio.ws, [])


def listen_to_channel(settings):
    pubsub = redis.Redis.from_url(settings["REDIS_URL"]).pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(settings["LERO_SOCKETIO_CHANNEL"])
    pubsub.get_message(timeout=5)  # the subscription's confirmation
    return pubsub


def published(pubsub):
    """What the workers published on the channel so far."""
    messages = []
    while (message := pubsub.get_message(timeout=0.5)) is not None:
        messages.append(message["data"])
    return messages


def two_workers_with_four(room, start_server):
    """Two workers through Redis: the host and bob on the first, alice and dee on the second,
    once the host counts all three of them."""
    settings = workers_through_redis()
    worker_a, worker_b = start_server(**settings), start_server(**settings)
    host, bob = join(worker_a, room, "host"), join(worker_a, room, "bob")
    alice, dee = join(worker_b, room, "alice"), join(worker_b, room, "dee")
    host.wait_for("presence", lambda p: p["present"] == 3)
    return settings, (host, bob), (alice, dee)


def test_a_frame_relayed_through_redis_is_the_packet_its_worker_encoded_for_room_members_only(
    app, room, start_server, raw_frames
):
    """Worker A's frame goes over Redis as the packet text its own clients get, and worker B's
    clients get exactly those bytes; a frame for the hosts and one author reaches nobody else,
    on either worker."""
    settings, (host, bob), (alice, dee) = two_workers_with_four(room, start_server)
    channel = listen_to_channel(settings)

    ack = contribute(alice, "Said on worker B, for the hosts first")
    assert ack["ok"] is True
    host.wait_for_update("contribution", lambda d: d["contribution"]["id"] == ack["id"])
    assert host.call("approve", {"contribution_id": ack["id"]})["ok"] is True
    for client in (bob, alice, dee):
        client.wait_for_update(
            "contribution",
            lambda d: (
                d["contribution"]["id"] == ack["id"] and d["contribution"]["status"] == "approved"
            ),
        )

    def frames_with(client, status):
        marker = f'"status":"{status}"'
        return [f for f in raw_frames[client] if "Said on worker B" in f and marker in f]

    (approved,) = frames_with(bob, "approved")
    assert frames_with(alice, "approved") == frames_with(dee, "approved") == [approved]
    assert frames_with(bob, "pending") == frames_with(dee, "pending") == []
    # The approval's frame from worker A (the hosts' frame has the same text), as it went to B.
    relayed = [m for m in published(channel) if m.endswith(approved.encode())]
    rooms = [read_relay_message(m)[2] for m in relayed]
    assert sorted(rooms) == [crowd_room(room["event_id"]), hosts_room(room["event_id"])]


def test_a_packet_from_another_worker_skips_its_skip_sid_and_reaches_its_rooms_only(
    app, room, start_server, raw_frames
):
    """What another worker publishes (this version's relayed packet, or python-socketio's JSON
    emit from a worker of the version before, during a rolling deploy) reaches the members of
    its rooms on every worker but the connection it skips, and nobody else."""
    settings, (host, bob), (alice, dee) = two_workers_with_four(room, start_server)
    crowd = crowd_room(room["event_id"])
    queue = redis.Redis.from_url(settings["REDIS_URL"])
    channel = settings["LERO_SOCKETIO_CHANNEL"]

    packet = '42/live,["presence",{"present":41,"note":"relayed"}]'
    skip = alice.sio.get_sid(NS)
    queue.publish(channel, relay_message("another", NS, [crowd], skip, packet.encode()))
    older = {
        "method": "emit",
        "event": "presence",
        "data": [{"present": 42, "note": "older"}],
        "binary": False,
        "namespace": NS,
        "room": crowd,
        "skip_sid": dee.sio.get_sid(NS),
        "callback": None,
        "host_id": "a-worker-of-the-version-before",
    }
    queue.publish(channel, json.dumps(older))

    for client, heard in ((bob, (41, 42)), (alice, (42,)), (dee, (41,))):
        for present in heard:
            client.wait_for("presence", lambda p, present=present: p["present"] == present)
    assert [f for f in raw_frames[bob] if '"relayed"' in f] == [packet]
    assert [f for f in raw_frames[dee] if '"relayed"' in f] == [packet]
    time.sleep(0.5)
    assert not any(p.get("present") in (41, 42) for kind, p in host.messages if kind == "presence")
    assert not any('"relayed"' in f for f in raw_frames[alice])
    assert not any('"older"' in f for f in raw_frames[dee])


def test_message_limits_hold_across_two_workers_and_a_refused_message_counts_nowhere(
    app, room, start_server
):
    """One person's tabs on two workers share one limit, people on one address share its
    limit, and a message refused by one limit is counted against none (so a crowded network
    does not use up its people's own limits)."""
    settings = {
        **workers_through_redis(),
        "LERO_LIVE_MESSAGES_PER_PERSON": "3 per 60 seconds",
        "LERO_LIVE_MESSAGES_PER_ADDRESS": "5 per 6 seconds",
    }
    worker_a, worker_b = start_server(**settings), start_server(**settings)
    xena = [join(worker_a, room, "guest:Xena"), join(worker_b, room, "guest:Xena")]
    yusuf = join(worker_b, room, "guest:Yusuf")

    def limited(client):
        ack = client.call("resonate", {"contribution_id": 10**6})
        return ack.get("error") == TOO_MANY_MESSAGES

    started = time.monotonic()
    assert [limited(xena[n % 2]) for n in range(4)] == [False, False, False, True]
    # Xena's fourth counted nowhere: the address has room for two more.
    assert [limited(yusuf) for _ in range(3)] == [False, False, True]
    time.sleep(max(0, started + 6.5 - time.monotonic()))
    # The address has room again, and Yusuf's refused message did not count as his.
    assert [limited(yusuf), limited(yusuf)] == [False, True]
    assert limited(xena[1]) is True


def test_a_contribution_limit_per_address_holds_across_two_workers(app, room, start_server):
    settings = {
        **workers_through_redis(),
        "LERO_LIVE_CONTRIBUTIONS_PER_ADDRESS": "3 per 30 seconds",
    }
    workers = [start_server(**settings), start_server(**settings)]
    guests = [
        join(workers[n % 2], room, f"guest:Guest {n}", guest_key=f"one-address-{n:04d}-abcdefgh")
        for n in range(5)
    ]
    acks = [contribute(guest, f"guest {n}") for n, guest in enumerate(guests)]
    assert [ack["ok"] for ack in acks] == [True, True, True, False, False]
    assert acks[-1]["error"].startswith("You are sending a lot very quickly")


def test_each_worker_tells_its_own_clients_who_is_here_and_the_others_what_changed(
    app, room, start_server
):
    """Presence is never relayed: a count from another worker could arrive after a newer one
    from this worker and stay shown (the browser test with two workers once waited for good on
    "1 person here"). Each worker reads the rows for its own clients, and hears from the
    others which rooms changed."""
    settings = workers_through_redis()
    channel = listen_to_channel(settings)
    worker_a, worker_b = start_server(**settings), start_server(**settings)
    host = join(worker_a, room, "host")
    bob = join(worker_a, room, "bob")
    alice = join(worker_b, room, "alice")
    host.wait_for("presence", lambda p: p["present"] == 2)
    assert contribute(alice, "Waiting for the hosts")["ok"] is True
    bob.wait_for("presence", lambda p: p["present"] == 2 and p["waiting"] == 1)
    alice.close()
    host.wait_for("presence", lambda p: p["people"] == [{"name": "Bob B", "role": "participant"}])

    messages = published(channel)
    assert [m for m in messages if b"presence" in m and not m.startswith(NOTICE)] == []
    assert any(m.startswith(NOTICE) for m in messages)
