"""A team without the command line: co-host invitations and forgotten passwords by email."""

import re
import time
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from itsdangerous import TimestampSigner, URLSafeTimedSerializer

from lero_events import team
from lero_events.extensions import db
from lero_events.models import CohostInvitation, Event

from .conftest import PASSWORD, create_event, create_organiser, csrf_token, login

EDIT = "/organiser/events/big-conversation/edit"
NEW_PASSWORD = "a brand new passphrase"


def link_in(message, path):
    body = message.get_body(("plain",)).get_content()
    return re.search(rf"http://localhost(/{path}/[\w.-]+)", body).group(1)


def signed_long_ago(app, salt, value, seconds):
    """A link made `seconds` ago, signed as the app signs its own."""

    class Earlier(TimestampSigner):
        def get_timestamp(self):
            return int(time.time()) - seconds

    return URLSafeTimedSerializer(app.config["SECRET_KEY"], salt=salt, signer=Earlier).dumps(value)


def invite(client, email):
    token = csrf_token(client, EDIT)
    return client.post(
        "/organiser/events/big-conversation/cohosts",
        data={"csrf_token": token, "email": email},
        follow_redirects=True,
    )


def test_an_invited_co_host_makes_an_account_once_and_hosts_the_event(app, client, smtp_server):
    with app.app_context():
        create_event(slug="big-conversation")
    login(client)
    page = invite(client, "Cora@Example.org").get_data(as_text=True)
    assert "cora@example.org has no account yet, so an invitation" in page
    assert "cora@example.org, invited by Olive Organiser" in page
    [message] = smtp_server.messages()
    assert message["To"] == "cora@example.org"
    assert message["Subject"] == "Co-host A Big Conversation with Olive Organiser"
    path = link_in(message, "invitations")

    cora = app.test_client()
    form = cora.get(path)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert "Olive Organiser invited cora@example.org" in form.get_data(as_text=True)
    token = csrf_token(cora, path)
    mismatch = cora.post(
        path,
        data={"csrf_token": token, "name": "Cora", "password": NEW_PASSWORD, "confirm": "other"},
    )
    assert mismatch.status_code == 400
    assert "The two passwords are not the same." in mismatch.get_data(as_text=True)
    joined = cora.post(
        path,
        data={
            "csrf_token": token,
            "name": "Cora Cohost",
            "password": NEW_PASSWORD,
            "confirm": NEW_PASSWORD,
        },
    )
    assert joined.status_code == 303 and joined.headers["Location"].endswith(EDIT)
    # Logged in as the new co-host, who sees the event's registrations.
    assert cora.get("/events/big-conversation/registrations").status_code == 200
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert {(h.organiser.email, h.role) for h in event.hosts} == {
            ("organiser@example.org", "owner"),
            ("cora@example.org", "cohost"),
        }

    again = app.test_client()
    used = again.get(path)
    assert used.status_code == 410
    assert "This invitation has been used already" in used.get_data(as_text=True)
    assert "Invited, not joined yet" not in client.get(EDIT).get_data(as_text=True)


def test_an_existing_organiser_is_added_at_once_and_gets_no_invitation(app, client, smtp_server):
    with app.app_context():
        create_event(slug="big-conversation")
        create_organiser("cora@example.org", "Cora Cohost")
    login(client)
    assert "Cora Cohost now co-hosts this event." in invite(client, "cora@example.org").get_data(
        as_text=True
    )
    assert "Cora Cohost already hosts this event." in invite(client, "cora@example.org").get_data(
        as_text=True
    )
    assert smtp_server.messages() == []


def test_expired_and_tampered_invitations_are_refused(app, client):
    with app.app_context():
        event = create_event(slug="big-conversation")
        invitation = CohostInvitation(
            event_id=event.id, email="late@example.org", invited_by_id=event.hosts[0].organiser_id
        )
        db.session.add(invitation)
        db.session.commit()
        eight_days = signed_long_ago(app, team.INVITATION_SALT, invitation.id, 8 * 86400)
        six_days = signed_long_ago(app, team.INVITATION_SALT, invitation.id, 6 * 86400)
    expired = client.get(f"/invitations/{eight_days}")
    assert expired.status_code == 410
    assert "This invitation has expired" in expired.get_data(as_text=True)
    assert client.get(f"/invitations/{six_days}").status_code == 200
    tampered = client.get(f"/invitations/{six_days[:-2]}xx")
    assert tampered.status_code == 404
    assert "This link does not work" in tampered.get_data(as_text=True)


def test_a_host_sees_an_expired_invitation_and_withdraws_one_so_its_link_dies(
    app, client, smtp_server
):
    with app.app_context():
        event = create_event(slug="big-conversation")
        db.session.add(
            CohostInvitation(
                event_id=event.id,
                email="late@example.org",
                invited_by_id=event.hosts[0].organiser_id,
                created_at=datetime.now(UTC) - timedelta(days=8),
            )
        )
        db.session.commit()
    login(client)
    invite(client, "cora@example.org")
    [message] = smtp_server.messages()
    path = link_in(message, "invitations")
    assert client.get(path).status_code == 200

    edit_page = client.get(EDIT).get_data(as_text=True)
    late, cora = re.findall(r"<li>(\S+@example.org), invited by .*?</li>", edit_page, re.S)
    assert (late, cora) == ("late@example.org", "cora@example.org")
    assert edit_page.count("(expired: withdraw it and invite again)") == 1
    with app.app_context():
        cora_id = db.session.scalar(
            sa.select(CohostInvitation.id).where(CohostInvitation.email == "cora@example.org")
        )
    withdrawn = client.post(
        f"/organiser/events/big-conversation/invitations/{cora_id}/withdraw",
        data={"csrf_token": csrf_token(client, EDIT)},
        follow_redirects=True,
    ).get_data(as_text=True)
    assert "The invitation to cora@example.org is withdrawn" in withdrawn
    assert "cora@example.org, invited by" not in withdrawn
    dead = app.test_client().get(path)
    assert dead.status_code == 404 and "This link does not work" in dead.get_data(as_text=True)
    again = client.post(
        f"/organiser/events/big-conversation/invitations/{cora_id}/withdraw",
        data={"csrf_token": csrf_token(client, EDIT)},
    )
    assert again.status_code == 404


def test_forgot_password_says_the_same_for_any_address_and_the_link_works_once(
    app, client, smtp_server
):
    with app.app_context():
        create_organiser()
    answers = []
    for address in ("nobody@example.org", "ORGANISER@example.org"):
        visitor = app.test_client()
        response = visitor.post(
            "/forgot-password",
            data={"csrf_token": csrf_token(visitor, "/forgot-password"), "email": address},
            follow_redirects=True,
        )
        page = re.sub(r'value="[^"]+"', "", response.get_data(as_text=True))  # CSRF tokens
        answers.append((response.status_code, page))
    assert answers[0] == answers[1]
    assert "If that address has an organiser account" in answers[0][1]
    [message] = smtp_server.messages()
    assert message["To"] == "organiser@example.org"
    path = link_in(message, "reset-password")

    visitor = app.test_client()
    assert "For the organiser account organiser@example.org" in visitor.get(path).get_data(
        as_text=True
    )
    token = csrf_token(visitor, path)
    short = visitor.post(path, data={"csrf_token": token, "password": "short", "confirm": "short"})
    assert short.status_code == 400
    assert "at least 10 characters" in short.get_data(as_text=True)
    changed = visitor.post(
        path, data={"csrf_token": token, "password": NEW_PASSWORD, "confirm": NEW_PASSWORD}
    )
    assert changed.status_code == 303
    assert login(app.test_client(), password=PASSWORD).status_code == 400
    assert login(app.test_client(), password=NEW_PASSWORD).status_code == 302

    used = app.test_client().get(path)
    assert used.status_code == 410
    assert "This link has been used already" in used.get_data(as_text=True)


def test_an_expired_reset_link_is_refused(app, client):
    with app.app_context():
        organiser = create_organiser()
        data = {"id": organiser.id, "pw": team.password_fingerprint(organiser)}
        old = signed_long_ago(app, team.RESET_SALT, data, 3601)
        fresh = signed_long_ago(app, team.RESET_SALT, data, 3000)
    expired = client.get(f"/reset-password/{old}")
    assert expired.status_code == 410
    assert "This link has expired" in expired.get_data(as_text=True)
    assert client.get(f"/reset-password/{fresh}").status_code == 200
