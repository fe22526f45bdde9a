"""Emails: the outbox without a server, SMTP with one, and event changes and cancellations."""

import email
import email.policy
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import requests
import sqlalchemy as sa

from lero_events import create_app, tasks
from lero_events import outbox as outbox_module
from lero_events.extensions import db
from lero_events.models import OutgoingEmail, utcnow

from .conftest import (
    REDIS_URL,
    ROOT,
    SMTPServer,
    create_event,
    csrf_token,
    login,
    require_redis,
    run_tasks,
    wait_until,
)
from .test_registration import calendar_in, outbox, register, token_from


def parsed(raw):
    return email.message_from_bytes(raw, policy=email.policy.default)


def test_without_mail_server_the_worker_writes_emails_to_files_and_logs_no_one(app, client, caplog):
    with app.app_context():
        create_event(slug="big-conversation", capacity=10)
    response = register(client)
    assert not Path(app.config["OUTBOX_DIR"]).exists(), "the request itself sends nothing"
    token = token_from(response, app)

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
    assert delivery(app) == [("confirmed", "filed", "")]
    (record,) = [r for r in caplog.records if r.name == "lero_events.outbox"]
    assert record.getMessage() == (
        f"Email 1 (confirmed) not sent, no MAIL_SERVER is set: written to {path}"
    )
    logged = caplog.text
    assert token.split(".")[1] not in logged, "the private link must never be logged"
    assert "robin@example.org" not in logged


def test_links_in_emails_use_the_public_address_never_the_request_host(app, client):
    app.config["PUBLIC_BASE_URL"] = None
    app.config.update(HOST="127.0.0.1", PORT=5000)
    # Even with the host check off (tests/test_trust.py shows it refusing a forged Host).
    app.config["TRUSTED_HOSTS"] = []
    with app.app_context():
        create_event(slug="big-conversation")
    forged = app.test_client()
    evil = "http://evil.example:8443"
    page = forged.get("/events/big-conversation/register", base_url=evil).get_data(as_text=True)
    form = {
        "csrf_token": re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1),
        "name": "Robin",
        "email": "robin@example.org",
        "consent": "y",
    }
    token = token_from(
        forged.post("/events/big-conversation/register", data=form, base_url=evil), app
    )
    body = parsed(outbox(app)[0]).get_body(("plain",)).get_content()
    assert "evil.example" not in body
    assert f"http://127.0.0.1:5000/r/{token}" in body

    app.config["PUBLIC_BASE_URL"] = "https://events.example.org/"
    register(client, email="sam@example.org")
    body = parsed(outbox(app)[1]).get_body(("plain",)).get_content()
    assert "https://events.example.org/r/" in body
    assert "https://events.example.org/events/big-conversation" in body


def test_smtp_down_then_up_delivers_every_email_exactly_once(app, client, smtp_server, caplog):
    with app.app_context():
        create_event(slug="big-conversation")
    smtp_server.stop()
    for number in range(3):
        response = register(app.test_client(), email=f"person{number}@example.org")
        assert response.status_code == 303, "a failed email never undoes a registration"
    assert smtp_server.messages() == []
    assert delivery(app) == [("confirmed", "queued", "ConnectionRefusedError")] * 3
    assert "not sent (attempt 1), retrying at" in caplog.text
    assert "person0@example.org" not in caplog.text

    # Not yet due: the sweep leaves them alone; at their time it sends them, once.
    smtp_server.start()
    with app.app_context():
        assert outbox_module.deliver_due() == 0
        assert outbox_module.deliver_due(utcnow() + timedelta(minutes=2)) == 3
        assert outbox_module.deliver_due(utcnow() + timedelta(minutes=30)) == 0
    received = smtp_server.messages()
    assert sorted(m["To"] for m in received) == [f"person{n}@example.org" for n in range(3)]
    assert [row[1] for row in delivery(app)] == ["sent"] * 3


def test_an_email_that_keeps_failing_is_marked_failed_with_the_reason(app, client, smtp_server):
    with app.app_context():
        create_event(slug="big-conversation")
    smtp_server.stop()
    register(client)
    run_tasks(app)
    later = utcnow()
    with app.app_context():
        for _ in range(outbox_module.MAX_ATTEMPTS):
            later += timedelta(hours=5)
            outbox_module.deliver_due(later)
    assert delivery(app) == [("confirmed", "failed", "ConnectionRefusedError")]


def delivery(app):
    """(kind, status, the error's type) for each outgoing email, oldest first."""
    with app.app_context():
        rows = db.session.scalars(sa.select(OutgoingEmail).order_by(OutgoingEmail.id)).all()
        return [(r.kind, r.status, r.last_error.split(":")[0]) for r in rows]


def test_moving_an_event_sends_confirmed_attendees_an_invite_with_a_higher_sequence(
    app, client, smtp_server
):
    with app.app_context():
        create_event(slug="big-conversation", capacity=1, title="Big Conversation")
    token = token_from(register(app.test_client(), email="booked@example.org"), smtp_server)
    register(app.test_client(), email="waiting@example.org")
    first_invite = calendar_in(smtp_server.messages()[0])[1].walk("VEVENT")[0]
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

    changed = [m for m in smtp_server.messages() if m["Subject"] == "Changed: Big Conversation"]
    assert [m["To"] for m in changed] == ["booked@example.org"], "the waitlist has no invite"
    body = changed[0].get_body(("plain",)).get_content()
    assert "Thursday 01 May 2031, 18:00–19:30 BST (Europe/London)" in body
    assert f"http://localhost/r/{token}" in body
    method, calendar = calendar_in(changed[0])
    assert method == "REQUEST" == calendar["METHOD"]
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["SEQUENCE"] == 1
    assert first_invite["SEQUENCE"] == 0
    assert vevent["UID"] == first_invite["UID"]

    # A title-only edit is not a change of time or place: nobody is emailed again.
    form["title"] = "Big Conversation (spring)"
    client.post("/organiser/events/big-conversation/edit", data=form)
    assert len([m for m in smtp_server.messages() if m["Subject"].startswith("Changed")]) == 1


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
    cancelled = {m["To"]: m for m in smtp_server.messages() if m["Subject"].startswith("Cancelled")}
    assert set(cancelled) == {"booked@example.org", "waiting@example.org"}
    method, calendar = calendar_in(cancelled["booked@example.org"])
    assert method == "CANCEL" == calendar["METHOD"]
    (vevent,) = calendar.walk("VEVENT")
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent["SEQUENCE"] == 1
    waiting = cancelled["waiting@example.org"]
    assert not any(part.get_content_type() == "text/calendar" for part in waiting.walk())
    assert "You were on the waitlist" in waiting.get_body(("plain",)).get_content()


def book_on_a_fresh_server(start_server, tmp_path, **settings):
    """`python app.py` on a fresh embedded default (migrations at start-up), and one booking
    made through its registration form; returns the server."""
    database = f"sqlite:///{tmp_path / 'fresh.sqlite'}"
    server = start_server(DATABASE_URL=database, LERO_AUTO_MIGRATE="true", **settings)
    fresh = create_app(
        {
            "DATABASE_URL": database,
            "INSTANCE_PATH": server.env["LERO_INSTANCE_PATH"],
            "AUTO_MIGRATE": False,
            "TASK_QUEUE_URL": "memory://",
        }
    )
    with fresh.app_context():
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
    return server


def test_a_real_server_sends_email_from_its_own_worker(app, start_server, tmp_path):
    """`python app.py` on the embedded default: migrations at start-up, the queue worked in
    the same process, the email delivered through SMTP without the request waiting for it."""
    smtp = SMTPServer(app).start()
    server = book_on_a_fresh_server(
        start_server,
        tmp_path,
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=smtp.port,
        LERO_PUBLIC_BASE_URL="https://events.example.org",
    )
    wait_until(lambda: smtp.received)
    smtp.stop()
    (message,) = smtp.received
    assert message["To"] == "robin@example.org"
    assert "https://events.example.org/r/" in message.get_body(("plain",)).get_content()
    log = server.log.read_text()
    assert "robin@example.org" not in log


def test_a_real_server_logs_each_filed_email_once(start_server, tmp_path):
    """One handler prints each line: Flask's own and the migrations' logging set-up used to
    print every line twice."""
    server = book_on_a_fresh_server(start_server, tmp_path)
    outbox = Path(server.env["LERO_INSTANCE_PATH"]) / "outbox"
    wait_until(lambda: list(outbox.glob("*.eml")))
    (path,) = outbox.glob("*.eml")
    time.sleep(0.5)  # a second copy of the line would be written at once
    lines = [line for line in server.log.read_text().splitlines() if str(path) in line]
    assert len(lines) == 1, server.log.read_text()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d WARNING \[lero_events.outbox\] ", lines[0])


def test_with_redis_the_worker_runs_as_its_own_process(app, client, smtp_server, tmp_path):
    """Beyond one machine: the servers queue tasks in Redis, `flask --app app worker` sends."""
    require_redis()
    name = f"lero-test-{uuid.uuid4()}"
    app.config.update(TASK_QUEUE_URL=REDIS_URL, TASK_QUEUE_NAME=name)
    tasks.init_app(app)
    with app.app_context():
        create_event(slug="big-conversation")
    for number in range(3):
        register(app.test_client(), email=f"person{number}@example.org")
    assert smtp_server.received == [], "queued in Redis, waiting for a worker"

    env = {
        **os.environ,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "REDIS_URL": REDIS_URL,
        "LERO_TASK_QUEUE_NAME": name,
        "LERO_INSTANCE_PATH": str(tmp_path / "worker"),
        "LERO_AUTO_MIGRATE": "false",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_server.port),
    }
    log = tmp_path / "worker.log"
    with log.open("wb") as output:
        worker = subprocess.Popen(
            [sys.executable, "-m", "flask", "--app", "app", "worker"],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: len(smtp_server.received) >= 3, timeout=20)
    finally:
        worker.send_signal(signal.SIGINT)
        worker.wait(10)
    assert sorted(m["To"] for m in smtp_server.received) == [
        f"person{n}@example.org" for n in range(3)
    ], log.read_text()
    assert "person0@example.org" not in log.read_text()
    assert delivery(app) == [("confirmed", "sent", "")] * 3
