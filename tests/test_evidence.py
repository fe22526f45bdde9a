"""Evidence for hosts: figures checked against a hand-counted event over HTTP, small numbers
hidden in everything shared, SVG charts that parse, the downloads, the access log, the page
across an organiser's events, and a 404 for everyone else on every address."""

import csv
import io
import re
import uuid
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from html import escape

import pytest

from lero_events.extensions import db
from lero_events.models import Contribution, Phrase, Prompt, Resonance, SupportRequest
from lero_events.registrations import private_token

from .conftest import create_event, create_organiser, create_registration, login
from .live_clients import LiveClient, contribute
from .test_harvest import text_of

SVG = "{http://www.w3.org/2000/svg}"
DAY_ONE = datetime(2026, 9, 7, 9, 0, tzinfo=UTC)  # a Monday
# Names, addresses and access needs of the fixture: none may appear in anything shared.
PERSONAL = ("Real Person", "@example.org", "Step-free", "Tabby Tabs", "Gail Guest")


def post(event, text, author_key, registration=None, guest_name=None, prompt=None, **fields):
    contribution = Contribution(
        event_id=event.id,
        prompt_id=prompt.id if prompt else None,
        registration_id=registration.id if registration else None,
        guest_name=guest_name,
        author_key=author_key,
        client_id=str(uuid.uuid4()),
        text=text,
        status=fields.pop("status", "approved"),
        **fields,
    )
    db.session.add(contribution)
    db.session.commit()
    return contribution


def person(event, organisation="", came=True, day=0, status="confirmed", blank=False, **fields):
    """A registration; `blank`: its personal fields emptied, as erasure and the purge do."""
    registration = create_registration(
        event,
        name=f"Real Person {uuid.uuid4().hex[:6]}",
        status=status,
        organisation=organisation,
        access_needs="Step-free access",
        attended_at=DAY_ONE + timedelta(days=20) if came else None,
        created_at=DAY_ONE + timedelta(days=day),
        **fields,
    )
    if blank:
        registration.name = registration.email = registration.access_needs = ""
        db.session.commit()
    return registration


def counted_event(owner, slug="counted"):
    """The hand-counted event (the counts are in test_every_figure_matches_the_hand_count)."""
    event = create_event(owner=owner, slug=slug, title="Counted by hand")
    spellings = ["Hope Street", " hope street ", "HOPE STREET", "Hope Street", "Hope  Street"]
    hope = [person(event, name, display_name="Tabby Tabs") for name in spellings]
    hope.append(person(event, "Hope Street", day=2))
    person(event, "Kettle Club", came=False)
    person(event, "Kettle Club", came=False, day=2)
    nobody = person(event, "")
    person(event, "Waiting Org", came=False, status="waitlisted", day=2)
    person(event, "Waiting Org", came=False, status="waitlisted")
    person(event, "Gone Org", came=False, status="cancelled")
    # Came, posted, then erased their data: erasure blanks the row and cancels it.
    erased = person(event, "", status="cancelled", erased_at=DAY_ONE, blank=True)
    # As the retention purge leaves a row: personal fields gone, the rest kept.
    purged = person(event, "Kettle Club", day=2, erased_at=DAY_ONE, blank=True)
    assert nobody and purged

    q1 = Prompt(event_id=event.id, text="What helped?")
    q2 = Prompt(event_id=event.id, text="What next?")
    never_asked = Prompt(event_id=event.id, text="Prepared, never asked", prepared=True)
    db.session.add_all([q1, q2, never_asked])
    db.session.commit()
    a, b, c = hope[0], hope[1], hope[2]
    # One person in two tabs: the same author key, from either tab.
    first = post(event, "From the first tab", f"r:{a.id}", a, prompt=q1)
    post(event, "From the second tab", f"r:{a.id}", a, prompt=q1)
    post(event, "Held back", f"r:{b.id}", b, prompt=q1, status="rejected")
    post(event, "Shared", f"r:{c.id}", c, prompt=q2)
    post(event, "Before erasing", f"r:{erased.id}", erased, prompt=q2)
    guest = post(event, "A guest's words", "g:gail", guest_name="Gail Guest")
    db.session.add_all(
        [
            Resonance(contribution_id=guest.id, participant_key=f"r:{a.id}"),
            Resonance(contribution_id=guest.id, participant_key="g:lee"),  # a guest, silent
            Resonance(contribution_id=first.id, participant_key=f"r:{c.id}"),
        ]
    )
    db.session.add_all(
        [
            Phrase(event_id=event.id, text="Said on the call", attribution="Participant on Zoom"),
            Phrase(event_id=event.id, text="Said on the panel", attribution="Panellist Pat"),
            Phrase(event_id=event.id, text="Taken back", withdrawn=True),
        ]
    )
    # Asked the wellbeing hosts for support: a, the guest Gail, and the erased person.
    db.session.add_all(
        [
            SupportRequest(event_id=event.id, author_key=f"r:{a.id}", registration_id=a.id),
            SupportRequest(event_id=event.id, author_key="g:gail", guest_name="Gail Guest"),
            SupportRequest(
                event_id=event.id,
                author_key=f"r:{erased.id}",
                registration_id=erased.id,
                status="handled",
            ),
        ]
    )
    event.starts_at, event.ends_at = DAY_ONE + timedelta(days=20), DAY_ONE + timedelta(days=21)
    db.session.commit()
    return event


@pytest.fixture
def counted(app):
    with app.app_context():
        owner = create_organiser()
        other = create_organiser("other@example.org", "Otto Other")
        create_event(owner=other, slug="not-yours", title="Someone else's event")
        return counted_event(owner).slug


def figures_of(page):
    return dict(
        re.findall(r'id="figure-(\w+)">.*?class="figure-value">([^<]+)<', page, flags=re.DOTALL)
    )


def test_every_figure_matches_the_hand_count(app, client, counted):
    login(client)
    page = text_of(client.get(f"/events/{counted}/evidence"))
    assert figures_of(page) == {
        "signed_up": "14",  # every row, whatever became of it
        "confirmed": "10",  # 6 Hope Street, 2 Kettle Club, 1 without one, 1 purged
        "waiting": "2",
        "cancelled": "2",  # one gave up, one erased their data
        "took_part": "9",  # 6 Hope Street, the one without, the erased, the purged
        "contributed": "4",  # a (two tabs, once), b (held back), c, the erased person
        "guests": "2",  # Gail posted, Lee only resonated
        "posted": "6",
        "contributions": "5",
        "phrases": "2",  # "Participant on Zoom" is a phrase, not a voice
        "organisations": "2",  # Hope Street in five spellings, Kettle Club
        "resonance": "3",
        "support_requests": "3",  # a number only: a, Gail and the erased person asked
    }
    assert (
        "14 people signed up, 9 took part, 4 shared a reflection, from 2 organisations. "
        "2 guests without a booking joined in too." in page
    )
    assert "3 people marked 2 reflections as resonating with them, 3 times in all." in page
    assert "people with a booking who came: they joined the live room" in page

    tables = chart_tables(page)
    assert tables["chart-journey"] == [
        ["Signed up", "14"],
        ["Confirmed", "10"],
        ["Took part", "9"],
        ["Contributed", "4"],
        ["Guests (no booking)", "2"],
    ]
    assert tables["chart-questions"] == [
        ["What helped?", "3", "2"],
        ["What next?", "2", "2"],
        ["Without a question", "1", "1"],
    ]
    assert tables["chart-organisations"] == [
        ["Hope Street", "6", "6"],
        ["Kettle Club", "3", "1"],
        ["No organisation given", "1", ""],
    ]
    assert tables["chart-sign-ups"] == [
        ["Mon 07 Sep", "10", "10"],
        ["Tue 08 Sep", "0", "10"],
        ["Wed 09 Sep", "4", "14"],
    ]


def chart_tables(page):
    """Each chart's table, by chart id, as rows of cell texts (charts with nothing: no rows)."""
    tables = {}
    for chart_id, section in re.findall(
        r'<section class="chart" id="([\w-]+)"(.*?)</section>', page, flags=re.DOTALL
    ):
        rows = re.findall(r"<tr>(.*?)</tr>", section.split("<tbody>")[-1], flags=re.DOTALL)
        cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row) for row in rows]
        tables[chart_id] = [[re.sub(r"<[^>]+>", "", c).strip() for c in row] for row in cells]
        if "<tbody>" not in section:
            tables[chart_id] = []
    return tables


def svgs_of(page):
    """Every inline chart, parsed as XML (our own server's output, so no defusing needed)."""
    found = re.findall(r"<svg.*?</svg>", page, flags=re.DOTALL)
    return [ET.fromstring(svg) for svg in found]  # noqa: S314


def test_charts_are_svg_that_parses_with_a_title_a_description_and_bar_titles(app, client, counted):
    login(client)
    page = client.get(f"/events/{counted}/evidence").get_data(as_text=True)
    charts = svgs_of(page)
    assert len(charts) == 4
    for chart in charts:
        title, desc = chart.find(f"{SVG}title"), chart.find(f"{SVG}desc")
        assert title.text and desc.text
        assert chart.get("role") == "img"
        assert chart.get("aria-labelledby") == f"{title.get('id')} {desc.get('id')}"
        bars = chart.findall(f"{SVG}g")
        assert bars and all(bar.find(f"{SVG}title").text for bar in bars)
    journey = next(c for c in charts if c.find(f"{SVG}title").text.startswith("From booking"))
    assert [bar.find(f"{SVG}title").text for bar in journey.findall(f"{SVG}g")] == [
        "Signed up: 14",
        "Confirmed: 10",
        "Took part: 9",
        "Contributed: 4",
        "Guests (no booking): 2",
    ]
    assert "Took part: 9" in journey.find(f"{SVG}desc").text


def test_everything_shared_hides_small_counts_of_people_and_small_organisations(
    app, client, counted
):
    login(client)
    shared = text_of(client.get(f"/events/{counted}/evidence/shareable"))
    figures = figures_of(shared)
    assert figures["signed_up"] == "14" and figures["took_part"] == "9"
    for small in ("waiting", "cancelled", "contributed", "guests"):
        assert figures[small] == "fewer than 5", small
    assert figures["organisations"] == "2", "a count of organisations picks no one out"
    assert figures["phrases"] == "2" and figures["resonance"] == "3"
    assert figures["support_requests"] == "fewer than 5", "each is someone's"
    assert (
        "14 people signed up, 9 took part, fewer than 5 shared a reflection, from 2 "
        "organisations. Fewer than 5 guests without a booking joined in too." in shared
    )
    tables = chart_tables(shared)
    assert tables["chart-organisations"] == [
        ["Hope Street", "6", "6"],
        ["1 other organisation, each with fewer than 5 people", "fewer than 5", "fewer than 5"],
        ["No organisation given", "fewer than 5", ""],
    ]
    assert tables["chart-sign-ups"] == [["Week of 07 Sep", "14", "14"]], "weekly when shared"
    journey = next(c for c in svgs_of(shared) if "booking" in c.find(f"{SVG}title").text)
    hidden = [g for g in journey.findall(f"{SVG}g") if "fewer than" in g.find(f"{SVG}title").text]
    assert [g.find(f"{SVG}rect").get("class") for g in hidden] == ["chart-bar chart-bar-hidden"] * 2
    assert "Who has looked at personal data" not in shared
    for leak in ("Kettle Club", *PERSONAL):
        assert leak not in shared

    markdown = client.get(f"/events/{counted}/evidence/summary.md").get_data(as_text=True)
    assert markdown.startswith("# Evidence: Counted by hand\n")
    assert "| Contributed | fewer than 5 |" in markdown
    assert "| Took part | 9 |" in markdown
    assert "| Support requests | fewer than 5 |" in markdown
    assert "| What helped? | 3 | 2 |" in markdown
    rows = list(csv.reader(io.StringIO(client.get(f"/events/{counted}/evidence/summary.csv").text)))
    assert rows[0] == ["section", "item", "measure", "value", "what it counts"]
    assert rows[7][:4] == ["figures", "Guests", "number", "fewer than 5"]
    assert ["Organisations represented", "Hope Street", "Places", "6", ""] in rows
    for download in (markdown, "\n".join(",".join(row) for row in rows)):
        for leak in ("Kettle Club", *PERSONAL):
            assert leak not in download


def test_the_threshold_is_a_setting(app, client, counted):
    app.config["SMALL_NUMBER_THRESHOLD"] = 3
    login(client)
    figures = figures_of(text_of(client.get(f"/events/{counted}/evidence/shareable")))
    assert figures["waiting"] == "fewer than 3" and figures["contributed"] == "4"
    assert figures["guests"] == "fewer than 3"
    exact = figures_of(text_of(client.get(f"/events/{counted}/evidence")))
    assert exact["waiting"] == "2", "hosts read exact numbers"


def test_the_harvest_day_in_figures_hides_small_numbers_and_counts_who_came(app, client, counted):
    login(client)
    figures = figures_of(text_of(client.get(f"/events/{counted}/harvest")))
    assert figures == {
        "signed_up": "14",
        "took_part": "9",
        "guests": "fewer than 5",
        "contributions": "5",
        "voices_heard": "fewer than 5",  # a, c, the erased person, Gail: not the attribution
        "phrases": "2",
        "organisations": "2",
    }
    exported = client.get(f"/events/{counted}/harvest/export.json").get_json()["figures"]
    assert exported["took_part"] == 9 and exported["guests"] == "fewer than 5"
    markdown = client.get(f"/events/{counted}/harvest/export.md").get_data(as_text=True)
    assert "- Voices heard: fewer than 5 (" in markdown
    csv_text = client.get(f"/events/{counted}/harvest/export.csv").get_data(as_text=True)
    assert "figure,,Guests,,fewer than 5,," in csv_text


def test_the_access_log_is_on_the_evidence_page(app, client, counted):
    login(client)
    page = text_of(client.get(f"/events/{counted}/evidence"))
    assert "Nobody has looked at them yet." in page
    registrations = text_of(client.get(f"/events/{counted}/registrations"))
    assert "<tr><td>Hope Street</td><td>6</td><td>0</td></tr>" in registrations, "one grouping"
    client.get(f"/events/{counted}/registrations.csv")
    page = text_of(client.get(f"/events/{counted}/evidence"))
    log = page.split("Who has looked at personal data", 1)[1]
    assert log.index("downloaded the registrations CSV (14 rows)") < log.index(
        "viewed the registrations list"
    ), "newest first"
    assert "Olive Organiser" in log


EVIDENCE_PATHS = (
    "/events/{}/evidence",
    "/events/{}/evidence/shareable",
    "/events/{}/evidence/summary.md",
    "/events/{}/evidence/summary.csv",
)


def test_anyone_but_the_hosts_gets_a_404_on_every_evidence_address(app, client, counted):
    login(client, "other@example.org")
    for path in EVIDENCE_PATHS:
        for slug in (counted, "no-such-event"):
            response = client.get(path.format(slug))
            assert response.status_code == 404, path
            assert "There is no event at that address." in text_of(response)
    assert client.get(EVIDENCE_PATHS[0].format("not-yours")).status_code == 200
    anonymous = app.test_client()
    for path in EVIDENCE_PATHS:
        assert anonymous.get(path.format(counted)).status_code == 404
    for path in ("/evidence", "/evidence/shareable", "/evidence/summary.md"):
        assert anonymous.get(path).status_code == 302, "log in first"
    across = text_of(client.get("/evidence"))
    assert "Counted by hand" not in across and "14" not in figures_of(across).values()


def test_across_events_counts_events_people_returning_and_organisations_over_time(
    app, client, counted
):
    with app.app_context():
        owner = create_organiser("third@example.org", "Thea Third")
        earlier = create_event(owner=owner, slug="earlier", title="The first one")
        earlier.starts_at = DAY_ONE - timedelta(days=60)
        earlier.ends_at = earlier.starts_at + timedelta(hours=2)
        later = create_event(owner=owner, slug="later", title="The second one")
        later.starts_at = DAY_ONE - timedelta(days=30)
        later.ends_at = later.starts_at + timedelta(hours=2)
        db.session.commit()
        for event, organisation in ((earlier, "Kettle Club"), (later, "kettle club")):
            person(event, organisation, email="back@example.org")  # came to both
        person(earlier, "Kettle Club", came=False)
        person(later, "Hope Street")
        person(later, "Hope Street", status="waitlisted", came=False)
        post(later, "A guest", "g:visitor", guest_name="Visitor")
        create_event(owner=owner, slug="to-come", title="Still to come")
        create_event(owner=owner, slug="a-draft", title="A draft", publish=False)
    login(client, "third@example.org")
    page = text_of(client.get("/evidence"))
    assert figures_of(page) == {
        "events_run": "2",
        "people_reached": "4",  # 1 came to the first; 2 and a guest to the second
        "returning": "1",
        "organisations_reached": "2",
    }
    assert "2 events run, reaching 4 people from 2 organisations; 1 person came back" in page
    assert "(1 still to come)" in page
    tables = chart_tables(page)
    first, second = tables["chart-organisations-over-time"]
    assert first[1:] == ["1", "1", "1"] and "The first one" in first[0]
    assert second[1:] == ["2", "1", "2"], "Kettle Club again, Hope Street new"
    assert [row[1:] for row in tables["chart-people-per-event"]] == [
        ["2", "1", "0", "0"],
        ["3", "2", "0", "1"],
    ]
    assert "Still to come" not in page.split("Each event's evidence")[0]
    assert "A draft" not in page

    shared = text_of(client.get("/evidence/shareable"))
    assert figures_of(shared)["returning"] == "fewer than 5"
    assert figures_of(shared)["organisations_reached"] == "2"
    markdown = client.get("/evidence/summary.md").get_data(as_text=True)
    assert markdown.startswith("# Evidence across the events of Thea Third\n")
    assert "| People reached | fewer than 5 |" in markdown
    assert "| Organisations reached | 2 |" in markdown
    rows = list(csv.reader(io.StringIO(client.get("/evidence/summary.csv").text)))
    assert rows[1][:4] == ["figures", "Events run", "number", "2"]
    for download in (shared, markdown, "\n".join(",".join(row) for row in rows)):
        for leak in ("back@example.org", "Visitor", *PERSONAL):
            assert leak not in download


def test_one_person_in_two_tabs_and_a_guest_count_as_the_live_room_saw_them(
    app, client, start_server
):
    with app.app_context():
        owner = create_organiser()
        event = create_event(owner=owner, slug="live-now", allow_guests=True)
        now = datetime.now(UTC)
        event.starts_at, event.ends_at = now - timedelta(minutes=10), now + timedelta(minutes=80)
        db.session.commit()
        token = private_token(create_registration(event, organisation="Two Tabs Org"))
    server = start_server()
    tabs = [LiveClient(server, {"slug": "live-now", "token": token}).connect() for _ in range(2)]
    guest = LiveClient(
        server, {"slug": "live-now", "guest_name": "Gil", "guest_key": "g" * 24}
    ).connect()
    for client_in, text in ((tabs[0], "from tab one"), (tabs[1], "from tab two"), (guest, "hi")):
        assert contribute(client_in, text)["ok"] is True
    login(client)
    figures = figures_of(text_of(client.get("/events/live-now/evidence")))
    assert figures["took_part"] == "1" and figures["contributed"] == "1"
    assert figures["guests"] == "1" and figures["posted"] == "3"


def test_text_in_charts_is_escaped_and_long_labels_are_cut_but_whole_in_the_table(app, client):
    name = "<script>alert(1)</script> & the Very Long Named Recovery Organisation of the North"
    with app.app_context():
        event = create_event(owner=create_organiser(), slug="escaped")
        person(event, name)
    login(client)
    page = client.get("/events/escaped/evidence").get_data(as_text=True)
    assert "<script>alert" not in page
    organisations = next(
        c for c in svgs_of(page) if c.find(f"{SVG}title").text == "Organisations represented"
    )
    label = organisations.find(f"{SVG}text").text
    assert label.startswith("<script>") and label.endswith("…") and len(label) == 32
    assert organisations.find(f"{SVG}g/{SVG}title").text == f"{name}: 1"
    table = chart_tables(page)["chart-organisations"]
    assert table == [[escape(name), "1", "1"]], "the table has the whole name, escaped"
