"""The live room over Socket.IO, with real python-socketio clients against real server processes."""

import re
import secrets
import threading
import time
import uuid

import pytest
import requests
import socketio
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Contribution, Event, Registration, RoomUpdate, utcnow
from lero_events.registrations import private_token

from .conftest import PASSWORD, create_event, create_organiser

NS = "/live"
SLUG = "a-big-conversation"


class LiveClient:
    """A real Socket.IO client on `/live` that keeps every message it receives, in order."""

    def __init__(self, server, auth, headers=None, transports=("websocket",)):
        self.server = server
        self.auth = auth
        self.headers = headers or {}
        self.transports = list(transports)
        self.messages = []
        self.refused = None
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
            self.refused = (data or {}).get("message", "")
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
        self.wait_for("state")
        return self

    def disconnect(self):
        self.sio.disconnect()

    def call(self, event, data=None):
        return self.sio.call(event, data, namespace=NS, timeout=20)

    def wait_for(self, name, predicate=lambda data: True, timeout=15):
        deadline = time.monotonic() + timeout
        with self.lock:
            while True:
                for kind, data in self.messages:
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


@pytest.fixture
def room(app):
    """An organiser hosting a published event with guests allowed, and three confirmed people."""
    with app.app_context():
        organiser = create_organiser()
        event = create_event(owner=organiser, allow_guests=True)
        tokens = {}
        for name, display_name in (("Alice", "Alice A"), ("Bob", "Bob B"), ("Dee", "")):
            registration = Registration(
                event_id=event.id,
                token=secrets.token_urlsafe(32),
                name=name,
                email=f"{name.lower()}@example.org",
                display_name=display_name,
                status="confirmed",
                consent_at=utcnow(),
                consent_version="2026-11",
            )
            db.session.add(registration)
            db.session.flush()
            tokens[name.lower()] = private_token(registration)
        db.session.commit()
        return {"slug": event.slug, "event_id": event.id, "tokens": tokens}


def host_headers(server, email="organiser@example.org"):
    """The session cookie of an organiser logged in over real HTTP, for the handshake."""
    http = requests.Session()
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


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_moderated_flow_reaches_everyone_in_order_and_reconnects_catch_up(
    app, room, start_server, async_mode
):
    server = start_server(async_mode=async_mode)
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    carol = join(server, room, "guest:Carol")
    dee = join(server, room, "dee")
    assert host.state["role"] == "host" and host.state["queue"] == []
    assert alice.state["you"]["name"] == "Alice A"
    assert carol.state["role"] == "guest"

    ack = host.call("set_prompt", {"text": "What struck a chord?"})
    assert ack["ok"] is True
    prompt = ack["prompt"]
    for client in (alice, bob, carol, dee):
        update = client.wait_for_update("prompt")
        assert update["data"] == {"prompt": prompt} and update["seq"] >= 1

    client_id = str(uuid.uuid4())
    ack = contribute(alice, "Being heard  ", client_id=client_id, prompt_id=prompt["id"])
    assert ack["ok"] is True and ack["status"] == "pending"
    pending_id = ack["id"]
    queued = host.wait_for_update("contribution", lambda d: d["contribution"]["id"] == pending_id)[
        "data"
    ]
    assert queued["contribution"]["text"] == "Being heard"
    assert queued["contribution"]["author"] == "Alice A"
    assert queued["contribution"]["status"] == "pending"
    alice.wait_for_update("contribution", lambda d: d["contribution"]["id"] == pending_id)

    ack = host.call("approve", {"contribution_id": pending_id})
    assert ack["ok"] is True and ack["contribution"]["status"] == "approved"
    for client in (alice, bob, carol, dee, host):
        client.wait_for_update(
            "contribution",
            lambda d: (
                d["contribution"]["id"] == pending_id and d["contribution"]["status"] == "approved"
            ),
        )
    # Pre-moderation: bob and carol never heard of it while it waited.
    for client in (bob, carol):
        statuses = [
            u["data"]["contribution"]["status"]
            for u in client.received("update")
            if u["kind"] == "contribution"
        ]
        assert statuses == ["approved"]
    seqs = [u["seq"] for u in host.received("update")]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)

    # A resend with the same client_id (a lost ack) gives back the same contribution.
    again = contribute(alice, "Being heard", client_id=client_id, prompt_id=prompt["id"])
    assert again["ok"] is True
    assert again["id"] == pending_id and again["status"] == "approved"

    # Bob drops; meanwhile more happens; he comes back with his last_seq.
    bob_last_seq = bob.last_seq
    bob.disconnect()
    second = contribute(carol, "Second thought", anonymous=True)["id"]
    third = contribute(alice, "Not for the room")["id"]
    assert host.call("approve", {"contribution_id": second})["ok"] is True
    assert host.call("reject", {"contribution_id": third})["ok"] is True
    assert host.call(
        "capture_phrase", {"text": "Nothing about us without us", "attribution": "Jo"}
    )["ok"]
    dee.wait_for_update("phrase")

    bob_again = join(server, room, "bob", last_seq=bob_last_seq)
    missed = bob_again.state["updates"]
    heard_by_dee = [u for u in dee.received("update") if u["seq"] > bob_last_seq]
    assert [u["seq"] for u in missed] == [u["seq"] for u in heard_by_dee]
    assert [u["kind"] for u in missed] == ["contribution", "phrase"]
    assert missed[0]["data"]["contribution"]["author"] == "Anonymous"
    assert missed[1]["data"]["phrase"]["attribution"] == "Jo"
    assert set(bob_again.stream()) == {second}, "only what he missed, never a repeat"

    # A fresh participant replays the whole public history into the same stream.
    eve = join(server, room, "guest:Eve")
    assert set(eve.stream()) == {pending_id, second}
    assert eve.state["prompt"] == prompt
    # Alice sees her rejected one as hers; the host sees the queue empty.
    alice_again = join(server, room, "alice")
    assert alice_again.state["mine"] == []
    rejected = [
        u["data"]["contribution"]
        for u in alice_again.state["updates"]
        if u["kind"] == "contribution" and u["data"]["contribution"]["id"] == third
    ]
    assert rejected and rejected[-1]["status"] == "rejected"
    assert rejected[-1]["text"] == "Not for the room"

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == 3
        seqs = db.session.scalars(
            sa.select(RoomUpdate.seq).where(RoomUpdate.event_id == room["event_id"])
        ).all()
        assert sorted(seqs) == list(range(1, len(seqs) + 1))
        assert db.session.get(Event, room["event_id"]).live_seq == len(seqs)
