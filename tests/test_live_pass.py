"""The private token never in a cookie or a page: browsers join the live room with a live pass.

docs/live-protocol.md section 9. Issue 11, finding 9 ("the private token sits in the readable
session cookie and in the live page").
"""

import json
import time

import requests
from itsdangerous import URLSafeTimedSerializer

from lero_events import live_pass, registrations
from lero_events.extensions import db
from lero_events.models import Registration

from .conftest import create_event
from .live_clients import LiveClient, contribute, make_room, refused_message


def session_contents(app, client):
    """The session cookie as anyone holding it can read it: signed, not encrypted."""
    cookie = client.get_cookie("session").value
    return cookie, app.session_interface.get_signing_serializer(app).loads(cookie)


def test_the_private_token_is_in_neither_the_session_cookie_nor_the_page(app, client):
    room = make_room(app)
    token = room["tokens"]["alice"]
    secret = token.split(".")[1]
    assert client.get(f"/events/{room['slug']}/live?token={token}").status_code == 302

    cookie, contents = session_contents(app, client)
    assert secret not in cookie
    assert secret not in json.dumps(contents)
    page = client.get(f"/events/{room['slug']}/live").get_data(as_text=True)
    assert "You are posting as <strong>Alice A</strong>" in page
    assert secret not in page

    answer = client.get(f"/events/{room['slug']}/live/pass")
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "no-store"
    assert answer.json["expires_in"] == 120
    issued = answer.json["live_pass"]
    assert secret not in answer.get_data(as_text=True)
    # Anyone can read a pass's contents too: the registration's id and no secret.
    serializer = URLSafeTimedSerializer("not the key", salt=live_pass.SALT)
    _, readable = serializer.loads_unsafe(issued)
    assert readable["r"] == int(token.split(".")[0])
    assert secret not in json.dumps(readable)


def test_a_browser_without_a_place_gets_no_pass_and_a_reason(app, client):
    room = make_room(app)
    refused = client.get(f"/events/{room['slug']}/live/pass")
    assert refused.status_code == 403
    assert "open the link in your email" in refused.json["error"]
    client.get(f"/events/{room['slug']}/live?token={room['tokens']['bob']}")
    with app.app_context():
        registrations.cancel_registration(db.session.get(Registration, bob_id(room)))
    refused = client.get(f"/events/{room['slug']}/live/pass")
    assert refused.status_code == 403
    assert "not confirmed" in refused.json["error"]


def bob_id(room):
    return int(room["tokens"]["bob"].split(".")[0])


def test_a_pass_fetched_over_http_joins_the_room_as_that_person(app, live_server):
    room = make_room(app)
    with requests.Session() as browser:
        opened = browser.get(
            f"{live_server.url}/events/{room['slug']}/live?token={room['tokens']['alice']}",
            timeout=10,
        )
        assert opened.status_code == 200 and "token=" not in opened.url
        issued = browser.get(
            f"{live_server.url}/events/{room['slug']}/live/pass", timeout=10
        ).json()["live_pass"]
    alice = LiveClient(live_server, {"slug": room["slug"], "live_pass": issued}).connect()
    state = alice.wait_for("state")
    assert state["role"] == "participant"
    assert state["you"]["name"] == "Alice A"
    ack = contribute(alice, "Said with a pass")
    assert ack["ok"] is True


def pass_issued_ago(app, registration_id, seconds):
    """A pass made `seconds` ago, signed as the app signs its own."""

    class Earlier(URLSafeTimedSerializer.default_signer):
        def get_timestamp(self):
            return int(time.time()) - seconds

    with app.app_context():
        registration = db.session.get(Registration, registration_id)
        serializer = URLSafeTimedSerializer(
            app.config["SECRET_KEY"], salt=live_pass.SALT, signer=Earlier
        )
        return serializer.dumps(
            {
                "r": registration.id,
                "f": registrations.link_fingerprint(registration),
                "e": registration.event_id,
            }
        )


def test_an_old_tampered_foreign_or_erased_pass_is_refused(app, live_server):
    room = make_room(app)
    slug = room["slug"]
    refusal = live_pass.NOT_VALID

    fresh = pass_issued_ago(app, bob_id(room), 0)
    assert LiveClient(live_server, {"slug": slug, "live_pass": fresh}).connect()
    old = pass_issued_ago(app, bob_id(room), 121)
    assert refused_message(live_server, {"slug": slug, "live_pass": old}) == refusal
    tampered = fresh[:-3] + ("AAA" if not fresh.endswith("AAA") else "BBB")
    assert refused_message(live_server, {"slug": slug, "live_pass": tampered}) == refusal
    assert refused_message(live_server, {"slug": slug, "live_pass": 17}) == refusal
    with app.app_context():
        other = create_event(slug="another-room")
        other_slug = other.slug
    assert refused_message(live_server, {"slug": other_slug, "live_pass": fresh}) == refusal

    with app.app_context():
        registrations.erase_registration(db.session.get(Registration, bob_id(room)))
    assert refused_message(live_server, {"slug": slug, "live_pass": fresh}) == refusal
