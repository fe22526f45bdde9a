"""The presenter view and the ways into the room: who may open it (hosts, the presenter link),
what it draws on the server, its viewer connection, and the join links on the event and host
pages. The browser checks (large type, axe, the QR code decoding) are in
test_presenter_browser.py."""

import re
import uuid
from datetime import datetime, timedelta
from html import unescape
from zoneinfo import ZoneInfo

from flask import request

from lero_events import contributions, moderation, presenting
from lero_events.extensions import db
from lero_events.models import Event

from .conftest import create_event, create_organiser, create_registration, csrf_token, login
from .live_clients import join, make_room, refused_message

LONDON = ZoneInfo("Europe/London")


def now_in_london(minutes=0):
    moment = datetime.now(LONDON) + timedelta(minutes=minutes)
    return moment.replace(second=0, microsecond=0, tzinfo=None)


def live_event(slug="on-now", **fields):
    """An event that started ten minutes ago, with a question, reflections and a phrase."""
    event = create_event(
        slug=slug,
        starts_at=now_in_london(-10),
        ends_at=now_in_london(80),
        **fields,
    )
    host = event.hosts[0].organiser
    registration = create_registration(event, "Sam", "sam@example.org", display_name="Sam")
    author = contributions.author_for_registration(registration)
    moderation.capture_phrase(event, host, "We are the evidence.", "Pat, panel")
    prompt = moderation.set_prompt(event, host, "What helps recovery last?")
    made = {}
    for text in ("Being trusted", "A Sunday group", "Still waiting", "<b>not bold</b>"):
        contribution, _, _ = contributions.submit_contribution(
            event, author, str(uuid.uuid4()), text, prompt_id=prompt.id
        )
        made[text] = contribution.id
    for text in ("Being trusted", "A Sunday group", "<b>not bold</b>"):
        moderation.approve_contribution(event, host, made[text])
    moderation.feature_contribution(event, host, made["Being trusted"])
    return event


def presenter_key(client, slug):
    token = csrf_token(client, f"/events/{slug}/live/host")
    client.post(f"/events/{slug}/live/present/link", data={"csrf_token": token})
    page = client.get(f"/events/{slug}/live/host").get_data(as_text=True)
    url = unescape(re.search(r'id="presenter-url" type="text" readonly value="([^"]+)"', page)[1])
    assert url.startswith(f"http://localhost/events/{slug}/live/present?key=")
    return url.split("key=", 1)[1]


def test_the_presenter_view_is_drawn_on_the_server_for_the_hosts(app, client):
    with app.app_context():
        live_event(allow_guests=True)
    assert app.test_client().get("/events/on-now/live/present").status_code == 404

    login(client)
    response = client.get("/events/on-now/live/present")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    main = html[html.index("<main") :]
    assert re.search(r'id="current-prompt"[^>]*>What helps recovery last\?</p>', main)
    featured = main[main.index('id="featured"') : main.index('id="newest"')]
    assert "Being trusted" in featured and "A Sunday group" not in featured
    newest = main[main.index('id="newest"') : main.index("reflections-empty")]
    # Newest first, every text escaped, nothing waiting for the hosts.
    assert newest.index("&lt;b&gt;not bold&lt;/b&gt;") < newest.index("A Sunday group")
    assert "Still waiting" not in html
    assert "We are the evidence." in main and "Said by Pat, panel" in main
    # The join address, and its QR code drawn here as SVG, named for screen readers.
    assert "localhost/events/on-now/live</p>" in main
    assert re.search(
        r'<svg role="img" viewBox="0 0 \d+ \d+" class="qr-code"><title>QR code to join: '
        r"http://localhost/events/on-now/live</title>",
        main,
    )
    assert "join with any name" in main
    # No inline script and no CDN: the strict CSP holds.
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="/static/' in attributes for attributes in scripts)
    assert 'src="/static/js/present.js"' in html and 'data-presenter-key=""' in html


def test_the_presenter_link_works_for_anyone_until_it_is_replaced_or_revoked(app, client):
    with app.app_context():
        live_event()
    login(client)
    key = presenter_key(client, "on-now")
    assert re.fullmatch(r"[A-Za-z0-9_-]{43}", key)

    screen = app.test_client()
    response = screen.get(f"/events/on-now/live/present?key={key}")
    # The key goes into the session: the address on the shared screen is the plain one.
    assert response.status_code == 302
    assert response.headers["Location"] == "/events/on-now/live/present"
    html = screen.get("/events/on-now/live/present").get_data(as_text=True)
    assert f'data-presenter-key="{key}"' in html
    assert "What helps recovery last?" in html
    # Guests are not allowed here, so the QR code leads to the event page.
    assert "<title>QR code to join: http://localhost/events/on-now</title>" in html
    assert "private link in your booking email" in html

    replaced = presenter_key(client, "on-now")
    assert replaced != key
    response = screen.get("/events/on-now/live/present")
    assert response.status_code == 404
    assert "That presenter link no longer works" in response.get_data(as_text=True)
    assert app.test_client().get(f"/events/on-now/live/present?key={key}").status_code == 404

    token = csrf_token(client, "/events/on-now/live/host")
    client.post("/events/on-now/live/present/link/revoke", data={"csrf_token": token})
    assert app.test_client().get(f"/events/on-now/live/present?key={replaced}").status_code == 404
    assert 'id="presenter-url"' not in client.get("/events/on-now/live/host").get_data(as_text=True)

    # Only hosts make links.
    with app.app_context():
        create_organiser("someone@example.org", "Someone")
    other = app.test_client()
    login(other, "someone@example.org")
    token = csrf_token(other, "/")
    assert (
        other.post("/events/on-now/live/present/link", data={"csrf_token": token}).status_code
        == 403
    )


def test_the_presenter_follows_the_room_as_a_viewer_never_counted(app, live_server):
    room = make_room(app)
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        key = presenting.create_presenter_link(event)
    hosting = join(live_server, room, "host")
    screen = join(live_server, room, "viewer", presenter_secret=key)
    alice = join(live_server, room, "alice")
    assert screen.state["role"] == "viewer" and "snapshot" in screen.state
    assert alice.state["present"] == 1, "the presenter view is not counted as present"

    prompt = hosting.call("set_prompt", {"text": "What struck a chord?"})["prompt"]
    screen.wait_for_update("prompt", lambda d: d["prompt"] == prompt)
    posted = alice.call(
        "contribute",
        {"client_id": str(uuid.uuid4()), "text": "Being heard", "prompt_id": prompt["id"]},
    )
    hosting.call("approve", {"contribution_id": posted["id"]})
    screen.wait_for_update("contribution", lambda d: d["contribution"]["text"] == "Being heard")
    assert [
        u["data"]["contribution"]["status"]
        for u in screen.received("update")
        if u["kind"] == "contribution"
    ] == ["approved"]
    assert screen.call("contribute", {"client_id": str(uuid.uuid4()), "text": "x"}) == {
        "ok": False,
        "error": "This view is read-only: join the live room to take part.",
    }

    gone = "That presenter link no longer works: ask a host for the new one."
    auth = {"slug": room["slug"], "role": "viewer", "last_seq": 0}
    assert refused_message(live_server, {**auth, "presenter_secret": "guessed"}) == gone
    assert refused_message(live_server, {**auth, "presenter_secret": None}) == gone
    with app.app_context():
        presenting.create_presenter_link(db.session.get(Event, room["event_id"]))
    assert refused_message(live_server, {**auth, "presenter_secret": key}) == gone


def test_during_the_session_the_event_page_says_how_to_join(app, client):
    with app.app_context():
        live_event("open-room", allow_guests=True)
        live_event("members-only")
        create_event(slug="next-week", allow_guests=True)
        create_event(slug="soon", allow_guests=True, starts_at=now_in_london(10))

    page = app.test_client().get("/events/open-room").get_data(as_text=True)
    assert '<a class="button" href="/events/open-room/live">Join the live room</a>' in page
    assert "Register</a>" in page, "registering stays possible until the end"

    page = app.test_client().get("/events/members-only").get_data(as_text=True)
    assert "Join the live room</a>" not in page
    assert "Join the live room from the private link in your booking email" in page

    assert "Happening now" not in app.test_client().get("/events/next-week").get_data(as_text=True)
    # The room opens with the video call, a quarter of an hour before the start.
    assert "Join the live room</a>" in app.test_client().get("/events/soon").get_data(as_text=True)


def test_hosts_see_the_guest_link_its_qr_code_and_a_copy_button(app, client):
    with app.app_context():
        live_event("open-room", allow_guests=True)
        live_event("members-only")
    login(client)
    page = client.get("/events/open-room/live/host").get_data(as_text=True)
    share = page[page.index('id="share"') :]
    assert '<label for="join-address">Guest link</label>' in share
    assert (
        'id="join-address" type="text" readonly value="http://localhost/events/open-room/live"'
        in share
    )
    assert (
        '<button type="button" class="secondary" data-copy="join-address" hidden>Copy</button>'
        in share
    )
    assert "<title>QR code for http://localhost/events/open-room/live</title>" in share
    assert 'href="/events/open-room/live/present"' in share
    assert "Create a presenter link" in share
    assert 'src="/static/js/copy.js"' in page

    page = client.get("/events/members-only/live/host").get_data(as_text=True)
    assert '<label for="join-address">Event page</label>' in page
    assert 'value="http://localhost/events/members-only"' in page


def test_the_qr_code_title_is_escaped(app):
    with app.test_request_context():
        svg = str(presenting.qr_svg("https://example.org/?a=<b>", "Join <b>&</b>"))
    assert "<title>Join &lt;b&gt;&amp;&lt;/b&gt;</title>" in svg
    assert "<b>" not in svg and "script" not in svg


def test_secret_keys_in_links_never_reach_the_log(app, caplog):
    @app.get("/events/<slug>/explode")
    def explode(slug):
        raise RuntimeError(f"while opening {request.url}")

    app.config["PROPAGATE_EXCEPTIONS"] = False
    with caplog.at_level("ERROR"):
        response = app.test_client().get("/events/x/explode?key=s3cretPresenterKey&page=2")
    assert response.status_code == 500
    assert "/events/x/explode?key=[redacted]&page=2" in caplog.text
    assert "s3cretPresenterKey" not in caplog.text
