"""The harvest page while the event is live, in headless Chromium against a real server.

A participant and a host act through real Socket.IO clients; the logged-out visitor's page
follows as a read-only viewer that the room never counts as present.
"""

import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
import socketio
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.harvest.gathering import gather_figures
from lero_events.models import Event
from lero_events.registrations import private_token

from .conftest import PASSWORD, create_event
from .test_harvest import add_contribution, add_prompt, add_registration, set_event
from .test_harvest_browser import INJECTED, collect_dialogs, png_file

NS = "/live"


class RoomClient:
    """A python-socketio client on /live that keeps the `state` it was sent."""

    def __init__(self, server, auth, headers=None):
        self.state = None
        self.ready = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("state", self.on_state, namespace=NS)
        self.sio.connect(
            server.url,
            namespaces=[NS],
            auth=auth,
            headers=headers or {},
            transports=["websocket"],
            wait_timeout=10,
        )
        assert self.ready.wait(10), "no state from the live room"

    def on_state(self, state):
        self.state = state
        self.ready.set()

    def call(self, event, data):
        ack = self.sio.call(event, data, namespace=NS, timeout=15)
        assert ack["ok"], ack
        return ack

    def close(self):
        self.sio.disconnect()
        self.sio.eio.disconnect()
        if self.sio.eio.ws is not None:
            self.sio.eio.ws.close()
        if self.sio.eio.http is not None:
            self.sio.eio.http.close()


def host_cookie(server, email="organiser@example.org", password=PASSWORD):
    """The session cookie of an organiser logged in over real HTTP, for the handshake."""
    with requests.Session() as http:
        page = http.get(server.url + "/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        http.post(
            server.url + "/login",
            data={"email": email, "password": password, "csrf_token": token},
            timeout=10,
        )
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items())}


def contribute(client, text, prompt_id=None):
    return client.call(
        "contribute",
        {
            "client_id": str(uuid.uuid4()),
            "text": text,
            "prompt_id": prompt_id,
            "anonymous": False,
            "sharing": "named",
        },
    )


def test_the_harvest_follows_the_live_room_without_counting_its_viewers(app, live_server, chromium):
    started = datetime.now(ZoneInfo("Europe/London")).replace(
        tzinfo=None, second=0, microsecond=0
    ) - timedelta(minutes=10)
    with app.app_context():
        create_event(slug="live-harvest", starts_at=started, ends_at=started + timedelta(hours=2))
        event = db.session.scalar(sa.select(Event))
        prompt = add_prompt(event, "What struck a chord?")
        add_contribution(event, "Already said before the page opened", prompt=prompt)
        token = private_token(add_registration(event, display_name="Sam"))
        set_event("live-harvest", harvest_published=True)
        prompt_id = prompt.id

    context = chromium.new_context()
    page = context.new_page()
    dialogs = collect_dialogs(page)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(live_server.url + "/events/live-harvest/harvest")
    status = page.locator("#harvest-live-status")
    status.get_by_text("Live: new contributions appear here").wait_for()

    clients = []
    try:
        participant = RoomClient(live_server, {"slug": "live-harvest", "token": token})
        clients.append(participant)
        assert participant.state["present"] == 1, "the harvest page's viewer is not counted"
        host = RoomClient(
            live_server, {"slug": "live-harvest", "role": "host"}, host_cookie(live_server)
        )
        clients.append(host)

        payload = "<img src=x onerror=\"window.__xss='live'\"> the kettle is always on"
        approved = contribute(participant, payload, prompt_id)
        waiting = contribute(participant, "This one stays in the queue", prompt_id)
        assert approved["status"] == waiting["status"] == "pending"
        host.call("approve", {"contribution_id": approved["id"]})

        item = page.locator(f"#c-{approved['id']}")
        item.wait_for()
        assert item.locator(".contribution-text").inner_text() == payload
        assert item.locator(".author").inner_text() == "Sam"
        assert page.locator("#prompt-" + str(prompt_id) + " .count").inner_text() == (
            "2 contributions"
        )
        assert page.get_by_role("status").filter(has_text="New contribution from Sam").count()

        host.call("capture_phrase", {"text": "Recovery is contagious", "attribution": "Pat"})
        page.locator("#phrases .phrase").filter(has_text="Recovery is contagious").wait_for()

        new_prompt = host.call("set_prompt", {"text": "What will you take home?"})["prompt"]
        later = contribute(participant, "Courage, mostly", new_prompt["id"])
        host.call("approve", {"contribution_id": later["id"]})
        section = page.locator(f"#prompt-{new_prompt['id']}")
        section.locator(f"#c-{later['id']}").wait_for()
        assert section.locator("h3").inner_text() == "What will you take home?"

        host.call("withdraw", {"contribution_id": approved["id"]})
        item.wait_for(state="detached")

        assert "This one stays in the queue" not in page.locator("main").inner_text()
        assert page.evaluate("window.__xss") is None
        assert page.evaluate(INJECTED) == 0
        assert dialogs == [] and errors == []

        page.reload()
        reloaded = page.locator("main").inner_text()
        assert "Courage, mostly" in reloaded and "Recovery is contagious" in reloaded
        assert "the kettle is always on" not in reloaded
    finally:
        for client in clients:
            client.close()
        context.close()


def test_outside_the_event_the_page_does_not_connect(app, client):
    with app.app_context():
        create_event(slug="next-week")
        set_event("next-week", harvest_published=True)
    page = client.get("/events/next-week/harvest").get_data(as_text=True)
    assert "harvest-live.js" not in page and "data-live-seq" not in page


def test_done_when_the_demo_runs_live_and_its_harvest_is_shared(
    app, runner, live_server, chromium, tmp_path
):
    """Issue 5's "Done when": after running the demo Big Conversation live, a host composes a
    poem, uploads a sketch note and publishes; a logged-out visitor sees the harvest live and
    afterwards, and downloads the Markdown."""
    output = runner.invoke(args=["demo"]).output
    password = re.search(r"demo@example.org with password: (\S+)", output).group(1)
    now = datetime.now(UTC)
    with app.app_context():
        set_event(
            "big-conversation",
            starts_at=now - timedelta(minutes=10),
            ends_at=now + timedelta(minutes=80),
        )
        event = db.session.scalar(sa.select(Event).where(Event.slug == "big-conversation"))
        # The demo's own room is already in use: its figures before this test adds to them.
        before = gather_figures(event)
        tokens = {
            name: private_token(add_registration(event, display_name=name, organisation=org))
            for name, org in (("Sam", "Recovery Connect"), ("Jo", "Sober Futures"), ("", ""))
        }

    # The Big Conversation, live: a host sets prompts and moderates, participants take part.
    clients = []
    try:
        host = RoomClient(
            live_server,
            {"slug": "big-conversation", "role": "host"},
            host_cookie(live_server, "demo@example.org", password),
        )
        clients.append(host)
        sam, jo, quiet = (
            # The demo room has an agreement: each accepts it as they join (section 15).
            RoomClient(
                live_server,
                {"slug": "big-conversation", "token": tokens[name], "accept_agreement": True},
            )
            for name in ("Sam", "Jo", "")
        )
        clients += [sam, jo, quiet]
        prompt = host.call("set_prompt", {"text": "What helps recovery last?"})["prompt"]
        said = {
            "sam": contribute(
                sam, "Having people who remember my name when I walk in", prompt["id"]
            ),
            "jo": contribute(jo, "A kettle, a chair and someone who listens", prompt["id"]),
            "quiet": contribute(quiet, "Knowing I am not the only one", prompt["id"]),
            "rejected": contribute(jo, "Buy my book at example.com", prompt["id"]),
        }
        for name in ("sam", "jo", "quiet"):
            host.call("approve", {"contribution_id": said[name]["id"]})
        host.call("reject", {"contribution_id": said["rejected"]["id"]})
        jo.call("resonate", {"contribution_id": said["sam"]["id"]})
        quiet.call("resonate", {"contribution_id": said["sam"]["id"]})
        host.call(
            "capture_phrase", {"text": "Recovery is contagious: it spreads", "attribution": "Pat"}
        )

        # A host composes the poem, uploads a sketch note and publishes, in the browser.
        host_page = chromium.new_context().new_page()
        host_page.goto(live_server.url + "/login")
        host_page.get_by_label("Email").fill("demo@example.org")
        host_page.get_by_label("Password").fill(password)
        host_page.get_by_role("button", name="Log in").click()
        host_page.wait_for_url("**/organiser/")
        host_page.goto(live_server.url + "/organiser/events/big-conversation/edit")
        host_page.get_by_role("link", name="Compose and share the harvest").click()
        host_page.wait_for_url("**/harvest/edit")
        for text, fragment, stanza in (
            ("remember my name", "people who remember my name", ""),
            ("Recovery is contagious", "it spreads", "2"),
            ("not the only one", "not the only one", "2"),
        ):
            candidate = host_page.locator(".candidate").filter(has_text=text)
            candidate.get_by_label("Line (trim to a fragment if you like)").fill(fragment)
            candidate.get_by_label("Stanza").fill(stanza)
            candidate.get_by_role("button", name="Add to the poem").click()
            host_page.wait_for_url("**/harvest/edit#poem")
            assert "Line added to the poem" in host_page.locator(".flashes").inner_text()
        candidate = host_page.locator(".candidate").filter(has_text="kettle")
        candidate.get_by_label("Line (trim to a fragment if you like)").fill("a made-up line")
        candidate.get_by_role("button", name="Add to the poem").click()
        assert "is not part of the original words" in host_page.locator(".flashes").inner_text()

        host_page.get_by_label("Image (PNG, JPEG or WebP").set_input_files(
            png_file(tmp_path / "sketch.png")
        )
        host_page.get_by_label("Alt text (required)").fill(
            "Sketch note: a kettle, three chairs and the words 'remember my name'"
        )
        host_page.get_by_role("button", name="Upload the sketch note").click()
        host_page.wait_for_url("**/harvest/edit#sketches")
        assert "Sketch note added" in host_page.locator(".flashes").inner_text()
        host_page.get_by_role("button", name="Publish the harvest").click()
        assert "The harvest is published" in host_page.locator(".flashes").inner_text()
        host_page.context.close()

        # A logged-out visitor sees it while the event is still live...
        visitor = chromium.new_context(accept_downloads=True)
        page = visitor.new_page()
        page.goto(live_server.url + "/events/big-conversation/harvest")
        page.locator("#harvest-live-status").get_by_text("Live: new contributions").wait_for()
        assert page.locator(".poem .stanza").all_inner_texts() == [
            "people who remember my name",
            "it spreads\nnot the only one",
        ]
        main = page.locator("main").inner_text()
        assert "A kettle, a chair and someone who listens" in main
        assert "Buy my book" not in main
        assert "resonated with 2 people" in main
        late = contribute(sam, "Coming back next month", prompt["id"])
        host.call("approve", {"contribution_id": late["id"]})
        page.locator(f"#c-{late['id']}").get_by_text("Coming back next month").wait_for()
        page.screenshot(path=tmp_path / "harvest-live.png", full_page=True)
    finally:
        for client in clients:
            client.close()

    # ...and afterwards, when the page no longer follows the room.
    with app.app_context():
        set_event(
            "big-conversation",
            starts_at=now - timedelta(hours=5),
            ends_at=now - timedelta(hours=3, minutes=30),
        )
    page.reload()
    assert page.locator("#harvest-live-status").count() == 0
    main = page.locator("main").inner_text()
    assert "Coming back next month" in main and "Recovery is contagious: it spreads" in main
    image = page.locator(".sketch-note img")
    image.scroll_into_view_if_needed()
    natural_width = image.evaluate(
        "img => img.complete ? img.naturalWidth"
        " : new Promise(done => { img.onload = () => done(img.naturalWidth); })"
    )
    assert natural_width == 320, "the sketch note loads from its route"
    figures = page.locator(".figures").inner_text()
    took_part, voices = before.took_part + 3, before.voices_heard + 3
    assert f"Took part\n{took_part}" in figures, "Sam, Jo and the quiet one joined the room"
    assert f"Voices heard\n{voices}" in figures, "three authors shown; Pat, quoted, is a phrase"
    page.screenshot(path=tmp_path / "harvest.png", full_page=True)
    page.emulate_media(media="print")
    page.screenshot(path=tmp_path / "harvest-print.png", full_page=True)
    assert not page.locator(".downloads").is_visible(), "the print layout hides the downloads"
    page.emulate_media(media="screen")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Markdown").click()
    download = download_info.value
    assert download.suggested_filename == "big-conversation-harvest.md"
    markdown = Path(download.path()).read_text()
    assert markdown.startswith("# The Big Conversation: what helps recovery last?: the harvest")
    assert "people who remember my name  \n\nit spreads  \nnot the only one  \n" in markdown
    assert "- Having people who remember my name when I walk in (Sam)" in markdown
    assert "- Knowing I am not the only one (Anonymous)" in markdown
    assert "- Coming back next month (Sam)" in markdown
    assert "Buy my book" not in markdown
    visitor.close()
    print(f"screenshots in {tmp_path}")
