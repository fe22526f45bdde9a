"""The live room's pages: who gets in (Flask client), and the browser client in real headless
Chromium against a real server process: posting, approving, reconnecting, accessibility."""

import re
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from lero_events.extensions import db
from lero_events.models import Contribution, Event, Registration
from lero_events.registrations import private_token

from .conftest import (
    PASSWORD,
    create_event,
    create_organiser,
    create_registration,
    csrf_token,
    login,
    workers_through_redis,
)
from .test_registration_browser import emails_to

ROOT = Path(__file__).resolve().parent.parent
PHONE = {"width": 390, "height": 844}
# Long enough for a socket to reconnect after a server restart (backoff up to 5 s).
WAIT = 20_000


def add_registration(event, name, display_name="", status="confirmed"):
    """A registration row as the registration pages would leave it; returns its private token."""
    registration = create_registration(
        event, name, f"{name.lower()}@example.org", status, display_name=display_name
    )
    return private_token(registration)


def wait_until(check, timeout=WAIT / 1000):
    """Poll `check` from the test (the pages' CSP forbids Playwright's eval-based waits)."""
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def contribution_texts(app, slug):
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
        return db.session.scalars(
            sa.select(Contribution.text).where(Contribution.event_id == event.id)
        ).all()


# ---- who gets in: plain HTTP through the Flask client ----


def test_private_link_token_moves_out_of_the_address_and_the_page(app, client):
    with app.app_context():
        event = create_event(slug="talk")
        token = add_registration(event, "Sam", display_name="Sam R")

    response = client.get(f"/events/talk/live?token={token}")
    assert response.status_code == 302
    assert response.headers["Location"] == "/events/talk/live"

    page = client.get("/events/talk/live")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-store"
    # The page knows who it is for, never the secret (tests/test_live_pass.py: nor the cookie).
    assert token.split(".")[1] not in html
    assert f'data-person="r{token.split(".")[0]}"' in html
    assert 'data-pass-url="/events/talk/live/pass"' in html
    assert "You are posting as <strong>Sam R</strong>" in html
    # The strict CSP allows no inline script: every script is a file from this site.
    scripts = re.findall(r"<script([^>]*)>", html)
    assert scripts and all('src="/static/' in attributes for attributes in scripts)
    assert 'src="/static/vendor/socket.io.min.js"' in html


def test_waitlisted_place_or_a_stale_link_gets_a_clear_page(app, client):
    with app.app_context():
        event = create_event(slug="full")
        waiting = add_registration(event, "Wes", status="waitlisted")
        other = add_registration(create_event(slug="other"), "Olu")

    response = client.get(f"/events/full/live?token={waiting}")
    assert response.status_code == 403
    assert "You are on the waiting list" in response.get_data(as_text=True)

    response = client.get(f"/events/full/live?token={other}")
    assert response.status_code == 404
    assert "belongs to another event" in response.get_data(as_text=True)

    response = client.get("/events/full/live?token=12.not-the-secret")
    assert response.status_code == 404
    # Nothing was remembered: the clean page explains how to join instead.
    page = client.get("/events/full/live").get_data(as_text=True)
    assert "Participants join from their own private link" in page
    assert "Join as a guest" not in page


def test_a_cancelled_place_is_forgotten_and_explained(app, client):
    with app.app_context():
        event = create_event(slug="gone")
        token = add_registration(event, "Cal")
    client.get(f"/events/gone/live?token={token}")
    with app.app_context():
        registration = db.session.get(Registration, int(token.split(".")[0]))
        registration.status = "cancelled"
        db.session.commit()

    response = client.get("/events/gone/live")
    assert response.status_code == 403
    assert "not confirmed" in response.get_data(as_text=True)
    # Asked again, the browser has no place any more, and the page says how to join.
    assert client.get("/events/gone/live").status_code == 200


def test_guest_joins_with_a_name_when_the_organiser_allows_guests(app, client):
    with app.app_context():
        create_event(slug="open-room", allow_guests=True)
        create_event(slug="closed-room")

    page = client.get("/events/open-room/live").get_data(as_text=True)
    assert "Join as a guest" in page
    token = csrf_token(client, "/events/open-room/live")

    response = client.post(
        "/events/open-room/live/guest", data={"name": "   ", "csrf_token": token}
    )
    assert response.status_code == 400
    assert "Tell us the name to show" in response.get_data(as_text=True)

    response = client.post(
        "/events/open-room/live/guest", data={"name": "  Gita   G ", "csrf_token": token}
    )
    assert response.headers["Location"] == "/events/open-room/live"
    html = client.get("/events/open-room/live").get_data(as_text=True)
    assert 'data-guest-name="Gita G"' in html
    key = re.search(r'data-guest-key="([^"]*)"', html).group(1)
    assert re.fullmatch(r"[A-Za-z0-9_-]{16,100}", key)

    assert "Join as a guest" not in client.get("/events/closed-room/live").get_data(as_text=True)
    response = client.post(
        "/events/closed-room/live/guest", data={"name": "Gita", "csrf_token": token}
    )
    assert response.status_code == 403


def test_host_page_is_for_the_event_hosts_only(app, client):
    with app.app_context():
        create_event(slug="hosted")
        create_organiser("someone@example.org", "Someone Else")

    response = client.get("/events/hosted/live/host")
    assert response.status_code == 302 and "/login" in response.headers["Location"]

    login(client, "someone@example.org")
    assert client.get("/events/hosted/live/host").status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login(client)
    html = client.get("/events/hosted/live/host").get_data(as_text=True)
    assert 'data-role="host"' in html
    edit = client.get("/organiser/events/hosted/edit").get_data(as_text=True)
    assert 'href="/events/hosted/live/host"' in edit


# ---- the browser client against a real server ----


# JavaScript exceptions on any live page: each test must end with none.
page_errors = []


@pytest.fixture(autouse=True)
def no_javascript_errors():
    page_errors.clear()
    yield
    assert page_errors == []


def watched_page(context):
    page = context.new_page()
    page.on("pageerror", lambda error: page_errors.append(f"{page.url}: {error}"))
    return page


def open_participant(context, server, slug, token):
    page = watched_page(context)
    page.goto(f"{server.url}/events/{slug}/live?token={token}")
    assert "token=" not in page.url
    page.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
    return page


def open_host(context, server, slug):
    page = watched_page(context)
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill("organiser@example.org")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/organiser/")
    page.goto(f"{server.url}/events/{slug}/live/host")
    page.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
    return page


def post(page, text, anonymous=False):
    page.get_by_role("textbox", name="Your reflection").fill(text)
    if anonymous:
        page.get_by_label("Post anonymously").check()
    page.get_by_role("button", name="Send").click()


@pytest.mark.parametrize("async_mode", ["gevent", "eventlet"])
def test_participant_posts_host_approves_and_everyone_sees_it(
    app, start_server, chromium, async_mode
):
    with app.app_context():
        event = create_event(slug="big-conversation")
        sam = add_registration(event, "Sam", display_name="Sam")
        ada = add_registration(event, "Ada", display_name="Ada")
    live_server = start_server(async_mode=async_mode)

    contexts = [chromium.new_context(viewport=PHONE) for _ in range(3)]
    try:
        host = open_host(contexts[0], live_server, "big-conversation")
        first = open_participant(contexts[1], live_server, "big-conversation", sam)
        second = open_participant(contexts[2], live_server, "big-conversation", ada)
        first.get_by_text("2 people here").wait_for(timeout=WAIT)
        host.get_by_text("2 people here").wait_for(timeout=WAIT)

        host.get_by_label("Ask a new question").fill("What struck a chord?")
        host.get_by_role("button", name="Set the question").click()
        for page in (first, second):
            page.locator("#current-prompt", has_text="What struck a chord?").wait_for()

        post(first, "Being listened to without judgement.")
        waiting = first.locator("#my-contributions li", has_text="Being listened to")
        waiting.get_by_text("Waiting for a host").wait_for(timeout=WAIT)
        queued = host.locator("#queue li", has_text="Being listened to")
        queued.wait_for(timeout=WAIT)
        assert "Sam" in queued.inner_text()
        # Pre-moderation: nobody else sees it yet.
        assert second.locator("#stream li").count() == 0

        queued.get_by_role("button", name="Approve", exact=True).click()
        for page in (first, second):
            item = page.locator("#stream li", has_text="Being listened to without judgement.")
            item.wait_for(timeout=WAIT)
            assert "Sam" in item.inner_text()
        # Her own list now says it is shared (and offers to take it down).
        expect(first.locator("#my-contributions li")).to_have_count(1)
        expect(first.locator("#my-contributions li").first).to_contain_text("Shared")
        # Screen readers hear about it through the polite live region.
        expect(second.locator("#announcer")).to_contain_text("Being listened to")
        host.locator("#queue li").first.wait_for(state="detached")
        assert host.locator("#queue-empty").is_visible()

        # Resonance: a toggle, once per person, counted for everyone.
        resonate = second.locator("#stream li").first.get_by_role("button", name="Resonates")
        resonate.click()
        second.locator("#stream li button[aria-pressed=true]").wait_for()
        first.get_by_role("button", name="Resonates with me (1)").wait_for(timeout=WAIT)
        resonate.click()
        second.locator("#stream li button[aria-pressed=false]").wait_for()

        # Anonymous stays anonymous, to the hosts too.
        post(second, "I felt less alone.", anonymous=True)
        queued = host.locator("#queue li", has_text="I felt less alone.")
        queued.wait_for(timeout=WAIT)
        assert "Ada" not in queued.inner_text() and "Anonymous" in queued.inner_text()
        queued.get_by_role("button", name="Approve and feature").click()
        first.locator("#featured li", has_text="I felt less alone.").wait_for(timeout=WAIT)
        assert first.locator("#stream li").first.inner_text().startswith("I felt less alone.")

        # Withdraw takes it away from everyone.
        host.locator("#stream li", has_text="I felt less alone.").get_by_role(
            "button", name="Withdraw"
        ).click()
        first.locator("#stream li", has_text="I felt less alone.").wait_for(state="detached")
        assert first.locator("#featured-section").is_hidden()
        assert contribution_texts(app, "big-conversation").count("I felt less alone.") == 1
    finally:
        for context in contexts:
            context.close()


def test_guest_posts_straight_to_the_room_under_post_moderation(app, live_server, chromium):
    with app.app_context():
        create_event(slug="open-door", allow_guests=True)
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(2)]
    try:
        host = open_host(contexts[0], live_server, "open-door")
        host.get_by_label("After: shown at once").check()
        expect(host.locator("#host-error")).to_be_hidden()

        guest = watched_page(contexts[1])
        guest.goto(f"{live_server.url}/events/open-door/live")
        guest.get_by_label("Your name").fill("Gita")
        guest.get_by_role("button", name="Join as a guest").click()
        guest.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        expect(guest.locator("#moderation-hint")).to_have_text(
            "Everyone sees it straight away; the hosts can take it down."
        )
        host.locator("#online li", has_text="Gita (guest)").wait_for(timeout=WAIT)

        post(guest, "Guests are welcome here.")
        guest.locator("#stream li", has_text="Guests are welcome here.").wait_for(timeout=WAIT)
        shared = host.locator("#stream li", has_text="Guests are welcome here.")
        shared.wait_for(timeout=WAIT)
        assert "Gita" in shared.inner_text()
        assert host.locator("#queue li").count() == 0
        host.get_by_text("Voices heard: 1 ·", exact=False).wait_for(timeout=WAIT)

        shared.get_by_role("button", name="Withdraw").click()
        guest.locator("#stream li").wait_for(state="detached", timeout=WAIT)
    finally:
        for context in contexts:
            context.close()


def test_a_guest_takes_their_own_shared_reflection_down_and_the_room_loses_it(
    app, live_server, chromium
):
    with app.app_context():
        create_event(slug="open-door", allow_guests=True).moderation = "post"
        db.session.commit()
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(2)]
    try:
        host = open_host(contexts[0], live_server, "open-door")
        guest = watched_page(contexts[1])
        guest.goto(f"{live_server.url}/events/open-door/live")
        guest.get_by_label("Your name").fill("Gita")
        guest.get_by_role("button", name="Join as a guest").click()
        guest.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        other_tab = watched_page(contexts[1])
        other_tab.goto(f"{live_server.url}/events/open-door/live")
        other_tab.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)

        post(guest, "Said too much, maybe.")
        shared = host.locator("#stream li", has_text="Said too much, maybe.")
        shared.wait_for(timeout=WAIT)
        # Listed under "Your reflections" as shared: in the guest's other tab at once (from
        # `mine`), and after a reload too.
        expect(
            other_tab.locator("#my-contributions li", has_text="Said too much, maybe.")
        ).to_contain_text("Shared", timeout=WAIT)
        guest.reload()
        guest.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        mine = guest.locator("#my-contributions li", has_text="Said too much, maybe.")
        expect(mine).to_contain_text("Shared")
        mine.get_by_role("button", name="Take it down").click()

        shared.wait_for(state="detached", timeout=WAIT)
        guest.locator("#stream li").wait_for(state="detached", timeout=WAIT)
        expect(guest.locator("#mine-section")).to_be_hidden()
        expect(guest.locator("#announcer")).to_have_text(
            "Taken down: it is gone from the room and the harvest."
        )
        assert contribution_texts(app, "open-door") == [""]
    finally:
        for context in contexts:
            context.close()


def test_paused_room_keeps_reflections_until_the_hosts_reopen(app, live_server, chromium):
    with app.app_context():
        event = create_event(slug="paused")
        token = add_registration(event, "Pat", display_name="Pat")
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(2)]
    try:
        host = open_host(contexts[0], live_server, "paused")
        page = open_participant(contexts[1], live_server, "paused", token)
        host.get_by_role("button", name="Pause reflections").click()
        page.locator("#contributions-closed").wait_for(timeout=WAIT)

        post(page, "Held until they reopen.")
        page.get_by_text("it will be sent when the hosts reopen").wait_for()
        assert contribution_texts(app, "paused") == []

        host.get_by_role("button", name="Reopen reflections").click()
        page.get_by_text("Waiting for a host").wait_for(timeout=WAIT)
        host.locator("#queue li", has_text="Held until they reopen.").wait_for(timeout=WAIT)
        assert page.locator("#contributions-closed").is_hidden()

        # A phrase the host heard goes to everyone, with who said it.
        host.get_by_role("textbox", name="Phrase", exact=True).fill("Nothing about us without us.")
        host.get_by_label("Said by (optional)").fill("Speaker One")
        host.get_by_role("button", name="Capture").click()
        phrase = page.locator("#stream li", has_text="Nothing about us without us.")
        phrase.wait_for(timeout=WAIT)
        assert "Heard in the room" in phrase.inner_text()
        assert "Said by Speaker One" in phrase.inner_text()
    finally:
        for context in contexts:
            context.close()


def test_two_workers_with_redis_and_a_worker_killed_and_restarted(app, start_server, chromium):
    with app.app_context():
        event = create_event(slug="two-workers")
        sam = add_registration(event, "Sam", display_name="Sam")
        ada = add_registration(event, "Ada", display_name="Ada")
    settings = workers_through_redis()
    worker_a = start_server(**settings)
    worker_b = start_server(**settings)
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(3)]
    try:
        host = open_host(contexts[0], worker_a, "two-workers")
        on_b = open_participant(contexts[1], worker_b, "two-workers", sam)
        on_a = open_participant(contexts[2], worker_a, "two-workers", ada)
        host.get_by_text("2 people here").wait_for(timeout=WAIT)

        post(on_b, "Said through worker B.")
        queued = host.locator("#queue li", has_text="Said through worker B.")
        queued.wait_for(timeout=WAIT)
        queued.get_by_role("button", name="Approve", exact=True).click()
        for page in (on_a, on_b):
            page.locator("#stream li", has_text="Said through worker B.").wait_for(timeout=WAIT)

        # Worker B dies without a goodbye; what Sam types meanwhile waits, then arrives once.
        worker_b.kill()
        on_b.wait_for_selector("#connection-state[data-state=offline]", timeout=WAIT)
        post(on_b, "Typed while worker B was down.")
        worker_b.start()
        queued = host.locator("#queue li", has_text="Typed while worker B was down.")
        queued.wait_for(timeout=WAIT)
        queued.get_by_role("button", name="Approve", exact=True).click()
        for page in (on_a, on_b):
            page.locator("#stream li", has_text="Typed while worker B was down.").wait_for(
                timeout=WAIT
            )
            assert page.locator("#stream li").count() == 2
        assert sorted(contribution_texts(app, "two-workers")) == [
            "Said through worker B.",
            "Typed while worker B was down.",
        ]
    finally:
        for context in contexts:
            context.close()


def test_from_booking_to_the_live_room_and_from_the_edit_page_to_hosting(
    app, live_server, chromium
):
    with app.app_context():
        create_event(slug="booked")
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(2)]
    try:
        page = watched_page(contexts[0])
        page.goto(f"{live_server.url}/events/booked/register")
        page.locator("input[name=name]").fill("Rosa Reyes")
        page.locator("input[name=email]").fill("rosa@example.org")
        page.locator("input[name=display_name]").fill("Rosa")
        page.locator("input[name=consent]").check()
        page.get_by_role("button", name="Register").click()
        page.get_by_role("heading", name="Check your email").wait_for()
        outbox = Path(live_server.env["LERO_INSTANCE_PATH"]) / "outbox"
        (booked,) = emails_to(app, outbox, "rosa@example.org", 1)
        page.goto(re.search(r"http://\S+/r/\S+", booked.get_body(("plain",)).get_content())[0])
        page.get_by_role("link", name="Join the live room").click()
        page.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        assert page.url == f"{live_server.url}/events/booked/live"
        post(page, "Booked and here.")

        host = watched_page(contexts[1])
        host.goto(f"{live_server.url}/login?next=/organiser/events/booked/edit")
        host.get_by_label("Email").fill("organiser@example.org")
        host.get_by_label("Password").fill(PASSWORD)
        host.get_by_role("button", name="Log in").click()
        host.get_by_role("link", name="Join the live room as host").click()
        queued = host.locator("#queue li", has_text="Booked and here.")
        queued.wait_for(timeout=WAIT)
        assert "Rosa" in queued.inner_text()
    finally:
        for context in contexts:
            context.close()


def test_after_the_session_ends_the_page_says_so_and_takes_no_more(app, live_server, chromium):
    with app.app_context():
        start = datetime.now().replace(microsecond=0) - timedelta(hours=3)
        event = create_event(slug="over", starts_at=start, ends_at=start + timedelta(hours=1))
        token = add_registration(event, "Eve")
    context = chromium.new_context(viewport=PHONE)
    try:
        page = open_participant(context, live_server, "over", token)
        page.locator("#session-ended").wait_for()
        assert page.get_by_role("button", name="Send").is_disabled()
        assert page.get_by_role("textbox", name="Your reflection").is_disabled()
    finally:
        context.close()


def test_text_typed_while_the_server_is_down_arrives_once_after_a_reload(
    app, start_server, chromium, tmp_path
):
    with app.app_context():
        event = create_event(slug="flaky")
        token = add_registration(event, "Fay", display_name="Fay")
    server = start_server()
    context = chromium.new_context(viewport=PHONE)
    try:
        page = open_participant(context, server, "flaky", token)
        server.stop()
        page.wait_for_selector("#connection-state[data-state=offline]", timeout=WAIT)
        assert "your messages are saved" in page.locator("#connection-state").inner_text()

        post(page, "Typed on the bus with no signal.")
        saved = page.locator("#my-contributions li", has_text="Typed on the bus")
        saved.get_by_text("it will be sent when you are back online").wait_for()
        page.screenshot(path=tmp_path / "offline.png")
        page.close()  # the phone's browser is closed before the network comes back

        server.start()
        page = watched_page(context)
        page.goto(f"{server.url}/events/flaky/live")
        page.locator("#my-contributions li", has_text="Typed on the bus").get_by_text(
            "Waiting for a host"
        ).wait_for(timeout=WAIT)
        # Acknowledged, so it has left the outbox (the ack may come just after the update).
        # One outbox per person in this browser: keyed by event and registration id.
        outbox_key = "lero-live-outbox:flaky:r" + token.split(".")[0]
        wait_until(lambda: page.evaluate("key => localStorage.getItem(key)", outbox_key) == "[]")

        # A second reload resends nothing and still shows it as waiting, exactly once.
        page.reload()
        page.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        assert page.locator("#my-contributions li").count() == 1
        assert contribution_texts(app, "flaky") == ["Typed on the bus with no signal."]
    finally:
        context.close()


def test_reconnect_sends_what_was_typed_offline_and_catches_up(app, start_server, chromium):
    with app.app_context():
        event = create_event(slug="tunnel")
        token = add_registration(event, "Tim", display_name="Tim")
    server = start_server()
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(2)]
    try:
        host = open_host(contexts[0], server, "tunnel")
        page = open_participant(contexts[1], server, "tunnel", token)
        server.stop()
        post(page, "Written in the tunnel.")
        server.start()
        # The same page reconnects by itself and sends it; the host approves it.
        queued = host.locator("#queue li", has_text="Written in the tunnel.")
        queued.wait_for(timeout=WAIT)
        queued.get_by_role("button", name="Approve", exact=True).click()
        page.locator("#stream li", has_text="Written in the tunnel.").wait_for(timeout=WAIT)
        assert page.locator("#stream li").count() == 1
        assert contribution_texts(app, "tunnel") == ["Written in the tunnel."]
    finally:
        for context in contexts:
            context.close()


def test_a_refused_reconnection_says_why_instead_of_stalling(app, start_server, chromium):
    with app.app_context():
        event = create_event(slug="left")
        token = add_registration(event, "Lee")
    server = start_server()
    context = chromium.new_context(viewport=PHONE)
    try:
        page = open_participant(context, server, "left", token)
        server.stop()
        with app.app_context():
            registration = db.session.get(Registration, int(token.split(".")[0]))
            registration.status = "cancelled"
            db.session.commit()
        server.start()
        refused = page.locator("#connection-state[data-state=refused]")
        refused.wait_for(timeout=WAIT)
        assert "not confirmed" in refused.inner_text()
        assert refused.get_by_role("button", name="Try again").is_visible()
    finally:
        context.close()


def test_refused_reflection_keeps_its_text_and_says_why(app, start_server, chromium):
    with app.app_context():
        event = create_event(slug="busy")
        token = add_registration(event, "Bo")
    server = start_server(LERO_LIVE_RATE_LIMIT_COUNT=1)
    context = chromium.new_context(viewport=PHONE)
    host_context = chromium.new_context()
    try:
        page = open_participant(context, server, "busy", token)
        host = open_host(host_context, server, "busy")
        post(page, "First thought.")
        page.get_by_text("Waiting for a host").wait_for(timeout=WAIT)
        post(page, "Second thought, too soon.")
        refused = page.locator("#my-contributions li.failed")
        refused.get_by_text("You are sending a lot very quickly").wait_for(timeout=WAIT)
        assert "Second thought, too soon." in refused.inner_text()

        # A keyboard user on "Edit" keeps their place while the room moves on around them.
        refused.get_by_role("button", name="Edit").focus()
        host.locator("#queue li").get_by_role("button", name="Approve", exact=True).click()
        page.locator("#stream li", has_text="First thought.").wait_for(timeout=WAIT)
        assert page.evaluate("document.activeElement.textContent") == "Edit"

        page.keyboard.press("Enter")
        assert (
            page.get_by_role("textbox", name="Your reflection").input_value()
            == "Second thought, too soon."
        )
        assert page.locator("#my-contributions li.failed").count() == 0
        assert contribution_texts(app, "busy") == ["First thought."]
    finally:
        context.close()
        host_context.close()


def test_live_pages_have_no_serious_accessibility_problems(
    app, live_server, chromium, tmp_path, accessibility_problems
):
    with app.app_context():
        event = create_event(slug="axe-room")
        token = add_registration(event, "Ali", display_name="Ali")

    # The pages' CSP (script-src 'self') blocks scripts injected by the test: add_script_tag
    # inserts an inline <script> even from a path. The axe run alone uses bypass_csp, so the
    # pages' own scripts still run under the real policy everywhere else in these tests.
    participant_context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    host_context = chromium.new_context(viewport=PHONE, bypass_csp=True)
    try:
        host = open_host(host_context, live_server, "axe-room")
        host.get_by_label("Ask a new question").fill("What struck a chord?")
        host.get_by_role("button", name="Set the question").click()
        participant = open_participant(participant_context, live_server, "axe-room", token)
        participant.locator("#current-prompt", has_text="What struck a chord?").wait_for()
        post(participant, "Hearing others made me brave.")
        host.locator("#queue li").get_by_role("button", name="Approve", exact=True).click()
        participant.locator("#stream li").wait_for(timeout=WAIT)
        post(participant, "Still thinking about it.")
        host.locator("#queue li", has_text="Still thinking").wait_for(timeout=WAIT)

        for name, page in (("participant", participant), ("host", host)):
            page.screenshot(path=tmp_path / f"{name}.png", full_page=True)
            serious = accessibility_problems(page)
            assert serious == [], f"{name} page: {serious}"
    finally:
        participant_context.close()
        host_context.close()


def test_live_pages_fit_a_phone_screen(app, live_server, chromium):
    width = PHONE["width"]
    with app.app_context():
        event = create_event(slug="phone")
        token = add_registration(event, "Pia")
    context = chromium.new_context(viewport=PHONE)
    try:
        page = open_participant(context, live_server, "phone", token)
        post(page, "A long word: " + "recovery" * 20)
        page.get_by_text("Waiting for a host").wait_for(timeout=WAIT)
        # Nothing scrolls sideways, even with a long unbroken word.
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        host = open_host(context, live_server, "phone")
        host.locator("#queue li").wait_for(timeout=WAIT)
        assert host.evaluate("document.documentElement.scrollWidth") <= width
    finally:
        context.close()
