"""Live room test helpers: a recording Socket.IO client, joining as anyone, a ready room."""

import re
import threading
import time
import uuid

import pytest
import requests
import socketio

from lero_events.extensions import db
from lero_events.models import Event
from lero_events.registrations import private_token

from .conftest import PASSWORD, create_event, create_organiser, create_registration

NS = "/live"


OPEN_CLIENTS = []


def close_all_clients():
    """Close every client a test opened, so no socket outlives its test."""
    while OPEN_CLIENTS:
        OPEN_CLIENTS.pop().close()


class LiveClient:
    """A real Socket.IO client on `/live` that keeps every message it receives, in order."""

    def __init__(self, server, auth, headers=None, transports=("websocket",)):
        OPEN_CLIENTS.append(self)
        self.server = server
        self.auth = auth
        self.headers = headers or {}
        self.transports = list(transports)
        self.messages = []
        self.refused = None
        self.websocket = None
        self.lock = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        for name in ("state", "update", "presence"):
            self.sio.on(name, self.recorder(name), namespace=NS)
        self.sio.on("connect_error", self.on_refused, namespace=NS)

    def recorder(self, name):
        def record(data):
            with self.lock:
                self.messages.append((name, data))
                self.lock.notify_all()

        return record

    def on_refused(self, data=None):
        with self.lock:
            self.refused = data.get("message") if isinstance(data, dict) else data
            self.lock.notify_all()

    def connect(self):
        self.sio.connect(
            self.server.url,
            namespaces=[NS],
            auth=self.auth,
            headers=self.headers,
            transports=self.transports,
            wait_timeout=10,
        )
        # Kept to close it ourselves: python-engineio drops it without closing when the server
        # closes the connection (as it does for an oversized frame).
        self.websocket = self.sio.eio.ws
        self.wait_for("state")
        return self

    def disconnect(self):
        self.sio.disconnect()

    def close(self):
        self.sio.disconnect()
        self.sio.eio.disconnect()
        if self.websocket is not None:
            self.websocket.shutdown()
        if self.sio.eio.http is not None:
            self.sio.eio.http.close()

    def call(self, event, data=None, timeout=20):
        return self.sio.call(event, data, namespace=NS, timeout=timeout)

    def mark(self):
        """A bookmark for wait_for(after=...): only what arrives from now on."""
        with self.lock:
            return len(self.messages)

    def wait_for(self, name, predicate=lambda data: True, timeout=15, after=0):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for kind, data in self.messages[after:]:
                    if kind == name and predicate(data):
                        return data
                remaining = deadline - time.monotonic()
                assert remaining > 0, f"no {name} matching in time; got {self.messages}"
                self.lock.wait(remaining)

    def wait_for_update(self, kind, predicate=lambda data: True, timeout=15):
        return self.wait_for(
            "update", lambda u: u["kind"] == kind and predicate(u["data"]), timeout
        )

    @property
    def state(self):
        return self.wait_for("state")

    def received(self, name):
        with self.lock:
            return [data for kind, data in self.messages if kind == name]

    def updates(self):
        """Every update this client has: the state's replay then live ones, by the protocol's
        rule (ignore what is not newer than the last applied seq)."""
        applied, last_seq = [], None
        with self.lock:
            for kind, data in self.messages:
                if kind == "state":
                    applied.extend(data["updates"])
                    last_seq = data["seq"]
                elif kind == "update" and last_seq is not None and data["seq"] > last_seq:
                    applied.append(data)
                    last_seq = data["seq"]
        return applied

    @property
    def last_seq(self):
        with self.lock:
            seqs = [data["seq"] for kind, data in self.messages if kind in ("state", "update")]
        return max(seqs)

    def stream(self):
        """The approved contributions this client shows, by id, as the protocol says to."""
        shown = {}
        for update in self.updates():
            if update["kind"] == "contribution":
                contribution = update["data"]["contribution"]
                if contribution["status"] == "approved":
                    shown[contribution["id"]] = contribution
                else:
                    shown.pop(contribution["id"], None)
        return shown


def refused_message(server, auth, headers=None):
    client = LiveClient(server, auth, headers)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.sio.connect(
            server.url, namespaces=[NS], auth=auth, headers=client.headers, wait_timeout=10
        )
    return client.refused


def make_room(app):
    """An organiser hosting a published event with guests allowed, and three confirmed people."""
    with app.app_context():
        organiser = create_organiser()
        event = create_event(owner=organiser, allow_guests=True)
        tokens = {}
        for name, display_name in (("Alice", "Alice A"), ("Bob", "Bob B"), ("Dee", "")):
            registration = create_registration(
                event, name, f"{name.lower()}@example.org", display_name=display_name
            )
            tokens[name.lower()] = private_token(registration)
        return {"slug": event.slug, "event_id": event.id, "tokens": tokens}


def host_headers(server, email="organiser@example.org"):
    """The session cookie of an organiser logged in over real HTTP, for the handshake."""
    with requests.Session() as http:
        page = http.get(server.url + "/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        response = http.post(
            server.url + "/login",
            data={"email": email, "password": PASSWORD, "csrf_token": token},
            allow_redirects=False,
            timeout=10,
        )
    assert response.status_code == 302, response.text
    cookie = "; ".join(f"{name}={value}" for name, value in http.cookies.items())
    return {"Cookie": cookie}


def publish_harvest(app, room):
    """Viewers (the harvest page) may follow the room once its harvest is published."""
    with app.app_context():
        db.session.get(Event, room["event_id"]).harvest_published = True
        db.session.commit()


def join(server, room, who, last_seq=0, **extra):
    """A connected client: `who` is "host", "viewer", a registration name or "guest:<name>"."""
    auth = {"slug": room["slug"], "last_seq": last_seq, **extra}
    headers = None
    if who == "host":
        auth["role"] = "host"
        headers = host_headers(server)
    elif who == "viewer":
        auth["role"] = "viewer"
    elif who.startswith("guest:"):
        name = who.removeprefix("guest:")
        auth["guest_name"] = name
        auth.setdefault("guest_key", f"key-for-{name.lower()}-0123456789")
    else:
        auth["token"] = room["tokens"][who]
    return LiveClient(server, auth, headers).connect()


def contribute(client, text, **fields):
    payload = {"client_id": str(uuid.uuid4()), "text": text, "prompt_id": None, "anonymous": False}
    payload.update(fields)
    return client.call("contribute", payload)
