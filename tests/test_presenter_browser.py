"""Facilitating from prepared questions with the presenter view shared on screen, in headless
Chromium against a real server: large type at 720p, axe-clean, and a QR code that decodes
(with zxing-cpp) to the join address."""

import io
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from lero_events import prompts
from lero_events.extensions import db
from lero_events.models import Event

from .conftest import create_event
from .test_live_browser import (
    PHONE,
    WAIT,
    add_registration,
    no_javascript_errors,  # noqa: F401 (autouse: every page here must end without errors)
    open_host,
    open_participant,
    post,
    watched_page,
)

SCREEN = {"width": 1280, "height": 720}
QUESTIONS = [
    "What counts as evidence for you?",
    "Where should the money go?",
    "What do we take to the politicians?",
]


def started_minutes_ago(minutes):
    now = datetime.now(ZoneInfo("Europe/London")).replace(tzinfo=None, second=0, microsecond=0)
    return now - timedelta(minutes=minutes)


@pytest.fixture
def conversation(app):
    start = started_minutes_ago(10)
    with app.app_context():
        event = create_event(
            slug="big-conversation",
            title="The Big Conversation",
            allow_guests=True,
            starts_at=start,
            ends_at=start + timedelta(minutes=90),
        )
        return {
            "sam": add_registration(event, "Sam", display_name="Sam"),
            "ada": add_registration(event, "Ada", display_name="Ada"),
        }


def computed_px(page, selector):
    """The smallest computed font size (px) over every element matching `selector`."""
    return page.locator(selector).evaluate_all(
        "nodes => Math.min(...nodes.map(n => parseFloat(getComputedStyle(n).fontSize)))"
    )


def smallest_text_px(page):
    """The smallest font size of any element on the page that shows text of its own."""
    return page.evaluate(
        """() => Math.min(...Array.from(document.querySelectorAll('main *'))
            .filter(n => n.offsetParent !== null && Array.from(n.childNodes)
                .some(c => c.nodeType === 3 && c.textContent.trim()))
            .map(n => parseFloat(getComputedStyle(n).fontSize)))"""
    )


def decode_qr(page, selector):
    png = page.locator(selector).screenshot()
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)).convert("L"))
    return [result.text for result in results]


def test_host_facilitates_from_prepared_questions_with_the_presenter_view_on_screen(
    app, live_server, chromium, conversation, accessibility_problems, tmp_path
):
    slug = "big-conversation"
    # bypass_csp only so the test can inject axe; the pages' own policy is unchanged.
    host_context = chromium.new_context(viewport={"width": 1280, "height": 800}, bypass_csp=True)
    host_context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    screen_context = chromium.new_context(viewport=SCREEN, bypass_csp=True)
    people = [chromium.new_context(viewport=PHONE) for _ in range(2)]
    try:
        host = open_host(host_context, live_server, slug)
        host.get_by_role("link", name="Prepare questions").click()
        for question in QUESTIONS:
            host.get_by_label("Question", exact=True).fill(question)
            host.get_by_role("button", name="Add the question").click()
            host.get_by_text("Question added.").wait_for()
        serious = accessibility_problems(host)
        assert serious == [], f"questions page: {serious}"
        host.get_by_role("button", name="Move up: question 3").click()
        assert (
            host.get_by_role("textbox", name="Question 2", exact=True).input_value() == QUESTIONS[2]
        )
        host.set_viewport_size(PHONE)
        assert host.evaluate("document.documentElement.scrollWidth <= innerWidth")
        serious = accessibility_problems(host)
        assert serious == [], f"questions page on a phone: {serious}"
        host.set_viewport_size({"width": 1280, "height": 800})

        host.goto(f"{live_server.url}/events/{slug}/live/host")
        host.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        host.get_by_role("button", name="Create a presenter link").click()
        presenter_url = host.get_by_label("Presenter link, for whoever shares the screen")
        link = presenter_url.input_value()
        assert "/live/present?key=" in link
        host.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        host.locator("button[data-copy=presenter-url]").click()
        host.get_by_text("Presenter link, for whoever shares the screen copied.").wait_for()
        assert host.evaluate("navigator.clipboard.readText()") == link
        guest_link = host.get_by_label("Guest link").input_value()
        assert guest_link == f"{live_server.url}/events/{slug}/live"
        assert decode_qr(host, ".share-qr") == [guest_link]

        # Whoever shares the screen opens the link: the key never shows in the address bar.
        screen = watched_page(screen_context)
        screen.goto(link)
        assert screen.url == f"{live_server.url}/events/{slug}/live/present"
        screen.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
        first = open_participant(people[0], live_server, slug, conversation["sam"])
        second = open_participant(people[1], live_server, slug, conversation["ada"])

        expect_next = host.locator("#next-prompt-text")
        assert expect_next.inner_text() == f"Next: {QUESTIONS[0]}"
        host.get_by_role("button", name="Next question").click()
        for page in (screen, first, second):
            page.locator("#current-prompt", has_text=QUESTIONS[0]).wait_for(timeout=WAIT)
        host.locator("#next-prompt-text", has_text=QUESTIONS[2]).wait_for()

        said = [
            (first, "Our stories are data too."),
            (second, "Peer support saved my life, count that."),
            (first, "Ask us before you measure us."),
        ]
        for page, text in said:
            post(page, text)
        # The three at once, as a facilitator keeps up with a busy room.
        for _, text in said:
            queued = host.locator("#queue li", has_text=text)
            queued.wait_for(timeout=WAIT)
            queued.get_by_label("Select", exact=False).check()
        host.get_by_role("button", name="Approve selected (3)").click()
        for _, text in said:
            screen.locator("#newest li", has_text=text).wait_for(timeout=WAIT)
        assert screen.locator("#newest li").first.inner_text().startswith(said[-1][1])

        post(second, "Nothing about us without us.")
        host.locator("#queue li", has_text="Nothing about us").get_by_role(
            "button", name="Approve and feature"
        ).click()
        screen.locator("#featured li", has_text="Nothing about us").wait_for(timeout=WAIT)
        host.get_by_role("textbox", name="Phrase", exact=True).fill("We are the evidence.")
        host.get_by_label("Said by (optional)").fill("Pat")
        host.get_by_role("button", name="Capture").click()
        screen.locator("#phrases li", has_text="We are the evidence.").wait_for(timeout=WAIT)

        host.locator("#stream li", has_text="Ask us before").get_by_role(
            "button", name="Withdraw"
        ).click()
        screen.locator("#newest li", has_text="Ask us before").wait_for(
            state="detached", timeout=WAIT
        )

        host.get_by_role("button", name="Next question").click()
        screen.locator("#current-prompt", has_text=QUESTIONS[2]).wait_for(timeout=WAIT)

        # Readable when shared at 720p: large type, nothing below the fold, nothing sideways.
        screen.screenshot(path=tmp_path / "presenter-720p.png")
        assert computed_px(screen, "#current-prompt") >= 40
        assert computed_px(screen, ".present-reflections .present-text") >= 28
        assert computed_px(screen, ".present-address") >= 24
        assert smallest_text_px(screen) >= 20
        assert screen.evaluate(
            "document.documentElement.scrollHeight <= innerHeight"
            " && document.documentElement.scrollWidth <= innerWidth"
        )
        box = screen.locator(".present-qr").bounding_box()
        assert box["width"] >= 240 and box["y"] + box["height"] <= SCREEN["height"]
        assert decode_qr(screen, ".present-qr") == [f"{live_server.url}/events/{slug}/live"]
        serious = accessibility_problems(screen)
        assert serious == [], f"presenter view: {serious}"

        screen.set_viewport_size(PHONE)
        assert screen.evaluate("document.documentElement.scrollWidth <= innerWidth")
        serious = accessibility_problems(screen)
        assert serious == [], f"presenter view on a phone: {serious}"
        serious = accessibility_problems(host)
        assert serious == [], f"host page with the share panel: {serious}"
    finally:
        for context in (host_context, screen_context, *people):
            context.close()


def test_the_presenter_view_reads_without_scripts(app, live_server, chromium, conversation):
    context = chromium.new_context(viewport=SCREEN, java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/login")
        page.get_by_label("Email").fill("organiser@example.org")
        page.get_by_label("Password").fill("a long test password")
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/organiser/")
        page.goto(f"{live_server.url}/events/big-conversation/live/present")
        assert page.locator("#current-prompt").inner_text() == (
            "Share a reflection: what is on your mind?"
        )
        assert page.get_by_text("Reflections appear here once the hosts share them.").is_visible()
        assert page.locator(".present-address").inner_text() == (
            f"{live_server.url.split('://')[1]}/events/big-conversation/live"
        )
    finally:
        context.close()


def test_host_moves_a_prepared_question_up_in_the_room_and_next_question_asks_it(
    app, live_server, chromium, conversation
):
    slug = "big-conversation"
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
        for question in QUESTIONS:
            prompts.add_prepared_prompt(event, event.hosts[0].organiser, question)
    contexts = [chromium.new_context(viewport={"width": 1280, "height": 800}) for _ in range(2)]
    people = chromium.new_context(viewport=PHONE)
    try:
        host = open_host(contexts[0], live_server, slug)
        other_host = open_host(contexts[1], live_server, slug)
        participant = open_participant(people, live_server, slug, conversation["sam"])
        assert host.locator("#next-prompt-text").inner_text() == f"Next: {QUESTIONS[0]}"

        moving = host.get_by_role("button", name=f"Up: {QUESTIONS[1]}")
        moving.focus()
        host.keyboard.press("Enter")
        host.locator("#next-prompt-text", has_text=QUESTIONS[1]).wait_for(timeout=WAIT)
        # It is first now, so it has no "Up": focus stays with the question that moved.
        assert host.evaluate("document.activeElement.dataset.question") == str(
            host.evaluate(
                "document.querySelector('#prepared-list li [data-question]').dataset.question"
            )
        )
        expected = [QUESTIONS[1], QUESTIONS[0], QUESTIONS[2]]
        for page in (host, other_host):
            page.locator("#next-prompt-text", has_text=QUESTIONS[1]).wait_for(timeout=WAIT)
            assert page.locator("#prepared-list .prepared-text").all_inner_texts() == expected

        other_host.get_by_role("button", name="Next question").click()
        participant.locator("#current-prompt", has_text=QUESTIONS[1]).wait_for(timeout=WAIT)
        host.locator("#next-prompt-text", has_text=QUESTIONS[0]).wait_for(timeout=WAIT)
        # Nothing of the questions not asked yet reaches the participant's page.
        assert QUESTIONS[0] not in participant.content()
        assert QUESTIONS[2] not in participant.content()
    finally:
        for context in (*contexts, people):
            context.close()
