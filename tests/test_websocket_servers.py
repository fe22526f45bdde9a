"""Who speaks WebSocket under gevent: simple-websocket by default, gevent-websocket opt-in.

Issue 11 asked for a maintained WebSocket server; docs/performance.md has the figures behind
the choice and the compression it turns off. The rest of the live-room suite runs on the
default; these tests pin what differs between the two and that the opt-in still works.
"""

import json
import socket
import uuid

import pytest
import websocket
from wsproto.frame_protocol import FrameProtocol, Opcode

from lero_events.broadcast import everyone_room
from lero_events.extensions import db, socketio
from lero_events.models import Event
from lero_events.serving import websocket_frame

from .live_clients import contribute, join, make_room
from .live_in_process import NS, InProcessClient

DEFLATE_OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"


@pytest.fixture
def room(app):
    return make_room(app)


def websocket_url(server):
    return server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


def raw_guest(server, room, name, receive_buffer=None):
    """A guest on a bare WebSocket, joined (its state and connect read), so a test sees the
    packets on the wire in their order; `receive_buffer` shrinks its socket's SO_RCVBUF."""
    options = [(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)] if receive_buffer else []
    guest = websocket.WebSocket(sockopt=options)
    guest.connect(websocket_url(server), origin=server.url, timeout=10)
    assert guest.recv().startswith("0")
    auth = {"slug": room["slug"], "guest_name": name, "guest_key": f"key-for-{name}-0123456789"}
    guest.send("40/live," + json.dumps(auth))
    packets = [guest.recv() for _ in range(2)]  # the state and the namespace's connect
    assert {packet[:8] for packet in packets} == {"42/live,", "40/live,"}
    return guest


def a_room_that_works(server, room):
    """A host and a participant join over WebSocket and a reflection reaches the host."""
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    assert alice.state["role"] == "participant"
    ack = contribute(alice, "Heard over WebSocket")
    assert ack["ok"] is True
    host.wait_for_update("contribution", lambda data: data["contribution"]["id"] == ack["id"])


def test_the_default_is_simple_websocket_without_compression(room, start_server):
    server = start_server()
    offered = websocket.create_connection(
        websocket_url(server), origin=server.url, header=[DEFLATE_OFFER], timeout=5
    )
    assert "sec-websocket-extensions" not in offered.getheaders(), "deflate is declined"
    assert offered.recv().startswith('0{"sid":')
    offered.close()
    # simple-websocket lets Engine.IO answer before the upgrade: a foreign page gets a 400.
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(websocket_url(server), origin="https://evil.example")
    assert refused.value.status_code == 400
    a_room_that_works(server, room)


def test_gevent_websocket_is_an_opt_in_that_starts_and_connects(room, start_server):
    server = start_server(LERO_WEBSOCKET_SERVER="gevent-websocket")
    # gevent-websocket upgrades first; the socket then closes before Engine.IO opens.
    foreign = websocket.create_connection(
        websocket_url(server), origin="https://evil.example", timeout=5
    )
    assert foreign.recv() == ""
    foreign.shutdown()
    a_room_that_works(server, room)


def test_an_unknown_websocket_server_stops_the_start_with_what_to_set(start_server):
    with pytest.raises(RuntimeError, match="LERO_WEBSOCKET_SERVER=tornado is not one we know"):
        start_server(LERO_WEBSOCKET_SERVER="tornado")


def test_websocket_frames_as_a_websocket_library_reads_them():
    """The frames the room builds once for all its members decode as the text they carry,
    across the three length encodings."""
    for text in ("", "4x" * 62, "é" * 63, "4" + "y" * 65_535, "4" + "z" * 70_000):
        reader = FrameProtocol(client=True, extensions=[])
        reader.receive_bytes(websocket_frame(text.encode()))
        (frame,) = reader.received_frames()
        assert (frame.opcode, frame.payload, frame.frame_finished) == (Opcode.TEXT, text, True)


def test_a_reader_too_slow_for_the_room_gets_every_frame_whole_and_in_order(app, start_server):
    """A guest who reads nothing, through a 4 KB receive buffer, while 200 long reflections
    are shared: the frames written straight to its socket by the room and those its queue
    writes all reach it intact and gapless once it reads again. (Loopback's send buffer is
    large enough that no write is cut short here: that branch of `write_now` is untested.)"""
    room = make_room(app)
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        event.moderation = "post"
        db.session.commit()
    server = start_server(
        LERO_LIVE_RATE_LIMIT_COUNT=10_000,
        LERO_LIVE_MESSAGES_PER_PERSON="10000 per 10 seconds",
        LERO_LIVE_MESSAGES_PER_ADDRESS="10000 per 10 seconds",
        LERO_LIVE_CONTRIBUTIONS_PER_ADDRESS="10000 per 30 seconds",
    )
    slow = websocket.WebSocket(sockopt=[(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)])
    slow.connect(websocket_url(server), origin=server.url, timeout=10)
    assert slow.recv().startswith("0")
    guest = {"slug": room["slug"], "guest_name": "Slow", "guest_key": "key-for-slow-0123456789"}
    slow.send("40/live," + json.dumps(guest))
    name, state = json.loads(slow.recv().removeprefix("42/live,"))
    assert name == "state"
    assert slow.recv().startswith("40/live,")
    alice = join(server, room, "alice")
    texts = [f"{n:03d} " + " ".join(["long reflection"] * 30) for n in range(200)]
    for text in texts:
        ack = contribute(alice, text)
        assert ack["ok"] is True, ack
    seqs, heard = [], []
    while len(heard) < len(texts):
        packet = slow.recv()
        if packet == "2":
            slow.send("3")  # Engine.IO ping
            continue
        name, updates = json.loads(packet.removeprefix("42/live,"))
        if name != "updates":
            continue  # presence
        for update in updates:
            seqs.append((update["prev"], update["seq"]))
            heard.append(update["data"]["contribution"]["text"])
    slow.close()
    assert heard == texts
    previous = state["public_seq"]
    for prev, seq in seqs:
        assert prev == previous, "no gap on the public chain"
        previous = seq


def test_a_frame_bigger_than_a_slow_readers_socket_buffers_arrives_whole(app, start_server):
    """A host approves a hundred long reflections at once: one frame of about 70 KB to a
    guest reading nothing through a 4 KB receive buffer. Once the guest reads, the frame is
    whole, every reflection in it in order. (Loopback's send buffer grows to megabytes, so
    even this frame is written in one go: `write_now`'s partial write stays untested.)"""
    room = make_room(app)
    server = start_server(
        LERO_LIVE_RATE_LIMIT_COUNT=10_000,
        LERO_LIVE_MESSAGES_PER_PERSON="10000 per 10 seconds",
        LERO_LIVE_MESSAGES_PER_ADDRESS="10000 per 10 seconds",
        LERO_LIVE_CONTRIBUTIONS_PER_ADDRESS="10000 per 30 seconds",
    )
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    texts = [f"{n:03d} " + "a long and careful reflection " * 16 for n in range(100)]
    ids = []
    for text in texts:
        ack = contribute(alice, text.strip())
        assert ack["ok"] is True and ack["status"] == "pending", ack
        ids.append(ack["id"])
    slow = raw_guest(server, room, "Slow", receive_buffer=4096)
    ack = host.call("moderate_many", {"action": "approve", "contribution_ids": ids})
    assert ack["ok"] is True and ack["skipped"] == [], ack
    alice.wait_for_update("contribution", lambda data: data["contribution"]["id"] == ids[-1])
    heard = []
    while len(heard) < len(texts):
        packet = slow.recv()
        if packet == "2":
            slow.send("3")
            continue
        name, updates = json.loads(packet.removeprefix("42/live,"))
        if name == "updates":
            heard += [update["data"]["contribution"]["text"] for update in updates]
    slow.close()
    assert heard == [text.strip() for text in texts]


def test_a_contributors_ack_is_written_before_the_rooms_frame_of_it(app, start_server):
    """A quiet room's frame goes out at once, but only after the ack of the message that made
    it: read off the contributor's own socket, the ack comes first, then the frame with the
    same reflection (an ack once waited behind the room's whole frame)."""
    room = make_room(app)
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        event.moderation = "post"
        db.session.commit()
    server = start_server()
    others = [join(server, room, name) for name in ("alice", "bob")]
    guest = raw_guest(server, room, "Quick")
    for n in range(5):
        text = f"Quick thought {n}"
        guest.send(
            f'42/live,{n}["contribute",'
            + json.dumps({"client_id": str(uuid.uuid4()), "text": text})
            + "]"
        )
        order = []
        while "frame" not in order:
            packet = guest.recv()
            if packet.startswith(f"43/live,{n}["):
                ack = json.loads(packet.removeprefix(f"43/live,{n}"))[0]
                assert ack["ok"] is True, ack
                order.append("ack")
            elif packet.startswith("42/live,"):
                name, data = json.loads(packet.removeprefix("42/live,"))
                if name == "updates" and text in [
                    update["data"].get("contribution", {}).get("text") for update in data
                ]:
                    order.append("frame")
            elif packet == "2":
                guest.send("3")
        assert order == ["ack", "frame"]
    guest.close()
    for other in others:
        other.wait_for_update("contribution", lambda data: data["contribution"]["text"] == text)


def test_an_emit_to_the_room_with_bytes_goes_as_attachments_and_text_as_one_packet(app, room):
    """The room's emits are encoded once as text (serving.FramedEmit); binary data, which
    JSON refuses, still reaches the room whole, as python-socketio's attachments."""
    guest = InProcessClient(
        app, {"slug": room["slug"], "guest_name": "Gil", "guest_key": "key-for-gil-0123456789"}
    )
    assert guest.connected
    with app.app_context():
        socketio.emit("probe", {"text": "heard"}, to=everyone_room(room["event_id"]), namespace=NS)
        socketio.emit(
            "probe", {"blob": b"\x00\xffsketch"}, to=everyone_room(room["event_id"]), namespace=NS
        )
        with pytest.raises(TypeError):
            socketio.emit(
                "probe", {"when": object()}, to=everyone_room(room["event_id"]), namespace=NS
            )
    assert guest.received("probe") == [{"text": "heard"}, {"blob": b"\x00\xffsketch"}]
