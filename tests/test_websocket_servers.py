"""Who speaks WebSocket under gevent: simple-websocket by default, gevent-websocket opt-in.

Issue 11 asked for a maintained WebSocket server; docs/performance.md has the figures behind
the choice and the compression it turns off. The rest of the live-room suite runs on the
default; these tests pin what differs between the two and that the opt-in still works.
"""

import pytest
import websocket

from .live_clients import contribute, join, make_room

DEFLATE_OFFER = "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits"


@pytest.fixture
def room(app):
    return make_room(app)


def websocket_url(server):
    return server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"


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
