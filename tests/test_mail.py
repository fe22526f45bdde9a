"""Emails: the outbox without a server, SMTP with one, and event changes and cancellations."""

import email
import email.policy
import logging
from pathlib import Path

from .conftest import create_event, csrf_token, free_port, login
from .test_registration import calendar_in, outbox, register, token_from


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_without_mail_server_emails_go_to_the_outbox_and_the_log_says_where(app, client, caplog):
    with app.app_context():
        create_event(slug="big-conversation", capacity=10)
    caplog.set_level(logging.INFO, logger="lero_events.mail")
    token = token_from(register(client))

    (raw,) = outbox(app)
    message = parsed(raw)
    assert message["Subject"] == "You are booked: A Big Conversation"
    assert message["To"] == "robin@example.org"
    assert f"http://localhost/r/{token}" in message.get_body(("plain",)).get_content()
    method, calendar = calendar_in(message)
    assert method == "REQUEST" == calendar["METHOD"]

    (path,) = Path(app.config["OUTBOX_DIR"]).glob("*.eml")
    assert path.parent == Path(app.instance_path) / "outbox"
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    (record,) = [r for r in caplog.records if r.name == "lero_events.mail"]
    assert str(path) in record.getMessage()
    assert "no MAIL_SERVER is set" in record.getMessage()
    logged = caplog.text
    assert token.split(".")[1] not in logged, "the private link must never be logged"
    assert "robin@example.org" not in logged


def test_public_base_url_is_used_for_links_in_emails(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://events.example.org/"
    with app.app_context():
        create_event(slug="big-conversation")
    token = token_from(register(client))
    body = parsed(outbox(app)[0]).get_body(("plain",)).get_content()
    assert f"https://events.example.org/r/{token}" in body
    assert "https://events.example.org/events/big-conversation" in body


def test_when_the_smtp_server_is_down_the_email_is_kept_in_the_outbox(app, client, caplog):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
    caplog.set_level(logging.INFO, logger="lero_events.mail")
    with app.app_context():
        create_event(slug="big-conversation")
    response = register(client)
    assert response.status_code == 303, "a failed email never undoes a registration"
    assert len(outbox(app)) == 1
    assert "Could not send 'You are booked: A Big Conversation'" in caplog.text
    assert "sending failed" in caplog.text


def test_moving_an_event_sends_confirmed_attendees_an_invite_with_a_higher_sequence(
    app, client, smtp_server
):
    with app.app_context():
        create_event(slug="big-conversation", capacity=1, title="Big Conversation")
    token = token_from(register(app.test_client(), email="booked@example.org"))
    register(app.test_client(), email="waiting@example.org")
    login(client)
    form = {
        "csrf_token": csrf_token(client, "/organiser/events/big-conversation/edit"),
        "title": "Big Conversation",
        "slug": "big-conversation",
        "timezone": "Europe/London",
        "starts_at": "2031-05-01T18:00",
        "ends_at": "2031-05-01T19:30",
        "capacity": "1",
    }
    moved = client.post("/organiser/events/big-conversation/edit", data=form)
    assert moved.status_code == 302, moved.get_data(as_text=True)

    changed = [m for m in smtp_server if m["Subject"] == "Changed: Big Conversation"]
    assert [m["To"] for m in changed] == ["booked@example.org"], "the waitlist has no invite"
    body = changed[0].get_body(("plain",)).get_content()
    assert "Thursday 01 May 2031, 18:00–19:30 BST (Europe/London)" in body
    assert f"http://localhost/r/{token}" in body
    method, calendar = calendar_in(changed[0])
    assert method == "REQUEST" == calendar["METHOD"]
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["SEQUENCE"] == 1
    first_invite = calendar_in(smtp_server[0])[1].walk("VEVENT")[0]
    assert first_invite["SEQUENCE"] == 0
    assert vevent["UID"] == first_invite["UID"]

    # A title-only edit is not a change of time or place: nobody is emailed again.
    form["title"] = "Big Conversation (spring)"
    client.post("/organiser/events/big-conversation/edit", data=form)
    assert len([m for m in smtp_server if m["Subject"].startswith("Changed")]) == 1


def test_cancelling_an_event_sends_method_cancel_to_attendees(app, client, smtp_server):
    with app.app_context():
        create_event(slug="big-conversation", capacity=1)
    register(app.test_client(), email="booked@example.org")
    register(app.test_client(), email="waiting@example.org")
    login(client)
    client.post(
        "/organiser/events/big-conversation/cancel",
        data={"csrf_token": csrf_token(client, "/organiser/")},
    )
    cancelled = {m["To"]: m for m in smtp_server if m["Subject"].startswith("Cancelled")}
    assert set(cancelled) == {"booked@example.org", "waiting@example.org"}
    method, calendar = calendar_in(cancelled["booked@example.org"])
    assert method == "CANCEL" == calendar["METHOD"]
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent["SEQUENCE"] == 1
    waiting = cancelled["waiting@example.org"]
    assert not any(part.get_content_type() == "text/calendar" for part in waiting.walk())
    assert "You were on the waitlist" in waiting.get_body(("plain",)).get_content()
