"""A host writes to registrants in Chromium; the server's own worker delivers through SMTP."""

from .conftest import PASSWORD, SMTPServer, create_event, create_registration, wait_until


def test_host_previews_and_sends_a_message_that_reaches_every_confirmed_person(
    app, start_server, chromium, accessibility_problems
):
    with app.app_context():
        event = create_event(slug="big-conversation", title="Big Conversation")
        for number in range(5):
            create_registration(event, name=f"Person {number}", email=f"p{number}@example.org")
        create_registration(event, name="Wendy Waiting", status="waitlisted")
    smtp = SMTPServer(app).start()
    server = start_server(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    # bypass_csp only so the test can inject axe; the pages' own policy is unchanged.
    context = chromium.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(server.url + "/login")
        page.get_by_label("Email").fill("organiser@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.goto(server.url + "/organiser/events/big-conversation/edit")
        page.get_by_role("link", name="Write to registrants").click()
        assert page.get_by_label("Confirmed attendees (5)").is_checked()

        page.get_by_role("button", name="Send").click()  # empty: every error shows
        assert page.locator(".error-summary").is_visible()
        assert accessibility_problems(page) == []

        page.get_by_label("Subject").fill("The link for tonight")
        page.get_by_role("textbox", name="Message").fill(
            "We start at seven.\n\nBring a cup of tea."
        )
        page.get_by_role("button", name="Preview").click()
        preview = page.locator(".preview").inner_text()
        assert "It goes to 5 people" in preview
        assert "Hello Person 0,\n\nWe start at seven.\n\nBring a cup of tea." in preview
        assert smtp.received == []
        assert accessibility_problems(page) == []

        page.get_by_role("button", name="Send").click()
        assert "on its way to 5 people" in page.locator(".flashes").inner_text()
        wait_until(lambda: len(smtp.received) == 5)  # the worker delivers every email
        assert sorted(m["To"] for m in smtp.received) == [f"p{n}@example.org" for n in range(5)]
        wait_until(lambda: page.reload() and page.locator(".status-email-sent").count() == 5)
        assert accessibility_problems(page) == []
    finally:
        context.close()
        smtp.stop()
