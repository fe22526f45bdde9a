"""A safe room: the room agreement first, and a live room that works without JavaScript.

Through real HTTP (the Flask client and a real server), a real Socket.IO client, and
Chromium with JavaScript switched off.
"""

import re
import uuid
from html import unescape
from pathlib import Path

import pytest
import requests
import socketio
import sqlalchemy as sa
from playwright.sync_api import expect

from lero_events import prompts
from lero_events.agreement import AGREEMENT_FIRST, DEFAULT_AGREEMENT
from lero_events.extensions import db
from lero_events.live import TOO_MANY_MESSAGES
from lero_events.models import Contribution, Event, EventHost, Phrase, RoomUpdate
from lero_events.registrations import private_token

from .conftest import create_event, create_organiser, create_registration, fresh_app, login
from .live_clients import (
    NS,
    LiveClient,
    contribute,
    host_headers,
    join,
    refused_message,
)
from .live_in_process import InProcessClient
from .test_invites import organiser_form
from .test_registration_browser import emails_to

PHONE = {"width": 390, "height": 844}
AGREEMENT = "We listen without judging.\nWhat is said here stays here."


def field_value(html, name):
    """The value of the form field `name` on a page (the first one)."""
    match = re.search(rf'name="{name}"[^>]*value="([^"]*)"', html)
    assert match, f"no {name} field"
    return match.group(1)


def texts(app):
    with app.app_context():
        return db.session.scalars(sa.select(Contribution.text).order_by(Contribution.id)).all()


def test_the_room_agreement_comes_first_and_is_accepted_once_per_person(app, client):
    with app.app_context():
        event = create_event(slug="safe", allow_guests=True, room_agreement=AGREEMENT)
        token = private_token(create_registration(event, display_name="Ada"))
    first = client.get(f"/events/safe/live?token={token}", follow_redirects=True)
    html = first.get_data(as_text=True)
    assert "What is said here stays here." in html
    assert 'id="contribute-form"' not in html

    # Posting before accepting is refused with the reason, and nothing is saved.
    refused = client.post(
        "/events/safe/live/contribute",
        data={
            "csrf_token": field_value(html, "csrf_token"),
            "client_id": str(uuid.uuid4()),
            "text": "Hello",
        },
    )
    assert refused.status_code == 403
    assert AGREEMENT_FIRST in refused.get_data(as_text=True)
    assert texts(app) == []

    accepted = client.post(
        "/events/safe/live/agreement", data={"csrf_token": field_value(html, "csrf_token")}
    )
    assert accepted.status_code == 303
    room = client.get("/events/safe/live").get_data(as_text=True)
    assert 'id="contribute-form"' in room
    assert "What is said here stays here." in room, "the agreement stays on the page"

    # Once per person: the same private link in another browser goes straight in.
    elsewhere = app.test_client().get(f"/events/safe/live?token={token}", follow_redirects=True)
    assert 'id="contribute-form"' in elsewhere.get_data(as_text=True)

    # Guests read it on the join page and tick it as they join.
    guest = app.test_client()
    join_page = guest.get("/events/safe/live").get_data(as_text=True)
    assert "What is said here stays here." in join_page
    csrf = field_value(join_page, "csrf_token")
    unticked = guest.post("/events/safe/live/guest", data={"csrf_token": csrf, "name": "Kim"})
    assert unticked.status_code == 400
    assert "Please accept the room agreement to join." in unticked.get_data(as_text=True)
    ticked = guest.post(
        "/events/safe/live/guest", data={"csrf_token": csrf, "name": "Kim", "agree": "y"}
    )
    assert ticked.status_code == 302
    assert 'id="contribute-form"' in guest.get("/events/safe/live").get_data(as_text=True)


def test_organisers_start_from_the_default_agreement_and_write_their_own(app, client):
    with app.app_context():
        create_event(slug="night", title="Night Owls")
    login(client)
    new_event = client.get("/organiser/events/new").get_data(as_text=True)
    assert DEFAULT_AGREEMENT.splitlines()[0] in new_event
    form = organiser_form(client, "2027-07-01T18:30", "2027-07-01T20:00", "night/edit")
    form["room_agreement"] = AGREEMENT
    saved = client.post("/organiser/events/night/edit", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Event.room_agreement)) == AGREEMENT


def test_the_socket_refuses_joining_and_posting_until_the_agreement_is_accepted(app, start_server):
    with app.app_context():
        event = create_event(slug="safe", allow_guests=True, room_agreement=AGREEMENT)
        tokens = {
            name: private_token(create_registration(event, display_name=name))
            for name in ("Ada", "Bo")
        }
    server = start_server()
    room = {"slug": "safe", "tokens": tokens}
    assert refused_message(server, {"slug": "safe", "token": tokens["Ada"]}) == AGREEMENT_FIRST
    guest = {"slug": "safe", "guest_name": "Kim", "guest_key": "kim-key-0123456789abc"}
    assert refused_message(server, guest) == AGREEMENT_FIRST

    with requests.Session() as browser:
        page = browser.get(f"{server.url}/events/safe/live?token={tokens['Ada']}", timeout=10)
        assert "What is said here stays here." in page.text
        csrf = field_value(page.text, "csrf_token")
        browser.post(f"{server.url}/events/safe/live/agreement", data={"csrf_token": csrf})

    ada = join(server, room, "Ada")
    assert contribute(ada, "Glad to be here.")["ok"] is True
    # Accepting is per person: Bo has not, so Bo is still at the door, told what to accept.
    bo = LiveClient(server, {"slug": "safe", "token": tokens["Bo"]})
    with pytest.raises(socketio.exceptions.ConnectionError):
        bo.sio.connect(server.url, namespaces=[NS], auth=bo.auth, wait_timeout=10)
    assert bo.refused == AGREEMENT_FIRST and bo.refused_data == {"agreement": AGREEMENT}
    # A client that showed it connects again saying the person accepted.
    bo = join(server, room, "Bo", accept_agreement=True)
    assert contribute(bo, "Me too.")["ok"] is True
    assert join(server, room, "Bo").state["you"]["name"] == "Bo", "accepted once, kept"
    # Hosts run the room; the agreement is for those taking part.
    assert join(server, room, "host").state["queue"][0]["text"] == "Glad to be here."


def test_the_plain_form_posts_once_per_client_id_with_the_same_limits_and_moderation(app, client):
    with app.app_context():
        event = create_event(slug="plain")
        token = private_token(create_registration(event, display_name="Ada"))
    html = client.get(f"/events/plain/live?token={token}", follow_redirects=True).get_data(
        as_text=True
    )
    form = {
        "csrf_token": field_value(html, "csrf_token"),
        "client_id": field_value(html, "client_id"),
        "prompt_id": "",
        "text": "Said without scripts.",
    }
    assert client.post("/events/plain/live/contribute", data=form).status_code == 303
    # The same form sent twice (a double click, a resend after a lost answer): one reflection.
    assert client.post("/events/plain/live/contribute", data=form).status_code == 303
    assert texts(app) == ["Said without scripts."]
    room = client.get("/events/plain/live").get_data(as_text=True)
    assert "Waiting for a host" in room and "Said without scripts." in room
    assert field_value(room, "client_id") != form["client_id"], "a new form, a new client_id"

    # The socket's limits, with its messages; what was typed stays in the box.
    too_long = {**form, "client_id": str(uuid.uuid4()), "text": "x" * 501}
    refused = client.post("/events/plain/live/contribute", data=too_long)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 400
    assert "Please keep it under 500 characters (yours has 501)." in page
    assert "x" * 501 in page and too_long["client_id"] in page
    for number in range(4):
        more = {**form, "client_id": str(uuid.uuid4()), "text": f"Thought {number}"}
        assert client.post("/events/plain/live/contribute", data=more).status_code == 303
    flood = {**form, "client_id": str(uuid.uuid4()), "text": "One too many"}
    limited = client.post("/events/plain/live/contribute", data=flood)
    assert limited.status_code == 429
    assert "You are sending a lot very quickly" in limited.get_data(as_text=True)
    assert "One too many" in limited.get_data(as_text=True)
    assert len(texts(app)) == 5

    # A host approves through the plain form; the participant sees it and resonates.
    host = app.test_client()
    login(host)
    host_page = host.get("/events/plain/live/host").get_data(as_text=True)
    assert "Said without scripts." in host_page
    with app.app_context():
        first_id = db.session.scalar(sa.select(sa.func.min(Contribution.id)))
    approved = host.post(
        "/events/plain/live/host/moderate",
        data={
            "csrf_token": field_value(host_page, "csrf_token"),
            "contribution_id": str(first_id),
            "action": "approve",
        },
    )
    assert approved.status_code == 303
    room = client.get("/events/plain/live").get_data(as_text=True)
    item = re.search(rf'<li class="stream-item" id="c{first_id}">.*?</li>', room, re.S).group(0)
    assert "Said without scripts." in item and 'aria-pressed="false"' in item
    resonated = client.post(
        "/events/plain/live/resonate",
        data={"csrf_token": field_value(room, "csrf_token"), "contribution_id": str(first_id)},
    )
    assert resonated.status_code == 303
    room = client.get("/events/plain/live").get_data(as_text=True)
    item = re.search(rf'<li class="stream-item" id="c{first_id}">.*?</li>', room, re.S).group(0)
    assert "Resonates with me (1)" in item and 'aria-pressed="true"' in item

    # Each change is a room update like any other, so socket clients hear of it.
    with app.app_context():
        kinds = db.session.scalars(sa.select(RoomUpdate.kind).order_by(RoomUpdate.seq)).all()
    assert kinds == ["contribution"] * 5 + ["contribution", "resonance"]


def test_the_demo_room_works_from_registration_to_an_approved_reflection_without_javascript(
    app, runner, live_server, chromium
):
    loaded = runner.invoke(args=["demo"])
    assert loaded.exit_code == 0, loaded.output
    password = re.search(r"password: (\S+)", loaded.output).group(1)
    base = f"{live_server.url}/events/big-conversation"
    contexts = [chromium.new_context(java_script_enabled=False, viewport=PHONE) for _ in range(2)]
    try:
        person, host = (context.new_page() for context in contexts)
        # Booking, with discreet invites, on a page with no scripts.
        person.goto(f"{base}/register")
        person.get_by_label("Your name").fill("Nia Without Scripts")
        person.get_by_label("Email").fill("nia@example.org")
        person.get_by_label("Keep my invites discreet").check()
        person.locator("input[name=consent]").check()
        person.get_by_role("button", name="Register").click()
        person.get_by_role("heading", name="Check your email").wait_for()
        outbox = Path(live_server.env["LERO_INSTANCE_PATH"]) / "outbox"
        (booked,) = emails_to(app, outbox, "nia@example.org", 1)
        assert booked["Subject"] == "You are booked: Online meeting"
        person.goto(re.search(r"http://\S+/r/\S+", booked.get_body(("plain",)).get_content())[0])

        # The agreement first, then the room as the server rendered it.
        person.get_by_role("link", name="Join the live room").click()
        person.get_by_role("heading", name="The room agreement").wait_for()
        person.get_by_role("button", name=re.compile("I accept the room agreement")).click()
        expect(person.locator(".no-script")).to_contain_text("Scripts are off")
        expect(person.locator("#current-prompt")).to_have_text(
            "What helps recovery last, once the formal support ends?"
        )
        expect(person.locator("#stream")).to_contain_text("Having somewhere to go on a Sunday")
        person.get_by_role("textbox", name="Your reflection").fill(
            "Typed on a phone with no scripts."
        )
        person.get_by_role("button", name="Send").click()
        expect(person.locator(".flash")).to_contain_text("a host reads it before anyone else")
        expect(person.locator("#my-contributions")).to_contain_text("Waiting for a host")

        # The host approves with the plain button.
        host.goto(f"{live_server.url}/login")
        host.get_by_label("Email").fill("demo@example.org")
        host.get_by_label("Password").fill(password)
        host.get_by_role("button", name="Log in").click()
        host.goto(f"{base}/live/host")
        queued = host.locator("#queue li", has_text="Typed on a phone with no scripts.")
        queued.get_by_role("button", name="Approve", exact=True).click()
        expect(host.locator(".flash")).to_contain_text("Approved")
        expect(host.locator("#queue")).not_to_contain_text("Typed on a phone with no scripts.")
        # And puts a new question to the room with the plain form.
        host.get_by_label("Ask a new question").fill("What would you tell your first-day self?")
        host.get_by_role("button", name="Set the question").click()
        expect(host.locator(".flash")).to_contain_text("The question is now: What would you")
        expect(host.locator("#current-prompt")).to_have_text(
            "What would you tell your first-day self?"
        )

        # The participant refreshes by the link, sees both, and resonates with the reflection.
        person.get_by_role("link", name="Refresh").click()
        expect(person.locator("#current-prompt")).to_have_text(
            "What would you tell your first-day self?"
        )
        shared = person.locator("#stream li", has_text="Typed on a phone with no scripts.")
        shared.get_by_role("button", name="Resonates with me").click()
        expect(shared).to_contain_text("Resonates with me (1)")
        assert texts_in(app, "Typed on a phone with no scripts.") == ["approved"]

        # The harvest reads without scripts too.
        host.goto(f"{base}/harvest")
        expect(host.locator("main")).to_contain_text("Typed on a phone with no scripts.")

        # Following the room reloads the page only where scripts are off.
        person.goto(f"{base}/live?follow=1")
        assert person.locator("meta[http-equiv=refresh]").count() == 1
        assert person.locator("#contribute-form").is_hidden()
    finally:
        for context in contexts:
            context.close()
    scripted = chromium.new_context()
    try:
        page = scripted.new_page()
        page.goto(f"{base}/live")
        page.get_by_label("Your name").fill("Gus")
        page.get_by_label("I have read the room agreement above and accept it").check()
        page.get_by_role("button", name="Join as a guest").click()
        page.goto(f"{base}/live?follow=1")
        page.wait_for_selector("#connection-state[data-state=connected]")
        # Where scripts run, a <noscript> is only text: no reload for them.
        assert page.locator("meta[http-equiv=refresh]").count() == 0
    finally:
        scripted.close()


def post_reflection(client, slug, text):
    room = client.get(f"/events/{slug}/live").get_data(as_text=True)
    form = {
        "csrf_token": field_value(room, "csrf_token"),
        "client_id": field_value(room, "client_id"),
        "text": text,
    }
    return client.post(f"/events/{slug}/live/contribute", data=form)


def host_form(host, slug, reflection, action, **fields):
    """A host's plain form about the queued `reflection`, as the page draws it."""
    page = host.get(f"/events/{slug}/live/host").get_data(as_text=True)
    with host.application.app_context():
        number = db.session.scalar(
            sa.select(Contribution.id).where(Contribution.text == reflection)
        )
    assert f'id="q{number}"' in page
    data = {"csrf_token": field_value(page, "csrf_token"), "contribution_id": str(number)}
    return host.post(
        f"/events/{slug}/live/host/moderate", data={**data, "action": action, **fields}
    )


def test_without_scripts_the_author_sees_reasons_redactions_and_the_counts(app, client):
    with app.app_context():
        event = create_event(slug="open", room_agreement="")
        token = private_token(create_registration(event, display_name="Ada"))
        other_token = private_token(create_registration(event, "Bo", "bo@example.org"))
    room = client.get(f"/events/open/live?token={token}", follow_redirects=True)
    assert token not in room.get_data(as_text=True), "the private token stays out of the page"
    for text in ("I saw Dave at the Leeds meeting.", "Dave helped me most.", "Off the point."):
        assert post_reflection(client, "open", text).status_code == 303

    host = app.test_client()
    login(host)
    held = host_form(
        host, "open", "I saw Dave at the Leeds meeting.", "reject", reason="identifies"
    )
    assert held.status_code == 303
    redacted = host_form(host, "open", "Dave helped me most.", "redact", text="dave", label="name")
    assert redacted.status_code == 303
    unwritten = host_form(host, "open", "Off the point.", "reject", reason="other", reason_text="")
    assert unwritten.status_code == 303
    page = host.get("/events/open/live/host").get_data(as_text=True)
    assert "Choose a reason from the list, or write one." in page
    written = host_form(
        host,
        "open",
        "Off the point.",
        "reject",
        reason="other",
        reason_text="Keep to the question.",
    )
    assert written.status_code == 303
    page = host.get("/events/open/live/host").get_data(as_text=True)
    assert "Everyone sees: 1 waiting · 2 held back" in page
    assert "[name removed] helped me most." in page

    mine = client.get("/events/open/live").get_data(as_text=True)
    assert "1 waiting for the hosts · 2 held back" in mine
    section = re.search(r'<ul class="mine-list".*?</ul>', mine, re.S).group(0)
    assert "Their reason: It could identify someone." in section
    assert "Their reason: Keep to the question." in section
    assert "[name removed] helped me most." in section and "Dave helped" not in section
    assert "A host removed a name from your reflection (marked in the text)." in section
    assert token not in mine

    # Everyone else sees the counts, never the texts.
    other = app.test_client()
    theirs = other.get(f"/events/open/live?token={other_token}", follow_redirects=True)
    theirs = theirs.get_data(as_text=True)
    assert "1 waiting for the hosts · 2 held back" in theirs
    assert "Dave" not in theirs and "helped me most" not in theirs


def test_without_scripts_the_forms_keep_the_sockets_limits_and_erasure(app, client):
    with app.app_context():
        event = create_event(slug="kept", room_agreement="")
        token = private_token(create_registration(event, display_name="Ada"))
    client.get(f"/events/kept/live?token={token}")
    app.config["LIVE_MESSAGES_PER_PERSON"] = "3 per 10 seconds"
    for number in range(3):
        assert post_reflection(client, "kept", f"Thought {number}").status_code == 303
    flooded = post_reflection(client, "kept", "One message too many")
    assert flooded.status_code == 429
    assert TOO_MANY_MESSAGES in flooded.get_data(as_text=True)
    assert len(texts(app)) == 3
    app.config["LIVE_MESSAGES_PER_PERSON"] = "60 per 10 seconds"

    # The page was open when the person erased their data: its form no longer posts.
    room = client.get("/events/kept/live").get_data(as_text=True)
    erase_page = client.get(f"/r/{token}/erase").get_data(as_text=True)
    erased = client.post(
        f"/r/{token}/erase", data={"csrf_token": field_value(erase_page, "csrf_token")}
    )
    assert erased.status_code == 303
    late = client.post(
        "/events/kept/live/contribute",
        data={
            "csrf_token": field_value(room, "csrf_token"),
            "client_id": field_value(room, "client_id"),
            "text": "After erasing",
        },
    )
    assert late.status_code in (403, 404)
    assert "After erasing" not in texts(app)
    assert 'id="contribute-form"' not in client.get("/events/kept/live").get_data(as_text=True)


def test_support_without_scripts_reaches_only_the_wellbeing_host(app, start_server):
    with app.app_context():
        olive = create_organiser()
        wren = create_organiser("wren@example.org", "Wren Wellbeing")
        event = create_event(
            owner=olive, slug="care", room_agreement="", support_contacts="Samaritans: 116 123"
        )
        event.hosts.append(EventHost(organiser=wren, role="cohost", wellbeing=True))
        db.session.commit()
        token = private_token(
            create_registration(event, "Sam Rivers", "sam@example.org", display_name="Sam")
        )
    server = start_server()
    room = {"slug": "care", "tokens": {}}
    wellbeing = LiveClient(
        server, {"slug": "care", "role": "host"}, host_headers(server, "wren@example.org")
    ).connect()
    ordinary = join(server, room, "host")
    assert wellbeing.view().wellbeing is True and ordinary.view().wellbeing is False

    with requests.Session() as browser:
        page = browser.get(f"{server.url}/events/care/live?token={token}", timeout=10).text
        assert token not in page
        assert "I need support" in page and "Samaritans" in page
        asked = browser.post(
            f"{server.url}/events/care/live/support",
            data={"csrf_token": field_value(page, "csrf_token")},
            timeout=10,
        )
        assert "Received. A wellbeing host will reach you quietly" in asked.text
        assert '<div id="support-contacts">' in asked.text, "the contacts show once they asked"

    wellbeing.wait_for_view(lambda view: len(view.support) == 1)
    (request,) = wellbeing.support().values()
    assert request["name"] == "Sam" and request["status"] == "open"
    assert request["contact"] == {"name": "Sam Rivers", "email": "sam@example.org"}
    assert wellbeing.view().held == [] and wellbeing.view().heads["wellbeing"] == 1
    assert ordinary.support() == {} and ordinary.view().wellbeing is False
    assert all(update["chain"] != "wellbeing" for update in ordinary.updates())

    # The wellbeing host's page without scripts lists it and marks it handled.
    with requests.Session() as host_browser:
        cookie = host_headers(server, "wren@example.org")["Cookie"]
        host_browser.headers["Cookie"] = cookie
        listed = host_browser.get(f"{server.url}/events/care/live/host/support", timeout=10)
        assert "Sam Rivers" in listed.text and "sam@example.org" in listed.text
        handled = host_browser.post(
            f"{server.url}/events/care/live/host/support/handled",
            data={
                "csrf_token": field_value(listed.text, "csrf_token"),
                "request_id": str(request["id"]),
            },
            timeout=10,
        )
        assert "Marked handled." in handled.text
    with requests.Session() as other_host:
        other_host.headers["Cookie"] = host_headers(server)["Cookie"]
        refused = other_host.get(f"{server.url}/events/care/live/host/support", timeout=10)
        assert refused.status_code == 403 and "sam@example.org" not in refused.text

    wellbeing.wait_for_view(lambda view: view.support[request["id"]]["status"] == "handled")
    assert wellbeing.support()[request["id"]]["handled_by"] == "Wren Wellbeing"
    # Coming back with its cursor, the wellbeing host is replayed nothing it has.
    back = LiveClient(
        server,
        {"slug": "care", "role": "host", **wellbeing.cursors()},
        host_headers(server, "wren@example.org"),
    ).connect()
    assert back.state["support_updates"] == [] and back.view().support == {}
    fresh = LiveClient(
        server, {"slug": "care", "role": "host"}, host_headers(server, "wren@example.org")
    ).connect()
    assert fresh.support()[request["id"]]["status"] == "handled"


def texts_in(app, text):
    with app.app_context():
        return db.session.scalars(
            sa.select(Contribution.status).where(Contribution.text == text)
        ).all()


@pytest.fixture
def quick_app(tmp_path, database_url):
    # Frames go out at once, so an in-process client has them when the form's answer is back.
    with fresh_app(tmp_path, database_url, LIVE_TICK_SECONDS=0) as app:
        yield app


def heard(client, kind):
    """The data of every update of `kind` an in-process client has been sent so far."""
    frames = client.received("updates")
    return [update["data"] for frame in frames for update in frame if update["kind"] == kind]


def host_post(host, slug, form, **fields):
    """A host's plain form on the hosts' page (`form`: prompt, pause, phrase or moderate),
    with the page's CSRF token; returns the answer and the page it sends the host back to."""
    page = host.get(f"/events/{slug}/live/host").get_data(as_text=True)
    sent = host.post(
        f"/events/{slug}/live/host/{form}",
        data={"csrf_token": field_value(page, "csrf_token"), **fields},
    )
    back = host.get(sent.headers["Location"]).get_data(as_text=True) if sent.location else ""
    return sent, unescape(back)


def flashed(page):
    """The notices on a page, as the host reads them."""
    return [unescape(text) for text in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', page)]


def test_hosts_without_scripts_ask_questions_pause_and_capture_and_the_room_hears_it(quick_app):
    app = quick_app
    with app.app_context():
        owner = create_organiser()
        event = create_event(owner=owner, slug="plain", room_agreement="", allow_guests=True)
        event.moderation = "pre"
        prompts.add_prepared_prompt(event, owner, "What got you through this year?")
        second = prompts.add_prepared_prompt(event, owner, "Who would you thank?").id
        stale = prompts.add_prepared_prompt(event, owner, "Dropped before the day").id
        prompts.delete_prepared_prompt(event, owner, stale)
    guest = InProcessClient(app, {"slug": "plain", "guest_name": "Gil", "guest_key": "k" * 24})
    assert guest.connected, guest.refused
    host = app.test_client()
    login(host)
    page = unescape(host.get("/events/plain/live/host").get_data(as_text=True))
    assert '<p id="current-prompt" class="prompt-text prompt-none">No question yet.</p>' in page
    assert 'aria-label="Ask now: Who would you thank?"' in page
    assert "Next: What got you through this year?" in page

    # A question typed now, a prepared one, then the next one in order.
    sent, back = host_post(host, "plain", "prompt", action="set", text="  What brought you?  ")
    assert sent.status_code == 303 and sent.location.endswith("#prompt-heading")
    assert flashed(back) == ["The question is now: What brought you?"]
    assert '<p id="current-prompt" class="prompt-text">What brought you?</p>' in back
    _sent, back = host_post(host, "plain", "prompt", action="ask", prompt_id=str(second))
    assert flashed(back) == ["The question is now: Who would you thank?"]
    assert 'aria-label="Ask now: Who would you thank?"' not in back and "(asked now)" in back
    _sent, back = host_post(host, "plain", "prompt", action="next")
    assert flashed(back) == ["The question is now: What got you through this year?"]
    assert "Every prepared question has been asked." in back
    asked = [data["prompt"]["text"] for data in heard(guest, "prompt")]
    assert asked == ["What brought you?", "Who would you thank?", "What got you through this year?"]

    # Bad input: a notice each, and the room's question stays.
    for fields, notice in (
        ({"action": "ask", "prompt_id": ""}, prompts.NOT_PREPARED),
        ({"action": "ask", "prompt_id": str(stale)}, prompts.NOT_PREPARED),
        ({"action": "ask", "prompt_id": "two"}, prompts.NOT_PREPARED),
        ({"action": "next"}, prompts.ALL_ASKED),
        ({"action": "set", "text": "   "}, "Please write something before sending."),
        (
            {"action": "set", "text": "x" * 301},
            "Please keep it under 300 characters (yours has 301).",
        ),
        ({"action": "sing"}, "Type a question, or choose a prepared one."),
    ):
        sent, back = host_post(host, "plain", "prompt", **fields)
        assert sent.status_code == 303 and flashed(back) == [notice], fields
        assert '<p id="current-prompt" class="prompt-text">What got you through this year?' in back
    assert len(heard(guest, "prompt")) == 3

    # Pausing and reopening: the guest's screen follows, and the pause holds on the socket.
    _sent, back = host_post(host, "plain", "pause", action="pause")
    assert flashed(back) == ["Reflections are paused: new ones wait on participants' devices."]
    assert ">Reopen reflections</button>" in back and 'value="reopen"' in back
    assert heard(guest, "settings")[-1]["contributions_open"] is False
    assert guest.call("contribute", {"client_id": str(uuid.uuid4()), "text": "Hi"})["ok"] is False
    _sent, back = host_post(host, "plain", "pause", action="stop")
    assert flashed(back) == ["Choose pause or reopen."]
    _sent, back = host_post(host, "plain", "pause", action="reopen")
    assert (
        flashed(back) == ["Reflections are open again."] and ">Pause reflections</button>" in back
    )
    assert [data["contributions_open"] for data in heard(guest, "settings")] == [False, True]

    # A phrase heard from a speaker, and one too long to keep.
    _sent, back = host_post(
        host, "plain", "phrase", text="Nobody recovers alone.", attribution="Jo"
    )
    assert flashed(back) == ["Captured for the harvest: “Nobody recovers alone.”"]
    _sent, back = host_post(host, "plain", "phrase", text="y" * 501)
    assert flashed(back) == ["Please keep it under 500 characters (yours has 501)."]
    phrases = [data["phrase"] for data in heard(guest, "phrase")]
    assert [(p["text"], p["attribution"]) for p in phrases] == [("Nobody recovers alone.", "Jo")]

    # The held-back list, and back to the queue from it.
    said = guest.call("contribute", {"client_id": str(uuid.uuid4()), "text": "Ask me later."})
    assert said["ok"] is True, said
    number = said["id"]
    _sent, back = host_post(
        host, "plain", "moderate", contribution_id=str(number), action="reject", reason="repeated"
    )
    held = re.search(r'<ol class="stream" id="held-back".*?</ol>', back, re.S).group(0)
    assert f'id="h{number}"' in held and "Ask me later." in held
    assert "Reason: Someone has said much the same already." in held
    assert 'id="held-back-count">(1)' in back and f'id="q{number}"' not in back
    _sent, back = host_post(
        host, "plain", "moderate", contribution_id=str(number), action="restore"
    )
    assert flashed(back) == ["Back in the queue: the room sees it once it is approved."]
    assert f'id="q{number}"' in back and f'id="h{number}"' not in back
    statuses = [data["contribution"]["status"] for data in heard(guest, "contribution")]
    assert statuses == ["pending", "rejected", "pending"], "the author's own screen follows"


def test_only_the_events_hosts_can_use_the_hosts_forms(app):
    with app.app_context():
        owner = create_organiser()
        event = create_event(owner=owner, slug="plain", room_agreement="", allow_guests=True)
        prepared = prompts.add_prepared_prompt(event, owner, "Kept for the hosts").id
        create_organiser("other@example.org", "Oscar Other")
    forms = {
        "prompt": {"action": "ask", "prompt_id": str(prepared)},
        "pause": {"action": "pause"},
        "phrase": {"text": "Not theirs to keep"},
    }
    guest = app.test_client()
    token = field_value(guest.get("/events/plain/live").get_data(as_text=True), "csrf_token")
    joined = guest.post("/events/plain/live/guest", data={"csrf_token": token, "name": "Gil"})
    assert joined.status_code == 302
    other = app.test_client()
    login(other, "other@example.org")
    host = app.test_client()
    login(host)
    for form, fields in forms.items():
        url = f"/events/plain/live/host/{form}"
        as_guest = guest.post(url, data={"csrf_token": token, **fields})
        assert as_guest.status_code == 302 and "/login" in as_guest.location
        theirs = field_value(other.get("/events/plain/live").get_data(as_text=True), "csrf_token")
        as_other = other.post(url, data={"csrf_token": theirs, **fields})
        assert as_other.status_code == 403
        assert "Only this event&#39;s hosts can do that." in as_other.get_data(as_text=True)
        # The hosts' own form without its token (a page kept open too long) does nothing either.
        expired = host.post(url, data=fields)
        assert expired.status_code == 400
        assert "The CSRF token is missing." in expired.get_data(as_text=True)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert event.current_prompt_id is None and event.contributions_open is True
        assert db.session.scalars(sa.select(Phrase)).all() == []
        # Only the hosts' news of the question added before: nothing from the refused forms.
        assert db.session.scalars(sa.select(RoomUpdate.kind)).all() == ["prepared"]
