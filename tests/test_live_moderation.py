"""Moderation at scale (docs/live-protocol.md section 8): several at once, undo, the held-back
list, correcting and withdrawing phrases, and the figures viewers follow; real clients against
a real server process."""

import pytest
import requests
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.harvest import poem
from lero_events.models import Event, Phrase, PoemLine, RoomUpdate

from .live_clients import contribute, join, make_room, publish_harvest


@pytest.fixture
def room(app):
    return make_room(app)


def statuses(client, contribution_id):
    return [
        u["data"]["contribution"]["status"]
        for u in client.updates()
        if u["kind"] == "contribution" and u["data"]["contribution"]["id"] == contribution_id
    ]


def test_hosts_approve_and_reject_several_at_once_one_update_each(app, room, start_server):
    publish_harvest(app, room)
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    bob = join(server, room, "bob")
    viewer = join(server, room, "viewer")
    first, second, third = (contribute(alice, f"Alice {n}")["id"] for n in (1, 2, 3))
    bobs = contribute(bob, "Bob says")["id"]
    host.wait_for_view(lambda view: view.seq == 4)

    ack = host.call(
        "moderate_many", {"action": "approve", "contribution_ids": [bobs, first, second]}
    )
    assert ack["ok"] is True and ack["skipped"] == []
    assert [(c["id"], c["status"]) for c in ack["contributions"]] == [
        (first, "approved"),
        (second, "approved"),
        (bobs, "approved"),
    ]
    # One update per item on the public chain, each naming the one before: the viewer applies
    # all three by the gap rule, in the queue's order.
    viewer.wait_for_view(lambda view: set(view.shown) == {first, second, bobs})
    public = [u for u in viewer.updates() if u["kind"] == "contribution"]
    assert [u["data"]["contribution"]["id"] for u in public] == [first, second, bobs]
    assert [u["prev"] for u in public[1:]] == [u["seq"] for u in public[:-1]]

    # Rejecting a mix: what is no longer waiting, or not in this room, is skipped with why.
    ack = host.call(
        "moderate_many", {"action": "reject", "contribution_ids": [third, first, 999999]}
    )
    assert ack["ok"] is True
    assert [(c["id"], c["status"]) for c in ack["contributions"]] == [(third, "rejected")]
    assert ack["skipped"] == [
        {"id": first, "error": "That contribution is approved, so it cannot be rejected."},
        {"id": 999999, "error": "That contribution is not in this room."},
    ]
    # Alice hears of her rejection on her own chain; Bob and the viewer never do.
    alice.wait_for_view(lambda view: statuses(alice, third)[-1:] == ["rejected"])
    host.wait_for_view(lambda view: view.seq == 8)
    assert third not in [
        u["data"]["contribution"]["id"] for u in bob.updates() if u["kind"] == "contribution"
    ]

    for payload, error in (
        ({"action": "approve", "contribution_ids": []}, "Choose between 1 and 100 contributions."),
        (
            {"action": "approve", "contribution_ids": list(range(1, 102))},
            "Choose between 1 and 100 contributions.",
        ),
        (
            {"action": "approve", "contribution_ids": [first, "2"]},
            "contribution_ids must be a list of numbers.",
        ),
        (
            {"action": "approve", "contribution_ids": 3},
            "contribution_ids must be a list of numbers.",
        ),
        (
            {"action": "withdraw", "contribution_ids": [first]},
            'action must be "approve" or "reject".',
        ),
    ):
        assert host.call("moderate_many", payload) == {"ok": False, "error": error}
    assert alice.call("moderate_many", {"action": "approve", "contribution_ids": [third]}) == {
        "ok": False,
        "error": "Only this event's hosts can do that.",
    }
    with app.app_context():
        seqs = db.session.scalars(
            sa.select(RoomUpdate.seq).where(RoomUpdate.event_id == room["event_id"])
        ).all()
        assert sorted(seqs) == list(range(1, 9)), "one stored update per change, no gaps"


def test_undo_of_reject_and_withdraw_and_the_held_back_list(app, room, start_server):
    publish_harvest(app, room)
    server = start_server()
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    viewer = join(server, room, "viewer")
    kept = contribute(alice, "Not now")["id"]
    later = contribute(alice, "Maybe later")["id"]
    assert host.call("reject", {"contribution_id": kept})["ok"] is True
    assert host.call("reject", {"contribution_id": later})["ok"] is True

    # A host joining sees what was held back, the latest first, and not in the queue.
    second_host = join(server, room, "host")
    assert [c["id"] for c in second_host.state["held_back_items"]] == [later, kept]
    assert second_host.state["queue"] == []

    # Undo a reject: back in the queue for everyone hosting, and for its author.
    restored = host.call("restore", {"contribution_id": kept})
    assert restored["ok"] is True and restored["contribution"]["status"] == "pending"
    second_host.wait_for_update(
        "contribution",
        lambda d: d["contribution"]["id"] == kept and d["contribution"]["status"] == "pending",
    )
    alice.wait_for_view(lambda view: statuses(alice, kept)[-1:] == ["pending"])
    third_host = join(server, room, "host")
    assert [c["id"] for c in third_host.state["queue"]] == [kept]
    assert [c["id"] for c in third_host.state["held_back_items"]] == [later]

    # Undo a withdraw: shown again, to the viewer too.
    assert host.call("approve", {"contribution_id": kept})["ok"] is True
    assert host.call("feature", {"contribution_id": kept})["ok"] is True
    assert host.call("withdraw", {"contribution_id": kept})["ok"] is True
    viewer.wait_for_view(lambda view: kept not in view.shown and statuses(viewer, kept))
    back = host.call("restore", {"contribution_id": kept})
    assert back["ok"] is True
    assert (back["contribution"]["status"], back["contribution"]["featured"]) == ("approved", False)
    viewer.wait_for_view(lambda view: kept in view.shown)
    assert viewer.view().shown[kept]["text"] == "Not now"

    assert host.call("restore", {"contribution_id": kept}) == {
        "ok": False,
        "error": "That contribution is approved, so it cannot be restored.",
    }
    assert alice.call("restore", {"contribution_id": later})["ok"] is False
    # The held-back item can also be approved straight from the list.
    assert host.call("approve", {"contribution_id": later})["ok"] is True
    assert join(server, room, "host").state["held_back_items"] == []


def test_a_corrected_or_withdrawn_phrase_leaves_the_room_the_replay_and_the_harvest(
    app, room, start_server
):
    publish_harvest(app, room)
    server = start_server()
    host = join(server, room, "host")
    viewer = join(server, room, "viewer")
    said = "Thank you Jamie Smith for telling us about your recovery"
    phrase = host.call("capture_phrase", {"text": said, "attribution": "Jo"})["phrase"]
    other = host.call("capture_phrase", {"text": "Nothing about us without us"})["phrase"]
    viewer.wait_for_view(lambda view: set(view.phrases) == {phrase["id"], other["id"]})
    before_edit = viewer.last_seq
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        named = poem.add_poem_line(event, phrase_id=phrase["id"], text="Thank you Jamie Smith")
        kept_line = poem.add_poem_line(event, phrase_id=phrase["id"], text="about your recovery")
        named, kept_line = named.id, kept_line.id

    corrected = "Thank you for telling us about your recovery"
    ack = host.call(
        "edit_phrase", {"phrase_id": phrase["id"], "text": corrected, "attribution": "Jo B"}
    )
    assert ack["ok"] is True and ack["phrase"]["text"] == corrected
    viewer.wait_for_view(lambda view: view.phrases[phrase["id"]]["text"] == corrected)
    assert viewer.view().phrases[phrase["id"]]["attribution"] == "Jo B"
    with app.app_context():
        lines = db.session.scalars(sa.select(PoemLine.id)).all()
        assert lines == [kept_line], "the line naming Jamie is gone, the other stays"

    # Someone catching up from before the correction gets the phrase as it is now: the name
    # is nowhere in what they receive.
    returning = join(server, room, "guest:Returning", last_seq=1)
    assert "Jamie" not in str(returning.state)
    assert returning.view().phrases[phrase["id"]]["text"] == corrected
    assert (
        join(server, room, "viewer", last_seq=before_edit).view().phrases[phrase["id"]]["text"]
        == corrected
    )

    ack = host.call("withdraw_phrase", {"phrase_id": phrase["id"]})
    assert ack == {
        "ok": True,
        "phrase": {**ack["phrase"], "text": "", "attribution": "", "withdrawn": True},
    }
    viewer.wait_for_view(lambda view: set(view.phrases) == {other["id"]})
    assert phrase["id"] not in join(server, room, "guest:Newcomer").view().phrases
    harvest = requests.get(f"{server.url}/events/{room['slug']}/harvest", timeout=10).text
    assert "about your recovery" not in harvest and "Nothing about us" in harvest
    exported = requests.get(f"{server.url}/events/{room['slug']}/harvest/export.json", timeout=10)
    assert exported.json()["poem"] == [] and "recovery" not in exported.text

    for name, payload, error in (
        ("withdraw_phrase", {"phrase_id": phrase["id"]}, "That phrase is already withdrawn."),
        (
            "edit_phrase",
            {"phrase_id": phrase["id"], "text": "x"},
            "That phrase is withdrawn, so it cannot be edited.",
        ),
        ("restore_phrase", {"phrase_id": other["id"]}, "That phrase is not withdrawn."),
        ("withdraw_phrase", {"phrase_id": 999999}, "That phrase is not in this room."),
        (
            "edit_phrase",
            {"phrase_id": other["id"], "text": " "},
            "Please write something before sending.",
        ),
    ):
        assert host.call(name, payload) == {"ok": False, "error": error}

    # Undo: the phrase and its remaining poem line come back.
    assert host.call("restore_phrase", {"phrase_id": phrase["id"]})["ok"] is True
    viewer.wait_for_view(lambda view: phrase["id"] in view.phrases)
    exported = requests.get(f"{server.url}/events/{room['slug']}/harvest/export.json", timeout=10)
    assert exported.json()["poem"] == [["about your recovery"]]
    with app.app_context():
        assert db.session.get(Phrase, phrase["id"]).text == corrected


def test_viewers_follow_the_days_figures(app, room, start_server):
    publish_harvest(app, room)
    # Threshold 0: the raw counts, so the test can follow them (small numbers: test_evidence).
    server = start_server(LERO_SMALL_NUMBER_THRESHOLD=0)
    host = join(server, room, "host")
    alice = join(server, room, "alice")
    viewer = join(server, room, "viewer")
    figures = viewer.state["figures"]
    # Took part means came: alice's join counts, before she posts anything.
    assert {k: figures[k] for k in ("signed_up", "took_part", "contributions")} == {
        "signed_up": "counted when booking closes",  # booking is still open: finding 1
        "took_part": 1,
        "contributions": 0,
    }
    assert "figures" not in alice.state and "figures" not in host.state

    posted = contribute(alice, "Counted")["id"]
    host.call("approve", {"contribution_id": posted})
    host.call("capture_phrase", {"text": "Said aloud", "attribution": "Sam"})
    # A phrase's attribution is not a voice: only alice's shown reflection is.
    latest = viewer.wait_for("figures", lambda f: f["contributions"] == 1 and f["phrases"] == 1)
    assert latest["voices_heard"] == 1
    assert latest["seq"] >= 3
    assert alice.received("figures") == [] and host.received("figures") == []
