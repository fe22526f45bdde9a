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

from .conftest import OPEN_CLIENTS, PASSWORD, create_event, create_organiser, create_registration

NS = "/live"


def close_all_clients():
    """Close every client the test opened so far (conftest closes the rest after it)."""
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
        self.frames = []
        self.refused = None
        self.refused_data = None
        self.websocket = None
        self.lock = threading.Condition()
        self.sio = socketio.Client(reconnection=False)
        for name in ("state", "presence", "figures", "delivery"):
            self.sio.on(name, self.recorder(name), namespace=NS)
        self.sio.on("updates", self.record_frame, namespace=NS)
        self.sio.on("connect_error", self.on_refused, namespace=NS)

    def recorder(self, name):
        def record(data):
            with self.lock:
                self.messages.append((name, data))
                self.lock.notify_all()

        return record

    def record_frame(self, updates):
        """A tick's frame: each of its updates kept as an ("update", ...) message."""
        with self.lock:
            self.frames.append(updates)
            self.messages.extend(("update", update) for update in updates)
            self.lock.notify_all()

    def on_refused(self, data=None):
        with self.lock:
            self.refused = data.get("message") if isinstance(data, dict) else data
            # What came with the reason, e.g. the room agreement's text.
            self.refused_data = data.get("data") if isinstance(data, dict) else None
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

    def catch_up(self):
        """Ask for what a gap left out, as a client does; the answer is applied like a state."""
        answer = self.call("catch_up", self.cursors())
        assert answer["ok"] is True, answer
        with self.lock:
            self.messages.append(("state", answer))
        return answer

    def view(self):
        """The room as this client shows it, built from what it received by the protocol."""
        with self.lock:
            messages = list(self.messages)
        view = RoomView(self.auth.get("role") == "host")
        for kind, data in messages:
            if kind == "state":
                view.apply_state(data)
            elif kind == "update":
                view.offer(data)
        return view

    def wait_for_view(self, predicate, timeout=5, gap_wait=None):
        """Wait until the room as this client shows it satisfies `predicate`.

        With `gap_wait`, a gap still open after that many seconds is closed with catch_up, as
        the browser's room store does: the fault tests need it, since a commit whose outcome a
        failing database hid is stored but never broadcast. Without it any gap fails the test.
        """
        deadline = time.monotonic() + timeout
        held_since = None
        while not predicate(view := self.view()):
            assert time.monotonic() < deadline, f"the view never settled: {view.held}"
            if not view.held:
                held_since = None
            elif held_since is None:
                held_since = time.monotonic()
            elif gap_wait is not None and time.monotonic() - held_since > gap_wait:
                self.catch_up()
                held_since = None
            time.sleep(0.05)

    def updates(self):
        """Every update this client applied, in the order it applied them."""
        return self.view().applied

    @property
    def last_seq(self):
        return self.view().cursors()[0]

    def cursors(self):
        """What this client sends as its cursors on connect and in catch_up."""
        view = self.view()
        last_seq, own_seq = view.cursors()
        if view.host:
            return {"last_seq": last_seq, "support_seq": view.heads["wellbeing"]}
        return {"last_seq": last_seq, "own_seq": own_seq}

    def support(self):
        """The support requests a wellbeing host shows, by id (empty for everyone else)."""
        return self.view().support

    def stream(self):
        """The approved contributions this client shows, by id."""
        return self.view().shown


class RoomView:
    """A client's copy of the room, kept by the gap rule of docs/live-protocol.md section 4
    (the same rule static/js/live-common.js implements for the browser), and for a wellbeing
    host the support requests, kept by the same rule on the wellbeing chain (section 13)."""

    def __init__(self, host):
        self.host = host
        self.ready = False
        self.seq = 0
        self.heads = {"public": 0, "own": 0, "wellbeing": 0}
        self.shown = {}
        self.phrases = {}
        self.support = {}
        self.wellbeing = False
        self.applied = []
        self.held = []

    def cursors(self):
        if self.host:
            return self.seq, 0
        return self.heads["public"], self.heads["own"]

    def apply_state(self, state):
        if "snapshot" in state:
            self.shown, self.phrases = {}, {}
            for entry in state["snapshot"]["stream"]:
                if "contribution" in entry:
                    self.shown[entry["contribution"]["id"]] = entry["contribution"]
                else:
                    self.phrases[entry["phrase"]["id"]] = entry["phrase"]
        for update in state.get("updates", []):
            if self.is_new(update):
                self.apply(update)
        self.seq = state["seq"]
        self.heads.update(public=state["public_seq"], own=state.get("own_seq", 0))
        if self.host:
            self.apply_support_state(state)
        self.ready = True
        self.release()

    def apply_support_state(self, state):
        """A host's state says whether they are a wellbeing host now; if so it carries every
        request changed since their support_seq, complete for that range (no prev)."""
        self.wellbeing = state.get("wellbeing") is True
        if not self.wellbeing:
            self.support, self.heads["wellbeing"] = {}, 0
            return
        for update in state["support_updates"]:
            self.support[update["data"]["request"]["id"]] = update["data"]["request"]
        self.heads["wellbeing"] = state["support_seq"]

    def is_new(self, update):
        if self.host and update["chain"] != "wellbeing":
            return update["seq"] > self.seq
        return update["seq"] > self.heads[update["chain"]]

    def offer(self, update):
        self.held.append(update)
        if self.ready:
            self.release()

    def follows(self, update):
        if self.host and update["chain"] != "wellbeing":
            return update["seq"] == self.seq + 1
        return update["prev"] == self.heads[update["chain"]]

    def release(self):
        """Apply every held update that now follows its chain; drop those already applied."""
        progress = True
        while progress:
            progress = False
            for update in sorted(self.held, key=lambda u: (u["chain"] == "wellbeing", u["seq"])):
                if not self.is_new(update):
                    self.held.remove(update)
                elif self.follows(update):
                    self.held.remove(update)
                    self.apply(update)
                    progress = True

    def apply(self, update):
        self.applied.append(update)
        data = update["data"]
        if update["chain"] == "wellbeing":
            # Numbered apart from the room: it never moves the room's seq.
            self.heads["wellbeing"] = update["seq"]
            self.support[data["request"]["id"]] = data["request"]
            return
        if self.host:
            self.seq = update["seq"]
        else:
            self.heads[update["chain"]] = update["seq"]
        if update["kind"] == "contribution":
            contribution = data["contribution"]
            if contribution["status"] == "approved":
                self.shown[contribution["id"]] = contribution
            else:
                self.shown.pop(contribution["id"], None)
        elif update["kind"] == "resonance" and data["contribution_id"] in self.shown:
            self.shown[data["contribution_id"]]["resonance_count"] = data["count"]
        elif update["kind"] == "phrase":
            phrase = data["phrase"]
            if phrase.get("withdrawn"):
                self.phrases.pop(phrase["id"], None)
            else:
                self.phrases[phrase["id"]] = phrase


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


def join(server, room, who, last_seq=0, own_seq=0, **extra):
    """A connected client: `who` is "host", "viewer", a registration name or "guest:<name>"."""
    auth = {"slug": room["slug"], "last_seq": last_seq, "own_seq": own_seq, **extra}
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
