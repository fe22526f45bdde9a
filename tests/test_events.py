"""Organisers create, edit, publish and cancel events; the public sees them in their zone."""

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Event

from .conftest import create_event, create_organiser, csrf_token, login


def event_form(client, **overrides):
    start = datetime.now() + timedelta(days=30)
    data = {
        "csrf_token": csrf_token(client, "/organiser/events/new"),
        "title": "Spring Big Conversation",
        "slug": "",
        "description": "Ninety minutes together.",
        "timezone": "Europe/London",
        "starts_at": start.strftime("%Y-%m-%dT18:30"),
        "ends_at": start.strftime("%Y-%m-%dT20:00"),
        "capacity": "40",
        "video_url": "https://meet.example.org/spring",
        "agenda-0-title": "Welcome",
        "agenda-0-kind": "talk",
        "agenda-0-starts_at": start.strftime("%Y-%m-%dT18:30"),
        "agenda-0-ends_at": start.strftime("%Y-%m-%dT18:40"),
        "agenda-1-title": "",
        "agenda-1-kind": "session",
        "agenda-1-starts_at": "",
        "agenda-1-ends_at": "",
    }
    data.update(overrides)
    return data


def test_organiser_creates_publishes_and_public_sees_event(app, client):
    with app.app_context():
        create_organiser()
    login(client)
    response = client.post("/organiser/events/new", data=event_form(client))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/organiser/events/spring-big-conversation/edit")

    assert "Spring Big Conversation" not in app.test_client().get("/").get_data(as_text=True)
    client.post(
        "/organiser/events/spring-big-conversation/publish",
        data={"csrf_token": csrf_token(client, "/organiser/")},
    )

    anonymous = app.test_client()
    listing = anonymous.get("/").get_data(as_text=True)
    assert 'href="/events/spring-big-conversation"' in listing
    page = anonymous.get("/events/spring-big-conversation").get_data(as_text=True)
    assert "18:30–20:00" in page
    assert "(Europe/London)" in page
    assert "Welcome" in page
    assert "https://meet.example.org/spring" not in page, "the call link is for attendees only"
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert event.capacity == 40
        assert event.agenda_items[0].title == "Welcome"


def test_times_are_stored_in_utc_from_the_event_zone(app, client):
    with app.app_context():
        create_organiser()
    login(client)
    form = event_form(
        client,
        timezone="America/New_York",
        starts_at="2027-07-01T09:00",
        ends_at="2027-07-01T10:30",
    )
    form.update({"agenda-0-starts_at": "2027-07-01T09:00", "agenda-0-ends_at": "2027-07-01T09:10"})
    assert client.post("/organiser/events/new", data=form).status_code == 302
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert event.starts_at == datetime(2027, 7, 1, 13, 0, tzinfo=UTC)
        assert event.ends_at == datetime(2027, 7, 1, 14, 30, tzinfo=UTC)


def test_invalid_event_gets_clear_messages_and_nothing_saved(app, client):
    with app.app_context():
        create_organiser()
        create_event(title="Taken", slug="taken")
    login(client)
    form = event_form(client, timezone="Mars/Olympus", slug="taken")
    response = client.post("/organiser/events/new", data=form)
    assert response.status_code == 400
    assert "is not a time zone we know" in response.get_data(as_text=True)

    form = event_form(client, slug="taken", ends_at=form["starts_at"].replace("18:30", "17:00"))
    page = client.post("/organiser/events/new", data=form).get_data(as_text=True)
    assert "The event must end after it starts." in page
    assert "is taken by another event" in page

    form = event_form(client)
    form["agenda-0-ends_at"] = form["ends_at"].replace("20:00", "21:00")
    page = client.post("/organiser/events/new", data=form).get_data(as_text=True)
    assert "Agenda item 1: it must sit inside the event&#39;s start and end." in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Event.id))) == 1


def test_time_skipped_by_the_clocks_is_refused(app, client):
    with app.app_context():
        create_organiser()
    login(client)
    form = event_form(client, starts_at="2027-03-28T01:30", ends_at="2027-03-28T03:00")
    form["agenda-0-title"] = ""
    form["agenda-0-starts_at"] = form["agenda-0-ends_at"] = ""
    page = client.post("/organiser/events/new", data=form).get_data(as_text=True)
    assert "01:30 on 28 Mar 2027 does not exist in Europe/London" in page


def test_editing_time_raises_calendar_sequence_but_title_does_not(app, client):
    with app.app_context():
        create_event(slug="edit-me", video_url="https://meet.example.org/a")
    login(client)
    page = client.get("/organiser/events/edit-me/edit").get_data(as_text=True)
    assert 'value="A Big Conversation"' in page
    form = event_form(client, title="Renamed", slug="edit-me")
    for name in ("title", "starts_at", "ends_at"):
        form[f"agenda-0-{name}"] = ""
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        uid, local_start = event.ical_uid, event.local_starts_at
    form["starts_at"] = local_start.strftime("%Y-%m-%dT%H:%M")
    form["ends_at"] = (local_start + timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M")
    form["video_url"] = "https://meet.example.org/a"
    assert client.post("/organiser/events/edit-me/edit", data=form).status_code == 302
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert (event.title, event.ical_sequence, event.ical_uid) == ("Renamed", 0, uid)
    form["ends_at"] = (local_start + timedelta(minutes=120)).strftime("%Y-%m-%dT%H:%M")
    assert client.post("/organiser/events/edit-me/edit", data=form).status_code == 302
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert (event.ical_sequence, event.ical_uid) == (1, uid)


def test_cancelled_event_shows_banner_and_leaves_listing(app, client):
    with app.app_context():
        create_event(slug="to-cancel")
    login(client)
    client.post(
        "/organiser/events/to-cancel/cancel", data={"csrf_token": csrf_token(client, "/organiser/")}
    )
    anonymous = app.test_client()
    assert "to-cancel" not in anonymous.get("/").get_data(as_text=True)
    assert "This event has been cancelled." in anonymous.get("/events/to-cancel").get_data(
        as_text=True
    )


def test_drafts_and_organiser_pages_are_private(app, client):
    with app.app_context():
        create_event(slug="secret-draft", publish=False)
        create_organiser("other@example.org", "Other Host")
    assert client.get("/events/secret-draft").status_code == 404
    response = client.get("/organiser/events/secret-draft/edit")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    login(client, "other@example.org")
    # Another organiser's draft does not exist as far as they can tell.
    assert client.get("/organiser/events/secret-draft/edit").status_code == 404
    assert client.get("/events/secret-draft").status_code == 404


def test_cohost_can_edit_after_being_added_and_an_unknown_address_is_invited(app, client):
    with app.app_context():
        create_event(slug="shared")
        create_organiser("cohost@example.org", "Casey Cohost")
    login(client)
    token = csrf_token(client, "/organiser/events/shared/edit")
    client.post(
        "/organiser/events/shared/cohosts",
        data={"email": "nobody@example.org", "csrf_token": token},
    )
    page = client.get("/organiser/events/shared/edit").get_data(as_text=True)
    assert "nobody@example.org has no account yet, so an invitation to make one" in page
    client.post(
        "/organiser/events/shared/cohosts",
        data={"email": "COHOST@example.org", "csrf_token": token},
    )
    cohost = app.test_client()
    login(cohost, "cohost@example.org")
    page = cohost.get("/organiser/events/shared/edit").get_data(as_text=True)
    assert "Casey Cohost (cohost)" in page


def test_forms_without_csrf_token_are_refused(app, client):
    with app.app_context():
        create_event(slug="csrf")
    login(client)
    response = client.post("/organiser/events/csrf/cancel")
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(Event.status)) == "published"


def test_login_refuses_wrong_password_with_one_message(app, client):
    with app.app_context():
        create_organiser()
    response = login(client, password="wrong password!")
    assert response.status_code == 400
    assert "do not match an organiser" in response.get_data(as_text=True)
    assert client.get("/organiser/").status_code == 302
    assert login(client).status_code == 302
    assert client.get("/organiser/").status_code == 200
