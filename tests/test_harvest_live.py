"""The harvest page while the event is live, in headless Chromium against a real server.

A participant and a host act through real Socket.IO clients; the logged-out visitor's page
follows as a read-only viewer that the room never counts as present.
"""

import re
import threading
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import requests
import socketio
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Event
from lero_events.registrations import private_token

from .conftest import PASSWORD, create_event
from .test_harvest import add_contribution, add_prompt, add_registration, set_event
from .test_harvest_browser import INJECTED, collect_dialogs

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


def host_cookie(server):
    with requests.Session() as http:
        page = http.get(server.url + "/login", timeout=10).text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        http.post(
            server.url + "/login",
            data={"email": "organiser@example.org", "password": PASSWORD, "csrf_token": token},
            timeout=10,
        )
        return {"Cookie": "; ".join(f"{k}={v}" for k, v in http.cookies.items())}


def contribute(client, text, prompt_id=None):
    return client.call(
        "contribute",
        {"client_id": str(uuid.uuid4()), "text": text, "prompt_id": prompt_id, "anonymous": False},
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
