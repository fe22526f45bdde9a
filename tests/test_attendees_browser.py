"""The hosts' registrations page in headless Chromium: searching, giving a waiting person a
place, booking by phone and cancelling, with no serious axe-core problems on the way."""

from playwright.sync_api import expect

from .conftest import create_event, create_registration
from .test_harvest_browser import collect_dialogs, log_in


def test_host_works_the_registrations_page_in_chromium_and_axe_finds_nothing_serious(
    app, live_server, chromium, accessibility_problems
):
    with app.app_context():
        event = create_event(slug="big-conversation", capacity=1)
        create_registration(
            event,
            "Ada Lovelace",
            "ada@example.org",
            organisation="Hope Street Recovery",
            access_needs="Step-free access",
        )
        create_registration(event, "Wendy <b>Waiting</b>", "wendy@example.org", status="waitlisted")
    # bypass_csp only so the test can inject axe; the pages' own policy is unchanged.
    context = chromium.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    dialogs = collect_dialogs(page)
    try:
        log_in(page, live_server.url)
        page.goto(live_server.url + "/organiser/events/big-conversation/edit")
        page.get_by_role("link", name="See who has registered").click()
        page.wait_for_url("**/events/big-conversation/registrations")
        expect(page.get_by_role("heading", level=2, name="2 registrations")).to_be_visible()
        assert accessibility_problems(page) == []

        page.get_by_label("Search names, emails and organisations").fill("hope street")
        page.get_by_role("button", name="Search").click()
        # Waits for the search's page, which a loaded machine may still be drawing.
        expect(page.get_by_role("heading", level=2, name="1 of 2 registrations")).to_be_visible()
        needs = page.locator(".access-needs").inner_text()
        assert " ".join(needs.split()) == "Sensitive: Step-free access"

        page.goto(live_server.url + "/events/big-conversation/registrations")
        page.get_by_role("button", name="Give Wendy <b>Waiting</b> a place").click()
        assert "Wendy <b>Waiting</b> has a place now" in page.locator(".flashes").inner_text()

        page.get_by_label("Their name").fill("Phil Phone")
        page.get_by_label("Email", exact=True).fill("phil@example.org")
        page.get_by_role("button", name="Book the place").click()  # consent not ticked
        assert page.locator(".error-summary").is_visible()
        assert accessibility_problems(page) == []
        page.get_by_label("They have heard or read the privacy notice").check()
        page.get_by_role("button", name="Book the place").click()
        assert "Phil Phone is waitlisted" in page.locator(".flashes").inner_text()

        page.get_by_role("link", name="Cancel Ada Lovelace's place…").click()
        assert accessibility_problems(page) == []
        page.get_by_label("Reason (they will read it)").fill("The room is smaller.")
        page.get_by_role("button", name="Yes, cancel Ada Lovelace's place").click()
        assert "Ada Lovelace's place is cancelled" in page.locator(".flashes").inner_text()
        counts = " ".join(page.get_by_role("list", name="Counts").inner_text().split())
        assert counts == "1 confirmed of 1 places 1 waiting 1 cancelled 0 erased"

        page.get_by_role("link", name="Who has looked at this list").click()
        assert page.locator("tbody tr").count() >= 4
        assert accessibility_problems(page) == []
    finally:
        context.close()
    assert errors == [] and dialogs == []


def test_lifecycle_and_account_pages_have_no_serious_accessibility_problems(
    app, live_server, chromium, accessibility_problems
):
    with app.app_context():
        create_event(slug="big-conversation")
        create_event(slug="a-draft", title="A draft", publish=False)
    context = chromium.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        for path in ("/login", "/forgot-password"):
            page.goto(live_server.url + path)
            assert accessibility_problems(page) == [], path
        page.get_by_role("button", name="Email me a link").click()  # empty: the error shows
        assert accessibility_problems(page) == []
        log_in(page, live_server.url)
        for path in (
            "/organiser/events/big-conversation/edit",
            "/organiser/events/big-conversation/cancel",
            "/organiser/events/big-conversation/duplicate",
            "/organiser/events/a-draft/delete",
        ):
            page.goto(live_server.url + path)
            assert accessibility_problems(page) == [], path
    finally:
        context.close()
