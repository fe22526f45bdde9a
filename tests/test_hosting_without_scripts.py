"""Hosts without JavaScript: every host action of the live room is a plain form (views/hosting.py)
that calls the socket event's domain function, tells the host what changed or why not, and
reaches the room's other members as the ordinary updates.

Through the Flask test client, with Flask-SocketIO's client in the same process as the other
members (frames go out at once), and Chromium with JavaScript off for the host.
"""

import re
import uuid
from html import unescape

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from lero_events.extensions import db
from lero_events.models import Contribution, Event, Phrase, RoomUpdate

from .conftest import PASSWORD, create_event, create_organiser, fresh_app, login, wait_until
from .live_in_process import InProcessClient
from .test_live_browser import (
    PHONE,
    WAIT,
    no_javascript_errors,  # noqa: F401 (an autouse fixture: no page may throw)
    open_host,
    open_participant,
    post,
)
from .test_moderation_browser import live_event
from .test_safe_room import field_value, flashed, heard


@pytest.fixture
def quick_app(tmp_path, database_url):
    # Frames go out at once, so an in-process client has them when the form's answer is back.
    with fresh_app(tmp_path, database_url, LIVE_TICK_SECONDS=0) as app:
        yield app


def plain_room(app, moderation="pre"):
    """A hosted event with guests, two guests in its room (an author and someone watching),
    and the host's browser logged in."""
    with app.app_context():
        event = create_event(owner=create_organiser(), slug="plain", room_agreement="")
        event.allow_guests, event.moderation = True, moderation
        db.session.commit()
    author = InProcessClient(app, {"slug": "plain", "guest_name": "Gil", "guest_key": "g" * 24})
    watcher = InProcessClient(app, {"slug": "plain", "guest_name": "Wyn", "guest_key": "w" * 24})
    assert author.connected and watcher.connected, (author.refused, watcher.refused)
    host = app.test_client()
    login(host)
    return author, watcher, host


def said(author, text):
    answer = author.call("contribute", {"client_id": str(uuid.uuid4()), "text": text})
    assert answer["ok"] is True, answer
    return answer["id"]


def host_page(host, query=""):
    return unescape(host.get(f"/events/plain/live/host{query}").get_data(as_text=True))


def send(host, form, **fields):
    """A host's plain form (`form`: the path after /live/host/), with the page's CSRF token;
    returns the answer and the page it sends the host back to."""
    token = field_value(host_page(host), "csrf_token")
    sent = host.post(f"/events/plain/live/host/{form}", data={"csrf_token": token, **fields})
    assert sent.status_code == 303, sent.get_data(as_text=True)
    return sent, host_page(host, sent.location.split("/live/host", 1)[1].split("#")[0])


def statuses(client, number):
    """The statuses the room told `client` contribution `number` went through."""
    return [
        data["contribution"]["status"]
        for data in heard(client, "contribution")
        if data["contribution"]["id"] == number
    ]


def room_updates(app):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(RoomUpdate))


def status_of(app, number):
    with app.app_context():
        return db.session.get(Contribution, number).status


def test_hosts_without_scripts_approve_several_at_once_and_the_room_hears_it(quick_app):
    app = quick_app
    author, watcher, host = plain_room(app)
    first, second, third = (said(author, text) for text in ("One", "Two", "Three"))
    page = host_page(host)
    bulk = re.search(r'<form class="bulk-actions" id="bulk-actions".*?</form>', page, re.S)
    assert bulk and "hidden" not in bulk.group(0).split(">")[0]
    for number, text in ((first, "One"), (second, "Two"), (third, "Three")):
        assert (
            f'<input type="checkbox" name="contribution_ids" value="{number}" '
            f'form="bulk-actions" aria-label="Select: {text}">' in page
        )

    sent, back = send(host, "moderate-many", action="approve", contribution_ids=[first, second])
    assert sent.location.endswith("#queue-heading")
    assert flashed(back) == ["Approved 2 reflections: the room sees them now."]
    assert f'id="q{first}"' not in back and f'id="q{second}"' not in back
    assert f'id="s{first}"' in back and f'id="s{second}"' in back and f'id="q{third}"' in back
    shared = [data["contribution"]["id"] for data in heard(watcher, "contribution")]
    assert shared == [first, second], "the other guest's screen shows both, oldest first"

    # Another host was quicker with one: the rest is done, and the host is told which was not.
    _sent, back = send(host, "moderate-many", action="reject", contribution_ids=[second, third])
    assert flashed(back) == [
        "Held back 1 reflection: their authors see that they were.",
        "1 reflection not changed: That contribution is approved, so it cannot be rejected.",
    ]
    assert statuses(author, third) == ["pending", "rejected"]
    assert status_of(app, second) == "approved"

    # Refusals: a notice each, and nothing changes.
    before = room_updates(app)
    for fields, notice in (
        ({"action": "approve"}, "Select one or more reflections first."),
        (
            {"action": "approve", "contribution_ids": [999999]},
            "1 reflection not changed: That contribution is not in this room.",
        ),
        (
            {"action": "approve", "contribution_ids": [first]},
            "1 reflection not changed: That contribution is approved, so it cannot be approved.",
        ),
        (
            {"action": "approve", "contribution_ids": ["one"]},
            "That contribution is not in this room.",
        ),
        ({"action": "publish", "contribution_ids": [third]}, "Choose approve or reject."),
    ):
        _sent, back = send(host, "moderate-many", **fields)
        assert flashed(back) == [notice], fields
    assert room_updates(app) == before and status_of(app, third) == "rejected"


def test_the_hosts_page_without_scripts_says_who_is_here_as_it_was_made(quick_app):
    app = quick_app
    author, watcher, host = plain_room(app, moderation="post")
    said(author, "Counted as a voice")
    page = host_page(host)
    here = re.search(r'<ul class="online" id="online">(.*?)</ul>', page, re.S).group(1)
    assert re.findall(r"<li>(.*?)</li>", here) == ["Gil (guest)", "Wyn (guest)"]
    assert '<span class="count" id="online-count">(2)</span>' in page
    assert "Voices heard: 1 · 2 people here" in unescape(page)
    watcher.disconnect()
    author.disconnect()
    # Gone from the page within a presence tick, as from the room's count.
    wait_until(lambda: "Gil (guest)" not in host_page(host), timeout=10)
    page = host_page(host)
    here = re.search(r'<ul class="online" id="online">(.*?)</ul>', page, re.S)
    assert re.findall(r"<li.*?>(.*?)</li>", here.group(1)) == ["Nobody has joined yet."]


def test_a_host_without_scripts_approves_and_features_a_reflection_in_one_click(quick_app):
    app = quick_app
    author, watcher, host = plain_room(app)
    number = said(author, "Worth a highlight from Dave")
    _sent, back = send(
        host, "moderate", action="redact", contribution_id=number, text="dave", label="name"
    )
    queued = re.search(rf'<li class="stream-item" id="q{number}">.*?</li>', back, re.S)
    assert queued and ">Approve and feature</button>" in queued.group(0)
    # What a host removed shows in the byline, as the host view's script writes it.
    assert "Gil · redacted: name</p>" in queued.group(0)

    _sent, back = send(host, "moderate", action="approve_feature", contribution_id=number)
    assert flashed(back) == ["Approved and featured: the room and the harvest highlight it."]
    item = re.search(rf'<li class="stream-item featured" id="s{number}">.*?</li>', back, re.S)
    assert item and "Worth a highlight from [name removed]" in item.group(0)
    assert "Gil · redacted: name</p>" in item.group(0)
    assert f'id="q{number}"' not in back
    shown = [
        (data["contribution"]["status"], data["contribution"]["featured"])
        for data in heard(watcher, "contribution")
    ]
    assert shown == [("approved", False), ("approved", True)]
    # Not a reflection of this room: nothing is approved or featured.
    _sent, back = send(host, "moderate", action="approve_feature", contribution_id="x")
    assert flashed(back) == ["That contribution is not in this room."]


def test_hosts_without_scripts_feature_withdraw_and_undo_and_the_room_hears_it(quick_app):
    app = quick_app
    author, watcher, host = plain_room(app, moderation="post")
    number = said(author, "Shown at once")
    waiting = None

    _sent, back = send(host, "moderate", action="feature", contribution_id=number)
    assert flashed(back) == ["Featured: the room and the harvest highlight it."]
    item = re.search(rf'<li class="stream-item featured" id="s{number}">.*?</li>', back, re.S)
    assert item and ">Stop featuring</button>" in item.group(0)
    _sent, back = send(host, "moderate", action="unfeature", contribution_id=number)
    assert flashed(back) == ["No longer featured."] and ">Feature</button>" in back
    featured = [data["contribution"]["featured"] for data in heard(watcher, "contribution")]
    assert featured == [False, True, False]

    # Withdrawn, then undone from the bar the page offers, as host.js does.
    sent, back = send(host, "moderate", action="withdraw", contribution_id=number)
    assert f"undo=c{number}" in sent.location
    assert flashed(back) == ["Withdrawn: it is out of the room and the harvest."]
    bar = re.search(r'<div class="undo-bar" id="undo-bar" role="status">.*?</div>', back, re.S)
    assert (
        bar and "Withdrawn: “Shown at once”." in bar.group(0) and 'value="restore"' in bar.group(0)
    )
    assert f'id="s{number}"' not in back
    _sent, back = send(host, "moderate", action="restore", contribution_id=number)
    assert flashed(back) == ["Back in the room: everyone sees it again."]
    assert f'id="s{number}"' in back
    assert 'id="undo-bar" role="status" hidden' in host_page(host, f"?undo=c{number}")
    assert statuses(watcher, number) == [
        "approved",
        "approved",
        "approved",
        "withdrawn",
        "approved",
    ]

    # Held back from the queue can be undone the same way.
    with app.app_context():
        db.session.scalar(sa.select(Event)).moderation = "pre"
        db.session.commit()
    waiting = said(author, "Waiting first")
    sent, back = send(host, "moderate", action="reject", contribution_id=waiting)
    assert "Held back: “Waiting first”." in back and f"undo=c{waiting}" in sent.location
    _sent, back = send(host, "moderate", action="restore", contribution_id=waiting)
    assert flashed(back) == ["Back in the queue: the room sees it once it is approved."]
    assert statuses(author, waiting) == ["pending", "rejected", "pending"]

    # Refusals: a stale id, one already moderated, one not shared yet, and an unknown action.
    before = room_updates(app)
    for fields, notice in (
        (
            {"action": "withdraw", "contribution_id": 999999},
            "That contribution is not in this room.",
        ),
        ({"action": "feature", "contribution_id": "x"}, "That contribution is not in this room."),
        (
            {"action": "feature", "contribution_id": waiting},
            "Only a published contribution can be featured.",
        ),
        (
            {"action": "withdraw", "contribution_id": waiting},
            "That contribution is pending, so it cannot be withdrawn.",
        ),
        (
            {"action": "restore", "contribution_id": number},
            "That contribution is approved, so it cannot be restored.",
        ),
        (
            {"action": "promote", "contribution_id": number},
            "Choose approve, hold back, redact, withdraw or feature.",
        ),
    ):
        sent, back = send(host, "moderate", **fields)
        assert flashed(back) == [notice], fields
        assert "undo=" not in sent.location
    assert room_updates(app) == before


def test_hosts_without_scripts_switch_moderation_and_correct_and_withdraw_phrases(quick_app):
    app = quick_app
    author, watcher, host = plain_room(app)
    page = host_page(host)
    assert '<input type="radio" name="mode" value="pre" checked>' in page

    sent, back = send(host, "moderation", mode="post")
    assert sent.location.endswith("#controls-heading")
    assert flashed(back) == [
        "Moderation is now after: reflections are shown at once, hosts can take them down."
    ]
    assert '<input type="radio" name="mode" value="post" checked>' in back
    assert heard(watcher, "settings")[-1]["moderation"] == "post"
    assert statuses(watcher, said(author, "Straight in")) == ["approved"]
    _sent, back = send(host, "moderation", mode="never")
    assert flashed(back) == ["Choose before or after."]
    _sent, back = send(host, "moderation", mode="pre")
    assert [data["moderation"] for data in heard(watcher, "settings")] == ["post", "pre"]

    _sent, back = send(host, "phrase", text="Nobody recovers alone", attribution="Jo")
    with app.app_context():
        phrase = db.session.scalar(sa.select(Phrase.id))
    assert f'id="phrase-{phrase}"' in back
    sent, back = send(
        host,
        "phrase/change",
        action="edit",
        phrase_id=phrase,
        text="Nobody recovers alone.",
        attribution="Jo M",
    )
    assert sent.location.endswith("#stream-heading")
    assert flashed(back) == ["Phrase corrected: “Nobody recovers alone.”"]
    assert ">Nobody recovers alone.</textarea>" in back and 'value="Jo M"' in back
    sent, back = send(host, "phrase/change", action="withdraw", phrase_id=phrase)
    assert flashed(back) == ["Phrase withdrawn: it is out of the room and the harvest."]
    assert f"undo=p{phrase}" in sent.location and f'id="phrase-{phrase}"' not in back
    assert "Phrase withdrawn: “Nobody recovers alone.”." in back

    before = room_updates(app)
    for fields, notice in (
        ({"action": "withdraw"}, "That phrase is already withdrawn."),
        ({"action": "edit", "text": "Again"}, "That phrase is withdrawn, so it cannot be edited."),
        (
            {"action": "edit", "phrase_id": 999999, "text": "Gone"},
            "That phrase is not in this room.",
        ),
        ({"action": "edit", "phrase_id": "", "text": "Gone"}, "That phrase is not in this room."),
        ({"action": "shout"}, "Choose edit, withdraw or bring back."),
    ):
        _sent, back = send(host, "phrase/change", **{"phrase_id": phrase, **fields})
        assert flashed(back) == [notice], fields
    assert room_updates(app) == before

    _sent, back = send(host, "phrase/change", action="restore", phrase_id=phrase)
    assert flashed(back) == ["Phrase back in the room and the harvest."]
    _sent, back = send(host, "phrase/change", action="edit", phrase_id=phrase, text="  ")
    assert flashed(back) == ["Please write something before sending."]
    sent_phrases = [
        (p["phrase"]["text"], p["phrase"]["withdrawn"]) for p in heard(watcher, "phrase")
    ]
    assert sent_phrases == [
        ("Nobody recovers alone", False),
        ("Nobody recovers alone.", False),
        ("", True),
        ("Nobody recovers alone.", False),
    ]


NEW_FORMS = {
    "moderate-many": {"action": "approve", "contribution_ids": ["1"]},
    "moderation": {"mode": "post"},
    "moderate": {"action": "withdraw", "contribution_id": "1"},
    "phrase/change": {"action": "withdraw", "phrase_id": "1"},
}


def test_the_new_forms_are_for_the_events_hosts_only_and_not_once_the_event_is_cancelled(
    quick_app,
):
    app = quick_app
    author, _watcher, host = plain_room(app, moderation="post")
    number = said(author, "Kept as it is")
    _sent, _back = send(host, "phrase", text="Kept too")
    with app.app_context():
        create_organiser("other@example.org", "Oscar Other")
    before = room_updates(app)
    other = app.test_client()
    login(other, "other@example.org")
    theirs = field_value(other.get("/events/plain/live").get_data(as_text=True), "csrf_token")
    for form, fields in NEW_FORMS.items():
        url = f"/events/plain/live/host/{form}"
        as_other = other.post(url, data={"csrf_token": theirs, **fields})
        assert as_other.status_code == 403, form
        assert "Only this event&#39;s hosts can do that." in as_other.get_data(as_text=True)
        expired = host.post(url, data=fields)
        assert expired.status_code == 400 and "The CSRF token is missing." in expired.get_data(
            as_text=True
        )
    assert room_updates(app) == before

    with app.app_context():
        db.session.scalar(sa.select(Event)).status = "cancelled"
        db.session.commit()
    for form, fields in NEW_FORMS.items():
        _sent, back = send(host, form, **fields)
        assert flashed(back) == ["This event has been cancelled, so its live room is closed."], form
    assert room_updates(app) == before
    assert status_of(app, number) == "approved"
    with app.app_context():
        assert db.session.scalar(sa.select(Phrase)).withdrawn is False
        assert db.session.scalar(sa.select(Event)).moderation == "post"


def test_a_host_without_scripts_approves_two_at_once_and_corrects_a_phrase_on_a_phone(
    app, live_server, chromium, accessibility_problems
):
    sam, _ada = live_event(app, "no-scripts")
    # bypass_csp only so the test can inject axe; the pages' own policy is unchanged.
    plain = chromium.new_context(java_script_enabled=False, viewport=PHONE, bypass_csp=True)
    scripted = chromium.new_context(viewport=PHONE)
    hosting = chromium.new_context(viewport=PHONE)
    try:
        participant = open_participant(scripted, live_server, "no-scripts", sam)
        for text in ("Together we got here", "Small steps count", "Not this one yet"):
            post(participant, text)
            participant.locator("#my-contributions li", has_text=text).wait_for(timeout=WAIT)

        host = plain.new_page()
        host.goto(f"{live_server.url}/login")
        host.get_by_label("Email").fill("organiser@example.org")
        host.get_by_label("Password").fill(PASSWORD)
        host.get_by_role("button", name="Log in").click()
        host.wait_for_url("**/organiser/")
        host.goto(f"{live_server.url}/events/no-scripts/live/host")
        expect(host.locator(".no-script")).to_contain_text("Scripts are off")
        # Host controls first on a phone, and nothing scrolls sideways.
        order = host.evaluate(
            "['queue-heading', 'prompt-heading', 'controls-heading', 'phrase-heading',"
            " 'stream-heading'].map(id => document.getElementById(id).getBoundingClientRect().top)"
        )
        assert order == sorted(order), order
        assert host.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]

        queue = host.locator("#queue")
        queue.get_by_label("Select: Together we got here").check()
        queue.get_by_label("Select: Small steps count").check()
        host.get_by_role("button", name="Approve selected").click()
        expect(host.locator(".flash")).to_have_text(
            "Approved 2 reflections: the room sees them now."
        )
        expect(queue).to_contain_text("Not this one yet")
        expect(queue).not_to_contain_text("Small steps count")
        for text in ("Together we got here", "Small steps count"):
            participant.locator("#stream li", has_text=text).wait_for(timeout=WAIT)
        assert participant.locator("#stream li", has_text="Not this one yet").count() == 0

        host.get_by_label("Phrase", exact=True).fill("Recovery is a team sprot")
        host.get_by_role("button", name="Capture").click()
        participant.locator("#stream li", has_text="team sprot").wait_for(timeout=WAIT)
        phrase = host.locator("#stream li", has_text="team sprot")
        phrase.locator("summary", has_text="Edit").click()
        phrase.get_by_label("Corrected phrase").fill("Recovery is a team sport")
        phrase.get_by_label("Said by (optional)").fill("Jo")
        phrase.get_by_role("button", name="Save the phrase").click()
        expect(host.locator(".flash")).to_have_text("Phrase corrected: “Recovery is a team sport”")
        corrected = participant.locator("#stream li", has_text="Recovery is a team sport")
        corrected.wait_for(timeout=WAIT)
        expect(corrected).to_contain_text("Said by Jo")
        assert participant.locator("#stream li", has_text="sprot").count() == 0

        # With scripts on, host.js takes the same forms over: the socket sends, nothing posts.
        scripted_host = open_host(hosting, live_server, "no-scripts")
        assert scripted_host.locator("#set-moderation").is_hidden()
        scripted_host.get_by_label("Select all").check()
        scripted_host.get_by_role("button", name="Reject selected (1)").click()
        participant.locator("#my-contributions li", has_text="Not this one yet").filter(
            has_text="Held back"
        ).wait_for(timeout=WAIT)
        assert scripted_host.locator(".flash").count() == 0
        assert scripted_host.url.endswith("/events/no-scripts/live/host")

        # axe runs in a script of its own, which a page with scripts off never runs: the same
        # server-rendered page with the site's scripts refused is what it checks.
        checked = plain.browser.new_context(viewport=PHONE, bypass_csp=True)
        checked.add_cookies(plain.cookies())
        checked.route("**/*.js", lambda route: route.abort())
        page = checked.new_page()
        page.goto(f"{live_server.url}/events/no-scripts/live/host")
        page.locator("#stream li", has_text="team sport").locator("summary").click()
        serious = accessibility_problems(page)
        checked.close()
        assert serious == [], f"the host page without scripts: {serious}"
    finally:
        for context in (plain, scripted, hosting):
            context.close()
