"""Hosts see who registered: counts, the list, the CSV, the access log, attendance, and what
they do for people (book by phone, give a place, cancel with a reason)."""

import csv
import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import Contribution, PersonalDataAccess, Registration

from .conftest import create_event, create_organiser, create_registration, csrf_token, login
from .live_clients import close_all_clients, join, make_room
from .test_registration import calendar_in

PAGE = "/events/big-conversation/registrations"


@pytest.fixture
def event(app):
    """A host's event with a confirmed, a waiting, a cancelled and an erased registration."""
    with app.app_context():
        event = create_event(slug="big-conversation", capacity=1)
        ada = create_registration(
            event,
            "Ada Lovelace",
            "ada@example.org",
            organisation="Hope Street Recovery",
            display_name="Ada",
            access_needs="Step-free access, please",
        )
        create_registration(
            event,
            "Wendy Waiting",
            "wendy@example.org",
            status="waitlisted",
            organisation=" hope street recovery ",
        )
        create_registration(
            event,
            "Carl Cancelled",
            "carl@example.org",
            status="cancelled",
            organisation="Other Org",
        )
        create_registration(event, "", "", status="cancelled", erased_at=datetime.now(UTC))
        db.session.add(
            Contribution(
                event_id=event.id,
                registration_id=ada.id,
                author_key=f"r:{ada.id}",
                client_id="c1",
                text="Hello",
            )
        )
        db.session.commit()
        return event.id


def access_rows(app):
    with app.app_context():
        return [
            (row.organiser.email, row.what)
            for row in db.session.scalars(
                sa.select(PersonalDataAccess).order_by(PersonalDataAccess.id)
            )
        ]


def test_host_sees_counts_list_access_needs_and_organisations_and_the_view_is_logged(
    app, client, event
):
    login(client)
    response = client.get(PAGE)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert "<strong>1</strong> confirmed of 1 places" in page
    assert "<strong>1</strong> waiting" in page
    assert "<strong>1</strong> cancelled" in page
    assert "<strong>1</strong> erased" in page
    assert "Ada Lovelace" in page and "ada@example.org" in page
    assert "Erased at their request" in page
    assert "Sensitive: </span>Step-free access, please" in page
    # One organisation, however its people spelled it; cancelled people are not counted.
    organisations = page.split('id="organisations-heading"')[1]
    assert "<td>Hope Street Recovery</td><td>1</td><td>1</td>" in organisations
    assert "Other Org" not in organisations
    assert access_rows(app) == [("organiser@example.org", "viewed the registrations list")]

    found = client.get(PAGE, query_string={"q": "WENDY"}).get_data(as_text=True)
    assert "1 of 4 registrations" in found
    assert "Wendy Waiting" in found and "Ada Lovelace" not in found
    by_status = client.get(PAGE, query_string={"status": "cancelled"}).get_data(as_text=True)
    assert "Carl Cancelled" in by_status and "Wendy Waiting" not in by_status
    assert access_rows(app)[1:] == [
        ("organiser@example.org", "viewed the registrations list (search: 'WENDY', status: any)"),
        (
            "organiser@example.org",
            "viewed the registrations list (search: '', status: cancelled)",
        ),
    ]

    log = client.get(PAGE + "/log").get_data(as_text=True)
    assert "Olive Organiser" in log and "(search: &#39;WENDY&#39;, status: any)" in log


def test_other_organisers_and_anonymous_visitors_get_a_404_and_nothing_is_logged(
    app, client, event
):
    with app.app_context():
        create_organiser("other@example.org", "Other Organiser")
    for path in (PAGE, PAGE + ".csv", PAGE + "/log"):
        anonymous = app.test_client().get(path)
        assert anonymous.status_code == 404, path
        assert "Ada Lovelace" not in anonymous.get_data(as_text=True)
    login(client, "other@example.org")
    for path in (PAGE, PAGE + ".csv", PAGE + "/log"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert "Ada" not in response.get_data(as_text=True)
    token = csrf_token(client, "/organiser/")
    with app.app_context():
        wendy = db.session.scalar(sa.select(Registration).filter_by(name="Wendy Waiting"))
    refused = client.post(f"{PAGE}/{wendy.id}/promote", data={"csrf_token": token})
    assert refused.status_code == 404
    assert access_rows(app) == []
    with app.app_context():
        assert db.session.get(Registration, wendy.id).status == "waitlisted"


def test_csv_has_every_registration_with_formula_safe_cells_and_is_logged(app, client, event):
    with app.app_context():
        create_registration(
            db.session.get(Registration, 1).event,
            '=HYPERLINK("http://evil.example")',
            "mallory@example.org",
            organisation="+Org",
            access_needs="@SUM(A1)",
        )
    login(client)
    response = client.get(PAGE + ".csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        'filename="big-conversation-registrations.csv"' in response.headers["Content-Disposition"]
    )
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True))))
    assert rows[0][:3] == ["status", "name", "email"]
    assert [row[0] for row in rows[1:]] == [
        "confirmed",
        "waitlisted",
        "cancelled",
        "erased",
        "confirmed",
    ]
    ada = rows[1]
    assert ada[2:6] == [
        "ada@example.org",
        "Hope Street Recovery",
        "Ada",
        "Step-free access, please",
    ]
    assert ada[-1] == "yes" and rows[2][-1] == "no"
    mallory = rows[-1]
    assert mallory[1] == '\'=HYPERLINK("http://evil.example")'
    assert mallory[3] == "'+Org" and mallory[5] == "'@SUM(A1)"
    assert access_rows(app) == [
        ("organiser@example.org", "downloaded the registrations CSV (5 rows)")
    ]


def test_host_books_a_place_by_phone_and_the_person_gets_their_email(
    app, client, event, smtp_server
):
    login(client)
    token = csrf_token(client, PAGE)
    form = {
        "csrf_token": token,
        "booking-name": "Phil Phone",
        "booking-email": "phil@example.org",
        "booking-organisation": "Hope Street Recovery",
    }
    refused = client.post(PAGE, data=form)
    assert refused.status_code == 400
    assert "Please tick the box to agree" in refused.get_data(as_text=True)
    response = client.post(PAGE, data={**form, "booking-consent": "y"})
    assert response.status_code == 303
    with app.app_context():
        phil = db.session.scalar(sa.select(Registration).filter_by(email="phil@example.org"))
        assert phil.status == "waitlisted", "the only seat is taken"
    listing = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Phil Phone is waitlisted" in listing
    assert [m["To"] for m in smtp_server.messages()] == ["phil@example.org"]
    assert ("organiser@example.org", f"booked a place on someone's behalf (#{phil.id})") in (
        access_rows(app)
    )


def test_host_gives_a_waiting_person_a_place_beyond_capacity(app, client, event, smtp_server):
    login(client)
    with app.app_context():
        wendy = db.session.scalar(sa.select(Registration).filter_by(name="Wendy Waiting"))
    token = csrf_token(client, PAGE)
    response = client.post(f"{PAGE}/{wendy.id}/promote", data={"csrf_token": token})
    assert response.status_code == 303
    with app.app_context():
        assert db.session.get(Registration, wendy.id).status == "confirmed"
    assert [(m["To"], m["Subject"]) for m in smtp_server.messages()] == [
        ("wendy@example.org", "A place is yours: A Big Conversation")
    ]
    again = client.post(
        f"{PAGE}/{wendy.id}/promote", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Wendy Waiting is not on the waitlist." in again.get_data(as_text=True)


def test_host_cancels_a_place_with_a_reason_they_are_told_and_the_waitlist_moves_up(
    app, client, event, smtp_server
):
    login(client)
    with app.app_context():
        ada = db.session.scalar(sa.select(Registration).filter_by(name="Ada Lovelace"))
    confirm = client.get(f"{PAGE}/{ada.id}/cancel").get_data(as_text=True)
    assert "Cancel Ada Lovelace's place?" in confirm
    token = csrf_token(client, f"{PAGE}/{ada.id}/cancel")
    too_long = client.post(
        f"{PAGE}/{ada.id}/cancel", data={"csrf_token": token, "reason": "x" * 1001}
    )
    assert too_long.status_code == 400
    assert "Keep the reason to 1000 characters" in too_long.get_data(as_text=True)
    no_reason = client.post(f"{PAGE}/{ada.id}/cancel", data={"csrf_token": token, "reason": " "})
    assert no_reason.status_code == 400
    assert "Say why: the email they get gives your reason." in no_reason.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Registration, ada.id).status == "confirmed"
    response = client.post(
        f"{PAGE}/{ada.id}/cancel", data={"csrf_token": token, "reason": "The room is smaller."}
    )
    assert response.status_code == 303
    with app.app_context():
        rows = db.session.scalars(sa.select(Registration).order_by(Registration.id)).all()
        assert [r.status for r in rows[:2]] == ["cancelled", "confirmed"]
    emails = {m["To"]: m for m in smtp_server.messages()}
    assert emails.keys() == {"ada@example.org", "wendy@example.org"}
    told = emails["ada@example.org"]
    assert told["Subject"] == "Your place is cancelled: A Big Conversation"
    body = told.get_body(("plain",)).get_content()
    assert "The organiser's reason:\n\nThe room is smaller." in body.replace("\r\n", "\n")
    method, calendar = calendar_in(told)
    assert method == "CANCEL" and calendar["METHOD"] == "CANCEL"
    assert emails["wendy@example.org"]["Subject"] == "A place is yours: A Big Conversation"


def test_host_marks_and_unmarks_attendance_of_someone_on_the_video_call(app, client, event):
    login(client)
    with app.app_context():
        ada = db.session.scalar(sa.select(Registration).filter_by(name="Ada Lovelace"))
        wendy = db.session.scalar(sa.select(Registration).filter_by(name="Wendy Waiting"))
    token = csrf_token(client, PAGE)
    client.post(f"{PAGE}/{ada.id}/attendance", data={"csrf_token": token})
    page = client.get(PAGE).get_data(as_text=True)
    assert "marked by Olive Organiser" in page
    refused = client.post(
        f"{PAGE}/{wendy.id}/attendance", data={"csrf_token": token}, follow_redirects=True
    )
    assert "Only confirmed people can be marked" in refused.get_data(as_text=True)
    client.post(f"{PAGE}/{ada.id}/attendance", data={"csrf_token": token, "attended": "no"})
    with app.app_context():
        assert db.session.get(Registration, ada.id).attended_at is None
        assert db.session.get(Registration, wendy.id).attended_at is None


def test_joining_the_live_room_records_the_first_join_only(app, start_server, client):
    room = make_room(app)
    server = start_server()
    try:
        join(server, room, "alice").close()
        with app.app_context():
            alice = db.session.scalar(sa.select(Registration).filter_by(name="Alice"))
            first = alice.attended_at
            assert first is not None and alice.attendance_marked_by_id is None
        join(server, room, "alice").close()
        with app.app_context():
            assert db.session.get(Registration, alice.id).attended_at == first
            bob = db.session.scalar(sa.select(Registration).filter_by(name="Bob"))
            assert bob.attended_at is None
    finally:
        close_all_clients()
    login(client)
    page = client.get(f"/events/{room['slug']}/registrations").get_data(as_text=True)
    assert "joined the live room" in page
    # A live-room join is a record: it cannot be undone by hand.
    token = csrf_token(client, f"/events/{room['slug']}/registrations")
    undo = client.post(
        f"/events/{room['slug']}/registrations/{alice.id}/attendance",
        data={"csrf_token": token, "attended": "no"},
        follow_redirects=True,
    )
    assert "They joined the live room" in undo.get_data(as_text=True)
