"""An event's life: cancelling after confirming, back to draft, running it again, deleting."""

from datetime import datetime

import sqlalchemy as sa

from lero_events import events, moderation, team
from lero_events.extensions import db
from lero_events.models import (
    AgendaItem,
    CohostInvitation,
    Event,
    OutgoingEmail,
    Phrase,
    Prompt,
    SketchNote,
)

from .conftest import create_event, create_organiser, create_registration, csrf_token, login
from .test_harvest_sketches import image_bytes, saved_files, upload, upload_dir
from .test_registration import calendar_in

EDIT = "/organiser/events/{}/edit"


def event_named(app, slug):
    with app.app_context():
        return db.session.scalar(sa.select(Event).where(Event.slug == slug))


def test_cancelling_asks_first_and_takes_an_optional_message(app, client, smtp_server):
    with app.app_context():
        event = create_event(slug="called-off")
        create_registration(event, "Ada", "ada@example.org")
    login(client)
    confirm = client.get("/organiser/events/called-off/cancel")
    page = confirm.get_data(as_text=True)
    assert "Cancel A Big Conversation?" in page
    assert "1 person is booked or waiting" in page
    assert event_named(app, "called-off").status == "published", "asking changes nothing"

    token = csrf_token(client, "/organiser/events/called-off/cancel")
    too_long = client.post(
        "/organiser/events/called-off/cancel", data={"csrf_token": token, "message": "x" * 2001}
    )
    assert too_long.status_code == 400
    assert "Field cannot be longer than 2000 characters." in too_long.get_data(as_text=True)
    assert event_named(app, "called-off").status == "published"

    response = client.post(
        "/organiser/events/called-off/cancel",
        data={"csrf_token": token, "message": "The venue flooded. We will be back in spring."},
    )
    assert response.status_code == 302
    assert event_named(app, "called-off").status == "cancelled"
    [told] = smtp_server.messages()
    assert (told["To"], told["Subject"]) == ("ada@example.org", "Cancelled: A Big Conversation")
    body = told.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert "A message from the organiser:\n\nThe venue flooded. We will be back in spring." in body
    assert calendar_in(told)[0] == "CANCEL"


def test_a_published_event_goes_back_to_draft_only_before_anyone_registered(app, client):
    with app.app_context():
        create_event(slug="quiet")
        booked = create_event(slug="booked", title="Booked")
        create_registration(booked, status="cancelled")
    login(client)
    token = csrf_token(client, EDIT.format("quiet"))
    client.post("/organiser/events/quiet/unpublish", data={"csrf_token": token})
    assert event_named(app, "quiet").status == "draft"
    assert app.test_client().get("/events/quiet").status_code == 404

    refused = client.post(
        "/organiser/events/booked/unpublish", data={"csrf_token": token}, follow_redirects=True
    )
    assert "People have registered, so it cannot go back to being a draft" in refused.get_data(
        as_text=True
    )
    assert event_named(app, "booked").status == "published"


def test_run_it_again_copies_a_draft_with_the_agenda_moved_by_wall_clock_time(app, client):
    with app.app_context():
        owner = create_organiser()
        cohost = create_organiser("co@example.org", "Cora Cohost")
        # 18:30 on a winter evening in London (UTC+0)...
        event = create_event(
            owner=owner,
            slug="winter",
            title="Winter Conversation",
            starts_at=datetime(2026, 12, 10, 18, 30),
            ends_at=datetime(2026, 12, 10, 20, 0),
            capacity=40,
            description="Come as you are.",
            agenda=[
                events.AgendaItemData(
                    "Welcome",
                    "talk",
                    datetime(2026, 12, 10, 18, 30),
                    datetime(2026, 12, 10, 18, 45),
                )
            ],
        )
        events.add_cohost(event, "co@example.org")
        create_registration(event, "Ada", "ada@example.org")
        original_uid = event.ical_uid
        cohost_id = cohost.id
    login(client)
    form = client.get("/organiser/events/winter/duplicate").get_data(as_text=True)
    assert 'value="Winter Conversation"' in form
    token = csrf_token(client, "/organiser/events/winter/duplicate")
    missing = client.post("/organiser/events/winter/duplicate", data={"csrf_token": token})
    assert missing.status_code == 400
    assert "Choose when the new event starts." in missing.get_data(as_text=True)

    # ...run again at 18:30 on a summer evening (UTC+1): still 18:30 in London.
    response = client.post(
        "/organiser/events/winter/duplicate",
        data={
            "csrf_token": token,
            "title": "Summer Conversation",
            "starts_at": "2027-06-17T18:30",
        },
    )
    assert response.status_code == 302
    assert response.headers["Location"].endswith(
        "/organiser/events/summer-conversation-2027-06-17/edit"
    )
    with app.app_context():
        copy = db.session.scalar(
            sa.select(Event).where(Event.slug == "summer-conversation-2027-06-17")
        )
        assert copy.status == "draft" and copy.ical_uid != original_uid
        assert (copy.capacity, copy.description) == (40, "Come as you are.")
        assert f"{copy.local_starts_at:%H:%M}–{copy.local_ends_at:%H:%M}" == "18:30–20:00"
        assert copy.starts_at.hour == 17, "BST: 18:30 in London is 17:30 UTC"
        item = copy.agenda_items[0]
        assert (item.title, f"{item.starts_at.astimezone(copy.zone):%Y-%m-%d %H:%M}") == (
            "Welcome",
            "2027-06-17 18:30",
        )
        assert {(h.organiser_id, h.role) for h in copy.hosts} == {
            (1, "owner"),
            (cohost_id, "cohost"),
        }
        assert events.has_registrations(copy) is False

    # The same again on the same day gets its own address.
    client.post(
        "/organiser/events/winter/duplicate",
        data={"csrf_token": token, "title": "Summer Conversation", "starts_at": "2027-06-17T18:30"},
    )
    assert event_named(app, "summer-conversation-2027-06-17-2") is not None


def test_a_draft_is_deleted_with_everything_it_had_and_others_are_refused(app, client):
    with app.app_context():
        start = datetime(2027, 3, 4, 18, 0)
        draft = create_event(
            slug="sketchy",
            publish=False,
            starts_at=start,
            agenda=[events.AgendaItemData("Welcome", "talk", start, start.replace(minute=10))],
        )
        host = draft.hosts[0].organiser
        moderation.set_prompt(draft, host, "What brought you here?")
        moderation.capture_phrase(draft, host, "Recovery is a team sport", "A speaker")
        team.invite_cohost(draft, host, "new@example.org")  # an invitation and its email
        create_event(slug="public-one", title="Public one")
    login(client)
    assert upload(client, image_bytes()).status_code == 302
    assert len(saved_files(app)) == 1

    confirm = client.get("/organiser/events/sketchy/delete").get_data(as_text=True)
    assert "Delete A Big Conversation?" in confirm
    token = csrf_token(client, "/organiser/events/sketchy/delete")
    response = client.post("/organiser/events/sketchy/delete", data={"csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"].endswith("/organiser/")
    assert event_named(app, "sketchy") is None
    with app.app_context():
        for model in (Prompt, Phrase, SketchNote, AgendaItem, CohostInvitation, OutgoingEmail):
            assert db.session.scalars(sa.select(model)).all() == [], model.__name__
    assert saved_files(app) == [] and upload_dir(app).exists()

    refused = client.post(
        "/organiser/events/public-one/delete", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Only a draft can be deleted" in refused.get_data(as_text=True)
    assert event_named(app, "public-one") is not None
