"""Calendar invites, fetched over HTTP and read by two independent parsers.

icalendar (Python) and Mozilla's ical.js (run under Node) must agree on every instant, in UTC,
including on the nights the clocks change. On the night they go back, 01:00-01:59 happens
twice in Europe/London. What we choose: the organiser form reads such a time as its first
occurrence (BST), as RFC 5545 section 3.3.5 does. Parsers do not agree on that rule (ical.js
takes the second occurrence), so the invite writes any moment in the repeated hour in UTC.
"""

import json
import os
import subprocess
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import icalendar
import pytest
import sqlalchemy as sa

from lero_events import events
from lero_events.extensions import db
from lero_events.models import Event, Registration
from lero_events.registrations import RegistrationData, private_token, register_attendee

from .conftest import JS_DIR, create_event, create_organiser, csrf_token, login, node_with

SENDER = "events@lero.example.org"
VIDEO = "https://meet.example.org/big-conversation-secret"


@pytest.fixture(autouse=True)
def monitored_sender(app):
    app.config["MAIL_DEFAULT_SENDER"] = f"LERO Events <{SENDER}>"


def parse_with_icaljs(body, machine_zone="UTC"):
    """What ical.js makes of the file, on a machine whose own zone is `machine_zone`."""
    node = node_with("ical.js")
    result = subprocess.run(
        [node, str(JS_DIR / "parse_ics.mjs")],
        input=body,
        capture_output=True,
        cwd=JS_DIR,
        env={**os.environ, "TZ": machine_zone},
        timeout=30,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    return json.loads(result.stdout)


def fetch_calendar(client, path, method="PUBLISH"):
    """GET an .ics and check what every calendar file we serve must be."""
    response = client.get(path)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == f"text/calendar; charset=utf-8; method={method}"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="')
    body = response.get_data()
    assert body.endswith(b"\r\n")
    assert b"\n" not in body.replace(b"\r\n", b""), "every line ends in CRLF"
    lines = body.split(b"\r\n")
    assert max(len(line) for line in lines) <= 75, "lines are folded at 75 octets"
    calendar = icalendar.Calendar.from_ical(body)
    assert calendar["METHOD"] == method
    assert calendar["VERSION"] == "2.0"
    assert calendar["PRODID"].startswith("-//LERO Events//")
    assert calendar["CALSCALE"] == "GREGORIAN"
    return body, calendar


def utc_instants(calendar):
    """(UID, start, end) per event as icalendar reads them, in UTC ISO form like ical.js."""
    return [
        (
            str(vevent["UID"]),
            vevent.decoded("DTSTART").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            vevent.decoded("DTEND").astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        )
        for vevent in calendar.walk("VEVENT")
    ]


def js_instants(parsed):
    return [(e["uid"], e["start"]["utc"], e["end"]["utc"]) for e in parsed["events"]]


def only_event(calendar):
    (vevent,) = calendar.walk("VEVENT")
    return vevent


def book(event, name="Robin Attendee", email="robin@example.org"):
    """A registration made the way the public makes one; returns its private-link token."""
    registered = register_attendee(event, RegistrationData(name=name, email=email, consent=True))
    return private_token(registered.registration)


def event_in_london(**fields):
    """A published event in Europe/London with one agenda item, created by the domain."""
    start = fields.pop("starts_at", datetime(2027, 7, 1, 18, 30))
    end = fields.pop("ends_at", start + timedelta(minutes=90))
    agenda = [events.AgendaItemData("Welcome", "talk", start, start + timedelta(minutes=10))]
    return create_event(starts_at=start, ends_at=end, agenda=agenda, **fields)


class Links(HTMLParser):
    """Every <a href> on a page, keyed by its text, with entities already decoded."""

    def __init__(self):
        super().__init__()
        self.links, self._href, self._text = {}, None, []

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self._href, self._text = dict(attrs).get("href"), []

    def handle_data(self, data):
        if self._href is not None:
            self._text.append(data)

    def handle_endtag(self, tag):
        if tag == "a" and self._href is not None:
            self.links[" ".join("".join(self._text).split())] = self._href
            self._href = None


def page_links(client, path):
    parser = Links()
    parser.feed(client.get(path).get_data(as_text=True))
    return parser.links


def test_public_invite_is_a_complete_publish_in_the_event_zone(app, client):
    with app.app_context():
        event = event_in_london(
            slug="summer",
            description="Ninety minutes together.\nBring a cuppa.",
            video_url=VIDEO,
        )
        uid = event.ical_uid

    body, calendar = fetch_calendar(client, "/events/summer.ics")
    vevent = only_event(calendar)
    assert str(vevent["UID"]) == uid
    assert vevent["SEQUENCE"] == 0
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent.decoded("DTSTAMP").tzinfo is not None
    assert vevent["DTSTART"].params["TZID"] == "Europe/London"
    assert vevent["DTEND"].params["TZID"] == "Europe/London"
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == ["Europe/London"]
    assert b"DTSTART;TZID=Europe/London:20270701T183000\r\n" in body
    assert str(vevent["SUMMARY"]) == "A Big Conversation"
    description = str(vevent["DESCRIPTION"])
    assert description.startswith("Ninety minutes together.\nBring a cuppa.")
    assert "Agenda (times in Europe/London):\n18:30–18:40 BST: Welcome (talk)" in description
    assert str(vevent["URL"]) == "http://localhost/events/summer"
    assert str(vevent["LOCATION"]) == "http://localhost/events/summer"
    assert "ATTENDEE" not in vevent
    assert VIDEO.encode() not in body.replace(b"\r\n ", b""), "the call link is for attendees"
    organizer = vevent["ORGANIZER"]
    assert str(organizer) == f"mailto:{SENDER}"
    assert organizer.params["CN"] == "Olive Organiser"
    (alarm,) = vevent.walk("VALARM")
    assert alarm["ACTION"] == "DISPLAY"
    assert alarm.decoded("TRIGGER") == timedelta(hours=-1)

    parsed = parse_with_icaljs(body)
    assert parsed["method"] == "PUBLISH"
    assert parsed["timezones"] == ["Europe/London"]
    assert js_instants(parsed) == utc_instants(calendar)
    assert js_instants(parsed) == [(uid, "2027-07-01T17:30:00.000Z", "2027-07-01T19:00:00.000Z")]
    (js_event,) = parsed["events"]
    assert (js_event["sequence"], js_event["status"]) == (0, "CONFIRMED")
    assert js_event["start"]["tzid"] == "Europe/London"
    assert js_event["organizer"]["value"] == f"mailto:{SENDER}"
    assert js_event["organizer"]["cn"] == "Olive Organiser"
    assert js_event["attendees"] == []
    assert js_event["alarms"] == [{"action": "DISPLAY", "trigger": "-PT1H"}]
    assert js_event["description"] == description


@pytest.mark.parametrize(
    ("local_start", "local_end", "utc_start", "utc_end"),
    [
        # The clocks go forward at 01:00 GMT: 00:30 GMT to 03:30 BST is two hours.
        ("2027-03-28T00:30", "2027-03-28T03:30", "2027-03-28T00:30", "2027-03-28T02:30"),
        # They go back at 02:00 BST: 00:30 BST to 02:30 GMT is three hours.
        ("2027-10-31T00:30", "2027-10-31T02:30", "2027-10-30T23:30", "2027-10-31T02:30"),
        # 01:30 that night happens twice; the first occurrence (BST) is meant.
        ("2027-10-31T01:30", "2027-10-31T02:30", "2027-10-31T00:30", "2027-10-31T02:30"),
    ],
    ids=["spring-forward", "fall-back", "repeated-hour"],
)
def test_nights_the_clocks_change_give_the_same_instants_in_both_parsers(
    app, client, local_start, local_end, utc_start, utc_end
):
    with app.app_context():
        create_organiser()
    login(client)
    form = organiser_form(client, local_start, local_end)
    assert client.post("/organiser/events/new", data=form).status_code == 302
    publish(client, "night")

    body, calendar = fetch_calendar(client, "/events/night.ics")
    if local_start.endswith("T01:30"):
        # Ambiguous as a local time, so written as the instant it is.
        assert f"DTSTART:{compact(utc_start)}00Z\r\n".encode() in body
    else:
        assert f"DTSTART;TZID=Europe/London:{compact(local_start)}00\r\n".encode() in body
    assert f"DTEND;TZID=Europe/London:{compact(local_end)}00\r\n".encode() in body
    expected = [(f"{utc_start}:00.000Z", f"{utc_end}:00.000Z")]
    assert [instants[1:] for instants in utc_instants(calendar)] == expected
    parsed = parse_with_icaljs(body, machine_zone="America/New_York")
    assert [instants[1:] for instants in js_instants(parsed)] == expected
    (vtimezone,) = calendar.walk("VTIMEZONE")
    rules = vtimezone.to_ical()
    assert b"TZOFFSETTO:+0100" in rules and b"TZOFFSETTO:+0000" in rules
    assert b"20270328T020000" in rules and b"20271031T020000" in rules, "2027's changes"


def test_second_pass_of_the_repeated_hour_is_written_in_utc(app, client):
    with app.app_context():
        event = event_in_london(
            slug="second-pass",
            starts_at=datetime(2027, 10, 31, 0, 0),
            ends_at=datetime(2027, 10, 31, 3, 0),
        )
        # 01:30 GMT, after the clocks went back: only a stored instant can say this.
        event.ends_at = datetime(2027, 10, 31, 1, 30, tzinfo=UTC)
        event.agenda_items = []
        db.session.commit()
    body, calendar = fetch_calendar(client, "/events/second-pass.ics")
    assert b"DTEND:20271031T013000Z\r\n" in body
    expected = ("2027-10-30T23:00:00.000Z", "2027-10-31T01:30:00.000Z")
    assert utc_instants(calendar)[0][1:] == expected
    assert js_instants(parse_with_icaljs(body))[0][1:] == expected


def test_host_abroad_creates_a_london_event_that_lands_right_everywhere(app, client):
    """A host in New York enters London wall-clock times; readers anywhere get one instant."""
    with app.app_context():
        create_organiser()
    login(client)
    form = organiser_form(client, "2027-07-01T18:30", "2027-07-01T20:00")
    assert client.post("/organiser/events/new", data=form).status_code == 302
    publish(client, "night")

    body, calendar = fetch_calendar(client, "/events/night.ics")
    expected = [("2027-07-01T17:30:00.000Z", "2027-07-01T19:00:00.000Z")]
    assert [i[1:] for i in utc_instants(calendar)] == expected
    for machine_zone in ("America/New_York", "Asia/Tokyo", "Australia/Sydney"):
        parsed = parse_with_icaljs(body, machine_zone=machine_zone)
        assert [i[1:] for i in js_instants(parsed)] == expected

    links = page_links(client, "/events/night")
    google = parse_qs(urlsplit(links["Add to Google Calendar"]).query)
    assert urlsplit(links["Add to Google Calendar"]).netloc == "calendar.google.com"
    assert google["action"] == ["TEMPLATE"]
    assert google["dates"] == ["20270701T173000Z/20270701T190000Z"]
    assert google["ctz"] == ["Europe/London"]
    assert google["text"] == ["Night Owls"]
    assert "18:30–18:40 BST: Welcome (talk)" in google["details"][0]
    outlook_url = links["Add to Outlook.com"]
    assert outlook_url.startswith("https://outlook.live.com/calendar/0/action/compose?")
    outlook = parse_qs(urlsplit(outlook_url).query)
    assert outlook["startdt"] == ["2027-07-01T17:30:00Z"]
    assert outlook["enddt"] == ["2027-07-01T19:00:00Z"]
    assert outlook["subject"] == ["Night Owls"]
    assert outlook["location"] == ["http://localhost/events/night"]
    assert links["Download .ics"] == "/events/night.ics"
    for url in (links["Add to Google Calendar"], outlook_url):
        assert "meet.example.org" not in url, "public links never carry the call link"


def test_uid_stays_while_sequence_rises_when_the_organiser_moves_the_event(app, client):
    with app.app_context():
        create_organiser()
    login(client)
    form = organiser_form(client, "2027-07-01T18:30", "2027-07-01T20:00")
    assert client.post("/organiser/events/new", data=form).status_code == 302
    publish(client, "night")

    first = only_event(fetch_calendar(client, "/events/night.ics")[1])
    again = only_event(fetch_calendar(client, "/events/night.ics")[1])
    assert str(first["UID"]) == str(again["UID"])
    assert first["SEQUENCE"] == again["SEQUENCE"] == 0

    form = organiser_form(client, "2027-07-01T19:00", "2027-07-01T20:30", path="night/edit")
    assert client.post("/organiser/events/night/edit", data=form).status_code == 302
    body, calendar = fetch_calendar(client, "/events/night.ics")
    moved = only_event(calendar)
    assert str(moved["UID"]) == str(first["UID"])
    assert moved["SEQUENCE"] == 1
    (js_event,) = parse_with_icaljs(body)["events"]
    assert (js_event["uid"], js_event["sequence"]) == (str(first["UID"]), 1)
    assert js_event["start"]["utc"] == "2027-07-01T18:00:00.000Z"


def test_attendee_copy_is_a_request_with_the_video_link_only_when_confirmed(app, client):
    with app.app_context():
        event = event_in_london(slug="small", capacity=1, video_url=VIDEO)
        confirmed = book(event, 'Robin, of Leeds; "RJ"', "robin@example.org")
        waitlisted = book(event, "Sam Waiting", "sam@example.org")
        statuses = db.session.scalars(sa.select(Registration.status).order_by(Registration.id))
        assert statuses.all() == ["confirmed", "waitlisted"]

    response = client.get(f"/r/{confirmed}/invite.ics")
    assert response.headers["Cache-Control"] == "no-store"
    body, calendar = fetch_calendar(client, f"/r/{confirmed}/invite.ics", method="REQUEST")
    vevent = only_event(calendar)
    attendee = vevent["ATTENDEE"]
    assert str(attendee) == "mailto:robin@example.org"
    assert attendee.params["CN"] == 'Robin, of Leeds; "RJ"'
    assert attendee.params["ROLE"] == "REQ-PARTICIPANT"
    assert attendee.params["PARTSTAT"] == "ACCEPTED"
    assert attendee.params["RSVP"] == "FALSE"
    assert str(vevent["LOCATION"]) == VIDEO
    assert f"Video call: {VIDEO}" in str(vevent["DESCRIPTION"])
    assert str(vevent["DESCRIPTION"]).endswith(
        f"Your booking (to cancel, or if your plans change): http://localhost/r/{confirmed}"
    )
    assert vevent["STATUS"] == "CONFIRMED"
    assert vevent.walk("VALARM")
    (js_event,) = parse_with_icaljs(body)["events"]
    assert js_event["attendees"] == [
        {
            "value": "mailto:robin@example.org",
            "cn": 'Robin, of Leeds; "RJ"',
            "role": "REQ-PARTICIPANT",
            "partstat": "ACCEPTED",
            "rsvp": "FALSE",
        }
    ]
    assert js_event["location"] == VIDEO

    body, calendar = fetch_calendar(client, f"/r/{waitlisted}/invite.ics", method="REQUEST")
    vevent = only_event(calendar)
    assert str(vevent["ATTENDEE"]) == "mailto:sam@example.org"
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "TENTATIVE"
    assert VIDEO.encode() not in body.replace(b"\r\n ", b"")

    public_body, _ = fetch_calendar(client, "/events/small.ics")
    public_body = public_body.replace(b"\r\n ", b"")
    assert VIDEO.encode() not in public_body
    assert b"/r/" not in public_body, "no private link in the public copy"
    number = confirmed.partition(".")[0]
    assert client.get(f"/r/{number}.not-the-secret/invite.ics").status_code == 404
    assert client.get("/r/nonsense/invite.ics").status_code == 404


def test_cancelled_event_cancels_the_attendee_copy_and_marks_the_public_one(app, client):
    with app.app_context():
        event = event_in_london(slug="called-off", video_url=VIDEO)
        token = book(event)
        uid = event.ical_uid
    login(client)
    client.post(
        "/organiser/events/called-off/cancel",
        data={"csrf_token": csrf_token(client, "/organiser/")},
    )

    body, calendar = fetch_calendar(client, f"/r/{token}/invite.ics", method="CANCEL")
    vevent = only_event(calendar)
    assert (str(vevent["UID"]), vevent["SEQUENCE"], vevent["STATUS"]) == (uid, 1, "CANCELLED")
    assert str(vevent["ATTENDEE"]) == "mailto:robin@example.org"
    assert not vevent.walk("VALARM"), "no reminder for an event that will not happen"
    assert VIDEO.encode() not in body.replace(b"\r\n ", b"")
    parsed = parse_with_icaljs(body)
    assert parsed["method"] == "CANCEL"
    assert (parsed["events"][0]["status"], parsed["events"][0]["sequence"]) == ("CANCELLED", 1)

    _, calendar = fetch_calendar(client, "/events/called-off.ics")
    assert only_event(calendar)["STATUS"] == "CANCELLED"


def test_attendee_who_cancels_gets_a_cancel_for_their_copy(app, client):
    with app.app_context():
        event = event_in_london(slug="changed-mind")
        token = book(event)
        registration = db.session.scalar(sa.select(Registration))
        registration.status = "cancelled"
        db.session.commit()
    _, calendar = fetch_calendar(client, f"/r/{token}/invite.ics", method="CANCEL")
    vevent = only_event(calendar)
    assert vevent["STATUS"] == "CANCELLED"
    assert vevent["ATTENDEE"].params["PARTSTAT"] == "DECLINED"


def test_demo_big_conversation_invite_is_accepted_by_both_parsers(app, client, runner):
    assert runner.invoke(args=["demo"]).exit_code == 0
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == "big-conversation"))
        token = book(event)
        uid, video = event.ical_uid, event.video_url
    body, calendar = fetch_calendar(client, f"/r/{token}/invite.ics", method="REQUEST")
    parsed = parse_with_icaljs(body)
    assert js_instants(parsed) == utc_instants(calendar)
    (js_event,) = parsed["events"]
    assert (js_event["uid"], js_event["location"]) == (uid, video)
    assert js_event["attendees"][0]["value"] == "mailto:robin@example.org"
    assert "Agenda (times in Europe/London):" in js_event["description"]


def test_drafts_have_no_calendar_file_even_for_their_host(app, client):
    with app.app_context():
        create_event(slug="secret-draft", publish=False)
    login(client)
    assert client.get("/events/secret-draft").status_code == 200
    response = client.get("/events/secret-draft.ics")
    assert response.status_code == 404
    assert "BEGIN:VCALENDAR" not in response.get_data(as_text=True)


def test_feed_lists_published_events_with_subscription_properties(app, client):
    with app.app_context():
        published = [
            event_in_london(title="London one", slug="london-one"),
            event_in_london(title="London two", slug="london-2", starts_at=datetime(2028, 1, 10)),
            create_event(
                title="New York",
                slug="new-york",
                timezone="America/New_York",
                starts_at=datetime(2027, 11, 7, 1, 30),
            ),
        ]
        published = {event.ical_uid for event in published}
        create_event(title="Draft", slug="draft", publish=False)
        events.cancel_event(create_event(title="Cancelled", slug="cancelled"))
        old = create_event(title="Long ago", slug="long-ago")
        old.starts_at = datetime(2020, 1, 1, 10, tzinfo=UTC)
        old.ends_at = datetime(2020, 1, 1, 11, tzinfo=UTC)
        db.session.commit()

    body, calendar = fetch_calendar(client, "/calendar.ics")
    assert (
        'filename="lero-events.ics"' in client.get("/calendar.ics").headers["Content-Disposition"]
    )
    assert b"REFRESH-INTERVAL;VALUE=DURATION:PT1H\r\n" in body
    assert b"X-PUBLISHED-TTL:PT1H\r\n" in body
    assert str(calendar["X-WR-CALNAME"]) == "LERO Events"
    assert str(calendar["X-WR-TIMEZONE"]) == "Europe/London"
    assert {str(v["UID"]) for v in calendar.walk("VEVENT")} == published
    assert sorted(str(z["TZID"]) for z in calendar.walk("VTIMEZONE")) == [
        "America/New_York",
        "Europe/London",
    ]
    for vevent in calendar.walk("VEVENT"):
        assert "ATTENDEE" not in vevent
        assert vevent["DTEND"].params["TZID"] in ("America/New_York", "Europe/London")
    # 01:30 on the morning New York's clocks go back happens twice: the first pass (EDT),
    # written in UTC.
    assert b"DTSTART:20271107T053000Z\r\n" in body

    parsed = parse_with_icaljs(body)
    assert (parsed["method"], parsed["calname"]) == ("PUBLISH", "LERO Events")
    assert parsed["refresh_interval"] == "PT1H"
    assert sorted(js_instants(parsed)) == sorted(utc_instants(calendar))
    assert "2027-11-07T05:30:00.000Z" in {e["start"]["utc"] for e in parsed["events"]}

    home = page_links(client, "/")
    assert home["Subscribe to all events in your calendar"] == "webcal://localhost/calendar.ics"
    assert home["http://localhost/calendar.ics"] == "http://localhost/calendar.ics"


def test_public_base_url_makes_the_links_in_invites(app, client):
    app.config["PUBLIC_BASE_URL"] = "https://events.example.org/"
    with app.app_context():
        event_in_london(slug="based")
    _, calendar = fetch_calendar(client, "/events/based.ics")
    assert str(only_event(calendar)["URL"]) == "https://events.example.org/events/based"
    home = page_links(client, "/")
    assert home["Subscribe to all events in your calendar"] == (
        "webcal://events.example.org/calendar.ics"
    )


def test_titles_with_commas_semicolons_newlines_and_markup_survive(app, client):
    title = 'Tea, talk; and <script>alert("x")</script> & more'
    with app.app_context():
        event_in_london(
            slug="escaping", title=title, description="Line one, still one;\nLine two\\ end"
        )
    body, calendar = fetch_calendar(client, "/events/escaping.ics")
    unfolded = body.replace(b"\r\n ", b"")
    assert b"SUMMARY:Tea\\, talk\\; and <script>" in unfolded
    assert b"Line one\\, still one\\;\\nLine two\\\\ end" in unfolded
    vevent = only_event(calendar)
    assert str(vevent["SUMMARY"]) == title
    (js_event,) = parse_with_icaljs(body)["events"]
    assert js_event["summary"] == title
    assert js_event["description"].startswith("Line one, still one;\nLine two\\ end")

    page = client.get("/events/escaping").get_data(as_text=True)
    assert "<script>alert" not in page
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in page
    google = parse_qs(
        urlsplit(page_links(client, "/events/escaping")["Add to Google Calendar"]).query
    )
    assert google["text"] == [title]


def organiser_form(client, starts_at, ends_at, path="new"):
    """The organiser's event form for 'Night Owls' in Europe/London at these local times."""
    return {
        "csrf_token": csrf_token(client, f"/organiser/events/{path}"),
        "title": "Night Owls",
        "slug": "night",
        "description": "For people awake at night.",
        "timezone": "Europe/London",
        "starts_at": starts_at,
        "ends_at": ends_at,
        "capacity": "",
        "video_url": VIDEO,
        "agenda-0-title": "Welcome",
        "agenda-0-kind": "talk",
        "agenda-0-starts_at": starts_at,
        "agenda-0-ends_at": (datetime.fromisoformat(starts_at) + timedelta(minutes=10)).strftime(
            "%Y-%m-%dT%H:%M"
        ),
    }


def compact(iso_minutes):
    return iso_minutes.replace("-", "").replace(":", "")


def publish(client, slug):
    response = client.post(
        f"/organiser/events/{slug}/publish", data={"csrf_token": csrf_token(client, "/organiser/")}
    )
    assert response.status_code == 302
