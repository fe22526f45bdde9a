"""Times read the same way on every page (24-hour, en-GB, like lero_events/times.py), and the
time zone is picked from a list."""

import re
from datetime import datetime

from playwright.sync_api import expect

from lero_events.extensions import db
from lero_events.models import Event

from .conftest import PASSWORD, create_event, create_organiser
from .test_events import event_form, login
from .test_registration import register, token_from

EVENING = {"starts_at": datetime(2031, 5, 1, 18, 0), "ends_at": datetime(2031, 5, 1, 19, 30)}


def test_server_pages_write_times_in_one_24_hour_format(app, client):
    with app.app_context():
        create_event(slug="evening", **EVENING)
    page = client.get("/events/evening").get_data(as_text=True)
    assert "Thu, 1 May 2031, 18:00–19:30 BST (Europe/London)" in page
    token = token_from(register(client, slug="evening"), app)
    private = client.get(f"/r/{token}").get_data(as_text=True)
    assert "Thu, 1 May 2031, 18:00–19:30 BST" in private
    assert re.search(r"version [\w-]+, \w{3}, \d{1,2} \w{3} \d{4}, \d\d:\d\d UTC", private)
    assert not re.search(r"\d(am|pm|AM|PM)\b|\d (am|pm|AM|PM)\b", page + private)


def test_a_us_browser_abroad_sees_its_own_time_in_the_same_24_hour_format(
    app, live_server, chromium
):
    with app.app_context():
        create_event(slug="evening", **EVENING)
    context = chromium.new_context(locale="en-US", timezone_id="America/Toronto")
    try:
        page = context.new_page()
        page.goto(live_server.url + "/events/evening")
        viewer = page.locator(".when .viewer-zone")
        expect(viewer).to_be_visible()
        assert viewer.inner_text() == (
            "Your time (America/Toronto): Thu, 1 May 2031, 13:00–14:30 GMT-4"
        )
    finally:
        context.close()


def test_organiser_picks_the_zone_from_a_searchable_list(
    app, live_server, chromium, accessibility_problems
):
    with app.app_context():
        create_organiser()
    context = chromium.new_context(bypass_csp=True)
    try:
        page = context.new_page()
        page.goto(live_server.url + "/login")
        page.get_by_label("Email").fill("organiser@example.org")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url("**/organiser/")
        page.goto(live_server.url + "/organiser/events/new")

        zone = page.get_by_role("combobox", name="Time zone")
        assert zone.get_attribute("list") == "timezone-names"
        options = page.locator("#timezone-names option")
        names = options.evaluate_all("options => options.map(o => o.value)")
        assert "Europe/London" in names and "America/Toronto" in names and "UTC" in names
        assert names == sorted(names[:-1]) + ["UTC"]
        assert accessibility_problems(page) == []

        page.locator("#title").fill("Toronto evening")
        zone.fill("America/Toronto")
        page.locator("#starts_at").fill("2031-05-01T18:00")
        page.locator("#ends_at").fill("2031-05-01T19:30")
        page.get_by_role("button", name="Save as draft").click()
        page.wait_for_url("**/organiser/events/toronto-evening/edit")
    finally:
        context.close()
    with app.app_context():
        assert db.session.get(Event, 1).timezone == "America/Toronto"


def test_a_zone_not_on_the_list_is_refused_with_a_message(app, client):
    with app.app_context():
        create_organiser()
    login(client)
    response = client.post("/organiser/events/new", data=event_form(client, timezone="Mars/Base"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "&#39;Mars/Base&#39; is not a time zone we know (try Europe/London)." in page
    assert 'value="Spring Big Conversation"' in page, "what was typed is kept"
