"""One place for each rule: a person's name, a confirmed place and who sees what read the same
in the live room (real Socket.IO clients against a real server), the harvest page and its
exports."""

import json
from datetime import UTC, datetime

import pytest

from lero_events import attendance
from lero_events.errors import DomainError
from lero_events.extensions import db
from lero_events.models import Registration
from lero_events.registrations import private_token

from .conftest import create_event, create_organiser, create_registration
from .live_clients import LiveClient, host_headers, refused_message
from .test_harvest import add_contribution, text_of


@pytest.fixture
def named_room(app):
    """A published event with a published harvest and one approved post per way of naming."""
    with app.app_context():
        organiser = create_organiser()
        event = create_event(owner=organiser, allow_guests=True)
        event.harvest_published = True
        db.session.commit()
        spaced = create_registration(event, display_name="  Sam Spaced  ")
        blank = create_registration(event, display_name="   ")
        erased = create_registration(event, display_name="Erin", status="cancelled")
        erased.erased_at = datetime.now(UTC)
        db.session.commit()
        add_contribution(event, "Spaced name", registration=spaced)
        add_contribution(event, "Blank name", registration=blank)
        add_contribution(event, "Erased name", registration=erased)
        add_contribution(event, "Chose anonymous", registration=spaced, anonymous=True)
        add_contribution(event, "Spaced guest", guest_name="  Gil  ")
        return {
            "slug": event.slug,
            "tokens": {"spaced": private_token(spaced), "blank": private_token(blank)},
        }


EXPECTED_AUTHORS = {
    "Spaced name": "Sam Spaced",
    "Blank name": "Anonymous",
    "Erased name": "Anonymous",
    "Chose anonymous": "Anonymous",
    "Spaced guest": "Gil",
}


def test_a_name_reads_the_same_in_the_live_room_the_harvest_and_every_export(
    app, named_room, start_server
):
    slug = named_room["slug"]
    server = start_server()
    host = LiveClient(server, {"slug": slug, "role": "host"}, host_headers(server)).connect()
    stream = host.state["snapshot"]["stream"]
    live_authors = {e["contribution"]["text"]: e["contribution"]["author"] for e in stream}
    assert live_authors == EXPECTED_AUTHORS
    for who, name in (("spaced", "Sam Spaced"), ("blank", "Anonymous")):
        auth = {"slug": slug, "token": named_room["tokens"][who]}
        assert LiveClient(server, auth).connect().state["you"]["name"] == name

    visitor = app.test_client()
    page = text_of(visitor.get(f"/events/{slug}/harvest"))
    assert "Sam Spaced" in page and "  Sam Spaced" not in page and "Erin" not in page
    data = json.loads(visitor.get(f"/events/{slug}/harvest/export.json").get_data(as_text=True))
    exported = {c["text"]: c["author"] for p in data["prompts"] for c in p["contributions"]}
    assert exported == EXPECTED_AUTHORS
    markdown = visitor.get(f"/events/{slug}/harvest/export.md").get_data(as_text=True)
    assert "- Spaced guest (Gil)" in markdown and "- Erased name (Anonymous)" in markdown
    csv_text = visitor.get(f"/events/{slug}/harvest/export.csv").get_data(as_text=True)
    assert "Spaced name,Sam Spaced" in csv_text and "Erin" not in csv_text


def test_a_confirmed_row_that_was_erased_holds_no_place_anywhere(app, start_server):
    """The retention purge may leave a confirmed status on an erased row. It gets in nowhere,
    as one rule answers the live room, its page and attendance marks."""
    with app.app_context():
        organiser = create_organiser()
        event = create_event(owner=organiser)
        kept = create_registration(event, organisation="Kept Org")
        gone = create_registration(event, organisation="Gone Org")
        gone.erased_at = datetime.now(UTC)
        db.session.commit()
        slug, token, gone_id = event.slug, private_token(gone), gone.id
        kept_token = private_token(kept)

    server = start_server()
    refused = refused_message(server, {"slug": slug, "token": token})
    assert refused == "This registration is not confirmed, so it cannot join the live room."
    assert LiveClient(server, {"slug": slug, "token": kept_token}).connect().state["you"]
    page = app.test_client().get(f"/events/{slug}/live?token={token}")
    assert page.status_code == 403 and "not confirmed" in text_of(page)
    with app.app_context(), pytest.raises(DomainError, match="Only confirmed people"):
        attendance.mark_attended(db.session.get(Registration, gone_id), organiser)
