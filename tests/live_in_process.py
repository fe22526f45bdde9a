"""The live room in the test process: Flask-SocketIO's test client, which runs every handler
synchronously in the calling thread, so a test can drive exact sequences and contexts."""

import threading
import time

import sqlalchemy as sa

from lero_events.extensions import db, socketio
from lero_events.models import LiveConnection

NS = "/live"


class InProcessClient:
    """One connection to `/live` through Flask-SocketIO's test client; keeps its refusal."""

    refusals = {}

    def __init__(self, app, auth, http=None, barrier=None):
        self.client = socketio.test_client(app, flask_test_client=http or app.test_client())
        record_refusals()
        self.messages = []
        self.refused = None
        if barrier is None:
            self.connect(auth)
        else:
            self.connect_at = lambda: (barrier.wait(), self.connect(auth))

    def connect(self, auth):
        self.client.connect(NS, auth=auth)
        self.refused = self.refusals.pop(self.client.eio_sid, None)

    @classmethod
    def all_at_once(cls, app, auths):
        """One client per `auth`, connecting at the same moment from threads of their own (the
        clients are made first: making one re-patches the shared server)."""
        barrier = threading.Barrier(len(auths))
        clients = [cls(app, auth, barrier=barrier) for auth in auths]
        threads = [threading.Thread(target=client.connect_at) for client in clients]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return clients

    @property
    def connected(self):
        return self.client.is_connected(NS)

    def call(self, event, payload=None):
        return self.client.emit(event, payload, namespace=NS, callback=True)

    def disconnect(self):
        self.client.disconnect(NS)

    def received(self, name=None):
        """Everything received so far, in order, as (name, data); or the data of one name."""
        if self.connected:
            for message in self.client.get_received(NS):
                self.messages.append((message["name"], message["args"][0]))
        if name is None:
            return list(self.messages)
        return [data for kind, data in self.messages if kind == name]


def record_refusals():
    """Keep each refused connect's message (the test client only marks it not connected)."""
    send = socketio.server._send_packet
    if getattr(send, "records_refusals", False):
        return

    def recording(eio_sid, pkt):
        if pkt.packet_type == 4:  # CONNECT_ERROR
            InProcessClient.refusals[eio_sid] = (pkt.data or {}).get("message")
        send(eio_sid, pkt)

    recording.records_refusals = True
    socketio.server._send_packet = recording


def presence_rows(app, column=LiveConnection.role):
    """The presence rows' `column`, sorted: what every worker counts."""
    with app.app_context():
        rows = db.session.scalars(sa.select(column)).all()
        db.session.remove()
    return sorted(rows)


def wait_for_presence_rows(app, expected, column=LiveConnection.role, timeout=5):
    """Presence rows are written and dropped at the worker's presence tick
    (docs/live-protocol.md 10.3): wait for the tick that makes them `expected`."""
    deadline = time.monotonic() + timeout
    while (rows := presence_rows(app, column)) != expected:
        assert time.monotonic() < deadline, f"presence rows {rows}, not {expected}"
        time.sleep(0.02)
