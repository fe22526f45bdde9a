"""Moderation at scale in real headless Chromium against a real server: a host on a phone
approves several at once, undoes a reject and a withdraw, corrects and withdraws a phrase, the
participants and the live harvest page follow; keyboard resonance keeps focus; print hides the
live states; axe on the host view at a phone and a desktop size."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Event

from .conftest import PASSWORD, create_event
from .test_live_browser import (
    PHONE,
    WAIT,
    add_registration,
    no_javascript_errors,  # noqa: F401 (an autouse fixture: no page may throw)
    open_host,
    open_participant,
    post,
    watched_page,
)

DESKTOP = {"width": 1280, "height": 800}


def live_event(app, slug):
    """An event on now, its harvest published, so the harvest page follows the room."""
    started = datetime.now(ZoneInfo("Europe/London")).replace(
        tzinfo=None, second=0, microsecond=0
    ) - timedelta(minutes=10)
    with app.app_context():
        event = create_event(slug=slug, starts_at=started, ends_at=started + timedelta(hours=2))
        tokens = [add_registration(event, name, display_name=name) for name in ("Sam", "Ada")]
        db.session.scalar(sa.select(Event).where(Event.slug == slug)).harvest_published = True
        db.session.commit()
    return tokens


def figure(page, key):
    return page.locator(f"#figure-{key} .figure-value").inner_text()


def hold_back(item):
    """Hold a queued reflection back without a reason, as a host does from its "Hold back…"."""
    item.locator("summary", has_text="Hold back").click()
    item.get_by_role("button", name="Hold back", exact=True).click()


def test_a_host_on_a_phone_approves_several_at_once_and_undoes(app, live_server, chromium):
    sam, ada = live_event(app, "at-scale")
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(4)]
    try:
        host = open_host(contexts[0], live_server, "at-scale")
        first = open_participant(contexts[1], live_server, "at-scale", sam)
        second = open_participant(contexts[2], live_server, "at-scale", ada)
        harvest = watched_page(contexts[3])
        harvest.goto(f"{live_server.url}/events/at-scale/harvest")
        harvest.locator("#harvest-live-status.live-status-connected").wait_for(timeout=WAIT)
        assert figure(harvest, "contributions") == "0"

        # On a phone the controls come before the stream, and jump links reach each of them.
        order = host.evaluate(
            "['queue-heading', 'prompt-heading', 'phrase-heading', 'stream-heading']"
            ".map(id => document.getElementById(id).getBoundingClientRect().top)"
        )
        assert order == sorted(order), order
        host.get_by_role("navigation", name="Host controls").get_by_role(
            "link", name="Capture a phrase"
        ).click()
        assert host.evaluate("location.hash") == "#phrase-heading"
        assert host.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        for text in ("One at a time", "Two of us", "Three together"):
            post(first, text)
        post(second, "Not for sharing")
        host.locator("#queue li").nth(3).wait_for(timeout=WAIT)
        for text in ("One at a time", "Two of us", "Three together"):
            host.locator("#queue li", has_text=text).get_by_label("Select", exact=False).check()
        host.get_by_role("button", name="Approve selected (3)").click()
        for page in (second, harvest):
            for text in ("One at a time", "Two of us", "Three together"):
                page.locator("#stream li, #prompts li", has_text=text).wait_for(timeout=WAIT)
        assert host.locator("#queue li").count() == 1
        harvest.locator("#figure-contributions .figure-value", has_text="3").wait_for(timeout=WAIT)

        # Reject, then undo: back in the queue; reject again: it waits in the held-back list.
        hold_back(host.locator("#queue li", has_text="Not for sharing"))
        host.locator("#held-back li", has_text="Not for sharing").wait_for(timeout=WAIT)
        host.locator("#undo-bar").get_by_role("button", name="Undo").click()
        host.locator("#queue li", has_text="Not for sharing").wait_for(timeout=WAIT)
        assert host.locator("#held-back li").count() == 0
        hold_back(host.locator("#queue li", has_text="Not for sharing"))
        held = host.locator("#held-back li", has_text="Not for sharing")
        held.wait_for(timeout=WAIT)
        assert second.locator("#stream li", has_text="Not for sharing").count() == 0

        # Withdraw, then undo: it leaves the room and comes back.
        host.locator("#stream li", has_text="Two of us").get_by_role(
            "button", name="Withdraw"
        ).click()
        second.locator("#stream li", has_text="Two of us").wait_for(state="detached")
        harvest.locator("#prompts li", has_text="Two of us").wait_for(state="detached")
        host.locator("#undo-bar").get_by_role("button", name="Undo").click()
        second.locator("#stream li", has_text="Two of us").wait_for(timeout=WAIT)

        # A held-back reflection can still be approved from its list.
        held.get_by_role("button", name="Approve").click()
        first.locator("#stream li", has_text="Not for sharing").wait_for(timeout=WAIT)
        host.locator("#held-back-empty").wait_for(state="visible")
    finally:
        for context in contexts:
            context.close()


def test_a_corrected_then_withdrawn_phrase_leaves_the_room_the_screen_and_the_harvest(
    app, live_server, chromium
):
    sam, _ada = live_event(app, "phrases")
    contexts = [chromium.new_context(viewport=DESKTOP) for _ in range(3)]
    try:
        host = open_host(contexts[0], live_server, "phrases")
        participant = open_participant(contexts[1], live_server, "phrases", sam)
        harvest = watched_page(contexts[2])
        harvest.goto(f"{live_server.url}/events/phrases/harvest")
        harvest.locator("#harvest-live-status.live-status-connected").wait_for(timeout=WAIT)
        # The presenter view on the shared screen, opened by the logged-in host.
        screen = watched_page(contexts[0])
        screen.goto(f"{live_server.url}/events/phrases/live/present")
        screen.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        watching = (
            (participant, "#stream li"),
            (harvest, "#phrases li"),
            (screen, "#phrases li"),
        )

        host.get_by_label("Phrase", exact=True).fill("Well done Jamie Smith for sharing")
        host.get_by_label("Said by (optional)").fill("Jo")
        host.get_by_role("button", name="Capture").click()
        for page, selector in watching:
            page.locator(selector, has_text="Jamie Smith").wait_for(timeout=WAIT)

        item = host.locator("#stream li", has_text="Jamie Smith")
        item.get_by_role("button", name="Edit").click()
        editor = item.locator(".phrase-editor")
        editor.get_by_label("Corrected phrase").fill("Well done for sharing")
        editor.get_by_role("button", name="Save the phrase").click()
        for page, selector in watching:
            page.locator(selector, has_text="Well done for sharing").wait_for(timeout=WAIT)
            assert page.locator(selector, has_text="Jamie").count() == 0

        host.locator("#stream li", has_text="Well done for sharing").get_by_role(
            "button", name="Withdraw"
        ).click()
        for page, selector in watching:
            page.locator(selector, has_text="Well done").wait_for(state="detached", timeout=WAIT)
        harvest.reload()
        assert "Well done" not in harvest.content()
    finally:
        for context in contexts:
            context.close()


def test_keyboard_resonance_keeps_focus_and_live_states_do_not_print(app, live_server, chromium):
    sam, ada = live_event(app, "focus")
    contexts = [chromium.new_context(viewport=PHONE) for _ in range(3)]
    try:
        host = open_host(contexts[0], live_server, "focus")
        author = open_participant(contexts[1], live_server, "focus", sam)
        reader = open_participant(contexts[2], live_server, "focus", ada)
        post(author, "Keep your place")
        host.locator("#queue li").get_by_role("button", name="Approve", exact=True).click()
        button = reader.locator("#stream li").get_by_role("button", name="Resonates with me")
        button.wait_for(timeout=WAIT)
        button.focus()
        reader.keyboard.press("Enter")
        reader.locator("#stream li button[aria-pressed=true]").wait_for(timeout=WAIT)
        assert reader.evaluate("document.activeElement.classList.contains('resonate')")
        reader.keyboard.press("Space")
        reader.locator("#stream li button[aria-pressed=false]").wait_for(timeout=WAIT)
        assert reader.evaluate("document.activeElement.classList.contains('resonate')")

        reader.emulate_media(media="print")
        assert reader.locator("#connection-state").is_hidden()
        harvest = watched_page(contexts[2])
        harvest.goto(f"{live_server.url}/events/focus/harvest")
        harvest.locator("#harvest-live-status.live-status-connected").wait_for(timeout=WAIT)
        harvest.emulate_media(media="print")
        assert harvest.locator("#harvest-live-status").is_hidden()
    finally:
        for context in contexts:
            context.close()


def test_the_host_view_has_no_serious_accessibility_problems(
    app, live_server, chromium, accessibility_problems
):
    sam, _ada = live_event(app, "axe-host")
    for viewport in (PHONE, DESKTOP):
        host_context = chromium.new_context(viewport=viewport, bypass_csp=True)
        participant_context = chromium.new_context(viewport=PHONE)
        try:
            host = open_host(host_context, live_server, "axe-host")
            participant = open_participant(participant_context, live_server, "axe-host", sam)
            post(participant, f"Waiting at {viewport['width']}")
            post(participant, f"Held back at {viewport['width']}")
            hold_back(host.locator("#queue li", has_text=f"Held back at {viewport['width']}"))
            host.locator("#held-back li").first.wait_for(timeout=WAIT)
            host.get_by_label("Phrase", exact=True).fill(f"Said at {viewport['width']}")
            host.get_by_role("button", name="Capture").click()
            phrase = host.locator("#stream li", has_text=f"Said at {viewport['width']}")
            phrase.get_by_role("button", name="Edit").click()
            serious = accessibility_problems(host)
            assert serious == [], f"host view at {viewport}: {serious}"
        finally:
            host_context.close()
            participant_context.close()


def test_the_organiser_dashboard_fits_a_phone(app, live_server, chromium):
    with app.app_context():
        for number in range(3):
            create_event(
                slug=f"a-long-event-name-that-could-push-a-phone-sideways-{number}",
                title="A Big Conversation about evidence, money and shared learning " * 2,
            )
    context = chromium.new_context(viewport=PHONE)
    try:
        page = watched_page(context)
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill("organiser@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/organiser/")
        assert page.locator("main").inner_text().count("A Big Conversation about evidence") >= 3
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"the dashboard scrolls sideways: {width}px"
    finally:
        context.close()
