"""Erasure reaches every copy: database, instance folder, logs and open live connections.

Issue 11, finding 7: ".eml files keep the name, email and link; an erased person's open live
connection can still resonate and stays in the hosts' list". After a person erases their data
from their private link, their address, names and access needs are searched for everywhere.
"""

import logging
import re

import requests
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from lero_events.extensions import db
from lero_events.models import LiveConnection, OutgoingEmail, Registration, Resonance

from .conftest import (
    create_event,
    create_organiser,
    free_port,
    run_tasks,
    wait_until,
    workers_through_redis,
)
from .live_clients import (
    LiveClient,
    contribute,
    join,
    make_room,
    refused_message,
)
from .test_registration import register

PERSON = {
    "name": "Quentin Quillfeather",
    "email": "quentin.quillfeather@example.org",
    "organisation": "Quillfeather Recovery Circle",
    "display_name": "Quill the Brave",
    "access_needs": "Step-free access; I use a hearing loop",
}


def refusing_smtp_server():
    """An SMTP server whose refusal names the address, as real ones do."""

    class RefuseEveryone:
        async def handle_RCPT(self, server, session, envelope, address, options):
            return f"550 5.1.1 <{address}>: no such mailbox"

    controller = Controller(RefuseEveryone(), hostname="127.0.0.1", port=free_port())
    controller.start()
    return controller


def everything_in_the_database():
    """Every row of every table, as text."""
    rows = []
    for table in db.metadata.sorted_tables:
        rows.extend(f"{table.name}: {row}" for row in db.session.execute(sa.select(table)))
    return "\n".join(rows)


def files_holding(folder, values):
    """Every file under `folder` whose bytes contain one of `values`, with the value."""
    found = []
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            found.extend((str(path), value) for value in values if value.encode() in data)
    return found


def test_erasure_leaves_no_copy_and_ends_the_live_connection(
    app, client, start_server, tmp_path, caplog
):
    with app.app_context():
        organiser = create_organiser()
        event = create_event(owner=organiser, slug="big-conversation")
        event.moderation = "post"  # posts are public at once, with the author's name
        db.session.commit()
        slug = event.slug

    # Two emails: one refused by the SMTP server (its error names the address), one kept as
    # a .eml file in the instance folder (no MAIL_SERVER).
    smtp = refusing_smtp_server()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=smtp.port)
    logging.getLogger("lero_events.outbox").disabled = False
    try:
        with caplog.at_level(logging.DEBUG):
            assert register(client, **PERSON).status_code == 303
            run_tasks(app)
    finally:
        smtp.stop()
    app.config["MAIL_SERVER"] = None
    with caplog.at_level(logging.DEBUG):
        assert register(app.test_client(), **PERSON).status_code == 303
        run_tasks(app)
    with app.app_context():
        registration = db.session.scalar(sa.select(Registration))
        token = f"{registration.id}.{registration.token}"
        emails = db.session.scalars(sa.select(OutgoingEmail)).all()
        assert PERSON["email"] in emails[0].last_error
        assert emails[1].file_path is not None

    # In the live room: a post, a resonance, and the hosts see the name.
    server = start_server()
    host = join(server, {"slug": slug}, "host")
    person = LiveClient(server, {"slug": slug, "token": token}).connect()
    assert contribute(person, "Glad to be here")["ok"] is True
    posted = host.wait_for_update("contribution")["data"]["contribution"]
    assert person.call("resonate", {"contribution_id": posted["id"]})["ok"] is True
    host.wait_for(
        "presence",
        lambda view: any(p["name"] == PERSON["display_name"] for p in view.get("people", [])),
    )
    seen_by_host = host.mark()

    # The person erases their data from their private link, over real HTTP.
    erased = erase_over_http(server, token)
    assert erased.status_code == 303

    # Their open connection is closed by the server, the hosts' list drops them, and they can
    # neither reconnect nor resonate again.
    wait_until(lambda: not person.sio.connected)
    host.wait_for(
        "presence",
        lambda view: view.get("people") == [] and view["present"] == 0,
        after=seen_by_host,
    )
    assert refused_message(server, {"slug": slug, "token": token}) == (
        "That private link is not valid."
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Resonance)) == 1

    # No copy anywhere: every table, every file in the instance folder (the database file
    # itself on SQLite, emails, the server's log) and what the app logged.
    secrets = [*PERSON.values(), token.split(".")[1]]
    with app.app_context():
        stored = everything_in_the_database()
    for value in secrets:
        assert value not in stored, f"{value!r} is still in the database"
    assert files_holding(tmp_path, secrets) == []
    # The test's own SMTP server logs what it was sent (logger "mail.log"); the app must not.
    logged = "\n".join(
        caplog.handler.format(record)
        for record in caplog.records
        if not record.name.startswith("mail.")
    )
    assert "not sent (attempt 1)" in logged
    for value in secrets:
        assert value not in logged


def erase_over_http(server, token):
    with requests.Session() as browser:
        page = browser.get(f"{server.url}/r/{token}/erase", timeout=10).text
        csrf = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        return browser.post(
            f"{server.url}/r/{token}/erase",
            data={"csrf_token": csrf},
            allow_redirects=False,
            timeout=10,
        )


def test_erasing_on_one_worker_closes_the_connections_on_another(app, start_server):
    room = make_room(app)
    settings = workers_through_redis()
    worker_a = start_server(**settings)
    worker_b = start_server(**settings)
    host = join(worker_a, room, "host")
    alice_tabs = [join(worker_b, room, "alice"), join(worker_b, room, "alice")]
    bob = join(worker_b, room, "bob")
    host.wait_for("presence", lambda view: view["present"] == 2)
    before = host.mark()

    assert erase_over_http(worker_a, room["tokens"]["alice"]).status_code == 303
    for tab in alice_tabs:
        wait_until(lambda tab=tab: not tab.sio.connected)
    after = host.wait_for("presence", lambda view: view["present"] == 1, after=before)
    assert after["people"] == [{"name": "Bob B", "role": "participant"}]
    assert bob.sio.connected
    with app.app_context():
        keys = set(db.session.scalars(sa.select(LiveConnection.person_key)))
    assert "r:" + room["tokens"]["alice"].split(".")[0] not in keys
