"""`flask demo`: the story a newcomer sees, through the CLI runner, real HTTP, real Socket.IO
clients and Chromium."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lero_events import outbox
from lero_events.extensions import db
from lero_events.models import (
    Contribution,
    Event,
    OutgoingEmail,
    PoemLine,
    Registration,
    SketchNote,
    utcnow,
)

from .conftest import PASSWORD, create_event, create_registration, run_tasks
from .live_clients import LiveClient, host_headers, join

DEMO_BANNER = "This event and everyone in it are made up"


@pytest.fixture
def demo(runner):
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result.output


def demo_event(slug):
    return db.session.scalar(sa.select(Event).where(Event.slug == slug))


def test_demo_prints_the_password_and_where_to_look(app, demo, client):
    password = re.search(r"password: (\S+)", demo).group(1)
    assert "Loaded the demo." in demo
    live = r"Happening now, its live room open to guests: \S+/big-conversation/live"
    assert re.search(live, demo)
    assert re.search(r"Held on \w{3}, \d+ \w{3} \d{4}, its harvest shared: \S+/harvest", demo)
    assert "To book, on " in demo and "/events/winter-gathering" in demo
    login = client.post(
        "/login",
        data={"email": "demo@example.org", "password": password, "csrf_token": csrf(client)},
    )
    assert login.status_code == 302
    dashboard = client.get("/organiser/").get_data(as_text=True)
    assert dashboard.count("Demo data") == 3


def csrf(client):
    page = client.get("/login").get_data(as_text=True)
    return re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)


def test_the_past_launch_has_bookings_and_a_published_harvest(app, demo, client):
    with app.app_context():
        launch = demo_event("recovery-voices-launch")
        statuses = db.session.scalars(
            sa.select(Registration.status).where(Registration.event_id == launch.id)
        ).all()
        assert sorted(statuses).count("cancelled") == 2
        assert statuses.count("waitlisted") == 2 and statuses.count("confirmed") == 12
        came = db.session.scalars(
            sa.select(Registration).where(
                Registration.event_id == launch.id, Registration.attended_at.is_not(None)
            )
        ).all()
        assert len(came) == 12
        assert [r.name for r in came if r.attendance_marked_by_id] == ["Nadia Kowalski"]
        assert launch.ends_at < launch.created_at, "filed three weeks back"
        assert launch.harvest_published and launch.is_demo
        sketch = db.session.scalar(sa.select(SketchNote).where(SketchNote.event_id == launch.id))
        assert db.session.scalar(sa.select(sa.func.count(PoemLine.id))) == 6

    page = client.get("/events/recovery-voices-launch/harvest")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert DEMO_BANNER in html
    assert "Someone who had been there a year before me, and said so out loud." in html
    assert "We were told we were hard to reach. We were always right here." in html
    assert "and being trusted with both" in html, "a line of the found poem"
    # Held back by the hosts: never on the harvest.
    assert "07700 900123" not in html and "can name them" not in html
    # Kept to the room by its author, and taken down afterwards by another: not there either.
    assert "My name on a rota" not in html and "Being asked what I needed" not in html
    assert "Maya" in html, "named where its author chose it"
    with client.get(f"/events/recovery-voices-launch/harvest/sketches/{sketch.filename}") as image:
        assert image.headers["Content-Type"] == "image/png" and image.data[:4] == b"\x89PNG"


def test_the_launch_evidence_reads_well_and_adds_up(app, demo, client):
    assert re.search(r"and its evidence, for its hosts: \S+/recovery-voices-launch/evidence", demo)
    password = re.search(r"password: (\S+)", demo).group(1)
    client.post(
        "/login",
        data={"email": "demo@example.org", "password": password, "csrf_token": csrf(client)},
    )
    page = client.get("/events/recovery-voices-launch/evidence").get_data(as_text=True)
    assert (
        "16 people signed up, 12 took part, 11 shared a reflection, from 6 organisations." in page
    )
    assert DEMO_BANNER in page
    weeks = re.findall(r"<th scope=\"row\">Week of [^<]+</th><td>(\d+)</td>", page)
    assert len(weeks) >= 3 and sum(map(int, weeks)) == 16, "bookings came in over weeks"
    across = client.get("/evidence").get_data(as_text=True)
    # The launch: 12 took part. Now: 5 booked people in the room and 2 guests (Robin, Lee).
    assert "2 events run, reaching 19 people from 6 organisations" in across
    assert "2 people came back for more than one." in across, "Maya and Gareth"


def test_the_event_to_book_takes_a_booking(app, demo, client):
    page = client.get("/events/winter-gathering").get_data(as_text=True)
    assert DEMO_BANNER in page and "Places available." in page
    listing = client.get("/").get_data(as_text=True)
    assert "Winter gathering: peer support in practice" in listing
    assert "Demo data" in listing
    booked = client.post(
        "/events/winter-gathering/register",
        data={
            "csrf_token": csrf(client),
            "name": "New Comer",
            "email": "new@example.org",
            "consent": "y",
        },
    )
    assert booked.status_code == 303
    assert "Places available." in client.get("/events/winter-gathering").get_data(as_text=True)


def test_emails_about_the_demo_never_reach_the_mail_server(app, smtp_server, runner, client):
    """With a mail server set, as in production: the story's emails, and one a visitor's booking
    of the demo event causes later, are filed in the outbox folder, not sent, even when the
    mail worker takes them before the command has filed them. A real event's email is sent."""
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        create_event(slug="a-real-event", title="A real event")
    for slug, email in (("winter-gathering", "visitor@example.org"), ("a-real-event", "me@x.org")):
        booked = client.post(
            f"/events/{slug}/register",
            data={"csrf_token": csrf(client), "name": "Some One", "email": email, "consent": "y"},
        )
        assert booked.status_code == 303
    with app.app_context():
        # As a mail worker would find them: the story's emails queued again, not yet filed.
        demo_ids = sa.select(Event.id).where(Event.is_demo)
        db.session.execute(
            sa.update(OutgoingEmail)
            .where(OutgoingEmail.event_id.in_(demo_ids))
            .values(status="queued", file_path=None)
        )
        db.session.commit()
    run_tasks(app)
    with app.app_context():
        outbox.deliver_due(utcnow() + timedelta(hours=1))
        statuses = db.session.execute(
            sa.select(Event.is_demo, OutgoingEmail.status).join(Event)
        ).all()
    assert {status for is_demo, status in statuses if is_demo} == {"filed"}
    assert [status for is_demo, status in statuses if not is_demo] == ["sent"]
    assert [message["To"] for message in smtp_server.messages()] == ["me@x.org"]


def test_the_big_conversation_is_live_with_a_room_in_use(app, demo, runner, start_server):
    set_password = runner.invoke(args=["set-password", "demo@example.org"], input=PASSWORD + "\n")
    assert set_password.exit_code == 0, set_password.output
    server = start_server()
    room = {"slug": "big-conversation"}

    # The room asks for its agreement first; this client has shown it and the guest accepted.
    guest = join(server, room, "guest:Newcomer", accept_agreement=True)
    state = guest.state
    assert state["role"] == "guest"
    assert state["prompt"]["text"] == "What helps recovery last, once the formal support ends?"
    shown = {c["text"]: c for c in guest.stream().values()}
    assert len(shown) == 4
    featured = shown["Having somewhere to go on a Sunday afternoon. That is when it gets hard."]
    assert featured["featured"] is True and featured["author"] == "Chris"
    assert shown["Knowing the door is still open if I slip."]["author"] == "Anonymous"
    assert "Friends who knew me before and stayed." in shown

    assert "[place removed]" in " ".join(shown), "a host removed a place before sharing"
    assert "Samaritans" in state["support"]["contacts"] and state["support"]["request"] is None
    assert (state["waiting"], state["held_back"]) == (2, 1), "one held back: it named someone"

    host_auth = {"slug": "big-conversation", "last_seq": 0, "role": "host"}
    host = LiveClient(server, host_auth, host_headers(server, "demo@example.org")).connect()
    # The demo organiser is the room's wellbeing host: Fatima's quiet request is theirs alone.
    (asked,) = [u["data"]["request"] for u in host.state["support_updates"]]
    assert (asked["name"], asked["status"]) == ("Fatima", "open")
    assert [c["text"] for c in host.state["queue"]] == [
        "Work that fits around meetings, and a boss who knows.",
        "A group for parents, with a crèche, in the daytime.",
    ]
    ack = host.call("approve", {"contribution_id": host.state["queue"][0]["id"]})
    assert ack["ok"] is True
    guest.wait_for_update("contribution", lambda d: d["contribution"]["text"].startswith("Work"))

    # Facilitated from prepared questions: the first is up, one action asks the next.
    prepared = host.state["prepared"]
    assert len(prepared) == 5 and [q["asked"] for q in prepared] == [True] + [False] * 4
    assert prepared[0]["text"] == state["prompt"]["text"]
    assert prepared[-1]["agenda_item"]["title"] == "What happens next"
    ack = host.call("next_prompt", {})
    assert ack["prompt"]["text"] == prepared[1]["text"]
    guest.wait_for_update("prompt", lambda d: d["prompt"]["text"].startswith("What counts"))


def test_the_demo_prints_a_presenter_link_that_opens_the_shared_screen(app, demo):
    link = re.search(r"on the shared screen \(presenter link\): (\S+)", demo).group(1)
    path = link.split("://", 1)[1].split("/", 1)[1]
    screen = app.test_client()
    assert screen.get("/" + path).status_code == 302
    page = screen.get("/events/big-conversation/live/present").get_data(as_text=True)
    assert "What helps recovery last, once the formal support ends?" in page
    assert "Having somewhere to go on a Sunday afternoon." in page
    assert "<title>QR code to join: http://localhost/events/big-conversation/live</title>" in page


def test_running_demo_again_changes_nothing_and_reset_rebuilds_only_the_demo(app, demo, runner):
    with app.app_context():
        before = db.session.scalars(sa.select(Event.id).where(Event.is_demo)).all()
        (old_sketch,) = db.session.scalars(sa.select(SketchNote.filename)).all()
        counts = db.session.scalar(sa.select(sa.func.count(Contribution.id)))
        mine = create_event(slug="my-own-event", title="Not a demo")
        create_registration(mine)
    uploads = Path(app.config["UPLOAD_DIR"])

    again = runner.invoke(args=["demo"])
    assert again.exit_code == 0
    assert "The demo is already loaded, so nothing changed." in again.output
    assert "flask --app app set-password demo@example.org" in again.output
    with app.app_context():
        assert db.session.scalars(sa.select(Event.id).where(Event.is_demo)).all() == before
        assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == counts

    reset = runner.invoke(args=["demo", "--reset"])
    assert reset.exit_code == 0, reset.output
    assert "Removed 3 demo events." in reset.output and "Loaded the demo." in reset.output
    with app.app_context():
        after = db.session.scalars(sa.select(Event).where(Event.is_demo)).all()
        assert len(after) == 3 and not set(before) & {event.id for event in after}
        assert db.session.scalar(sa.select(sa.func.count(Contribution.id))) == counts
        mine = demo_event("my-own-event")
        assert not mine.is_demo
        assert (
            db.session.scalar(
                sa.select(sa.func.count(Registration.id)).where(Registration.event_id == mine.id)
            )
            == 1
        )
    assert not (uploads / old_sketch).exists()
    assert len(list(uploads.iterdir())) == 1


def test_demo_banner_only_on_demo_events(app, demo, client):
    with app.app_context():
        create_event(slug="real-one", title="A real event")
    assert DEMO_BANNER not in client.get("/events/real-one").get_data(as_text=True)
    assert DEMO_BANNER in client.get("/events/big-conversation").get_data(as_text=True)
    assert DEMO_BANNER in client.get("/events/big-conversation/live").get_data(as_text=True)


def test_a_newcomer_in_a_us_browser_sees_the_live_room_in_24_hour_time(
    app, demo, live_server, chromium
):
    context = chromium.new_context(locale="en-US", timezone_id="America/New_York")
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(live_server.url + "/events/big-conversation/live")
        assert DEMO_BANNER in page.locator(".banner-demo").inner_text()
        page.get_by_label("Your name").fill("Newcomer")
        page.get_by_label("I have read the room agreement above and accept it").check()
        page.get_by_role("button", name="Join as a guest").click()
        page.wait_for_selector("#connection-state[data-state=connected]", timeout=20_000)
        items = page.locator("#stream li")
        items.filter(has_text="Friends who knew me before and stayed.").wait_for(timeout=20_000)
        assert items.count() == 5, "four reflections and a phrase from the welcome"
        assert "We are not a service, we are a community." in items.all_inner_texts()[-1]
        times = page.locator("#stream li time").all_inner_texts()
        assert times and all(re.fullmatch(r"\d\d:\d\d", t) for t in times), times
        assert errors == []
    finally:
        context.close()
