"""Registering, opening the private link from the email and cancelling, in headless Chromium."""

import email
import email.policy
import re
from pathlib import Path

from .conftest import create_event
from .test_registration import register, registrations


def emails_in(outbox):
    return [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(Path(outbox).glob("*.eml"))
    ]


def test_attendee_registers_opens_their_link_cancels_and_the_waitlist_moves_up(
    app, live_server, page
):
    with app.app_context():
        create_event(
            title="The Big Conversation", slug="big-conversation", capacity=1, description="Hi."
        )
    outbox = Path(live_server.env["LERO_INSTANCE_PATH"]) / "outbox"

    page.goto(live_server.url + "/events/big-conversation")
    assert page.locator(".seats-left").inner_text() == "1 place left."
    page.get_by_role("link", name="Register").click()
    page.get_by_label("Your name").fill("Sam Browser")
    page.get_by_label("Email").fill("sam@example.org")
    page.get_by_label("Name to show in the live room (optional)").fill("Sam")
    page.get_by_label("I have read the privacy notice").check()
    page.get_by_role("button", name="Register").click()
    page.wait_for_url(re.compile(r".*/register/check-email$"))
    assert page.get_by_role("heading", level=1).inner_text() == "Check your email"

    booked = next(m for m in emails_in(outbox) if m["To"] == "sam@example.org")
    link = re.search(r"http://\S+/r/\S+", booked.get_body(("plain",)).get_content()).group(0)
    assert link.startswith(live_server.url + "/r/"), "emails link back to the server itself"
    page.goto(link)
    assert "You are booked, Sam Browser." in page.locator(".registration-status").inner_text()
    assert page.get_by_role("link", name="Join the live room").is_visible()

    # Someone else arrives after the last seat went: the waitlist (their email goes to the
    # same outbox: the test app and the server share the instance folder and database).
    register(app.test_client(), email="waiting@example.org", name="Wendy Waiting")
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
    promoted = [m for m in emails_in(outbox) if m["To"] == "waiting@example.org"]
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
        (booked,) = emails_in(outbox)
        private = re.search(r"http://\S+/r/\S+", booked.get_body(("plain",)).get_content())[0]
        for url in (private, private + "/cancel", private + "/erase"):
            page.goto(url)
            assert accessibility_problems(page) == [], url
    finally:
        context.close()
