"""Privacy people in recovery can trust: what each author allowed for their reflections, taking
one down, downloading and correcting your own data, erasing, and the retention purge.

Real HTTP through the Flask client and real Socket.IO clients (Flask-SocketIO's, in process).
"""

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from lero_events import moderation, presence, retention, support, tasks, team
from lero_events.errors import DomainError
from lero_events.evidence.counting import event_evidence
from lero_events.extensions import db, socketio
from lero_events.harvest.gathering import gather_figures
from lero_events.live_pass import issue_live_pass, registration_for_live_pass
from lero_events.models import (
    Contribution,
    Event,
    LiveConnection,
    OutgoingEmail,
    PersonalDataAccess,
    PoemLine,
    Registration,
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
    run_tasks,
)
from .live_in_process import InProcessClient, wait_for_presence_rows
from .test_registration import register, token_from

SLUG = "big-conversation"
NS = "/live"
WORDS = {
    "named": "Peer support kept me going",
    "anonymous": "Nobody needs my name for this",
    "room": "Only for the people here tonight",
}


@pytest.fixture
def app(tmp_path, database_url):
    # Frames go out at once, so an in-process client has them when its emit returns.
    with fresh_app(tmp_path, database_url, LIVE_TICK_SECONDS=0) as app:
        yield app


def text_of(response):
    return unescape(response.get_data(as_text=True))


def make_room(app, moderation="post"):
    """A live event (started ten minutes ago) with a published harvest and three people."""
    started = datetime.now().replace(second=0, microsecond=0) - timedelta(minutes=10)
    with app.app_context():
        event = create_event(slug=SLUG, starts_at=started, ends_at=started + timedelta(hours=2))
        event.moderation = moderation
        event.harvest_published = True
        db.session.commit()
        people = {
            choice: private_token(create_registration(event, display_name=name))
            for choice, name in (("named", "Nora"), ("anonymous", "Ann"), ("room", "Rob"))
        }
    return people


def join(app, token=None, role=None, flask_client=None, **cursors):
    auth = {"slug": SLUG, **cursors}
    if token:
        auth["token"] = token
    if role:
        auth["role"] = role
    client = socketio.test_client(app, namespace=NS, auth=auth, flask_test_client=flask_client)
    assert client.is_connected(NS), client.get_received(NS)
    return client


def post(client, text, sharing):
    ack = client.emit(
        "contribute",
        {"client_id": str(uuid.uuid4()), "text": text, "prompt_id": None, "sharing": sharing},
        namespace=NS,
        callback=True,
    )
    assert ack["ok"] is True, ack
    return ack["contribution"]


def received(client, name):
    return [message["args"][0] for message in client.get_received(NS) if message["name"] == name]


def snapshot_of(state):
    return {
        entry["contribution"]["text"]: entry["contribution"]
        for entry in state["snapshot"]["stream"]
        if "contribution" in entry
    }


def post_all_three(app, people):
    posted = {}
    for choice, token in people.items():
        client = join(app, token)
        posted[choice] = post(client, WORDS[choice], choice)
        client.disconnect(NS)
    return posted


def end_session(app):
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == SLUG))
        event.starts_at -= timedelta(hours=5)
        event.ends_at -= timedelta(hours=5)
        db.session.commit()


def test_each_choice_is_shown_back_and_respected_on_the_harvest_page_and_exports(app):
    people = make_room(app)
    posted = post_all_three(app, people)
    assert {choice: c["sharing"] for choice, c in posted.items()} == {
        "named": "named",
        "anonymous": "anonymous",
        "room": "room",
    }
    visitor = app.test_client()

    # The choice is shown back on each author's private page.
    for choice, label in (
        ("named", "In the harvest, with my name"),
        ("anonymous", "In the harvest, without my name"),
        ("room", "Only in the room during the session"),
    ):
        page = text_of(visitor.get(f"/r/{people[choice]}"))
        assert WORDS[choice] in page and label in page

    page = text_of(visitor.get(f"/events/{SLUG}/harvest"))
    assert WORDS["named"] in page and "Nora" in page
    assert WORDS["anonymous"] in page and "Ann" not in page
    assert WORDS["room"] not in page and "Rob" not in page

    markdown = visitor.get(f"/events/{SLUG}/harvest/export.md").get_data(as_text=True)
    assert "- Peer support kept me going (Nora)" in markdown
    assert "- Nobody needs my name for this (Anonymous)" in markdown
    assert WORDS["room"] not in markdown and "Ann" not in markdown and "Rob" not in markdown

    rows = list(csv.reader(io.StringIO(visitor.get(f"/events/{SLUG}/harvest/export.csv").text)))
    shown = {row[2]: row[3] for row in rows if row[0] == "contribution"}
    assert shown == {WORDS["named"]: "Nora", WORDS["anonymous"]: "Anonymous"}
    figures = {row[2]: row[4] for row in rows if row[0] == "figure"}
    assert figures["Contributions"] == "2", "a reflection kept to the room is not counted as shared"

    data = json.loads(visitor.get(f"/events/{SLUG}/harvest/export.json").text)
    exported = {c["text"]: c["author"] for p in data["prompts"] for c in p["contributions"]}
    assert exported == {WORDS["named"]: "Nora", WORDS["anonymous"]: "Anonymous"}


def test_the_harvest_page_following_the_room_and_the_room_after_the_session_show_the_harvest(
    app,
):
    people = make_room(app)
    viewer = join(app, role="viewer")
    received(viewer, "state")
    participant = join(app, people["named"])
    received(participant, "state")
    posted = post_all_three(app, people)

    # During the session the room shows everything under room names; the viewer (the harvest
    # page) gets the harvest's view of the same updates: same seq and prev, other contents.
    in_room = {
        u["data"]["contribution"]["text"]: u
        for frame in received(participant, "updates")
        for u in frame
    }
    for_viewer = {
        u["data"]["contribution"]["id"]: u for frame in received(viewer, "updates") for u in frame
    }
    assert {text: u["data"]["contribution"]["author"] for text, u in in_room.items()} == {
        WORDS["named"]: "Nora",
        WORDS["anonymous"]: "Ann",
        WORDS["room"]: "Rob",
    }
    by_id = {c["id"]: choice for choice, c in posted.items()}
    shown = {by_id[i]: u["data"]["contribution"] for i, u in for_viewer.items()}
    assert (shown["named"]["author"], shown["anonymous"]["author"]) == ("Nora", "Anonymous")
    assert shown["room"]["hidden"] is True
    assert (shown["room"]["text"], shown["room"]["author"]) == ("", "")
    assert {(u["seq"], u["prev"]) for u in for_viewer.values()} == {
        (u["seq"], u["prev"]) for u in in_room.values()
    }
    # A viewer joining now gets a snapshot without the room-only reflection.
    late_viewer = join(app, role="viewer")
    (state,) = received(late_viewer, "state")
    assert set(snapshot_of(state)) == {WORDS["named"], WORDS["anonymous"]}

    end_session(app)
    # After the session the room replays as the harvest shows it, snapshot and tail alike.
    again = join(app, people["anonymous"])
    (state,) = received(again, "state")
    assert state["event"]["ended"] is True
    assert {t: c["author"] for t, c in snapshot_of(state).items()} == {
        WORDS["named"]: "Nora",
        WORDS["anonymous"]: "Anonymous",
    }
    tail = join(app, people["named"], last_seq=1)
    (state,) = received(tail, "state")
    replayed = {
        u["data"]["contribution"]["id"]: u["data"]["contribution"] for u in state["updates"]
    }
    room_only = replayed[posted["room"]["id"]]
    assert room_only["hidden"] is True and room_only["text"] == ""
    assert replayed[posted["anonymous"]["id"]]["author"] == "Anonymous"

    # Hosts still see the room as it was: they moderate and compose the harvest.
    host_http = app.test_client()
    login(host_http)
    host = join(app, role="host", flask_client=host_http)
    (state,) = received(host, "state")
    assert {t: c["author"] for t, c in snapshot_of(state).items()} == {
        WORDS["named"]: "Nora",
        WORDS["anonymous"]: "Ann",
        WORDS["room"]: "Rob",
    }


def test_a_bad_sharing_choice_is_refused_and_nothing_is_saved(app):
    people = make_room(app)
    client = join(app, people["named"])
    ack = client.emit(
        "contribute",
        {"client_id": str(uuid.uuid4()), "text": "Hello", "sharing": "everywhere"},
        namespace=NS,
        callback=True,
    )
    assert ack == {"ok": False, "error": "sharing must be one of anonymous, named or room."}
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Contribution)) == 0


def test_an_author_changes_where_a_reflection_may_appear_and_the_harvest_follows(app):
    people = make_room(app)
    token = people["named"]
    said = post(join(app, token), WORDS["named"], "named")
    viewer = join(app, role="viewer")
    received(viewer, "state")
    http = app.test_client()
    visitor = app.test_client()
    assert "Nora" in text_of(visitor.get(f"/events/{SLUG}/harvest"))

    def change(sharing):
        return http.post(
            f"/r/{token}/reflections/{said['id']}/sharing",
            data={"csrf_token": csrf_token(http, f"/r/{token}"), "sharing": sharing},
        )

    refused = change("everyone")
    assert refused.status_code == 303
    assert "sharing must be one of" in text_of(http.get(f"/r/{token}"))
    assert received(viewer, "updates") == []

    assert change("anonymous").status_code == 303
    harvest = text_of(visitor.get(f"/events/{SLUG}/harvest"))
    assert WORDS["named"] in harvest and "Nora" not in harvest
    ((update,),) = received(viewer, "updates")
    assert update["data"]["contribution"]["author"] == "Anonymous"

    assert change("room").status_code == 303
    assert WORDS["named"] not in text_of(visitor.get(f"/events/{SLUG}/harvest"))
    ((update,),) = received(viewer, "updates")
    assert update["data"]["contribution"]["hidden"] is True
    page = text_of(http.get(f"/r/{token}"))
    assert "Saved: where that reflection may appear has changed." in page
    with app.app_context():
        changed = "The attendee changed where a reflection may appear: "
        assert db.session.scalars(sa.select(PersonalDataAccess.what)).all() == [
            changed + "In the harvest, without my name",
            changed + "Only in the room during the session",
        ]
    other = post(join(app, people["anonymous"]), WORDS["anonymous"], "anonymous")
    theirs = http.post(
        f"/r/{token}/reflections/{other['id']}/sharing",
        data={"csrf_token": csrf_token(http, f"/r/{token}"), "sharing": "named"},
    )
    assert theirs.status_code == 404


def test_taking_a_reflection_down_removes_it_at_once_everywhere(app):
    people = make_room(app)
    token = people["named"]
    author = join(app, token)
    mine = post(author, WORDS["named"], "named")
    other = post(join(app, people["anonymous"]), WORDS["anonymous"], "anonymous")
    with app.app_context():
        db.session.add(PoemLine(event_id=1, text="kept me going", contribution_id=mine["id"]))
        db.session.commit()
    someone = join(app, people["room"])
    received(someone, "updates")
    visitor = app.test_client()
    assert "kept me going" in text_of(visitor.get(f"/events/{SLUG}/harvest"))

    # Another person's reflection is not yours to take down.
    stranger = app.test_client()
    refused = stranger.post(
        f"/r/{token}/reflections/{other['id']}/take-down",
        data={"csrf_token": csrf_token(stranger, f"/r/{token}")},
    )
    assert refused.status_code == 404

    http = app.test_client()
    response = http.post(
        f"/r/{token}/reflections/{mine['id']}/take-down",
        data={"csrf_token": csrf_token(http, f"/r/{token}")},
    )
    assert response.status_code == 303
    page = text_of(http.get(response.headers["Location"]))
    assert "Your reflection is taken down" in page and "You took this reflection down" in page
    assert WORDS["named"] not in page

    (frame,) = received(someone, "updates")
    (update,) = frame
    assert update["chain"] == "public"
    assert update["data"]["contribution"]["status"] == "taken_down"
    assert update["data"]["contribution"]["text"] == ""
    harvest = text_of(visitor.get(f"/events/{SLUG}/harvest"))
    assert WORDS["named"] not in harvest and "kept me going" not in harvest
    assert WORDS["anonymous"] in harvest
    for extension in ("md", "csv", "json"):
        export = visitor.get(f"/events/{SLUG}/harvest/export.{extension}").text
        assert "kept me going" not in export and WORDS["anonymous"] in export
    with app.app_context():
        stored = db.session.get(Contribution, mine["id"])
        assert (stored.status, stored.text) == ("taken_down", "")
        assert stored.taken_down_at is not None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PoemLine)) == 0
        assert db.session.scalars(sa.select(PersonalDataAccess.what)).all() == [
            "The attendee took down a reflection from their private link"
        ]

    # A second press changes nothing and says nothing new to the room.
    again = http.post(
        f"/r/{token}/reflections/{mine['id']}/take-down",
        data={"csrf_token": csrf_token(http, f"/r/{token}/details")},
    )
    assert again.status_code == 303
    assert received(someone, "updates") == []
    # Hosts cannot bring it back.
    host_http = app.test_client()
    login(host_http)
    host = join(app, role="host", flask_client=host_http)
    ack = host.emit("approve", {"contribution_id": mine["id"]}, namespace=NS, callback=True)
    assert ack["ok"] is False


def test_taking_down_a_held_back_redacted_reflection_leaves_no_reason_or_marks(app):
    people = make_room(app, moderation="pre")
    token = people["named"]
    mine = post(join(app, token), "Met Jo at St Anne's and it helped", "named")
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        host = event.hosts[0].organiser
        moderation.redact_contribution(event, host, mine["id"], "St Anne's", "place")
        moderation.reject_contribution(event, host, mine["id"], "identifies")
    own = app.test_client().get(f"/r/{token}/my-data.json").get_json()["reflections"]
    assert own[0]["held_back_reason"] == "It could identify someone."
    assert own[0]["removed_by_a_host"] == ["place"]
    assert "St Anne's" not in json.dumps(own), "the removed words are kept nowhere"
    viewer = join(app, role="viewer")
    assert received(viewer, "state")[0]["held_back"] == 1

    http = app.test_client()
    path = f"/r/{token}/reflections/{mine['id']}/take-down"
    assert http.post(path, data={"csrf_token": csrf_token(http, f"/r/{token}")}).status_code == 303
    with app.app_context():
        stored = db.session.get(Contribution, mine["id"])
        assert (stored.status, stored.text) == ("taken_down", "")
        assert (stored.held_back_reason, stored.redacted) == ("", "")
        assert presence.moderation_counts(stored.event_id) == {"waiting": 0, "held_back": 0}
    again = app.test_client().get(f"/r/{token}/my-data.json").get_json()["reflections"]
    assert again[0]["held_back_reason"] == "" and again[0]["removed_by_a_host"] == []
    # A host can no longer bring it back, one at a time or in bulk.
    host_http = app.test_client()
    login(host_http)
    hosting = join(app, role="host", flask_client=host_http)
    assert mine["id"] not in [c["id"] for c in received(hosting, "state")[0]["held_back_items"]]
    ack = hosting.emit(
        "moderate_many",
        {"action": "approve", "contribution_ids": [mine["id"]]},
        namespace=NS,
        callback=True,
    )
    assert ack["contributions"] == [] and len(ack["skipped"]) == 1


def test_your_data_download_has_everything_about_you_and_nothing_of_anyone_else(app):
    with app.app_context():
        create_event(title="The Big Conversation", slug=SLUG)
    first, second = app.test_client(), app.test_client()
    token = token_from(
        register(
            first,
            name="Alex Asker",
            email="alex@example.org",
            display_name="Alex",
            organisation="Hope Street",
            access_needs="A quiet corner",
        ),
        app,
    )
    other = token_from(
        register(
            second,
            name="Blair Other",
            email="blair@example.org",
            display_name="Blair",
            organisation="Other Place",
            access_needs="Step-free access",
        ),
        app,
    )
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        started = datetime.now(UTC) - timedelta(minutes=5)
        event.starts_at, event.ends_at = started, started + timedelta(hours=1)
        event.moderation = "post"
        db.session.commit()
    alex_said = post(join(app, token), "Alex's own reflection", "named")
    blair = join(app, other)
    blair_said = post(blair, "Blair's private thought", "room")
    blair.emit("resonate", {"contribution_id": alex_said["id"]}, namespace=NS, callback=True)
    alex = join(app, token)
    alex.emit("resonate", {"contribution_id": blair_said["id"]}, namespace=NS, callback=True)

    wait_for_presence_rows(app, ["Alex", "Alex", "Blair"], LiveConnection.name)
    response = first.get(f"/r/{token}/my-data.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="my-data.json"'
    assert response.headers["Cache-Control"] == "no-store"
    data = json.loads(response.get_data(as_text=True))
    assert data["booking"] | {"booked_at": None} == {
        "name": "Alex Asker",
        "email": "alex@example.org",
        "organisation": "Hope Street",
        "display_name": "Alex",
        "access_needs": "A quiet corner",
        "status": "confirmed",
        "booked_at": None,
        "cancelled_at": None,
        "attended_at": data["booking"]["attended_at"],
        "attendance_marked_by_a_host": False,
    }
    assert set(data) == {
        "exported_at",
        "event",
        "booking",
        "consent",
        "emails",
        "reflections",
        "resonated_with",
        "support_requests",
        "live_room_connections_open_now",
    }
    assert data["booking"]["attended_at"], "joining the live room recorded that they came"
    assert data["consent"]["privacy_notice_version"] == app.config["PRIVACY_NOTICE_VERSION"]
    assert [e["kind"] for e in data["emails"]] == ["confirmed"]
    assert data["emails"][0]["to"] == "alex@example.org"
    assert [r["text"] for r in data["reflections"]] == ["Alex's own reflection"]
    assert data["reflections"][0]["in_the_harvest"] == "In the harvest, with my name"
    assert data["resonated_with"] == [{"reflection_id": blair_said["id"]}]
    assert data["support_requests"] == [], "asking for support: tests/test_live_support.py"
    # Two connections of Alex's are open (the first never closed): the names the hosts see.
    assert [c["name_shown"] for c in data["live_room_connections_open_now"]] == ["Alex", "Alex"]
    everything = json.dumps(data)
    for theirs in ("Blair", "blair@example.org", "Other Place", "Step-free", "private thought"):
        assert theirs not in everything
    with app.app_context():
        (entry,) = db.session.scalars(sa.select(PersonalDataAccess)).all()
        assert entry.organiser_id is None and "downloaded their own data" in entry.what


def test_correcting_your_details_keeps_your_place_and_is_logged(app):
    with app.app_context():
        event = create_event(slug=SLUG)
        registration = create_registration(event, display_name="Old", access_needs="")
        token = private_token(registration)
    http = app.test_client()
    form = text_of(http.get(f"/r/{token}/details"))
    assert 'value="Old"' in form

    too_long = http.post(
        f"/r/{token}/details",
        data={
            "csrf_token": csrf_token(http, f"/r/{token}/details"),
            "display_name": "x" * 81,
            "access_needs": "Captions",
        },
    )
    assert too_long.status_code == 400 and "Nothing has been saved yet." in text_of(too_long)

    saved = http.post(
        f"/r/{token}/details",
        data={
            "csrf_token": csrf_token(http, f"/r/{token}/details"),
            "display_name": "  New Name ",
            "access_needs": "Captions, please",
        },
    )
    assert saved.status_code == 303
    page = text_of(http.get(f"/r/{token}"))
    assert "Your details are updated." in page and "New Name" in page
    with app.app_context():
        stored = db.session.get(Registration, registration.id)
        assert (stored.display_name, stored.access_needs, stored.status) == (
            "New Name",
            "Captions, please",
            "confirmed",
        )
        (entry,) = db.session.scalars(sa.select(PersonalDataAccess)).all()
        assert entry.what == (
            "The attendee corrected their live-room name and access needs from their private link"
        )


@pytest.mark.parametrize("choice", ["keep", "delete"])
def test_erasing_offers_to_keep_your_reflections_anonymously_or_delete_them(app, choice):
    people = make_room(app)
    token = people["named"]
    said = post(join(app, token), WORDS["named"], "named")
    with app.app_context():
        # A pass the browser fetched just before: it dies with the private link.
        live_pass = issue_live_pass(db.session.get(Contribution, said["id"]).registration)
    http = app.test_client()
    confirm = text_of(http.get(f"/r/{token}/erase"))
    assert "Keep them, without my name" in confirm and "Delete them too" in confirm
    response = http.post(
        f"/r/{token}/erase",
        data={"csrf_token": csrf_token(http, f"/r/{token}/erase"), "reflections": choice},
    )
    assert response.status_code == 303
    harvest = text_of(http.get(f"/events/{SLUG}/harvest"))
    assert "Nora" not in harvest
    assert (WORDS["named"] in harvest) is (choice == "keep")
    with app.app_context():
        stored = db.session.get(Contribution, said["id"])
        assert stored.status == ("approved" if choice == "keep" else "taken_down")
        entry = db.session.scalars(sa.select(PersonalDataAccess)).one()
        assert ("deleted their reflections" in entry.what) is (choice == "delete")
        with pytest.raises(DomainError, match="expired or is not valid"):
            registration_for_live_pass(live_pass, stored.registration.event)
    assert http.get(f"/r/{token}").status_code == 404


def purge_fixture(app, tmp_path):
    """Three ended events: one past the default 90 days, one 10 days ago with the default,
    and one 10 days ago that keeps data for 5 days only. Each has people, a guest's
    reflection, emails (one with its .eml file) and live-room updates."""
    now = datetime.now(UTC)
    made = {}
    with app.app_context():
        for slug, ended_days_ago, days in (
            ("long-ago", 100, None),
            ("recent", 10, None),
            ("short-keep", 10, 5),
        ):
            start = (now - timedelta(days=ended_days_ago, hours=2)).replace(tzinfo=None)
            event = create_event(slug=slug, starts_at=start, ends_at=start + timedelta(hours=1))
            event.retention_days = days
            came = create_registration(
                event,
                display_name="Came",
                organisation="Hope Street",
                access_needs="Captions",
                attended_at=now - timedelta(days=ended_days_ago),
            )
            create_registration(event, status="cancelled", organisation="Elsewhere")
            create_registration(event, status="waitlisted")
            db.session.add(
                Contribution(
                    event_id=event.id,
                    guest_name="Guest Gail",
                    author_key=f"g:{slug}",
                    client_id=str(uuid.uuid4()),
                    text=f"A guest at {slug}",
                    status="approved",
                )
            )
            db.session.add(
                Contribution(
                    event_id=event.id,
                    registration_id=came.id,
                    author_key=f"r:{came.id}",
                    client_id=str(uuid.uuid4()),
                    text=f"Came to {slug}",
                    status="approved",
                    sharing="named",
                )
            )
            db.session.add_all(
                [
                    SupportRequest(
                        event_id=event.id, author_key=f"g:{slug}", guest_name="Guest Gail"
                    ),
                    SupportRequest(
                        event_id=event.id, author_key=f"r:{came.id}", registration_id=came.id
                    ),
                ]
            )
            eml = tmp_path / f"{slug}.eml"
            eml.write_text("To: someone@example.org\n\nHello")
            for status, path in (("filed", str(eml)), ("sent", None)):
                db.session.add(
                    OutgoingEmail(
                        kind="confirmed",
                        to_address=came.email,
                        subject="You are booked",
                        event_id=event.id,
                        registration_id=came.id,
                        status=status,
                        file_path=path,
                    )
                )
            for seq in (1, 2):
                db.session.add(
                    RoomUpdate(event_id=event.id, seq=seq, kind="prompt", payload={"x": seq})
                )
            event.live_seq = 2
            db.session.commit()
            made[slug] = {
                "event": event.id,
                "came": private_token(came),
                "eml": eml,
                "pass": issue_live_pass(came),
            }
    return made


def database_picture(app):
    """Every row the purge may touch, as plain values, to compare before and after."""
    with app.app_context():
        return {
            "registrations": db.session.execute(
                sa.select(Registration.__table__).order_by(Registration.id)
            ).all(),
            "contributions": db.session.execute(
                sa.select(Contribution.__table__).order_by(Contribution.id)
            ).all(),
            "emails": db.session.execute(
                sa.select(OutgoingEmail.__table__).order_by(OutgoingEmail.id)
            ).all(),
            "updates": db.session.execute(sa.select(RoomUpdate.__table__)).all(),
            "support": db.session.execute(
                sa.select(SupportRequest.__table__).order_by(SupportRequest.id)
            ).all(),
        }


def figures_of(app, slug):
    """The harvest's figures, every figure of the evidence page, and the registrations'
    statuses and attendance: what the evidence counts."""
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
        people = db.session.execute(
            sa.select(Registration.status, Registration.attended_at, Registration.organisation)
            .where(Registration.event_id == event.id)
            .order_by(Registration.id)
        ).all()
        evidence = [(f.key, f.value) for f in event_evidence(event).people_figures()]
        return gather_figures(event), evidence, people


def test_purge_removes_what_is_due_and_nothing_else_and_the_counts_stay(app, runner, tmp_path):
    made = purge_fixture(app, tmp_path)
    figures = {slug: figures_of(app, slug) for slug in made}
    before = database_picture(app)

    dry = runner.invoke(args=["purge", "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert dry.output.splitlines() == [
        "Would remove (events: long-ago, short-keep):",
        "  personal data of 6 registration(s)",
        "  2 guest name(s) on reflections",
        "  2 guest name(s) on support requests",
        "  4 email(s) from the sent-mail log and 2 .eml file(s)",
        "  4 live-room replay update(s)",
    ]
    assert database_picture(app) == before, "a dry run changes nothing"
    assert all(entry["eml"].exists() for entry in made.values())

    done = runner.invoke(args=["purge"])
    assert done.exit_code == 0, done.output
    assert done.output.splitlines()[0] == "Removed (events: long-ago, short-keep):"
    assert done.output.splitlines()[1:] == dry.output.splitlines()[1:]

    with app.app_context():
        for slug, entry in made.items():
            due = slug != "recent"
            people = db.session.scalars(
                sa.select(Registration)
                .where(Registration.event_id == entry["event"])
                .order_by(Registration.id)
            ).all()
            assert [p.status for p in people] == ["confirmed", "cancelled", "waitlisted"]
            assert [p.organisation for p in people] == ["Hope Street", "Elsewhere", ""]
            assert people[0].attended_at is not None
            blank = [(p.name, p.email, p.display_name, p.access_needs) for p in people]
            assert (blank == [("", "", "", "")] * 3) is due
            assert all((p.purged_at is not None) is due for p in people)
            guests = db.session.scalars(
                sa.select(Contribution.guest_name).where(
                    Contribution.event_id == entry["event"], Contribution.registration_id.is_(None)
                )
            ).all()
            assert guests == ([None] if due else ["Guest Gail"])
            asked = db.session.scalars(
                sa.select(SupportRequest)
                .where(SupportRequest.event_id == entry["event"])
                .order_by(SupportRequest.id)
            ).all()
            assert len(asked) == 2, "support requests stay, as a number"
            assert asked[0].guest_name == (None if due else "Guest Gail")
            # What a wellbeing host would see of the booked person's request.
            assert (support.contact_of(asked[1]) is None) is due
            event = db.session.get(Event, entry["event"])
            if due:
                with pytest.raises(DomainError, match="expired or is not valid"):
                    registration_for_live_pass(entry["pass"], event)
            else:
                admitted = registration_for_live_pass(entry["pass"], event)
                assert admitted.id == asked[1].registration_id
            texts = db.session.scalars(
                sa.select(Contribution.text).where(Contribution.event_id == entry["event"])
            ).all()
            assert len(texts) == 2, "contribution rows stay, anonymous"
            emails = db.session.scalar(
                sa.select(sa.func.count()).where(OutgoingEmail.event_id == entry["event"])
            )
            updates = db.session.scalar(
                sa.select(sa.func.count()).where(RoomUpdate.event_id == entry["event"])
            )
            assert (emails, updates) == ((0, 0) if due else (2, 2))
            assert entry["eml"].exists() is not due
        log = db.session.scalars(sa.select(PersonalDataAccess.what)).all()
        assert len(log) == 2 and all(line.startswith("Retention (") for line in log)
    for slug, entry in made.items():
        assert figures_of(app, slug) == figures[slug], "the evidence counts stay right"
        page = app.test_client().get(f"/r/{entry['came']}")
        assert page.status_code == (404 if slug != "recent" else 200)
    host = app.test_client()
    login(host)
    for slug, removed in (("long-ago", 3), ("recent", 0)):
        listing = text_of(host.get(f"/events/{slug}/registrations"))
        assert listing.count("Removed after the retention period") == removed
    log = text_of(host.get("/events/long-ago/registrations/log"))
    assert "Not a host" in log and "Retention (90 days after the event)" in log
    evidence = text_of(host.get("/events/long-ago/evidence"))
    log = evidence.split("Who has looked at personal data", 1)[1]
    assert (
        "<td>Not a host</td><td>Retention (90 days after the event): removed the personal data "
        "of 3 registration(s), 2 guest name(s), 2 email(s) and 2 live-room replay update(s)"
    ) in log

    after = database_picture(app)
    again = runner.invoke(args=["purge"])
    assert again.output == "Nothing is due for removal.\n"
    assert database_picture(app) == after


def test_a_purge_closes_live_connections_still_open_of_people_it_forgot(app):
    people = make_room(app)
    with app.app_context():
        db.session.scalar(sa.select(Event)).allow_guests = True
        db.session.commit()
    nora = join(app, people["named"])
    guest = socketio.test_client(
        app,
        namespace=NS,
        auth={"slug": SLUG, "guest_name": "Gil", "guest_key": "k" * 24},
    )
    assert guest.is_connected(NS)
    end_session(app)
    wait_for_presence_rows(app, ["Gil", "Nora"], LiveConnection.name)
    with app.app_context():
        db.session.scalar(sa.select(Event)).retention_days = 0
        db.session.commit()
        report = retention.purge_due()
        assert report.registrations == 3
        assert db.session.scalars(sa.select(LiveConnection)).all() == []
    assert not nora.is_connected(NS), "her name no longer sits in the hosts' list"
    assert not guest.is_connected(NS), "nor does the guest's"


CLOSED_NOW = (
    "This event's personal data was removed when it ended, so its live room is closed to "
    "reflections. Its harvest page stays, if its hosts shared one."
)


def test_a_guest_back_after_the_retention_period_is_refused_and_their_name_forgotten(app):
    people = make_room(app)
    with app.app_context():
        db.session.scalar(sa.select(Event)).allow_guests = True
        db.session.commit()
    room = f"/events/{SLUG}/live"
    guest = app.test_client()
    joined = guest.post(
        f"{room}/guest", data={"csrf_token": csrf_token(guest, room), "name": "Gil Oakes"}
    )
    assert joined.status_code == 302
    assert post_without_scripts(guest, "Words a guest left").status_code == 303
    page = guest.get(room).get_data(as_text=True)
    key = re.search(r'data-guest-key="([^"]+)"', page)[1]
    as_guest = {"slug": SLUG, "guest_name": "Gil Oakes", "guest_key": key}
    nora = app.test_client()
    nora.get(f"{room}?token={people['named']}")
    end_session(app)
    # The session is over but the retention period is not: both are still let in by name.
    assert "Gil Oakes" in text_of(guest.get(room)) and "Nora" in text_of(nora.get(room))
    assert InProcessClient(app, as_guest).connected

    with app.app_context():
        db.session.scalar(sa.select(Event)).retention_days = 0
        db.session.commit()
        retention.purge_due()
    for browser, name in ((guest, "Gil Oakes"), (nora, "Nora")):
        for _reload in range(2):
            refused = browser.get(room)
            assert refused.status_code == 410
            assert CLOSED_NOW in text_of(refused) and name not in text_of(refused)
        with browser.session_transaction() as kept:
            assert SLUG not in kept.get("live_guests", {})
            assert SLUG not in kept.get("live_registrations", {})
    # The room's page has no form now: a form kept open from before posts.
    token = csrf_token(guest)
    again = guest.post(f"{room}/guest", data={"csrf_token": token, "name": "Gil Oakes"})
    assert again.status_code == 410 and CLOSED_NOW in text_of(again)
    with guest.session_transaction() as kept:
        assert SLUG not in kept.get("live_guests", {})
    sent = guest.post(
        f"{room}/contribute", data={"csrf_token": token, "text": "Back again", "client_id": "x"}
    )
    assert sent.status_code == 410 and CLOSED_NOW in text_of(sent)
    passless = nora.get(f"{room}/pass")
    assert passless.status_code == 410 and passless.get_json() == {"error": CLOSED_NOW}

    socket_guest = InProcessClient(app, as_guest)
    assert not socket_guest.connected and socket_guest.refused == CLOSED_NOW
    socket_nora = InProcessClient(app, {"slug": SLUG, "token": people["named"]})
    assert socket_nora.refused == CLOSED_NOW
    harvest = text_of(app.test_client().get(f"/events/{SLUG}/harvest"))
    assert "Words a guest left" in harvest and "Gil Oakes" not in harvest
    with app.app_context():
        stored = db.session.scalars(sa.select(Contribution)).all()
        assert [(c.text, c.guest_name) for c in stored] == [("Words a guest left", None)]


def test_the_room_closes_to_guests_on_the_retention_date_before_the_purge_runs(app, tmp_path):
    purge_fixture(app, tmp_path)
    with app.app_context():
        for event in db.session.scalars(sa.select(Event)):
            event.allow_guests = True
        db.session.commit()
    auth = {"guest_name": "Gil Oakes", "guest_key": "k" * 24}
    for slug, refusal in (
        ("long-ago", "removed 90 days after it ended"),
        ("short-keep", "removed 5 days after it ended"),
        ("recent", None),
    ):
        client = InProcessClient(app, {"slug": slug, **auth})
        assert client.connected is (refusal is None), client.refused
        assert refusal is None or refusal in client.refused
        page = app.test_client().get(f"/events/{slug}/live")
        assert (page.status_code == 410) is (refusal is not None)
        assert refusal is None or refusal in text_of(page)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(PersonalDataAccess)) == 0


def test_the_task_queue_runs_the_purge_hourly(app, tmp_path):
    made = purge_fixture(app, tmp_path)
    assert tasks.purge_personal_data.task_class().validate_datetime(datetime(2026, 12, 2, 9, 7))
    assert not tasks.purge_personal_data.task_class().validate_datetime(datetime(2026, 12, 2, 9, 8))
    tasks.purge_personal_data.call_local()
    with app.app_context():
        purged = db.session.scalars(
            sa.select(Registration.event_id).where(Registration.purged_at.is_not(None))
        ).all()
        assert set(purged) == {made["long-ago"]["event"], made["short-keep"]["event"]}
        assert retention.purge_due().removed_anything is False


def test_an_event_can_keep_personal_data_for_its_own_number_of_days(app):
    with app.app_context():
        create_event(title="The Big Conversation", slug=SLUG)
    http = app.test_client()
    login(http)
    edit = f"/organiser/events/{SLUG}/edit"
    form = text_of(http.get(edit))
    fields = dict(re.findall(r'name="([a-z_]+)"[^>]*value="([^"]*)"', form))
    fields.update(
        csrf_token=csrf_token(http, edit),
        starts_at=re.search(r'name="starts_at"[^>]*value="([^"]+)"', form).group(1),
        ends_at=re.search(r'name="ends_at"[^>]*value="([^"]+)"', form).group(1),
    )
    refused = http.post(edit, data={**fields, "retention_days": "-3"})
    assert refused.status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(Event.retention_days)) is None
    assert http.post(edit, data={**fields, "retention_days": "30"}).status_code in (302, 303)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert event.retention_days == 30
        owner_id = event.hosts[0].organiser_id
    notice = text_of(app.test_client().get(f"/privacy/{owner_id}"))
    assert "The Big Conversation" in notice and "30 days after the event" in notice


def test_each_organiser_has_a_privacy_notice_linked_from_the_form_and_every_email(app, smtp_server):
    with app.app_context():
        event = create_event(title="The Big Conversation", slug=SLUG)
        owner_id = event.hosts[0].organiser_id
        drafter = create_organiser("drafter@example.org", "Drafting Dee")
        create_event(owner=drafter, slug="a-draft", publish=False)
        drafter_id = drafter.id
    http = app.test_client()
    notice = text_of(http.get(f"/privacy/{owner_id}"))
    assert "How Olive Organiser uses your data" in notice
    assert app.config["MAIL_DEFAULT_SENDER"] in notice and "90 days" in notice
    assert f'href="/privacy/{owner_id}"' in http.get(f"/events/{SLUG}/register").text
    assert f'href="/privacy/{owner_id}"' in text_of(http.get("/privacy"))
    assert http.get(f"/privacy/{drafter_id}").status_code == 404, "nothing public: no notice"
    assert "Drafting Dee" not in text_of(http.get("/privacy"))

    token = token_from(register(http, email="sam@example.org"), smtp_server)
    http.post(f"/r/{token}/cancel", data={"csrf_token": csrf_token(http, f"/r/{token}/cancel")})
    run_tasks(app)
    bodies = [message.get_body(("plain",)).get_content() for message in smtp_server.messages()]
    assert len(bodies) == 2
    for body in bodies:
        assert f"http://localhost/privacy/{owner_id}" in body
    # Organisers' own emails (here a password reset) link to the site's list of notices.
    with app.app_context():
        team.request_password_reset("organiser@example.org")
        db.session.commit()
    (reset,) = smtp_server.messages()[2:]
    text = reset.get_body(("plain",)).get_content()
    assert "How this site uses personal data: http://localhost/privacy" in text.splitlines()


def test_the_new_pages_pass_axe_and_the_room_sends_the_choice(
    app, live_server, chromium, accessibility_problems
):
    people = make_room(app)
    post(join(app, people["named"]), WORDS["named"], "named")
    with app.app_context():
        owner_id = db.session.scalar(sa.select(Event)).hosts[0].organiser_id
    context = chromium.new_context(bypass_csp=True)
    page = context.new_page()
    try:
        token = people["named"]
        for path in (
            f"/r/{token}",
            f"/r/{token}/details",
            f"/r/{token}/erase",
            f"/privacy/{owner_id}",
            "/privacy",
        ):
            page.goto(live_server.url + path)
            assert accessibility_problems(page) == [], path
        page.goto(f"{live_server.url}/events/{SLUG}/live?token={token}")
        page.get_by_label("Share it with my name").wait_for()
        assert accessibility_problems(page) == [], "the live room with its sharing choice"
        # The choice goes with the reflection and is shown back on it in the stream.
        page.locator("#connection-state[data-state=connected]").wait_for()
        page.get_by_role("textbox", name="Your reflection").fill("Said here, for here")
        page.get_by_label("Keep it to the room during the session").check()
        page.get_by_role("button", name="Send").click()
        mine = page.locator("#stream .stream-item", has_text="Said here, for here")
        mine.get_by_text("Only in the room during the session").wait_for()
        assert "Room only" in mine.inner_text()
    finally:
        context.close()
    with app.app_context():
        stored = db.session.scalar(
            sa.select(Contribution).where(Contribution.text == "Said here, for here")
        )
        assert (stored.sharing, stored.status) == ("room", "approved")


def field_value(html, name):
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


def post_without_scripts(client, text, sharing=None):
    """The participant page's plain form, as a browser with scripts off sends it."""
    page = client.get(f"/events/{SLUG}/live").get_data(as_text=True)
    form = {
        "csrf_token": field_value(page, "csrf_token"),
        "client_id": field_value(page, "client_id"),
        "text": text,
    }
    if sharing is not None:
        form["sharing"] = sharing
    return client.post(f"/events/{SLUG}/live/contribute", data=form)


def stream_of(page):
    return re.search(r'<ol class="stream" id="stream">.*?</ol>', page, re.S).group(0)


def mine_of(page):
    return re.search(r'<ul class="mine-list".*?</ul>', page, re.S).group(0)


def test_the_room_without_scripts_asks_shows_back_and_honours_each_choice(app):
    people = make_room(app)
    browsers = {}
    for choice, token in people.items():
        browsers[choice] = app.test_client()
        browsers[choice].get(f"/events/{SLUG}/live?token={token}")
    form = text_of(browsers["named"].get(f"/events/{SLUG}/live"))
    assert '<input type="radio" name="sharing" value="anonymous" checked>' in form, "default"
    for label in ("Share it without my name", "Share it with my name", "Keep it to the room"):
        assert label in form

    refused = post_without_scripts(browsers["named"], "Kept in the box", sharing="everyone")
    assert refused.status_code == 400
    assert "sharing must be one of anonymous, named or room." in text_of(refused)
    assert "Kept in the box" in text_of(refused)
    for choice, label in (
        ("named", "In the harvest, with my name"),
        ("anonymous", "In the harvest, without my name"),
        ("room", "Only in the room during the session"),
    ):
        # An older page without the choice posts the default.
        sent = post_without_scripts(
            browsers[choice], WORDS[choice], None if choice == "anonymous" else choice
        )
        assert sent.status_code == 303
        page = text_of(browsers[choice].get(sent.headers["Location"]))
        assert f"Where it may appear: {label}." in page, "shown back at once"
        assert WORDS[choice] in mine_of(page) and label in mine_of(page)
        assert "Take it down" in mine_of(page)
    with app.app_context():
        stored = db.session.execute(sa.select(Contribution.text, Contribution.sharing)).all()
        assert sorted(stored) == sorted((WORDS[choice], choice) for choice in WORDS)

    # During the session, the room (drawn by the server) shows all three under room names.
    during = text_of(browsers["named"].get(f"/events/{SLUG}/live"))
    for choice, name in (("named", "Nora"), ("anonymous", "Ann"), ("room", "Rob")):
        assert WORDS[choice] in stream_of(during) and name in stream_of(during)
    harvest = text_of(app.test_client().get(f"/events/{SLUG}/harvest"))
    assert WORDS["named"] in harvest and "Nora" in harvest
    assert WORDS["anonymous"] in harvest and "Ann" not in harvest
    assert WORDS["room"] not in harvest and "Rob" not in harvest

    # After the session, a page drawn by the server shows the room as the harvest does.
    end_session(app)
    for browser in browsers.values():
        after = stream_of(text_of(browser.get(f"/events/{SLUG}/live")))
        assert WORDS["named"] in after and "Nora" in after
        assert WORDS["anonymous"] in after and "Ann" not in after
        assert WORDS["room"] not in after and "Rob" not in after
    with app.app_context():
        viewer_state = moderation.room_stream(db.session.scalar(sa.select(Event)), 50, True)
        assert {e["contribution"]["text"] for e in viewer_state} - {""} == {
            WORDS["named"],
            WORDS["anonymous"],
        }


def test_the_room_without_scripts_takes_a_reflection_down_at_once(app):
    people = make_room(app)
    with app.app_context():
        db.session.scalar(sa.select(Event)).allow_guests = True
        db.session.commit()
    ann = app.test_client()
    ann.get(f"/events/{SLUG}/live?token={people['anonymous']}")
    assert post_without_scripts(ann, WORDS["anonymous"]).status_code == 303
    guest = app.test_client()
    joined = guest.post(
        f"/events/{SLUG}/live/guest",
        data={"csrf_token": csrf_token(guest, f"/events/{SLUG}/live"), "name": "Gil"},
    )
    assert joined.status_code == 302
    assert post_without_scripts(guest, "A guest's thought", "named").status_code == 303
    watcher = join(app, people["named"])
    received(watcher, "state")
    with app.app_context():
        ids = dict(db.session.execute(sa.select(Contribution.text, Contribution.id)).all())

    def take_down(browser, contribution_id):
        page = browser.get(f"/events/{SLUG}/live").get_data(as_text=True)
        return browser.post(
            f"/events/{SLUG}/live/take-down",
            data={
                "csrf_token": field_value(page, "csrf_token"),
                "contribution_id": contribution_id,
            },
        )

    assert take_down(ann, ids["A guest's thought"]).status_code == 404, "not one of hers"
    for browser, text in ((ann, WORDS["anonymous"]), (guest, "A guest's thought")):
        gone = take_down(browser, ids[text])
        assert gone.status_code == 303
        page = text_of(browser.get(gone.headers["Location"]))
        assert "Taken down: it is gone from the room and the harvest." in page
        assert text not in page
        assert take_down(browser, ids[text]).status_code == 303, "twice changes nothing"
    updates = [u["data"]["contribution"] for frame in received(watcher, "updates") for u in frame]
    assert {(c["id"], c["status"]) for c in updates if c["status"] == "taken_down"} == {
        (ids[WORDS["anonymous"]], "taken_down"),
        (ids["A guest's thought"], "taken_down"),
    }, "socket clients drop them at once"
    harvest = text_of(app.test_client().get(f"/events/{SLUG}/harvest"))
    assert WORDS["anonymous"] not in harvest and "A guest's thought" not in harvest
    with app.app_context():
        assert set(db.session.scalars(sa.select(Contribution.text))) == {""}
        logged = db.session.scalars(sa.select(PersonalDataAccess.what)).all()
        assert logged.count("The attendee took down a reflection in the live room") == 2


@pytest.mark.parametrize("moderation", ["post", "pre"])
def test_a_reflection_shared_at_once_tells_only_its_authors_tabs_that_it_is_theirs(app, moderation):
    """Under post-moderation the public chain never says whose a reflection is: the author's
    other tab hears it from `mine`, nobody else does. Pre-moderated ones reach the author's
    tabs on their own chain instead, so there is no `mine`."""
    people = make_room(app, moderation)
    with app.app_context():
        db.session.scalar(sa.select(Event)).allow_guests = True
        db.session.commit()
    guest_auth = {"guest_name": "Gil", "guest_key": "g" * 24}
    sending, other_tab = join(app, **guest_auth), join(app, **guest_auth)
    host_http = app.test_client()
    login(host_http)
    others = {
        "participant": join(app, people["anonymous"]),
        "host": join(app, role="host", flask_client=host_http),
        "viewer": join(app, role="viewer"),
    }
    for client in [sending, other_tab, *others.values()]:
        client.get_received(NS)
    theirs = post(sending, "Typed on the phone", "named")
    expected = [{"contribution": theirs}] if moderation == "post" else []
    assert received(other_tab, "mine") == expected
    assert received(sending, "mine") == expected
    assert all(received(client, "mine") == [] for client in others.values())


def test_a_guest_in_the_room_with_scripts_takes_their_own_reflection_down_for_everyone(app):
    people = make_room(app)
    with app.app_context():
        db.session.scalar(sa.select(Event)).allow_guests = True
        db.session.commit()
    guest_auth = {"guest_name": "Gil", "guest_key": "g" * 24}
    guest = join(app, **guest_auth)
    theirs = post(guest, "A guest's thought", "named")
    ann = join(app, people["anonymous"])
    others = post(ann, WORDS["anonymous"], "anonymous")
    # What the page lists under "Your reflections" after a reload: the shared one too.
    again = join(app, **guest_auth)
    (state,) = received(again, "state")
    assert [(c["id"], c["status"], c["text"]) for c in state["mine"]] == [
        (theirs["id"], "approved", "A guest's thought")
    ]
    host_http = app.test_client()
    login(host_http)
    watchers = {
        "participant": ann,
        "host": join(app, role="host", flask_client=host_http),
        "viewer": join(app, role="viewer"),
        "the guest's other tab": again,
    }
    for client in watchers.values():
        client.get_received(NS)
    assert "A guest's thought" in text_of(app.test_client().get(f"/events/{SLUG}/harvest"))

    def take_down(client, contribution_id):
        return client.emit(
            "take_down", {"contribution_id": contribution_id}, namespace=NS, callback=True
        )

    not_yours = {"ok": False, "error": "That reflection is not one of yours."}
    assert take_down(guest, others["id"]) == not_yours
    assert take_down(guest, str(others["id"])) == {
        "ok": False,
        "error": "contribution_id must be a number.",
    }
    assert take_down(watchers["host"], theirs["id"])["ok"] is False, "hosts withdraw instead"
    assert all(received(client, "updates") == [] for client in watchers.values())

    ack = take_down(guest, theirs["id"])
    assert ack["ok"] is True
    assert (ack["contribution"]["status"], ack["contribution"]["text"]) == ("taken_down", "")
    for who, client in watchers.items():
        updates = [u for frame in received(client, "updates") for u in frame]
        assert [
            (u["chain"], u["data"]["contribution"]["id"], u["data"]["contribution"]["status"])
            for u in updates
        ] == [("public", theirs["id"], "taken_down")], who
        assert "A guest's thought" not in json.dumps(updates), who
    harvest = text_of(app.test_client().get(f"/events/{SLUG}/harvest"))
    assert "A guest's thought" not in harvest and WORDS["anonymous"] in harvest
    # A second press changes nothing and tells no one.
    assert take_down(guest, theirs["id"])["ok"] is True
    assert all(received(client, "updates") == [] for client in watchers.values())
    (state,) = received(join(app, **guest_auth), "state")
    assert state["mine"] == []
    with app.app_context():
        stored = db.session.get(Contribution, theirs["id"])
        assert (stored.status, stored.text) == ("taken_down", "")
        assert db.session.scalars(sa.select(PersonalDataAccess.what)).all() == [
            "The attendee took down a reflection in the live room"
        ]
