"""Emails: the outbox without a server, SMTP with one, and event changes and cancellations."""

import email
import email.policy
import logging
import re
from pathlib import Path

import pytest
import requests

from lero_events import create_app
from lero_events.extensions import db

from .conftest import create_event, csrf_token, free_port, login
from .test_registration import calendar_in, outbox, register, token_from


@pytest.fixture(autouse=True)
def mail_log_enabled():
    """Other tests in this process run the migrations in-process, and Alembic's logging set-up
    disables existing loggers. A real server runs them once, before its first email (see
    test_a_real_server_logs_where_each_email_went)."""
    logging.getLogger("lero_events.mail").disabled = False


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_without_mail_server_emails_go_to_the_outbox_and_the_log_says_where(app, client, caplog):
    with app.app_context():
        create_event(slug="big-conversation", capacity=10)
    token = token_from(register(client), app)

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
    assert record.getMessage() == (
        f"Email 'You are booked: A Big Conversation' not sent (no MAIL_SERVER is set): "
        f"written to {path}"
    )
    logged = caplog.text
    assert token.split(".")[1] not in logged, "the private link must never be logged"
    assert "robin@example.org" not in logged


def test_public_base_url_is_used_for_links_in_emails(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://events.example.org/"
    with app.app_context():
        create_event(slug="big-conversation")
    token = token_from(register(client), app)
    body = parsed(outbox(app)[0]).get_body(("plain",)).get_content()
    assert f"https://events.example.org/r/{token}" in body
    assert "https://events.example.org/events/big-conversation" in body


def test_when_the_smtp_server_is_down_the_email_is_kept_in_the_outbox(app, client, caplog):
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=free_port())
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
    token = token_from(register(app.test_client(), email="booked@example.org"), smtp_server)
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


def test_a_real_server_logs_where_each_email_went(start_server, tmp_path):
    """`python app.py` on the embedded default: migrations at start-up, then an email."""
    server = start_server(
        DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite'}", LERO_AUTO_MIGRATE="true"
    )
    app = create_app(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'fresh.sqlite'}",
            "INSTANCE_PATH": server.env["LERO_INSTANCE_PATH"],
            "AUTO_MIGRATE": False,
        }
    )
    with app.app_context():
        create_event(slug="big-conversation")
        db.engine.dispose()
    browser = requests.Session()
    login_page = browser.get(server.url + "/login", timeout=10).text
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', login_page).group(1)
    response = browser.post(
        server.url + "/events/big-conversation/register",
        data={"csrf_token": token, "name": "Robin", "email": "robin@example.org", "consent": "y"},
        allow_redirects=False,
        timeout=10,
    )
    assert response.status_code == 303
    (path,) = (Path(server.env["LERO_INSTANCE_PATH"]) / "outbox").glob("*.eml")
    secret = re.search(r"/r/\d+\.([\w-]+)", path.read_text()).group(1)
    log = server.log.read_text()
    assert f"(no MAIL_SERVER is set): written to {path}" in log
    assert secret not in log and "robin@example.org" not in log
