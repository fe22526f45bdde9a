"""Support and open moderation in real headless Chromium against a real server: a participant
asks for support, only the wellbeing host sees it and marks it handled; the participant sees
why a reflection was held back and what a host removed from another."""

from lero_events.extensions import db
from lero_events.models import EventHost

from .conftest import PASSWORD, create_event, create_organiser
from .test_live_browser import (  # noqa: F401 (no_javascript_errors is an autouse fixture)
    PHONE,
    WAIT,
    add_registration,
    no_javascript_errors,
    open_participant,
    post,
    watched_page,
)

CONTACTS = "Samaritans: call 116 123, free, day or night"


def open_host_as(context, server, slug, email):
    page = watched_page(context)
    page.goto(f"{server.url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/organiser/")
    page.goto(f"{server.url}/events/{slug}/live/host")
    page.wait_for_selector("#connection-state[data-state=connected]", timeout=WAIT)
    return page


def test_participant_asks_for_support_and_only_the_wellbeing_host_sees_it(
    app, live_server, chromium
):
    with app.app_context():
        olive = create_organiser()
        wren = create_organiser("wren@example.org", "Wren Wellbeing")
        event = create_event(owner=olive, slug="safe-room", support_contacts=CONTACTS)
        event.hosts.append(EventHost(organiser=wren, role="cohost", wellbeing=True))
        db.session.commit()
        token = add_registration(event, "Sam", display_name="Sam R")

    contexts = [chromium.new_context(viewport=PHONE) for _ in range(3)]
    try:
        wellbeing = open_host_as(contexts[0], live_server, "safe-room", "wren@example.org")
        ordinary = open_host_as(contexts[1], live_server, "safe-room", "organiser@example.org")
        sam = open_participant(contexts[2], live_server, "safe-room", token)
        assert wellbeing.locator("#support-section").is_visible()
        assert sam.locator("#support-contacts").is_hidden(), "contacts show once asked"

        sam.get_by_role("button", name="I need support").click()
        sam.get_by_text("Received at").wait_for(timeout=WAIT)
        sam.locator("#support-contacts", has_text=CONTACTS).wait_for()

        request = wellbeing.locator("#support-open li", has_text="Sam R")
        request.wait_for(timeout=WAIT)
        assert "sam@example.org" in request.inner_text()
        # The ordinary host's page shows nothing of it, not even the panel.
        assert ordinary.locator("#support-section").is_hidden()
        assert "Sam R" not in ordinary.locator("#live-room").inner_text().split("Here now")[0]

        request.get_by_role("button", name="Mark handled").click()
        wellbeing.locator("#support-open li").wait_for(state="detached", timeout=WAIT)
        assert wellbeing.get_by_text("Nobody is waiting for support.").is_visible()
        sam.reload()
        sam.get_by_text("A wellbeing host has looked after your request").wait_for(timeout=WAIT)

        # Moderation in the open: a reason for holding back, a name removed, counts for all.
        post(sam, "Off the subject entirely")
        post(sam, "My sponsor Dave helped me")
        ordinary.get_by_text("Everyone sees: 2 waiting · 0 held back").wait_for(timeout=WAIT)
        sam.get_by_text("2 waiting for the hosts · 0 held back").wait_for(timeout=WAIT)

        held = ordinary.locator("#queue li", has_text="Off the subject")
        held.get_by_text("Hold back…").click()
        held.get_by_label("Why (the author sees this)").select_option("off_topic")
        held.get_by_role("button", name="Hold back", exact=True).click()
        reason = sam.locator("#my-contributions li", has_text="Off the subject")
        reason.get_by_text("Their reason: It is not about this conversation.").wait_for(
            timeout=WAIT
        )

        named = ordinary.locator("#queue li", has_text="My sponsor Dave")
        named.get_by_text("Redact…").click()
        named.get_by_label("Words to remove").fill("Dave")
        named.get_by_role("button", name="Remove them").click()
        changed = sam.locator("#my-contributions li", has_text="My sponsor [name removed] helped")
        changed.get_by_text("A host removed a name from your reflection").wait_for(timeout=WAIT)
        sam.get_by_text("1 waiting for the hosts · 1 held back").wait_for(timeout=WAIT)
        ordinary.locator("#queue li", has_text="[name removed]").get_by_role(
            "button", name="Approve", exact=True
        ).click()
        sam.locator("#stream li", has_text="My sponsor [name removed] helped me").get_by_text(
            "A host removed a name"
        ).wait_for(timeout=WAIT)
    finally:
        for context in contexts:
            context.close()
