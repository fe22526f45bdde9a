"""Nothing public moves differently when a stranger books a booked address or a new one.

Issue 11's finding 1, second half (docs/security.md): an exact "places left" figure, or a
public count of sign-ups, stays put for an address already booked and moves for a new one, so
whoever books a name and watches it learns whether that person is booked. Public pages show
places in bands; the harvest's booking figures wait until booking closes; hosts see exact
figures.
"""

import re
from datetime import datetime, timedelta

import pytest

from lero_events import places
from lero_events.extensions import db
from lero_events.models import Event

from .conftest import create_event, create_registration, csrf_token, login
from .live_in_process import InProcessClient

SLUG = "recovery-circle"


@pytest.fixture
def live_event(app):
    """A recovery event under way (booking still open), its harvest published, ten booked."""
    with app.app_context():
        start = datetime.now().replace(microsecond=0) - timedelta(minutes=10)
        event = create_event(slug=SLUG, capacity=50, starts_at=start, allow_guests=True)
        event.harvest_published = True
        db.session.commit()
        for number in range(9):
            create_registration(event, f"Person {number}", f"person{number}@example.org")
        create_registration(event, "Vic Tim", "victim@example.org", organisation="Hope Street")
        return event.id


def book(app, email, address):
    """A stranger books `email` from their own client address, as anyone can."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    response = client.post(
        f"/events/{SLUG}/register",
        data={
            "csrf_token": csrf_token(client, f"/events/{SLUG}/register"),
            "name": "Whoever",
            "email": email,
            "organisation": "A new one",
            "consent": "y",
        },
    )
    assert response.status_code == 303


def without_noise(text):
    """What changes by the request or the second, whoever booked."""
    text = re.sub(r'name="csrf_token"[^>]*value="[^"]+"', "", text)
    text = re.sub(r'content="[^"]*" name="csrf-token"|name="csrf-token" content="[^"]*"', "", text)
    return re.sub(r"DTSTAMP:\S+", "", text)


PUBLIC_PAGES = (
    "/",
    f"/events/{SLUG}",
    f"/events/{SLUG}/register",
    f"/events/{SLUG}.ics",
    "/calendar.ics",
    f"/events/{SLUG}/harvest",
    f"/events/{SLUG}/harvest/export.json",
    f"/events/{SLUG}/harvest/export.md",
    f"/events/{SLUG}/harvest/export.csv",
)


def public_view(app):
    """Every public page that could show places or sign-ups, and the live harvest's figures."""
    client = app.test_client()
    pages = {}
    for path in PUBLIC_PAGES:
        response = client.get(path)
        assert response.status_code == 200, path
        pages[path] = without_noise(response.get_data(as_text=True))
    viewer = InProcessClient(app, {"slug": SLUG, "role": "viewer"})
    (state,) = viewer.received("state")
    pages["live figures"] = {k: v for k, v in state["figures"].items() if k != "seq"}
    viewer.disconnect()
    return pages


def test_booking_a_booked_or_a_new_address_changes_no_public_page(app, live_event):
    before = public_view(app)
    assert "Places available." in before[f"/events/{SLUG}"]
    assert before["live figures"]["signed_up"] == "counted when booking closes"
    assert before["live figures"]["organisations"] == "counted when booking closes"

    book(app, "victim@example.org", "192.0.2.10")
    after_booked = public_view(app)
    book(app, "someone.new@example.org", "192.0.2.11")
    after_new = public_view(app)

    for name in before:
        assert after_booked[name] == before[name], name
        assert after_new[name] == after_booked[name], name


def test_hosts_see_the_exact_places_left(app, live_event):
    client = app.test_client()
    login(client)
    page = client.get(f"/events/{SLUG}/registrations").get_data(as_text=True)
    assert "40 places left." in page
    assert "<strong>10</strong> confirmed of 50 places" in page


def test_public_places_come_in_three_bands(app, client):
    with app.app_context():
        event = create_event(slug="small-circle", capacity=5)
        for number in range(4):
            create_registration(event, f"P{number}", f"p{number}@example.org")
        event_id = event.id
    for path in ("/events/small-circle", "/events/small-circle/register"):
        page = client.get(path).get_data(as_text=True)
        assert "A few places left." in page and "1 place left" not in page
    with app.app_context():
        create_registration(db.session.get(Event, event_id), "P4", "p4@example.org")
    event_page = client.get("/events/small-circle").get_data(as_text=True)
    assert "This event is full: new registrations join the waitlist." in event_page
    assert ">Join the waitlist</a>" in event_page
    form = client.get("/events/small-circle/register").get_data(as_text=True)
    assert '<button type="submit">Join the waitlist</button>' in form


def test_a_band_moves_only_at_its_edge(app):
    """The residual risk docs/security.md names: one booking can move the band only when the
    places left sit exactly on an edge (a tenth of the places, at least three, and none)."""
    shown = [places.availability(40, left) for left in range(40, -1, -1)]
    assert shown == [places.AVAILABLE] * 36 + [places.FEW_LEFT] * 4 + [places.FULL]
    assert places.availability(200, 20) == places.FEW_LEFT
    assert places.availability(200, 21) == places.AVAILABLE
    assert places.availability(None, 0) is None
