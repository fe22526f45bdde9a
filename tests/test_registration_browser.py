"""Registering, opening the private link from the email and cancelling, in headless Chromium."""

import email
import email.policy
import re
import time
from pathlib import Path

from .conftest import create_event, run_tasks
from .test_registration import register, registrations


def emails_to(app, outbox, address, count):
    """The .eml files to `address`, once `count` are there: the server's worker writes them in
    the background, and the test app's own queue is worked here (both share the folder)."""
    deadline = time.monotonic() + 15
    while True:
        run_tasks(app)
        messages = [
            email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(Path(outbox).glob("*.eml"))
        ]
        found = [message for message in messages if message["To"] == address]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        time.sleep(0.1)


def test_attendee_registers_opens_their_link_cancels_and_the_waitlist_moves_up(
    app, live_server, page
):
    with app.app_context():
        create_event(
            title="The Big Conversation", slug="big-conversation", capacity=1, description="Hi."
        )
    outbox = Path(live_server.env["LERO_INSTANCE_PATH"]) / "outbox"

    page.goto(live_server.url + "/events/big-conversation")
    assert page.locator(".seats-left").inner_text() == "A few places left."
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Your name").fill("Sam Browser")
    page.get_by_label("Email").fill("sam@example.org")
    page.get_by_label("Name to show in the live room (optional)").fill("Sam")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(re.compile(r".*/register/check-email$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"

    (booked,) = emails_to(app, outbox, "sam@example.org", 1)
    link = re.search(r"http://\S+/r/\S+", booked.get_body(("plain",)).get_content()).group(0)
    assert link.startswith(live_server.url + "/r/"), "emails link back to the server itself"
    page.goto(link)
    assert "You are booked, Sam Browser." in page.locator(".registration-status").inner_text()
    assert page.get_by_role("link", name="Join the live room").is_visible()

    # Someone else arrives after the last seat went: the waitlist (their email goes to the
    # same outbox: the test app and the server share the instance folder and database).
    register(app.test_client(), email="waiting@example.org", name="Wendy Waiting")
    run_tasks(app)  # the test app's own queue: its waitlist email is written now
    assert registrations(app) == [
        ("sam@example.org", "confirmed"),
        ("waiting@example.org", "waitlisted"),
    ]

    fresh = page.context.new_page()
    fresh.goto(link)
    fresh.get_by_role("link", name="Cancel my registration").click()
    assert fresh.get_by_role("heading", level=1).inner_text() == "Cancel your registration?"
    fresh.get_by_role("button", name="Yes, cancel my registration").click()
    fresh.wait_for_url(link)
    assert "Your registration is cancelled." in fresh.locator(".flashes").inner_text()
    assert "You cancelled this registration." in fresh.locator(".registration-status").inner_text()

    assert registrations(app) == [
        ("sam@example.org", "cancelled"),
        ("waiting@example.org", "confirmed"),
    ]
    promoted = emails_to(app, outbox, "waiting@example.org", 2)
    assert [m["Subject"] for m in promoted] == [
        "You are on the waitlist: The Big Conversation",
        "A place is yours: The Big Conversation",
    ]


def test_registration_pages_have_no_serious_accessibility_problems(
    app, live_server, chromium, accessibility_problems
):
    with app.app_context():
        create_event(slug="big-conversation", capacity=5)
    # bypass_csp only so the test can inject axe; the pages' own policy is unchanged.
    context = chromium.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_server.url + "/events/big-conversation/register")
        page.get_by_role("button", name="Register").click()  # empty: every error shows
        assert page.locator(".error-summary").is_visible()
        assert accessibility_problems(page) == []
        page.get_by_label("Your name").fill("Ada")
        page.get_by_label("Email").fill("ada@example.org")
        page.get_by_label("I have read the privacy notice").check()
        page.get_by_role("button", name="Register").click()
        page.wait_for_url(re.compile(r".*/register/check-email$"))
        assert accessibility_problems(page) == []
        outbox = Path(live_server.env["LERO_INSTANCE_PATH"]) / "outbox"
        (booked,) = emails_to(app, outbox, "ada@example.org", 1)
        private = re.search(r"http://\S+/r/\S+", booked.get_body(("plain",)).get_content())[0]
        for url in (private, private + "/cancel", private + "/erase"):
            page.goto(url)
            assert accessibility_problems(page) == [], url
    finally:
        context.close()
