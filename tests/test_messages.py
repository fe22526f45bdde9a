"""Hosts write to registrants: preview, send to a group, follow each email's delivery."""

import re
from datetime import timedelta

import sqlalchemy as sa

from lero_events import outbox, registrations
from lero_events.extensions import db
from lero_events.models import OutgoingEmail, utcnow

from .conftest import (
    create_event,
    create_organiser,
    create_registration,
    csrf_token,
    login,
    run_tasks,
)

COMPOSE = "/events/big-conversation/messages"


def send(client, action="send", **fields):
    data = {
        "csrf_token": csrf_token(client, COMPOSE),
        "audience": "confirmed",
        "subject": "The link for tonight",
        "body": "We start at seven. Bring a cup of tea.",
        action: "1",
    }
    data.update(fields)
    return client.post(COMPOSE, data=data)


def statuses(app):
    with app.app_context():
        rows = db.session.scalars(sa.select(OutgoingEmail.status)).all()
        return sorted(rows)


def test_a_message_to_168_confirmed_people_is_queued_in_one_request_and_delivered(
    app, client, smtp_server
):
    with app.app_context():
        event = create_event(slug="big-conversation")
        people = [
            create_registration(event, name=f"Person {n}", email=f"p{n}@example.org")
            for n in range(168)
        ]
        tokens = {p.email: registrations.private_token(p) for p in people}
        create_registration(event, email="waiting@example.org", status="waitlisted")
    login(client)

    response = send(client)
    assert response.status_code == 303
    assert smtp_server.received == [], "the request never waits on SMTP"
    assert statuses(app) == ["queued"] * 168
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Your message is on its way to 168 people." in page
    assert page.count(">Queued</span>") == 168

    received = smtp_server.messages()
    assert len(received) == 168
    assert {m["To"] for m in received} == set(tokens), "the waiting list is not written to"
    for message in received:
        body = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        number = message["To"].split("@")[0][1:]
        assert body.startswith(f"Hello Person {number},\n\nWe start at seven.")
        assert f"http://localhost/r/{tokens[message['To']]}" in body
        assert message["Subject"] == "The link for tonight"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert page.count(">Sent</span>") == 168
    listing = client.get(COMPOSE).get_data(as_text=True)
    assert "168 sent of 168" in listing


def test_preview_shows_the_first_recipients_email_and_sends_nothing(app, client, smtp_server):
    with app.app_context():
        event = create_event(slug="big-conversation")
        create_registration(event, name="Ada Lovelace", email="ada@example.org")
        create_registration(event, name="Bo Waiting", status="waitlisted")
    login(client)
    page = send(client, action="preview", audience="waitlisted").get_data(as_text=True)
    assert "Preview: what Bo Waiting will get" in page
    assert "It goes to 1 person" in page
    assert "Hello Bo Waiting,\n\nWe start at seven." in page
    assert statuses(app) == []
    assert smtp_server.messages() == []


def test_only_the_events_hosts_see_its_messages(app, client):
    with app.app_context():
        create_event(slug="big-conversation")
        create_organiser("other@example.org", "Other Organiser")
    assert client.get(COMPOSE).status_code == 404
    login(client, "other@example.org")
    refused = client.get(COMPOSE)
    assert refused.status_code == 404
    assert "There is no event at that address." in refused.get_data(as_text=True)
    assert client.get(f"{COMPOSE}/1").status_code == 404


def test_bad_input_is_explained_and_an_empty_group_sends_nothing(app, client):
    with app.app_context():
        event = create_event(slug="big-conversation")
        create_registration(event)
    login(client)
    page = send(client, audience="waitlisted")
    assert page.status_code == 400
    assert "Nobody is in that group yet: People on the waiting list." in page.get_data(as_text=True)
    page = send(client, subject="Line one\r\nBcc: someone@example.org").get_data(as_text=True)
    assert "Keep the subject to one line" in page
    page = send(client, body="").get_data(as_text=True)
    assert "This field is required." in page
    assert statuses(app) == []


def test_erased_people_get_nothing_and_the_delivery_list_says_why_an_email_failed(
    app, client, smtp_server
):
    with app.app_context():
        event = create_event(slug="big-conversation")
        kept = create_registration(event, name="Kept Person")
        erased = create_registration(event, name="Gone Person")
        registrations.erase_registration(erased)
        kept_id = kept.id
    run_tasks(app)
    smtp_server.stop()
    login(client)
    delivery_page = send(client).headers["Location"]
    run_tasks(app)
    page = client.get(delivery_page).get_data(as_text=True)
    assert "Kept Person" in page and "Gone Person" not in page
    assert "ConnectionRefusedError" in page and "tries again" in page

    later = utcnow()
    with app.app_context():
        for _ in range(outbox.MAX_ATTEMPTS):
            later += timedelta(hours=5)
            outbox.deliver_due(later)
        (email,) = db.session.scalars(
            sa.select(OutgoingEmail).where(OutgoingEmail.registration_id == kept_id)
        ).all()
        assert email.status == "failed"
    page = client.get(delivery_page).get_data(as_text=True)
    assert ">Failed</span>" in page
    assert "0 sent" in client.get(COMPOSE).get_data(as_text=True)
    assert "1 failed" in client.get(COMPOSE).get_data(as_text=True)


def test_the_follow_up_template_links_the_harvest_and_the_next_booking(app, client):
    with app.app_context():
        launch = create_event(slug="big-conversation", title="Launch day")
        create_event(
            slug="next-one",
            title="The next Big Conversation",
            starts_at=launch.local_starts_at.replace(tzinfo=None) + timedelta(days=30),
        )
    login(client)
    page = client.get(COMPOSE).get_data(as_text=True)
    assert f"{COMPOSE}?template=follow-up&amp;next=next-one" in page
    page = client.get(f"{COMPOSE}?template=follow-up&next=next-one").get_data(as_text=True)
    assert 'value="Thank you for coming: Launch day"' in page
    assert "http://localhost/events/big-conversation/harvest" in page
    assert "The next Big Conversation is open for booking." in page
    assert re.search(r"http://localhost/events/next-one/register", page)
