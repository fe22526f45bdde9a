"""The pages behind emailed links (co-host invitation, password reset) in Chromium, with axe."""

import sqlalchemy as sa

from lero_events import team
from lero_events.extensions import db
from lero_events.models import CohostInvitation, Organiser

from .conftest import create_event, create_organiser

NEW_PASSWORD = "a brand new passphrase"


def test_invitation_and_reset_pages_work_in_chromium_and_axe_finds_nothing_serious(
    app, live_server, chromium, accessibility_problems
):
    with app.app_context():
        event = create_event(slug="big-conversation", title="Big Conversation")
        invitation = CohostInvitation(
            event_id=event.id, email="cora@example.org", invited_by_id=event.hosts[0].organiser_id
        )
        db.session.add(invitation)
        db.session.commit()
        invitation_link = "/invitations/" + team.signer(team.INVITATION_SALT).dumps(invitation.id)
        olive = create_organiser("olive2@example.org", "Olive Two")
        reset_link = "/reset-password/" + team.signer(team.RESET_SALT).dumps(
            {"id": olive.id, "pw": team.password_fingerprint(olive)}
        )
    # bypass_csp only so the test can inject axe; the pages' own policy is unchanged.
    context = chromium.new_context(bypass_csp=True, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto(live_server.url + invitation_link)
        assert "invited cora@example.org" in page.locator("main").inner_text()
        assert accessibility_problems(page) == []
        page.get_by_label("Your name").fill("Cora Cohost")
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("The same password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Make my account and join").click()
        assert "you co-host Big Conversation" in page.locator(".flashes").inner_text()

        page.goto(live_server.url + invitation_link)
        assert "This invitation has been used already" in page.locator("main").inner_text()
        assert accessibility_problems(page) == []

        page.context.clear_cookies()
        page.goto(live_server.url + reset_link)
        assert accessibility_problems(page) == []
        page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        page.get_by_label("The same password again").fill(NEW_PASSWORD)
        page.get_by_role("button", name="Save the new password").click()
        page.goto(live_server.url + reset_link)
        assert "This link has been used already" in page.locator("main").inner_text()
        assert accessibility_problems(page) == []
    finally:
        context.close()
    with app.app_context():
        assert db.session.scalar(
            sa.select(Organiser.name).where(Organiser.email == "cora@example.org")
        ) == ("Cora Cohost")
