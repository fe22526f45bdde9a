"""Support during the session and moderation in the open, with in-process Flask-SocketIO test
clients for every role: host, wellbeing host, ordinary host, participant, guest and viewer."""

import json
import re
import uuid

import pytest
import sqlalchemy as sa

from lero_events import presence, support
from lero_events.extensions import db, socketio
from lero_events.models import (
    Contribution,
    Event,
    EventHost,
    PersonalDataAccess,
    PoemLine,
    RoomUpdate,
    SupportRequest,
)
from lero_events.registrations import private_token

from .conftest import (
    create_event,
    create_organiser,
    create_registration,
    csrf_token,
    fresh_app,
    login,
)
from .live_in_process import presence_rows

NS = "/live"
CONTACTS = "Samaritans: call 116 123, free, day or night\nThe event's own helpline: 0800 000 000"


@pytest.fixture
def app(tmp_path, database_url):
    # Frames go out at once instead of after a tick, so each test reads them in order. The
    # worker's presence and heartbeat loops start with the first app of the process and
    # outlive it (they are per process, as in production): here they sleep rather than poll
    # databases that later tests drop. Presence itself is tested against real servers.
    settings = {
        "LIVE_TICK_SECONDS": 0,
        "LIVE_PRESENCE_SECONDS": 3600,
        "LIVE_HEARTBEAT_SECONDS": 3600,
    }
    with fresh_app(tmp_path, database_url, **settings) as app:
        yield app


@pytest.fixture
def room(app):
    """Olive owns the event (an ordinary host), Wren co-hosts it as its wellbeing host; Alice
    and Bob are booked; guests are welcome and the harvest is published for viewers."""
    with app.app_context():
        olive = create_organiser()
        wren = create_organiser("wren@example.org", "Wren Wellbeing")
        event = create_event(owner=olive, allow_guests=True, support_contacts=CONTACTS)
        event.hosts.append(EventHost(organiser=wren, role="cohost", wellbeing=True))
        event.harvest_published = True
        db.session.commit()
        alice = create_registration(
            event, "Alice Real", "alice@example.org", display_name="Alice A"
        )
        bob = create_registration(event, "Bob Real", "bob@example.org", display_name="Bob B")
        return {
            "slug": event.slug,
            "event_id": event.id,
            "alice": private_token(alice),
            "bob": private_token(bob),
        }


class Client:
    """One in-process Socket.IO connection, with what it has received so far."""

    def __init__(self, app, auth, http=None):
        self.sio = socketio.test_client(app, namespace=NS, auth=auth, flask_test_client=http)
        assert self.sio.is_connected(NS), "the live room refused the connection"
        self.inbox = []
        self.state = self.take("state")[0]

    def receive(self):
        self.inbox.extend(self.sio.get_received(NS))
        return self.inbox

    def take(self, name):
        return [message["args"][0] for message in self.receive() if message["name"] == name]

    def updates(self, chain=None):
        return [
            update
            for frame in self.take("updates")
            for update in frame
            if chain is None or update["chain"] == chain
        ]

    def everything(self):
        """All this connection was ever sent, as text, to look for what must never reach it."""
        return json.dumps([self.state, *self.receive()])

    def call(self, name, payload=None):
        return self.sio.emit(
            name, payload if payload is not None else {}, namespace=NS, callback=True
        )

    def close(self):
        if self.sio.is_connected(NS):
            self.sio.disconnect(NS)


@pytest.fixture
def connect(app, room):
    opened = []

    def open_as(who, **cursors):
        auth = {"slug": room["slug"], **cursors}
        http = None
        if who in ("olive", "wren"):
            http = app.test_client()
            login(http, "organiser@example.org" if who == "olive" else "wren@example.org")
            auth["role"] = "host"
        elif who == "viewer":
            auth["role"] = "viewer"
        elif who.startswith("guest:"):
            name = who.removeprefix("guest:")
            auth.update(guest_name=name, guest_key=f"key-for-{name.lower()}-0123456789")
        else:
            auth["token"] = room[who]
        client = Client(app, auth, http)
        opened.append(client)
        return client

    yield open_as
    for client in opened:
        client.close()


def room_seq(app, room):
    with app.app_context():
        return db.session.get(Event, room["event_id"]).live_seq


def test_a_support_request_reaches_only_the_wellbeing_hosts(app, room, connect):
    wren, olive = connect("wren"), connect("olive")
    alice, bob, carol, viewer = (
        connect("alice"),
        connect("bob"),
        connect("guest:Carol"),
        connect("viewer"),
    )
    assert wren.state["wellbeing"] is True and wren.state["support_updates"] == []
    assert olive.state["wellbeing"] is False and "support_seq" not in olive.state
    assert alice.state["support"] == {"available": True, "contacts": CONTACTS, "request": None}
    assert "support" not in viewer.state and "support" not in olive.state
    seq_before = room_seq(app, room)

    ack = alice.call("request_support")
    assert ack["ok"] is True and ack["created"] is True
    assert ack["contacts"] == CONTACTS and ack["request"]["status"] == "open"
    (update,) = wren.updates()
    assert update["chain"] == "wellbeing" and update["kind"] == "support"
    assert (update["seq"], update["prev"]) == (1, 0)
    request = update["data"]["request"]
    assert request["name"] == "Alice A" and request["guest"] is False
    assert request["contact"] == {"name": "Alice Real", "email": "alice@example.org"}
    assert request["id"] == ack["request"]["id"]

    # A double tap, a lost ack or a second tab: the same request, nobody alerted twice.
    again = alice.call("request_support")
    assert again["created"] is False and again["request"]["id"] == request["id"]
    assert len(wren.updates()) == 1

    ack = carol.call("request_support")
    assert ack["ok"] is True
    guest = wren.updates()[-1]
    assert (guest["seq"], guest["prev"]) == (2, 1)
    assert guest["data"]["request"]["name"] == "Carol"
    assert guest["data"]["request"]["guest"] is True and guest["data"]["request"]["contact"] is None

    # Nobody else heard a thing, and the room's own numbering has no hole where they asked.
    assert room_seq(app, room) == seq_before
    for other in (olive, bob, viewer, alice, carol):
        assert other.updates() == []
        assert "alice@example.org" not in other.everything()
        assert {message["name"] for message in other.receive()} <= {"state", "presence"}

    # Only a wellbeing host can mark it handled.
    refused = {"ok": False, "error": "Only this event's wellbeing hosts can do that."}
    assert olive.call("support_handled", {"request_id": request["id"]}) == refused
    assert alice.call("support_handled", {"request_id": request["id"]}) == refused
    handled = wren.call("support_handled", {"request_id": request["id"]})
    assert handled["ok"] is True and handled["request"]["status"] == "handled"
    assert handled["request"]["handled_by"] == "Wren Wellbeing"
    last = wren.updates()[-1]
    assert (last["seq"], last["prev"]) == (3, 2) and last["data"] == {"request": handled["request"]}
    # Marking it again changes nothing and sends nothing.
    assert wren.call("support_handled", {"request_id": request["id"]})["ok"] is True
    assert len(wren.updates()) == 3
    assert wren.call("support_handled", {"request_id": 999_999}) == {
        "ok": False,
        "error": "That support request is not in this room.",
    }
    assert olive.updates() == []


def test_wellbeing_hosts_are_replayed_what_they_missed_on_their_own_chain(app, room, connect):
    wren = connect("wren")
    alice, carol = connect("alice"), connect("guest:Carol")
    first = alice.call("request_support")["request"]["id"]
    second = carol.call("request_support")["request"]["id"]
    wren.call("support_handled", {"request_id": first})
    wren.close()

    # From nothing: every request once, as it is now, in the order of its latest change.
    fresh = connect("wren")
    assert fresh.state["support_seq"] == 3
    replayed = [(u["seq"], u["data"]["request"]["id"]) for u in fresh.state["support_updates"]]
    assert replayed == [(2, second), (3, first)]
    assert fresh.state["support_updates"][1]["data"]["request"]["status"] == "handled"
    assert all(u["chain"] == "wellbeing" for u in fresh.state["support_updates"])
    # From the middle: only what changed since.
    behind = connect("wren", support_seq=2)
    assert [u["seq"] for u in behind.state["support_updates"]] == [3]
    # Up to date: nothing, and catch_up answers the same way.
    current = connect("wren", support_seq=3)
    assert current.state["support_updates"] == []
    answer = current.call("catch_up", {"last_seq": 0, "support_seq": 1})
    assert [u["seq"] for u in answer["support_updates"]] == [2, 3]

    # An ordinary host reconnecting from zero hears nothing of it.
    olive = connect("olive")
    assert olive.state["wellbeing"] is False
    assert olive.updates(chain="wellbeing") == [] and "support_seq" not in olive.state
    assert "alice@example.org" not in olive.everything()
    assert "support_updates" not in olive.call("catch_up", {"last_seq": 0, "support_seq": 0})

    # The person sees their own request as it is now.
    again = connect("alice")
    assert again.state["support"]["request"]["status"] == "handled"
    assert again.state["support"]["request"]["id"] == first


def test_contacts_reaching_wellbeing_hosts_are_logged_without_saying_whose(app, room, connect):
    wren = connect("wren")
    connect("alice").call("request_support")
    connect("guest:Carol").call("request_support")
    wren.close()
    connect("wren")
    with app.app_context():
        lines = db.session.scalars(
            sa.select(PersonalDataAccess.what).order_by(PersonalDataAccess.id)
        ).all()
    # The guest left no contact; Alice's reached Wren live, then again in her state.
    assert lines == [
        "Live-room support requests: the name and contact of 1 person (wellbeing hosts)",
        "Live-room support requests: the name and contact of 1 person (wellbeing hosts)",
    ]
    assert not any("Alice" in line for line in lines)


def test_the_owner_chooses_wellbeing_hosts_and_frames_follow_the_flag(app, room, connect):
    wren_http = app.test_client()
    login(wren_http, "wren@example.org")
    with app.app_context():
        olive_id = db.session.scalar(
            sa.select(EventHost.organiser_id).where(EventHost.role == "owner")
        )
        wren_id = db.session.scalar(
            sa.select(EventHost.organiser_id).where(EventHost.role == "cohost")
        )
    # A co-host cannot make themselves (or anyone) a wellbeing host.
    page = wren_http.post(
        f"/organiser/events/{room['slug']}/hosts/{olive_id}/wellbeing",
        data={"wellbeing": "1", "csrf_token": csrf_for(wren_http, room)},
        follow_redirects=True,
    )
    assert "Only the event&#39;s owner can choose its wellbeing hosts." in page.get_data(True)
    assert "Make wellbeing host" not in page.get_data(True)

    wren, olive = connect("wren"), connect("olive")
    olive_http = app.test_client()
    login(olive_http)
    page = olive_http.post(
        f"/organiser/events/{room['slug']}/hosts/{wren_id}/wellbeing",
        data={"wellbeing": "0", "csrf_token": csrf_for(olive_http, room)},
        follow_redirects=True,
    )
    assert "Wren Wellbeing no longer sees support requests." in page.get_data(True)

    # No wellbeing host: the person is told to use the contacts, and nobody is sent anything.
    alice = connect("alice")
    assert alice.state["support"]["available"] is False
    assert alice.call("request_support") == {"ok": False, "error": support.NO_WELLBEING_HOST}
    assert wren.call("catch_up", {"last_seq": 0})["wellbeing"] is False

    page = olive_http.post(
        f"/organiser/events/{room['slug']}/hosts/{olive_id}/wellbeing",
        data={"wellbeing": "1", "csrf_token": csrf_for(olive_http, room)},
        follow_redirects=True,
    )
    assert "Olive Organiser is a wellbeing host" in page.get_data(True)
    assert alice.call("request_support")["ok"] is True
    # The frame went to whoever was a wellbeing host at the change: Olive now, not Wren.
    assert [u["chain"] for u in olive.updates()] == ["wellbeing"]
    assert wren.updates() == []


def csrf_for(http, room):
    page = http.get(f"/organiser/events/{room['slug']}/edit").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_support_requests_are_rate_limited_per_person(app, room, connect):
    app.config.update(LIVE_SUPPORT_LIMIT_COUNT=2)
    wren, alice = connect("wren"), connect("alice")
    for _ in range(2):
        request = alice.call("request_support")["request"]
        wren.call("support_handled", {"request_id": request["id"]})
    assert alice.call("request_support") == {"ok": False, "error": support.ASKED_TOO_OFTEN}
    # Someone else is not held up by it.
    assert connect("bob").call("request_support")["ok"] is True
    # Hosts and viewers cannot ask: they have nobody to ask.
    assert connect("viewer").call("request_support")["ok"] is False
    assert wren.call("request_support")["ok"] is False


def test_support_requests_never_reach_the_harvest_or_any_export(app, room, connect):
    olive_http = app.test_client()
    login(olive_http)
    olive_http.get("/organiser/")  # shows the "welcome back" flash, once
    pages = [
        f"/events/{room['slug']}/harvest",
        f"/events/{room['slug']}/harvest/export.md",
        f"/events/{room['slug']}/harvest/export.csv",
        f"/events/{room['slug']}/harvest/export.json",
        f"/events/{room['slug']}/registrations.csv",
    ]
    alice = connect("alice")
    text = "Being heard helped"
    ack = alice.call("contribute", {"client_id": str(uuid.uuid4()), "text": text})
    connect("olive").call("approve", {"contribution_id": ack["id"]})

    def read(page):
        # The page's CSRF token is new on every request; everything else must stay the same.
        text = olive_http.get(page).get_data(as_text=True)
        return re.sub(r'(name="csrf_token"[^>]*value=")[^"]+', r"\1", text)

    before = {page: read(page) for page in pages}
    assert text in before[pages[1]]

    connect("wren")
    alice.call("request_support")
    connect("guest:Carol").call("request_support")
    after = {page: read(page) for page in pages}
    for page in pages:
        assert after[page] == before[page], f"{page} changed after support requests"
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        assert support.support_request_count(event) == 2
        # Nothing of it in the room's stored history either.
        kinds = db.session.scalars(
            sa.select(RoomUpdate.kind).where(RoomUpdate.event_id == event.id)
        ).all()
        assert "support" not in kinds


def test_an_erased_registration_leaves_no_name_or_contact_in_its_request(app, room, connect):
    from lero_events import registrations

    wren = connect("wren")
    connect("alice").call("request_support")
    with app.app_context():
        request = db.session.scalar(sa.select(SupportRequest))
        registrations.erase_registration(request.registration)
    wren.close()
    replayed = connect("wren").state["support_updates"][0]["data"]["request"]
    assert replayed["name"] == "Anonymous" and replayed["contact"] is None


# ---- moderation in the open ----


def post(client, text):
    ack = client.call("contribute", {"client_id": str(uuid.uuid4()), "text": text})
    assert ack["ok"] is True, ack
    return ack["id"]


def test_everyone_sees_how_many_wait_and_were_held_back_never_the_text(app, room, connect):
    olive, alice = connect("olive"), connect("alice")
    first, second = post(alice, "One thing"), post(alice, "Another thing")
    olive.call("reject", {"contribution_id": first, "reason": "off_topic"})
    for who in ("bob", "guest:Carol", "viewer", "olive"):
        state = connect(who).state
        assert (state["waiting"], state["held_back"]) == (1, 1), who
    bob = connect("bob")
    assert "One thing" not in bob.everything() and "Another thing" not in bob.everything()
    assert olive.call("approve", {"contribution_id": second})["ok"] is True
    assert (connect("bob").state["waiting"], connect("bob").state["held_back"]) == (0, 1)


def test_the_counts_reach_the_room_throttled_like_presence(app, start_server):
    """Against a real server: eight posts in a burst cost the room one or two presence
    messages, not eight, and the last one has the right counts."""
    from .live_clients import close_all_clients, contribute, join, make_room

    room = make_room(app)
    server = start_server(LERO_LIVE_PRESENCE_SECONDS="3")
    try:
        alice, bob, dee = (
            join(server, room, "alice"),
            join(server, room, "bob"),
            join(server, room, "dee"),
        )
        dee.wait_for("presence", lambda p: p["present"] == 3)
        mark = dee.mark()
        for author in (alice, bob):
            for number in range(4):
                assert contribute(author, f"Thought {number}")["ok"] is True
        dee.wait_for("presence", lambda p: p["waiting"] == 8, timeout=10, after=mark)
        counts = [m for kind, m in dee.messages[mark:] if kind == "presence"]
        assert 1 <= len(counts) <= 2, counts
        assert (counts[-1]["waiting"], counts[-1]["held_back"]) == (8, 0)
        assert all(set(message) == {"present", "waiting", "held_back"} for message in counts)
    finally:
        close_all_clients()


def test_held_back_with_a_reason_the_author_sees_and_nobody_else(app, room, connect):
    olive, alice, bob = connect("olive"), connect("alice"), connect("bob")
    listed, written, silent = post(alice, "Listed"), post(alice, "Written"), post(alice, "Silent")
    assert olive.state["hold_back_reasons"][0] == {
        "key": "identifies",
        "text": "It could identify someone.",
    }
    assert "hold_back_reasons" not in alice.state

    ack = olive.call("reject", {"contribution_id": listed, "reason": "identifies"})
    assert ack["contribution"]["held_back_reason"] == "It could identify someone."
    ack = olive.call(
        "reject",
        {"contribution_id": written, "reason": "other", "reason_text": " Keep to  the question "},
    )
    assert ack["contribution"]["held_back_reason"] == "Keep to the question"
    assert (
        olive.call("reject", {"contribution_id": silent})["contribution"]["held_back_reason"] == ""
    )
    # Bad reasons are refused and the reflection stays waiting.
    fresh = post(alice, "Fresh")
    for payload, error in (
        ({"reason": "rude"}, "Choose a reason from the list, or write one."),
        ({"reason": "other"}, "Choose a reason from the list, or write one."),
        (
            {"reason": "other", "reason_text": "x" * 201},
            "Please keep the reason under 200 characters.",
        ),
    ):
        assert olive.call("reject", {"contribution_id": fresh, **payload}) == {
            "ok": False,
            "error": error,
        }

    # The author hears it live on their own chain, and again after a reload.
    reasons = {
        u["data"]["contribution"]["id"]: u["data"]["contribution"]["held_back_reason"]
        for u in alice.updates(chain="own")
        if u["data"]["contribution"]["status"] == "rejected"
    }
    assert reasons == {
        listed: "It could identify someone.",
        written: "Keep to the question",
        silent: "",
    }
    mine = {c["id"]: (c["status"], c["held_back_reason"]) for c in connect("alice").state["mine"]}
    assert mine[listed] == ("rejected", "It could identify someone.")
    assert mine[fresh] == ("pending", "")
    # Nobody else: not the room, not the harvest page's viewer.
    assert bob.updates() == [] and "identify someone" not in connect("viewer").everything()
    # Approving it after all clears the reason.
    assert (
        olive.call("approve", {"contribution_id": listed})["contribution"]["held_back_reason"] == ""
    )


def test_a_host_redacts_a_name_and_the_author_is_told_what_changed(app, room, connect):
    olive, alice, bob = connect("olive"), connect("alice"), connect("bob")
    waiting = post(alice, "My sponsor Dave at the Leeds group said dave would call")
    ack = olive.call("redact", {"contribution_id": waiting, "text": "dave", "label": "name"})
    assert ack["ok"] is True
    assert ack["contribution"]["text"] == (
        "My sponsor [name removed] at the Leeds group said [name removed] would call"
    )
    assert ack["contribution"]["redacted"] == ["name"]
    # Still waiting: only the author (own chain) and hosts heard of the change.
    assert bob.updates() == []
    told = alice.updates(chain="own")[-1]["data"]["contribution"]
    assert told["redacted"] == ["name"] and "[name removed]" in told["text"]

    olive.call("approve", {"contribution_id": waiting})
    # Post-moderation: redacting what is already shown changes it for everyone.
    ack = olive.call("redact", {"contribution_id": waiting, "text": "Leeds", "label": "place"})
    assert ack["contribution"]["redacted"] == ["name", "place"]
    seen = bob.updates(chain="public")[-1]["data"]["contribution"]
    assert seen["text"] == (
        "My sponsor [name removed] at the [place removed] group said [name removed] would call"
    )
    # A reload keeps the author's note: redacted reflections stay in `mine`.
    (mine,) = connect("alice").state["mine"]
    assert mine["id"] == waiting and mine["redacted"] == ["name", "place"]

    # The original is not kept anywhere: not in the row, not in the room's stored history.
    with app.app_context():
        texts = db.session.scalars(sa.select(Contribution.text)).all()
        history = json.dumps(db.session.scalars(sa.select(RoomUpdate.payload)).all())
    assert not any("Dave" in text or "Leeds" in text for text in texts)
    assert "Dave" not in history and "Leeds" not in history

    for payload, error in (
        ({"text": "Bradford", "label": "place"}, "That text is not in the reflection."),
        (
            {"text": "sponsor", "label": "person"},
            "Choose what was removed: a name, a place or a detail.",
        ),
        ({"text": "  ", "label": "name"}, "Choose the words to remove (1-200 characters)."),
    ):
        answer = olive.call("redact", {"contribution_id": waiting, **payload})
        assert answer == {"ok": False, "error": error}
    assert alice.call("redact", {"contribution_id": waiting, "text": "My", "label": "name"}) == {
        "ok": False,
        "error": "Only this event's hosts can do that.",
    }
    whole = post(alice, "Dave.")
    assert olive.call("redact", {"contribution_id": whole, "text": "dave", "label": "name"}) == {
        "ok": False,
        "error": "Removing that would leave nothing of the reflection.",
    }


def test_redacting_changes_the_found_poem_lines_cut_from_it(app, room, connect):
    olive, alice = connect("olive"), connect("alice")
    shown = post(alice, "Walking past Whitby pier I felt free")
    olive.call("approve", {"contribution_id": shown})
    with app.app_context():
        db.session.add(
            PoemLine(
                event_id=room["event_id"], text="Whitby pier I felt free", contribution_id=shown
            )
        )
        db.session.commit()
    olive.call("redact", {"contribution_id": shown, "text": "Whitby", "label": "place"})
    with app.app_context():
        assert db.session.scalar(sa.select(PoemLine.text)) == "[place removed] pier I felt free"
    http = app.test_client()
    page = http.get(f"/events/{room['slug']}/harvest").get_data(as_text=True)
    assert "Whitby" not in page and "[place removed] pier I felt free" in page


def erase(app, token, reflections="keep"):
    http = app.test_client()
    path = f"/r/{token}/erase"
    data = {"csrf_token": csrf_token(http, path), "reflections": reflections}
    assert http.post(path, data=data).status_code == 303


def test_my_data_has_my_support_requests_and_erasing_takes_my_name_off_them(app, room, connect):
    wren, alice, carol = connect("wren"), connect("alice"), connect("guest:Carol")
    alice.call("request_support")
    carol.call("request_support")
    request_id = wren.updates()[0]["data"]["request"]["id"]
    with app.app_context():
        presence.tell_rooms()  # this file's presence tick is an hour off: run one now
    assert presence_rows(app) == ["guest", "host", "participant"]
    mine = app.test_client().get(f"/r/{room['alice']}/my-data.json").get_json()
    assert [r["status"] for r in mine["support_requests"]] == ["open"]
    assert mine["support_requests"][0]["asked_at"] and "handled_by" not in json.dumps(mine)
    assert [c["name_shown"] for c in mine["live_room_connections_open_now"]] == ["Alice A"]
    assert "Carol" not in json.dumps(mine), "nothing of anyone else"

    erase(app, room["alice"])
    # The wellbeing host's screen loses her name and contact at once, on its own chain.
    last = wren.updates(chain="wellbeing")[-1]
    assert last["data"]["request"]["id"] == request_id
    assert last["data"]["request"]["name"] == "Anonymous"
    assert last["data"]["request"]["contact"] is None
    assert not alice.sio.is_connected(NS), "erasure closes her live connection"
    again = connect("wren")
    shown = {
        u["data"]["request"]["id"]: u["data"]["request"] for u in again.state["support_updates"]
    }
    assert shown[request_id]["name"] == "Anonymous" and shown[request_id]["contact"] is None
    assert "alice" not in again.everything().lower()
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        assert support.support_request_count(event) == 2, "the evidence's number stays right"
