"""The live room in the test process: Flask-SocketIO's test client, which runs every handler
synchronously in the calling thread, so a test can drive exact sequences and contexts."""

from lero_events.extensions import socketio

NS = "/live"


class InProcessClient:
    """One connection to `/live` through Flask-SocketIO's test client; keeps its refusal."""

    refusals = {}

    def __init__(self, app, auth, http=None):
        self.client = socketio.test_client(app, flask_test_client=http or app.test_client())
        record_refusals()
        self.client.connect(NS, auth=auth)
        self.refused = self.refusals.pop(self.client.eio_sid, None)
        self.messages = []

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
