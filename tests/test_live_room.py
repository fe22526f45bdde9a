"""The live room over Socket.IO, with real python-socketio clients against real server processes."""

import threading
import time
import uuid
from datetime import datetime, timedelta
from html import escape

import pytest
import requests
import socketio
import sqlalchemy as sa
import websocket

from lero_events import events, registrations
from lero_events.evidence import counting
from lero_events.extensions import db
from lero_events.models import Contribution, Event, Registration, RoomUpdate

from .conftest import create_event, create_organiser, login, wait_until
from .live_clients import (
    NS,
    LiveClient,
    contribute,
    host_headers,
    join,
    make_room,
    publish_harvest,
    refused_message,
)


@pytest.fixture
def room(app):
    return make_room(app)


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_moderated_flow_reaches_everyone_in_order_and_reconnects_catch_up(
    app, room, start_server, async_mode
):
    publish_harvest(app, room)
    server = start_server(async_mode=async_mode)
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    carol = join(server, room, "guest:Carol")
    dee = join(server, room, "dee")
    viewer = join(server, room, "viewer")
    assert host.state["role"] == "host" and host.state["queue"] == []
    assert alice.state["you"]["name"] == "Alice A"
    assert carol.state["role"] == "guest"

    ack = host.call("set_prompt", {"text": "What struck a chord?"})
    assert ack["ok"] is True
    prompt = ack["prompt"]
    for client in (alice, bob, carol, dee, viewer):
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
    for client in (alice, bob, carol, dee, viewer, host):
        client.wait_for_update(
            "contribution",
            lambda d: (
                d["contribution"]["id"] == pending_id and d["contribution"]["status"] == "approved"
            ),
        )
    # Pre-moderation: the others never heard of it while it waited.
    for client in (bob, carol, viewer):
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
    alice_before = alice.cursors()
    bob.disconnect()
    second = contribute(carol, "Second thought", anonymous=True)["id"]
    third = contribute(alice, "Not for the room")["id"]
    assert host.call("approve", {"contribution_id": second})["ok"] is True
    assert host.call("reject", {"contribution_id": third})["ok"] is True
    assert host.call(
        "capture_phrase", {"text": "Nothing about us without us", "attribution": "Jo"}
    )["ok"]
    dee.wait_for_update("phrase")
    viewer.wait_for_update("phrase")
    assert contribute(viewer, "Just watching") == {
        "ok": False,
        "error": "This view is read-only: join the live room to take part.",
    }

    bob_again = join(server, room, "bob", last_seq=bob_last_seq)
    missed = bob_again.state["updates"]
    heard_by_dee = [u for u in dee.received("update") if u["seq"] > bob_last_seq]
    assert [u["seq"] for u in missed] == [u["seq"] for u in heard_by_dee]
    assert [u["kind"] for u in missed] == ["contribution", "phrase"]
    assert missed[0]["data"]["contribution"]["author"] == "Anonymous"
    assert missed[1]["data"]["phrase"]["attribution"] == "Jo"
    assert set(bob_again.stream()) == {second}, "only what he missed, never a repeat"
    # A host catching up from the same point gets everything, the queue's history included.
    host_again = join(server, room, "host", last_seq=bob_last_seq)
    caught_up = [u["seq"] for u in host_again.state["updates"]]
    assert caught_up == list(range(bob_last_seq + 1, host_again.state["seq"] + 1))
    assert [u["seq"] for u in host.received("update") if u["seq"] > bob_last_seq] == caught_up

    # A fresh participant gets a snapshot of the room now, never the whole history.
    eve = join(server, room, "guest:Eve")
    assert "updates" not in eve.state
    assert set(eve.stream()) == {pending_id, second}
    assert set(eve.view().phrases) == {missed[1]["data"]["phrase"]["id"]}
    assert eve.state["prompt"] == prompt
    # Alice, back from before the rejection, hears of it on her own chain.
    alice_again = join(server, room, "alice", **alice_before)
    # `mine` lists every reflection of hers, the held-back one too, so the page can say so
    # (and offer to take each down) after a reload too.
    assert [(c["id"], c["status"]) for c in alice_again.state["mine"]] == [
        (pending_id, "approved"),
        (third, "rejected"),
    ]
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


def test_bad_input_gets_a_reason_and_the_room_keeps_working(app, room, start_server):
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    prompt = host.call("set_prompt", {"text": "What helped?"})["prompt"]

    def refused(payload, event="contribute", client=alice):
        ack = client.call(event, payload)
        assert ack["ok"] is False, ack
        assert isinstance(ack["error"], str) and ack["error"]
        return ack["error"]

    good = {"client_id": str(uuid.uuid4()), "text": "ok", "prompt_id": None, "anonymous": False}
    assert refused("just a string") == "The live room could not understand that message."
    assert refused(None) == "The live room could not understand that message."
    assert refused((good, good)) == "The live room could not understand that message."
    assert refused({**good, "text": 42}) == "text must be text."
    assert refused({**good, "text": ""}) == "Please write something before sending."
    assert refused({**good, "text": " \n\t "}) == "Please write something before sending."
    assert refused({**good, "text": "x" * 501}) == (
        "Please keep it under 500 characters (yours has 501)."
    )
    assert refused({**good, "client_id": "not-a-uuid"}) == "client_id must be a UUID."
    assert refused({**good, "client_id": None}) == "client_id must be a UUID."
    assert refused({**good, "prompt_id": "1"}) == "prompt_id must be a number or null."
    assert refused({**good, "prompt_id": prompt["id"] + 99}) == (
        "That prompt is not part of this event."
    )
    assert refused({**good, "anonymous": "yes"}) == "anonymous must be true or false."
    assert refused({"contribution_id": "7"}, "resonate") == "contribution_id must be a number."
    assert refused({"contribution_id": 999}, "resonate") == "That contribution is not in this room."

    # Host actions from a participant.
    for event, payload in (
        ("set_prompt", {"text": "Hijacked"}),
        ("approve", {"contribution_id": 1}),
        ("reject", {"contribution_id": 1}),
        ("withdraw", {"contribution_id": 1}),
        ("feature", {"contribution_id": 1}),
        ("capture_phrase", {"text": "Not mine to capture"}),
        ("set_contributions_open", {"open": False}),
        ("set_moderation", {"mode": "post"}),
    ):
        assert refused(payload, event) == "Only this event's hosts can do that."
    # Hosts do not contribute as participants, and bad host payloads are explained too.
    assert refused(good, "contribute", host) == (
        "Hosts capture what they hear as phrases rather than contribute."
    )
    assert refused({"mode": "sometimes"}, "set_moderation", host) == 'mode must be "pre" or "post".'
    assert refused({"open": "no"}, "set_contributions_open", host) == "open must be true or false."
    assert refused({"text": "   "}, "set_prompt", host) == "Please write something before sending."
    assert refused({"contribution_id": 12345}, "approve", host) == (
        "That contribution is not in this room."
    )

    # Paused by the hosts, then reopened.
    assert host.call("set_contributions_open", {"open": False}) == {
        "ok": True,
        "contributions_open": False,
    }
    settings = alice.wait_for_update("settings")["data"]
    assert settings == {"contributions_open": False, "moderation": "pre"}
    assert refused(good) == "Contributions are paused by the hosts for now."
    assert host.call("set_contributions_open", {"open": True})["ok"] is True

    # Flooding: five in thirty seconds, then a reason; a resend is never limited.
    acks = [contribute(bob, f"thought {n}") for n in range(5)]
    assert all(ack["ok"] for ack in acks)
    assert refused(good, client=bob) == (
        "You are sending a lot very quickly: please wait a few seconds and try again."
    )
    resend = acks[0]["contribution"]
    again = bob.call(
        "contribute",
        {"client_id": resend["client_id"], "text": resend["text"], "prompt_id": None},
    )
    assert again["ok"] is True and again["id"] == resend["id"]
    # Someone else's client_id is not a way to read their contribution.
    stolen = alice.call("contribute", {**good, "client_id": resend["client_id"]})
    assert stolen == {"ok": False, "error": "That client_id is already used; make a new one."}

    # After all of that, everyone is still connected and the room works.
    ack = contribute(alice, "Still here")
    assert ack["ok"] is True
    assert host.call("approve", {"contribution_id": ack["id"]})["ok"] is True
    bob.wait_for_update("contribution", lambda d: d["contribution"]["id"] == ack["id"])
    assert alice.sio.connected and bob.sio.connected and host.sio.connected
    with app.app_context():
        texts = db.session.scalars(sa.select(Contribution.text).order_by(Contribution.id)).all()
    assert texts == [f"thought {n}" for n in range(5)] + ["Still here"]


def test_connections_are_refused_with_a_reason(app, room, start_server):
    with app.app_context():
        create_organiser("other@example.org", "Other Organiser")
        closed = create_event(title="Members only")
        ended = create_event(
            title="Yesterday",
            starts_at=datetime.now() - timedelta(days=1, hours=2),
            ends_at=datetime.now() - timedelta(days=1),
            allow_guests=True,
        )
        cancelled = events.cancel_event(create_event(title="Called off"))
        draft = create_event(title="Not yet", publish=False)
        closed_slug, ended_slug = closed.slug, ended.slug
        cancelled_slug, draft_slug = cancelled.slug, draft.slug
        secret_event = db.session.get(Event, room["event_id"])
        secret_event.harvest_secret = "s3cret-harvest-link-value"
        db.session.commit()
    server = start_server()
    slug = room["slug"]

    def message(auth, headers=None):
        return refused_message(server, auth, headers)

    assert message({"slug": "no-such-event", "token": room["tokens"]["alice"]}) == (
        "There is no live room at that address."
    )
    assert (
        message({"slug": draft_slug, "role": "viewer"}) == "There is no live room at that address."
    )
    assert message({"slug": cancelled_slug, "guest_name": "Kim", "guest_key": "k" * 20}) == (
        "This event has been cancelled, so its live room is closed."
    )
    assert message("not an object") == "The live room could not understand how you are joining."
    assert message({"slug": slug, "last_seq": "7", "role": "viewer"}) == (
        "The live room could not understand how you are joining."
    )
    assert message({"slug": slug, "token": "1.wrong"}) == "That private link is not valid."
    assert message({"slug": slug, "token": 12}) == "That private link is not valid."
    assert message({"slug": closed_slug, "token": room["tokens"]["alice"]}) == (
        "That private link is not valid."
    )
    assert message({"slug": closed_slug, "guest_name": "Kim", "guest_key": "k" * 20}) == (
        "This live room is only open to registered participants."
    )
    assert message({"slug": slug, "guest_name": "  ", "guest_key": "k" * 20}) == (
        "Please tell us the name to show next to what you write."
    )
    assert message({"slug": slug, "guest_name": "Kim", "guest_key": "short"}) == (
        "Please tell us the name to show next to what you write."
    )
    assert message({"slug": slug, "role": "host"}) == (
        "Only this event's hosts can host the live room."
    )
    other = host_headers(server, "other@example.org")
    assert message({"slug": slug, "role": "host"}, other) == (
        "Only this event's hosts can host the live room."
    )
    assert message({"slug": slug, "role": "viewer"}) == "This harvest is not published yet."
    assert message({"slug": slug, "role": "viewer", "harvest_secret": "guess"}) == (
        "This harvest is not published yet."
    )
    viewer = join(server, room, "viewer", harvest_secret="s3cret-harvest-link-value")
    assert viewer.state["role"] == "viewer" and viewer.state["you"] is None

    with app.app_context():
        registration = db.session.scalar(sa.select(Registration).where(Registration.name == "Dee"))
        registration.status = "waitlisted"
        db.session.commit()
    assert message({"slug": slug, "token": room["tokens"]["dee"]}) == (
        "This registration is not confirmed, so it cannot join the live room."
    )

    # An ended session still opens (to read), but takes no more contributions.
    late = LiveClient(
        server, {"slug": ended_slug, "guest_name": "Late", "guest_key": "late-key-0123456789"}
    ).connect()
    assert late.state["event"]["ended"] is True
    assert contribute(late, "Am I too late?") == {
        "ok": False,
        "error": "This session has ended, so it no longer takes contributions.",
    }


def test_a_foreign_origin_cannot_connect(room, start_server):
    server = start_server()
    auth = {"slug": room["slug"], "token": room["tokens"]["alice"]}
    foreign = LiveClient(server, auth, {"Origin": "https://evil.example"}, ["polling"])
    with pytest.raises(socketio.exceptions.ConnectionError):
        foreign.connect()
    handshake = requests.get(
        server.url + "/socket.io/?EIO=4&transport=polling",
        headers={"Origin": "https://evil.example"},
        timeout=5,
    )
    assert (handshake.status_code, handshake.json()) == (400, "Not an accepted origin.")

    # Straight to WebSocket: refused before the upgrade (gevent-websocket, the opt-in, upgrades
    # first and then closes: tests/test_websocket_servers.py).
    ws_url = server.url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(ws_url, origin="https://evil.example", timeout=5)
    assert refused.value.status_code == 400
    own_ws = websocket.create_connection(ws_url, origin=server.url, timeout=5)
    assert own_ws.recv().startswith('0{"sid":')
    own_ws.close()

    own = LiveClient(server, auth, {"Origin": server.url}, transports=["polling"]).connect()
    assert own.state["role"] == "participant"


def test_an_oversized_frame_closes_only_that_connection(room, start_server):
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    dropped = threading.Event()
    bob.sio.on("disconnect", lambda *reason: dropped.set(), namespace=NS)

    bob.sio.emit(
        "contribute",
        {"client_id": str(uuid.uuid4()), "text": "x" * 40_000, "prompt_id": None},
        namespace=NS,
    )
    assert dropped.wait(15), "the server should close a connection sending a 40 KB frame"

    ack = contribute(alice, "The room carries on")
    assert ack["ok"] is True
    assert host.call("approve", {"contribution_id": ack["id"]})["ok"] is True
    alice.wait_for_update("contribution", lambda d: d["contribution"]["id"] == ack["id"])

    back = join(server, room, "bob", last_seq=bob.last_seq)
    assert set(back.stream()) == {ack["id"]}
    assert contribute(back, "Shorter this time")["ok"] is True


def test_post_moderation_shows_at_once_and_hosts_withdraw_and_feature(app, room, start_server):
    publish_harvest(app, room)
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    viewer = join(server, room, "viewer")

    assert host.call("set_moderation", {"mode": "post"}) == {"ok": True, "moderation": "post"}
    bob.wait_for_update("settings", lambda d: d["moderation"] == "post")
    ack = contribute(alice, "Straight to the room")
    assert ack["ok"] is True and ack["status"] == "approved"
    for client in (bob, viewer, host):
        shown = client.wait_for_update(
            "contribution", lambda d: d["contribution"]["id"] == ack["id"]
        )["data"]["contribution"]
        # The harvest page (a viewer) names only those who chose it: Alice did not.
        assert (shown["status"], shown["text"], shown["author"]) == (
            "approved",
            "Straight to the room",
            "Anonymous" if client is viewer else "Alice A",
        )

    featured = host.call("feature", {"contribution_id": ack["id"]})
    assert featured["ok"] is True and featured["contribution"]["featured"] is True
    bob.wait_for_update("contribution", lambda d: d["contribution"]["featured"])

    withdrawn = host.call("withdraw", {"contribution_id": ack["id"]})
    assert withdrawn["ok"] is True and withdrawn["contribution"]["status"] == "withdrawn"
    tombstone = bob.wait_for_update(
        "contribution", lambda d: d["contribution"]["status"] == "withdrawn"
    )["data"]["contribution"]
    assert tombstone["id"] == ack["id"] and tombstone["text"] == "" and tombstone["author"] == ""
    assert bob.stream() == {} and viewer.wait_for_update(
        "contribution", lambda d: d["contribution"]["status"] == "withdrawn"
    )
    assert host.call("withdraw", {"contribution_id": ack["id"]}) == {
        "ok": False,
        "error": "That contribution is withdrawn, so it cannot be withdrawn.",
    }
    assert host.call("feature", {"contribution_id": ack["id"]})["ok"] is False

    # A newcomer's snapshot does not have it; catching up from before, it comes blank.
    newcomer = join(server, room, "guest:Newcomer")
    assert newcomer.state["snapshot"] == {"stream": []} and newcomer.stream() == {}
    returning = join(server, room, "guest:Returning", last_seq=1)
    replayed = [u for u in returning.state["updates"] if u["kind"] == "contribution"]
    assert replayed and all(u["data"]["contribution"]["text"] == "" for u in replayed)
    assert returning.stream() == {}

    # Names: a guest's own name; a registration without a display name is anonymous.
    guest_said = contribute(newcomer, "From a guest")["contribution"]
    assert (guest_said["author"], guest_said["anonymous"]) == ("Newcomer", False)
    dee_said = contribute(join(server, room, "dee"), "From Dee")["contribution"]
    assert (dee_said["author"], dee_said["anonymous"]) == ("Anonymous", False)
    bob.wait_for_update("contribution", lambda d: d["contribution"]["id"] == dee_said["id"])

    # Back to pre-moderation: new contributions wait again.
    assert host.call("set_moderation", {"mode": "pre"})["ok"] is True
    assert contribute(bob, "Waiting now")["status"] == "pending"


def test_resonance_is_once_per_person_and_toggles(app, room, start_server):
    publish_harvest(app, room)
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    carol = join(server, room, "guest:Carol")
    viewer = join(server, room, "viewer")

    pending = contribute(alice, "Resonant words")["id"]
    assert bob.call("resonate", {"contribution_id": pending}) == {
        "ok": False,
        "error": "That contribution is not in this room.",
    }
    host.call("approve", {"contribution_id": pending})

    assert bob.call("resonate", {"contribution_id": pending}) == {
        "ok": True,
        "contribution_id": pending,
        "resonating": True,
        "count": 1,
    }
    assert carol.call("resonate", {"contribution_id": pending})["count"] == 2
    viewer.wait_for_update("resonance", lambda d: d == {"contribution_id": pending, "count": 2})
    assert bob.call("resonate", {"contribution_id": pending})["resonating"] is False
    alice.wait_for_update("resonance", lambda d: d["count"] == 1)
    assert viewer.call("resonate", {"contribution_id": pending})["ok"] is False

    # Carol's other tab knows what she resonates with; the count replays to newcomers.
    carol_tab = join(server, room, "guest:Carol")
    assert carol_tab.state["resonated"] == [pending]
    assert join(server, room, "dee").stream()[pending]["resonance_count"] == 1


def test_presence_counts_people_not_tabs_and_hosts_see_voices_heard(app, room, start_server):
    publish_harvest(app, room)
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    host.wait_for("presence", lambda p: p["present"] == 1)
    alice_phone = join(server, room, "alice")
    bob = join(server, room, "bob")
    join(server, room, "viewer")
    latest = host.wait_for("presence", lambda p: p["present"] == 2 and len(p["people"]) == 2)
    assert latest["people"] == [
        {"name": "Alice A", "role": "participant"},
        {"name": "Bob B", "role": "participant"},
    ]
    assert latest["voices_heard"] == 0
    crowd = alice.wait_for("presence", lambda p: p["present"] == 2)
    assert set(crowd) == {"present", "waiting", "held_back"}, "names and voices: hosts only"
    assert bob.state["present"] == 2 and "people" not in bob.state

    # Voices heard is the harvest's rule: people with a reflection shared, not just sent.
    first = contribute(alice_phone, "First voice")["id"]
    kept = contribute(bob, "Kept to the room", sharing="room")["id"]
    time.sleep(1.5)  # longer than a presence interval
    assert host.received("presence")[-1]["voices_heard"] == 0, "waiting for the hosts"
    host.call("moderate_many", {"action": "approve", "contribution_ids": [first, kept]})
    host.wait_for("presence", lambda p: p["voices_heard"] == 1)
    again = contribute(alice, "Same voice again")["id"]
    second = contribute(bob, "Second voice")["id"]
    host.call("moderate_many", {"action": "approve", "contribution_ids": [again, second]})
    host.wait_for("presence", lambda p: p["voices_heard"] == 2)

    bob.disconnect()
    host.wait_for("presence", lambda p: p["present"] == 1 and p["voices_heard"] == 2)
    alice.disconnect()
    time.sleep(1.5)  # longer than a presence interval
    assert host.received("presence")[-1]["present"] == 1, "alice is still here on her phone"
    new_host = join(server, room, "host")
    assert (new_host.state["present"], new_host.state["voices_heard"]) == (1, 2)
    assert [person["name"] for person in new_host.state["people"]] == ["Alice A"]


def test_the_hosts_voices_heard_is_the_harvests_figure_with_its_label_and_meaning(
    app, room, client
):
    login(client)
    page = client.get(f"/events/{room['slug']}/live/host").get_data(as_text=True)
    label, meaning = counting.DEFINITIONS["voices_heard"]
    assert f'data-label="{label}"' in page
    assert f"{label}, as the harvest counts them: {escape(meaning)}." in page


def test_a_flood_of_messages_or_a_cancelled_place_is_refused(app, room, start_server):
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    said = contribute(alice, "Worth resonating with")["id"]
    host.call("approve", {"contribution_id": said})

    acks = [bob.call("resonate", {"contribution_id": said}) for _ in range(70)]
    refused = [ack for ack in acks if not ack["ok"]]
    assert len(refused) == 10
    assert refused[0]["error"] == "Too many messages at once: please slow down."
    assert all(ack["ok"] for ack in acks[:60])
    assert acks[59]["resonating"] is False and acks[59]["count"] == 0
    # Everyone else carries on, and bob is still connected.
    assert alice.call("resonate", {"contribution_id": said})["count"] == 1
    assert bob.sio.connected

    with app.app_context():
        registration = db.session.scalar(
            sa.select(Registration).where(Registration.name == "Alice")
        )
        registration.status = "cancelled"
        db.session.commit()
    assert contribute(alice, "After cancelling") == {
        "ok": False,
        "error": "Your place at this event is no longer confirmed, so you cannot post.",
    }


def test_an_erased_registration_takes_its_name_out_of_the_replay(app, room, start_server):
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    said = contribute(alice, "Something personal")["id"]
    assert host.call("approve", {"contribution_id": said})["contribution"]["author"] == "Alice A"

    with app.app_context():
        registration = db.session.scalar(
            sa.select(Registration).where(Registration.name == "Alice")
        )
        registrations.erase_registration(registration)
        stored = db.session.scalars(sa.select(RoomUpdate.payload)).all()
    assert "Alice" not in repr(stored), "the replay history keeps ids, not names"
    replayed = join(server, room, "bob").stream()[said]
    assert (replayed["author"], replayed["text"]) == ("Anonymous", "Something personal")


def test_a_connections_messages_are_answered_in_the_order_it_sent_them(app, room, start_server):
    """A message waiting for the room's lock holds up its connection's next one, which would
    otherwise be answered first (docs/live-protocol.md section 3)."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("on SQLite a wait for the lock holds up the whole server: nothing can overtake")
    server = start_server()
    alice = join(server, room, "alice")
    acks = []
    good = {"client_id": str(uuid.uuid4()), "text": "First", "prompt_id": None, "anonymous": False}
    with app.app_context(), db.engine.connect() as holding:
        locked = sa.select(Event.id).where(Event.id == room["event_id"]).with_for_update()
        holding.execute(locked)
        for name, payload in (("first", good), ("second", "not an object")):
            alice.sio.emit(
                "contribute", payload, namespace=NS, callback=lambda ack, n=name: acks.append(n)
            )
        time.sleep(1)
        assert acks == []  # the second waits for the first, which waits for the lock
        holding.rollback()
    wait_until(lambda: len(acks) == 2)
    assert acks == ["first", "second"]


def test_mine_reaches_the_sending_tab_after_its_ack(app, room, start_server):
    """The tab that sent a reflection has it from the ack, which waits for nothing else; its
    author's other tabs hear it from `mine` (docs/live-protocol.md section 4)."""
    with app.app_context():
        db.session.get(Event, room["event_id"]).moderation = "post"
        db.session.commit()
    server = start_server()
    sending, other_tab = join(server, room, "alice"), join(server, room, "alice")
    heard = []
    for tab in (sending, other_tab):
        tab.sio.on(
            "mine",
            lambda data, tab=tab: heard.append((tab, data["contribution"]["text"])),
            namespace=NS,
        )
    payload = {"client_id": str(uuid.uuid4()), "text": "Shared", "prompt_id": None}
    sending.sio.emit(
        "contribute", payload, namespace=NS, callback=lambda ack: heard.append((sending, "ack"))
    )
    wait_until(lambda: len(heard) == 3)
    assert [text for tab, text in heard if tab is sending] == ["ack", "Shared"]
    assert [text for tab, text in heard if tab is other_tab] == ["Shared"]
