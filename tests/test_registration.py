"""Attendees register, join the waitlist, use their private link, cancel and erase their data."""

import email
import email.policy
import re
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest
import sqlalchemy as sa

from lero_events import events
from lero_events.extensions import db
from lero_events.models import Event, Registration

from .conftest import create_event, csrf_token, login, run_tasks

TOKEN_IN_PATH = re.compile(r"/r/(\d+\.[A-Za-z0-9_-]+)")


def register(client, slug="big-conversation", headers=None, **fields):
    """Fill in and send the real registration form; returns the response (not followed)."""
    data = {
        "csrf_token": csrf_token(client),
        "name": "Robin Reader",
        "email": "robin@example.org",
        "organisation": "Hope Street Recovery",
        "display_name": "Robin",
        "access_needs": "Captions, please.",
        "consent": "y",
    }
    data.update(fields)
    return client.post(
        f"/events/{slug}/register", data={k: v for k, v in data.items() if v}, headers=headers
    )


def token_from(response, mail):
    """The private token a registration sent by email; the response itself never shows it.

    `mail` is the smtp_server fixture, or the app (the worker writes to its outbox folder).
    """
    assert response.status_code == 303, response.get_data(as_text=True)
    assert response.headers["Location"].endswith("/register/check-email")
    if hasattr(mail, "messages"):
        messages = mail.messages()
    else:
        messages = [parsed(raw) for raw in outbox(mail)]
    body = messages[-1].get_body(("plain",)).get_content()
    return TOKEN_IN_PATH.search(body).group(1)


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def registrations(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(Registration).order_by(Registration.id)).all()
        return [(r.email, r.status) for r in rows]


def outbox(app):
    """The .eml files the worker wrote (no MAIL_SERVER), oldest first, as bytes."""
    run_tasks(app)
    folder = Path(app.config["OUTBOX_DIR"])
    return [path.read_bytes() for path in sorted(folder.glob("*.eml"))] if folder.exists() else []


def calendar_in(message):
    """The text/calendar part of an email: (its Content-Type method, the parsed calendar)."""
    parts = [part for part in message.walk() if part.get_content_type() == "text/calendar"]
    assert len(parts) == 1, "expected exactly one calendar part"
    return parts[0].get_param("method"), icalendar.Calendar.from_ical(parts[0].get_content())


@pytest.fixture
def event(app):
    with app.app_context():
        return create_event(
            slug="big-conversation",
            capacity=2,
            video_url="https://meet.example.org/big",
        ).id


def test_new_attendee_is_booked_sees_confirmation_and_gets_invite_by_smtp(
    app, client, event, smtp_server
):
    page = client.get("/events/big-conversation").get_data(as_text=True)
    assert 'href="/events/big-conversation/register"' in page
    assert "A few places left." in page and "2 places" not in page

    form = client.get("/events/big-conversation/register").get_data(as_text=True)
    assert "Olive Organiser, who runs this event, is the controller" in form
    assert "version 2026-12" in form

    token = token_from(register(client), smtp_server)
    confirmation = client.get(f"/r/{token}")
    text = confirmation.get_data(as_text=True)
    assert confirmation.status_code == 200
    assert confirmation.headers["Cache-Control"] == "no-store"
    assert "You are booked, Robin Reader." in text
    assert f'href="/r/{token}/invite.ics"' in text
    assert f"/events/big-conversation/live?token={token}" in text
    assert "https://meet.example.org/big" not in text, "the call link waits for the start"
    assert f'href="/r/{token}/cancel"' in text and f'href="/r/{token}/erase"' in text

    with app.app_context():
        registration = db.session.scalar(sa.select(Registration))
        assert registration.status == "confirmed"
        assert registration.organisation == "Hope Street Recovery"
        assert registration.consent_version == "2026-12"
        assert datetime.now(ZoneInfo("UTC")) - registration.consent_at < timedelta(minutes=1)
        assert len(registration.token) >= 43, "at least 256 bits, base64"
        uid = db.session.get(Event, event).ical_uid

    (message,) = smtp_server.messages()
    assert message["To"] == "robin@example.org"
    assert message["From"] == app.config["MAIL_DEFAULT_SENDER"]
    assert message["Subject"] == "You are booked: A Big Conversation"
    assert f"http://localhost/r/{token}" in message.get_body(("plain",)).get_content().splitlines()
    method, calendar = calendar_in(message)
    assert method == "REQUEST" == calendar["METHOD"]
    part = next(p for p in message.walk() if p.get_content_type() == "text/calendar")
    assert part.get_content_charset() == "utf-8"
    (vevent,) = calendar.walk("VEVENT")
    assert str(vevent["UID"]) == uid
    assert "robin@example.org" in str(vevent["ATTENDEE"])
    assert outbox(app) == [], "with an SMTP server nothing goes to the outbox"


def test_full_event_waitlists_and_cancelling_promotes_the_first_waitlisted(
    app, client, event, smtp_server
):
    first = token_from(register(client, email="first@example.org"), smtp_server)
    register(app.test_client(), email="second@example.org")
    waiting = app.test_client()
    third = token_from(register(waiting, email="third@example.org"), smtp_server)
    fourth = token_from(register(app.test_client(), email="fourth@example.org"), smtp_server)
    assert registrations(app) == [
        ("first@example.org", "confirmed"),
        ("second@example.org", "confirmed"),
        ("third@example.org", "waitlisted"),
        ("fourth@example.org", "waitlisted"),
    ]
    page = waiting.get(f"/r/{third}").get_data(as_text=True)
    assert "You are on the waitlist." in page
    assert "invite.ics" not in page and "/live?token=" not in page
    assert smtp_server.messages()[2]["Subject"] == "You are on the waitlist: A Big Conversation"
    assert not any(
        p.get_content_type() == "text/calendar" for p in smtp_server.messages()[2].walk()
    )
    event_page = client.get("/events/big-conversation").get_data(as_text=True)
    assert "This event is full: new registrations join the waitlist." in event_page

    confirm = client.get(f"/r/{first}/cancel")
    assert "Cancel your registration?" in confirm.get_data(as_text=True)
    assert confirm.headers["Cache-Control"] == "no-store"
    refused = client.post(f"/r/{first}/cancel")
    assert refused.status_code == 400, "no CSRF token, no cancelling"
    assert registrations(app)[0] == ("first@example.org", "confirmed")

    done = client.post(
        f"/r/{first}/cancel", data={"csrf_token": csrf_token(client, f"/r/{first}/cancel")}
    )
    assert done.status_code == 303
    page = client.get(f"/r/{first}").get_data(as_text=True)
    assert "Your registration is cancelled." in page
    assert "You cancelled this registration." in page
    assert [status for _, status in registrations(app)] == [
        "cancelled",
        "confirmed",
        "confirmed",
        "waitlisted",
    ]
    *_, promoted, cancelled = smtp_server.messages()
    assert promoted["To"] == "third@example.org"
    assert promoted["Subject"] == "A place is yours: A Big Conversation"
    assert cancelled["To"] == "first@example.org"
    assert cancelled["Subject"] == "Your place is cancelled: A Big Conversation"
    assert "as you asked" in cancelled.get_body(("plain",)).get_content()
    method, calendar = calendar_in(cancelled)
    assert method == "CANCEL" == calendar["METHOD"], "the event leaves their calendar"
    assert f"http://localhost/r/{third}" in promoted.get_body(("plain",)).get_content()
    method, calendar = calendar_in(promoted)
    assert method == "REQUEST" == calendar["METHOD"]
    assert "You are booked, Robin Reader." in waiting.get(f"/r/{third}").get_data(as_text=True)
    assert fourth


def test_same_email_twice_keeps_one_seat_and_resends_the_link(app, client, event, smtp_server):
    token = token_from(register(client, email="Robin@Example.org"), smtp_server)
    again = register(app.test_client(), email="robin@example.org ", name="Someone Else")
    assert token not in again.headers["Location"] + again.get_data(as_text=True)
    assert registrations(app) == [("robin@example.org", "confirmed")]
    first, resent = smtp_server.messages()
    assert resent["Subject"] == "Your private link: A Big Conversation"
    assert f"http://localhost/r/{token}" in resent.get_body(("plain",)).get_content()
    assert calendar_in(resent)[0] == "REQUEST"
    with app.app_context():
        assert db.session.scalar(sa.select(Registration.name)) == "Robin Reader"


def without_csrf_token(text):
    return re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", text)


def answers(client, response):
    """What a visitor sees after posting the form: the answer and the page it leads to.

    Date and the rate limiter's reset time change by the second, whoever registers.
    """
    headers = sorted(
        (name, value)
        for name, value in response.headers.items()
        if name not in ("Date", "X-RateLimit-Reset", "Retry-After")
    )
    shown = client.get(response.headers["Location"])
    return (
        response.status_code,
        headers,
        response.get_data(),
        shown.status_code,
        without_csrf_token(shown.get_data(as_text=True)),
    )


def test_a_booked_and_a_new_address_get_the_same_answer_byte_for_byte(app, event, smtp_server):
    register(app.test_client(), email="booked@example.org")
    asking = [app.test_client(), app.test_client()]
    for number, client in enumerate(asking):
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{number + 10}"
    new = register(asking[0], email="new@example.org")
    booked = register(asking[1], email="booked@example.org")
    assert answers(asking[0], new) == answers(asking[1], booked)
    assert "Check your email" in asking[1].get(booked.headers["Location"]).get_data(as_text=True)
    assert [m["To"] for m in smtp_server.messages()] == [
        "booked@example.org",
        "new@example.org",
        "booked@example.org",
    ]


def test_booking_in_someone_elses_name_gives_the_booker_nothing_and_tells_the_owner(
    app, event, smtp_server
):
    booker = app.test_client()
    response = register(
        booker, email="victim@example.org", name="Visit evil.example to claim a prize"
    )
    token = token_from(response, smtp_server)
    for path in (response.headers["Location"], "/events/big-conversation"):
        assert token.split(".")[1] not in booker.get(path).get_data(as_text=True)
    assert token.split(".")[1] not in str(booker.get_cookie("session"))

    (message,) = smtp_server.messages()
    body = message.get_body(("plain",)).get_content()
    assert body.splitlines()[0] == "Hello,", "the booker's chosen name is not a greeting"
    assert "Booked in the name: Visit evil.example to claim a prize" in body
    assert "Not you? Then someone else typed your email address." in body
    erase_link = f"http://localhost/r/{token}/erase"
    assert erase_link in body.splitlines()

    owner = app.test_client()
    confirm = owner.get(erase_link)
    assert "someone else registered your email address" in confirm.get_data(as_text=True)
    erased = owner.post(erase_link, data={"csrf_token": csrf_token(owner, erase_link)})
    assert erased.status_code == 303
    with app.app_context():
        row = db.session.scalar(sa.select(Registration))
        assert (row.email, row.name, row.status) == ("", "", "cancelled")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "That email address does not look right."),
        ({"email": "someone@"}, "That email address does not look right."),
        ({"email": ""}, "Give an email address for your link and invite."),
        ({"name": ""}, "Tell us your name."),
        ({"name": "n" * 121}, "Field cannot be longer than 120 characters."),
        ({"organisation": "o" * 201}, "Field cannot be longer than 200 characters."),
        ({"display_name": "d" * 81}, "Field cannot be longer than 80 characters."),
        ({"access_needs": "a" * 2001}, "Field cannot be longer than 2000 characters."),
        ({"consent": ""}, "Please tick the box to agree, or we cannot book you."),
    ],
)
def test_bad_registration_says_why_and_saves_nothing(app, client, event, fields, message):
    response = register(client, **fields)
    text = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in text
    assert "Nothing has been saved yet." in text
    assert registrations(app) == []
    assert outbox(app) == []


def test_registration_without_csrf_token_is_refused(app, client, event):
    response = register(client, csrf_token="forged")
    assert response.status_code == 400
    assert "CSRF" in response.get_data(as_text=True)
    assert registrations(app) == []


def test_cancelled_past_draft_and_unknown_events_take_no_registrations(app, client):
    with app.app_context():
        create_event(slug="called-off")
        events.cancel_event(events.get_event("called-off"))
        create_event(
            slug="last-year",
            starts_at=datetime(2025, 3, 1, 10, 0),
            ends_at=datetime(2025, 3, 1, 12, 0),
        )
        create_event(slug="not-yet", publish=False)

    for slug, status, message in [
        ("called-off", 410, "This event has been cancelled, so it takes no registrations."),
        ("last-year", 410, "This event has already taken place, so registration is closed."),
        ("not-yet", 404, "There is no event at that address."),
        ("no-such-event", 404, "There is no event at that address."),
    ]:
        shown = client.get(f"/events/{slug}/register")
        assert (shown.status_code, slug) == (status, slug)
        assert message in shown.get_data(as_text=True)
        sent = client.post(
            f"/events/{slug}/register",
            data={
                "csrf_token": csrf_token(client, "/login"),
                "name": "Robin",
                "email": "robin@example.org",
                "consent": "y",
            },
        )
        assert sent.status_code == status
        assert message in sent.get_data(as_text=True)
        if status == 410:
            event_page = client.get(f"/events/{slug}").get_data(as_text=True)
            assert f"/events/{slug}/register" not in event_page
    assert registrations(app) == []
    assert outbox(app) == []


@pytest.mark.parametrize(
    "token",
    ["1.wrong-secret", "1", "999.abc", "abc.def", "1." + "x" * 43, "99999999999999999999.x"],
)
def test_unknown_or_stale_private_links_get_a_clear_404(app, client, event, token):
    register(client)
    for path in (f"/r/{token}", f"/r/{token}/cancel", f"/r/{token}/erase"):
        response = client.get(path)
        assert response.status_code == 404
        assert "This private link does not work." in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"


def test_video_link_shows_only_to_confirmed_attendees_shortly_before_the_start(app, client):
    soon = datetime.now(ZoneInfo("Europe/London")).replace(tzinfo=None, second=0, microsecond=0)
    with app.app_context():
        create_event(
            slug="starting-soon",
            starts_at=soon + timedelta(minutes=10),
            ends_at=soon + timedelta(minutes=100),
            capacity=1,
            video_url="https://meet.example.org/soon",
        )
    booked = token_from(register(client, "starting-soon", email="booked@example.org"), app)
    waiting = token_from(register(client, "starting-soon", email="waiting@example.org"), app)
    assert "https://meet.example.org/soon" in client.get(f"/r/{booked}").get_data(as_text=True)
    assert "https://meet.example.org/soon" not in client.get(f"/r/{waiting}").get_data(as_text=True)
    app.config["VIDEO_LINK_OPENS_MINUTES_BEFORE"] = 5
    page = client.get(f"/r/{booked}").get_data(as_text=True)
    assert "https://meet.example.org/soon" not in page
    assert "The video-call link appears here 5 minutes before the start." in page


def test_erasing_removes_personal_data_kills_the_link_and_frees_the_seat(
    app, client, event, smtp_server
):
    token = token_from(register(client, email="erase.me@example.org"), smtp_server)
    register(app.test_client(), email="second@example.org")
    register(app.test_client(), email="waiting@example.org")

    confirm = client.get(f"/r/{token}/erase").get_data(as_text=True)
    assert "This private link stops working straight away." in confirm
    erased = client.post(
        f"/r/{token}/erase", data={"csrf_token": csrf_token(client, f"/r/{token}/erase")}
    )
    assert erased.status_code == 303
    assert "Your details are erased" in client.get(erased.headers["Location"]).get_data(
        as_text=True
    )
    assert client.get(f"/r/{token}").status_code == 404
    with app.app_context():
        row = db.session.scalar(sa.select(Registration).order_by(Registration.id))
        assert (row.name, row.email, row.organisation, row.display_name, row.access_needs) == (
            "",
            "",
            "",
            "",
            "",
        )
        assert row.status == "cancelled" and row.erased_at is not None
    assert registrations(app)[1:] == [
        ("second@example.org", "confirmed"),
        ("waiting@example.org", "confirmed"),
    ]
    assert smtp_server.messages()[-1]["To"] == "waiting@example.org"
    assert smtp_server.messages()[-1]["Subject"] == "A place is yours: A Big Conversation"


def test_registering_is_rate_limited_per_client(app, client, event):
    app.config["REGISTRATION_RATE_LIMIT"] = "3 per minute"
    for number in range(3):
        assert register(client, email=f"person{number}@example.org").status_code == 303
    limited = register(client, email="person4@example.org")
    assert limited.status_code == 429
    text = limited.get_data(as_text=True)
    assert "Too many requests" in text
    assert "Please wait a minute and try again" in text
    other = app.test_client()
    other.environ_base["REMOTE_ADDR"] = "192.0.2.7"
    assert register(other, email="person5@example.org").status_code == 303
    assert len(registrations(app)) == 4


def test_raising_the_capacity_lets_the_waitlist_in(app, client, event, smtp_server):
    register(app.test_client(), email="one@example.org")
    register(app.test_client(), email="two@example.org")
    register(app.test_client(), email="three@example.org")
    register(app.test_client(), email="four@example.org")
    login(client)
    with app.app_context():
        local = db.session.get(Event, event).local_starts_at
    form = {
        "csrf_token": csrf_token(client, "/organiser/events/big-conversation/edit"),
        "title": "A Big Conversation",
        "slug": "big-conversation",
        "timezone": "Europe/London",
        "starts_at": f"{local:%Y-%m-%dT%H:%M}",
        "ends_at": f"{local + timedelta(minutes=90):%Y-%m-%dT%H:%M}",
        "capacity": "3",
        "video_url": "https://meet.example.org/big",
    }
    assert client.post("/organiser/events/big-conversation/edit", data=form).status_code == 302
    assert [status for _, status in registrations(app)] == [
        "confirmed",
        "confirmed",
        "confirmed",
        "waitlisted",
    ]
    subjects = [(m["To"], m["Subject"]) for m in smtp_server.messages()[4:]]
    assert subjects == [("three@example.org", "A place is yours: A Big Conversation")]


def test_someone_who_cancelled_can_register_again(app, client, event):
    token = token_from(register(client), app)
    client.post(f"/r/{token}/cancel", data={"csrf_token": csrf_token(client, f"/r/{token}/cancel")})
    again = token_from(register(client), app)
    assert again != token
    assert registrations(app) == [
        ("robin@example.org", "cancelled"),
        ("robin@example.org", "confirmed"),
    ]


def test_new_user_registers_for_the_demo_event_to_book_end_to_end(app, runner, client):
    assert runner.invoke(args=["demo"]).exit_code == 0
    assert "Places available." in client.get("/events/winter-gathering").get_data(as_text=True)
    demo_emails = len(outbox(app))

    token = token_from(register(client, slug="winter-gathering"), app)
    assert "You are booked" in client.get(f"/r/{token}").get_data(as_text=True)
    invite = client.get(f"/r/{token}/invite.ics")
    assert invite.headers["Content-Type"] == "text/calendar; charset=utf-8; method=REQUEST"
    assert icalendar.Calendar.from_ical(invite.data)["METHOD"] == "REQUEST"
    (raw,) = outbox(app)[demo_emails:]
    assert f"http://localhost/r/{token}".encode() in raw
    assert b"Subject: You are booked: Winter gathering" in raw
    assert "Places available." in client.get("/events/winter-gathering").get_data(as_text=True)
