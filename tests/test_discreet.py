"""Discreet invites: nothing on a shared calendar or phone says what the event is.

Checked where it is seen: the emails that reach a real SMTP server (subject, sender, text and
the attached invite), the .ics files read by icalendar and by ical.js, the calendar feed and
the add-to-calendar links.
"""

import email
import email.policy
import email.utils
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import sqlalchemy as sa

from lero_events import events, messages, registrations, reminders
from lero_events.extensions import db
from lero_events.models import Event, OutgoingEmail, Registration

from .conftest import create_event, csrf_token, login
from .test_invites import VIDEO, fetch_calendar, organiser_form, page_links, parse_with_icaljs
from .test_registration import TOKEN_IN_PATH, register

# The address stays the organisation's own (LERO_DISCREET_MAIL_SENDER can change it too).
SENDER = "hello@example.org"
TITLE = "Recovery Connectors: Big Conversation"
# Anything that would tell a reader what the event is: its title, its words, its address.
REVEALING = ("Recovery", "Connectors", "Big Conversation", "big-conversation", "Olive")


@pytest.fixture(autouse=True)
def named_sender(app):
    app.config["MAIL_DEFAULT_SENDER"] = f"Recovery Connectors <{SENDER}>"


def reveals(text):
    return [word for word in REVEALING if word.lower() in text.lower()]


def invite_of(message):
    """The text/calendar part of a received email, as bytes, or None."""
    for part in message.walk():
        if part.get_content_type() == "text/calendar":
            return part.get_payload(decode=True)
    return None


def check_neutral(message, title="Online meeting"):
    """Everything a glance shows of `message` is neutral; returns its parsed invite or None."""
    name, address = email.utils.parseaddr(message["From"])
    assert (name, address) == ("Bookings", SENDER)
    assert title in message["Subject"]
    body = message.get_body(("plain",)).get_content()
    for shown in (message["Subject"], message["From"], body):
        assert reveals(shown) == [], shown
    ics = invite_of(message)
    if ics is None:
        return None
    assert reveals(ics.decode()) == [], ics.decode()
    vevent = icalendar.Calendar.from_ical(ics).walk("VEVENT")[0]
    assert str(vevent["SUMMARY"]) == title
    assert str(vevent["LOCATION"]) == "Online"
    assert vevent["ORGANIZER"].params["CN"] == "Bookings"
    parsed = parse_with_icaljs(ics)["events"][0]
    assert parsed["summary"] == title
    assert parsed["location"] == "Online"
    assert parsed["organizer"]["cn"] == "Bookings"
    assert reveals(parsed["description"]) == []
    return parsed


def test_a_discreet_booking_gets_neutral_emails_and_invites_while_others_see_the_title(
    app, client, smtp_server
):
    with app.app_context():
        create_event(
            title=TITLE,
            slug="big-conversation",
            description="Recovery stories, shared.",
            video_url="https://meet.example.org/call-123",
        )
    register(client, email="robin@example.org", discreet="y")
    register(client, email="sam@example.org")

    robin, sam = smtp_server.messages()
    assert robin["Subject"] == "You are booked: Online meeting"
    parsed = check_neutral(robin)
    token = TOKEN_IN_PATH.search(robin.get_body(("plain",)).get_content()).group(1)
    # The details are one step away, behind the private link, never in the invite itself.
    assert parsed["url"].endswith(f"/r/{token}")
    assert f"/r/{token}" in parsed["description"]

    # The other person asked for nothing: their email and invite name the event as before.
    assert sam["Subject"] == f"You are booked: {TITLE}"
    assert email.utils.parseaddr(sam["From"])[0] == "Recovery Connectors"
    assert icalendar.Calendar.from_ical(invite_of(sam)).walk("VEVENT")[0]["SUMMARY"] == TITLE

    body, calendar = fetch_calendar(client, f"/r/{token}/invite.ics", "REQUEST")
    assert reveals(body.decode()) == []
    assert parse_with_icaljs(body)["events"][0]["summary"] == "Online meeting"

    # The private page has the details, but its tab title and add-to links stay neutral.
    page = client.get(f"/r/{token}").get_data(as_text=True)
    assert TITLE in page
    assert "<title>Your registration: Online meeting" in page
    links = page_links(client, f"/r/{token}")
    google = parse_qs(urlsplit(links["Add to Google Calendar"]).query)
    assert google["text"] == ["Online meeting"] and reveals(google["details"][0]) == []
    outlook = parse_qs(urlsplit(links["Add to Outlook.com"]).query)
    assert outlook["subject"] == ["Online meeting"] and reveals(outlook["body"][0]) == []


def test_a_discreet_event_keeps_every_kind_of_email_neutral_and_out_of_the_feed(
    app, client, smtp_server
):
    with app.app_context():
        owner_event = create_event(
            title=TITLE,
            slug="big-conversation",
            capacity=1,
            video_url="https://meet.example.org/call-123",
            discreet=True,
            discreet_name="Tuesday catch-up",
        )
        create_event(title="Open Day", slug="open-day")
        event_id = owner_event.id
        ada = registrations.register_attendee(
            owner_event, registrations.RegistrationData("Ada", "ada@example.org", consent=True)
        ).registration
        registrations.register_attendee(
            owner_event, registrations.RegistrationData("Bo", "bo@example.org", consent=True)
        )
        start = owner_event.starts_at
        assert reminders.send_due_reminders(now=start - timedelta(hours=23))
        assert reminders.send_due_reminders(now=start - timedelta(minutes=59))
        event = db.session.get(Event, event_id)
        author = event.hosts[0].organiser
        messages.compose_message(event, author, "all", "Bring a friend", "See you soon.")
        registrations.cancel_registration(db.session.get(Registration, ada.id))
        events.cancel_event(db.session.get(Event, event_id), "Sorry, the room flooded.")
        kinds = set(db.session.scalars(sa.select(OutgoingEmail.kind)))
    assert kinds == {
        "confirmed",
        "waitlisted",
        "reminder_day",
        "reminder_hour",
        "message",
        "booking_cancelled",
        "promoted",
        "cancelled",
    }

    received = smtp_server.messages()
    assert len(received) == 9
    invites = [check_neutral(message, "Tuesday catch-up") for message in received]
    assert [invite["summary"] for invite in invites if invite] == ["Tuesday catch-up"] * 4
    subjects = [message["Subject"] for message in received]
    assert "A message about: Tuesday catch-up" in subjects
    # The hosts' own subject goes inside the email, where only its reader sees it.
    for message in received:
        if message["Subject"] == "A message about: Tuesday catch-up":
            assert "Bring a friend" in message.get_body(("plain",)).get_content()

    # The subscription feed leaves it out; its public copy is neutral.
    feed, calendar = fetch_calendar(client, "/calendar.ics")
    assert [str(vevent["SUMMARY"]) for vevent in calendar.walk("VEVENT")] == ["Open Day"]
    public, _ = fetch_calendar(client, "/events/big-conversation.ics")
    assert reveals(public.decode()) == []


def test_turning_discretion_on_later_sends_everyone_a_neutral_update(app, client, smtp_server):
    with app.app_context():
        start = datetime(2027, 7, 1, 18, 30)
        create_event(
            title=TITLE,
            slug="big-conversation",
            starts_at=start,
            ends_at=start + timedelta(minutes=90),
            video_url=VIDEO,
        )
    register(client, email="robin@example.org")
    (booked,) = smtp_server.messages()
    before = icalendar.Calendar.from_ical(invite_of(booked)).walk("VEVENT")[0]
    assert str(before["SUMMARY"]) == TITLE

    login(client)
    # The same time and call: only the discretion changes.
    form = organiser_form(client, "2027-07-01T18:30", "2027-07-01T20:00", "big-conversation/edit")
    form.update(title=TITLE, slug="big-conversation", discreet="y", discreet_name="")
    form["csrf_token"] = csrf_token(client, "/organiser/events/big-conversation/edit")
    response = client.post("/organiser/events/big-conversation/edit", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)

    _, changed = smtp_server.messages()
    assert changed["Subject"] == "Changed: Online meeting"
    check_neutral(changed)
    after = icalendar.Calendar.from_ical(invite_of(changed)).walk("VEVENT")[0]
    assert str(after["UID"]) == str(before["UID"])
    assert after["SEQUENCE"] > before["SEQUENCE"]


def test_the_demo_has_a_discreet_booking_whose_emails_are_neutral(app, runner):
    loaded = runner.invoke(args=["demo"])
    assert loaded.exit_code == 0, loaded.output
    outbox = Path(app.config["OUTBOX_DIR"])
    received = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        for path in sorted(outbox.glob("*.eml"))
    ]
    (jordan,) = [message for message in received if message["To"] == "jordan.price@example.org"]
    assert jordan["Subject"] == "You are booked: Online meeting"
    assert email.utils.parseaddr(jordan["From"])[0] == "Bookings"
    ics = invite_of(jordan).decode()
    assert "SUMMARY:Online meeting" in ics and "Big Conversation" not in ics
    others = [m["Subject"] for m in received if m["To"] == "maya.okafor@example.org"]
    assert "You are booked: The Big Conversation: what helps recovery last?" in others


def test_booking_again_with_discretion_adds_it_and_booking_again_without_keeps_it(
    app, client, smtp_server
):
    """A booked address that asks again gets its link again; asking for discretion then turns
    it on (that email already neutral), and a later form without it cannot turn it off."""
    with app.app_context():
        create_event(title=TITLE, slug="big-conversation", video_url=VIDEO)
    assert register(client, email="robin@example.org").status_code == 303
    assert register(client, email="robin@example.org", discreet="y").status_code == 303
    assert register(client, email="robin@example.org").status_code == 303

    booked, discreet_again, still_discreet = smtp_server.messages()
    assert booked["Subject"] == f"You are booked: {TITLE}"
    assert discreet_again["Subject"] == "Your private link: Online meeting"
    check_neutral(discreet_again)
    assert still_discreet["Subject"] == "Your private link: Online meeting"
    with app.app_context():
        (robin,) = db.session.scalars(sa.select(Registration)).all()
        assert (robin.status, robin.discreet) == ("confirmed", True)
