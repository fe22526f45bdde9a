"""Prepared questions: written and ordered before the event over HTTP, asked in the live room
with one action over a real Socket.IO connection, grouped by in the harvest."""

import re
import threading
import time
from datetime import datetime, timedelta
from html import unescape

import sqlalchemy as sa

from lero_events import events, prompts
from lero_events.errors import DomainError
from lero_events.extensions import db
from lero_events.models import AgendaItem, Contribution, Event, Prompt, RoomUpdate

from .conftest import create_event, create_organiser, csrf_token, login, wait_until
from .live_clients import contribute, join, make_room, publish_harvest
from .live_in_process import InProcessClient


def agenda(start):
    return [
        events.AgendaItemData("Welcome", "talk", start, start + timedelta(minutes=15)),
        events.AgendaItemData(
            "Evidence and money",
            "conversation",
            start + timedelta(minutes=15),
            start + timedelta(hours=1),
        ),
    ]


def event_with_agenda(app, slug="prepared"):
    with app.app_context():
        start = datetime.now().replace(second=0, microsecond=0, minute=0) + timedelta(days=7)
        event = create_event(slug=slug, starts_at=start, agenda=agenda(start))
        return {item.title: item.id for item in event.agenda_items}


def questions_page(client, slug="prepared"):
    return client.get(f"/organiser/events/{slug}/questions")


def add_question(client, text, agenda_item_id="", slug="prepared"):
    token = csrf_token(client, f"/organiser/events/{slug}/questions")
    return client.post(
        f"/organiser/events/{slug}/questions",
        data={"text": text, "agenda_item_id": agenda_item_id, "csrf_token": token},
    )


def prepared_texts(app, slug="prepared"):
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
        return [
            (p.text, p.agenda_item.title if p.agenda_item else None)
            for p in prompts.prepared_prompts(event)
        ]


def prompt_ids(app, slug="prepared"):
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
        return [p.id for p in prompts.prepared_prompts(event)]


def test_hosts_write_tie_reorder_and_remove_questions_before_the_event(app, client):
    items = event_with_agenda(app)
    with app.app_context():
        create_organiser("stranger@example.org", "Stranger")
    login(client, "stranger@example.org")
    assert questions_page(client).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_token(client, "/")})

    login(client)
    edit_page = client.get("/organiser/events/prepared/edit").get_data(as_text=True)
    assert 'href="/organiser/events/prepared/questions"' in edit_page
    assert add_question(client, "What does good evidence look like?", items["Evidence and money"])
    add_question(client, "Who pays, and who decides?")
    add_question(client, "What should we carry into politics?")
    assert prepared_texts(app) == [
        ("What does good evidence look like?", "Evidence and money"),
        ("Who pays, and who decides?", None),
        ("What should we carry into politics?", None),
    ]

    # A bad question is refused with the reason, and what was typed stays in the form.
    too_long = "Why? " * 70
    response = add_question(client, too_long, items["Welcome"])
    html = unescape(response.get_data(as_text=True))
    assert response.status_code == 400
    assert "Please keep it under 300 characters (yours has 349)." in html
    assert f'value="{too_long}"' in html
    assert re.search(rf'<option value="{items["Welcome"]}" selected>', html)
    assert len(prepared_texts(app)) == 3
    assert add_question(client, "   ").status_code == 400

    first, second, third = prompt_ids(app)
    token = csrf_token(client, "/organiser/events/prepared/questions")
    client.post(
        f"/organiser/events/prepared/questions/{third}/move",
        data={"direction": "up", "csrf_token": token},
    )
    client.post(
        f"/organiser/events/prepared/questions/{second}",
        data={
            "text": "Who pays, and who gets to decide?",
            "agenda_item_id": items["Welcome"],
            "csrf_token": token,
        },
    )
    assert prepared_texts(app) == [
        ("What does good evidence look like?", "Evidence and money"),
        ("What should we carry into politics?", None),
        ("Who pays, and who gets to decide?", "Welcome"),
    ]
    page = questions_page(client).get_data(as_text=True)
    assert page.index("carry into politics") < page.index("who gets to decide")

    # Saving the event keeps the agenda items the questions are tied to; dropping one unties.
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == "prepared"))
        start = event.local_starts_at.replace(tzinfo=None)
        data = events.EventData(
            title=event.title,
            slug=event.slug,
            timezone=event.timezone,
            starts_at=start,
            ends_at=start + timedelta(minutes=90),
            agenda=agenda(start)[1:],
        )
        events.update_event(event, data)
        assert db.session.get(AgendaItem, items["Evidence and money"]) is not None
    assert [tie for _, tie in prepared_texts(app)] == ["Evidence and money", None, None]

    client.post(f"/organiser/events/prepared/questions/{third}/delete", data={"csrf_token": token})
    assert [text for text, _ in prepared_texts(app)] == [
        "What does good evidence look like?",
        "Who pays, and who gets to decide?",
    ]
    with app.app_context():
        positions = db.session.scalars(
            sa.select(Prompt.position).where(Prompt.prepared).order_by(Prompt.position)
        ).all()
    assert positions == [1, 2]


def test_running_it_again_copies_the_questions_unasked(app, client):
    items = event_with_agenda(app, slug="again")
    with app.app_context():
        event = db.session.get(Event, db.session.scalar(sa.select(Event.id)))
        host = event.hosts[0].organiser
        asked = prompts.add_prepared_prompt(event, host, "Asked last time", items["Welcome"])
        prompts.add_prepared_prompt(event, host, "Still to ask")
        prompts.ask_prompt(event, host, asked.id)
        copy = events.duplicate_event(
            event, host, event.local_starts_at.replace(tzinfo=None) + timedelta(days=30)
        )
        copied = prompts.prepared_prompts(copy)
        assert [
            (p.text, p.agenda_item.title if p.agenda_item else None, p.asked_at) for p in copied
        ] == [("Asked last time", "Welcome", None), ("Still to ask", None, None)]
        assert copied[0].agenda_item.event_id == copy.id


def room_with_three_questions(app):
    """A live room with the questions "Evidence?", "Money?" and "Politics?" prepared, none
    asked, and their ids in that order."""
    room = make_room(app)
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        host = event.hosts[0].organiser
        for text in ("Evidence?", "Money?", "Politics?"):
            prompts.add_prepared_prompt(event, host, text)
        return room, [p.id for p in prompts.prepared_prompts(event)]


def test_next_question_asks_the_prepared_ones_in_order_and_the_harvest_groups_by_them(
    app, live_server
):
    room, (evidence, money, politics) = room_with_three_questions(app)
    publish_harvest(app, room)

    hosting = join(live_server, room, "host")
    alice = join(live_server, room, "alice")
    assert [(q["text"], q["position"], q["asked"]) for q in hosting.state["prepared"]] == [
        ("Evidence?", 1, False),
        ("Money?", 2, False),
        ("Politics?", 3, False),
    ]
    assert "prepared" not in alice.state
    # Nobody but the hosts hears of a question before it is asked.
    refused = contribute(alice, "Too early", prompt_id=money)
    assert refused == {"ok": False, "error": "That prompt is not part of this event."}
    assert alice.call("next_prompt", {}) == {
        "ok": False,
        "error": "Only this event's hosts can do that.",
    }

    ack = hosting.call("next_prompt", {})
    assert ack["ok"] is True and ack["prompt"] == {"id": evidence, "text": "Evidence?"}
    assert [q["asked"] for q in ack["prepared"]] == [True, False, False]
    alice.wait_for_update("prompt", lambda d: d["prompt"]["id"] == evidence)
    first = contribute(alice, "Lived experience is evidence", prompt_id=evidence)["id"]

    # A question typed live in between does not disturb the prepared order.
    typed = hosting.call("set_prompt", {"text": "A quick one: how are you?"})["prompt"]
    ack = hosting.call("next_prompt", {})
    assert ack["prompt"]["id"] == money
    second = contribute(alice, "Pay us for our time", prompt_id=money)["id"]
    contribute(alice, "Fine, thanks", prompt_id=typed["id"])

    # Going back to an earlier one is one action too, and keeps its place.
    ack = hosting.call("ask_prompt", {"prompt_id": evidence})
    assert ack["ok"] is True and ack["prompt"]["id"] == evidence
    alice.wait_for_update("prompt", lambda d: d["prompt"]["id"] == evidence)
    assert hosting.call("ask_prompt", {"prompt_id": 99999}) == {
        "ok": False,
        "error": "That question is not one of this event's prepared questions.",
    }
    assert hosting.call("next_prompt", {})["prompt"]["id"] == politics
    assert hosting.call("next_prompt", {}) == {
        "ok": False,
        "error": "Every prepared question has been asked: type a new one, or ask one again "
        "from the list.",
    }
    for contribution_id in (first, second):
        assert hosting.call("approve", {"contribution_id": contribution_id})["ok"]

    # A reconnecting host gets the list as it is now.
    again = join(live_server, room, "host")
    assert [q["asked"] for q in again.state["prepared"]] == [True, True, True]

    # The harvest lists the questions the room heard, in the order they were first asked.
    page = app.test_client().get(f"/events/{room['slug']}/harvest").get_data(as_text=True)
    headings = re.findall(r'<h3 id="prompt-\d+-heading">([^<]+)</h3>', page)
    assert [unescape(h) for h in headings] == [
        "Evidence?",
        "A quick one: how are you?",
        "Money?",
        "Politics?",
    ]
    evidence_section = page[page.index("Evidence?") : page.index("A quick one")]
    assert "Lived experience is evidence" in evidence_section
    assert "Pay us for our time" in page[page.index("Money?") : page.index("Politics?")]


def order_of(questions):
    return [question["id"] for question in questions]


def test_hosts_reorder_prepared_questions_from_the_live_room_and_every_host_tab_follows(
    app, live_server
):
    room, (evidence, money, politics) = room_with_three_questions(app)
    publish_harvest(app, room)

    hosting = join(live_server, room, "host")
    other_tab = join(live_server, room, "host")
    alice = join(live_server, room, "alice")
    viewer = join(live_server, room, "viewer")
    hosting.call("set_prompt", {"text": "Welcome: how are you arriving?"})
    other_tab.wait_for_update("prompt")
    seq_before = other_tab.last_seq

    ack = hosting.call("move_prompt", {"prompt_id": politics, "to": "up"})
    assert ack["ok"] is True
    assert [(q["id"], q["position"]) for q in ack["prepared"]] == [
        (evidence, 1),
        (politics, 2),
        (money, 3),
    ]
    other_tab.wait_for_update(
        "prepared", lambda d: order_of(d["prepared"]) == order_of(ack["prepared"])
    )

    # "Make next" puts a waiting question before every other waiting one: next_prompt asks it.
    ack = other_tab.call("move_prompt", {"prompt_id": money, "to": "next"})
    assert order_of(ack["prepared"]) == [money, evidence, politics]
    hosting.wait_for_update(
        "prepared", lambda d: order_of(d["prepared"]) == [money, evidence, politics]
    )
    assert hosting.call("next_prompt", {})["prompt"]["id"] == money
    # Once asked, making it next again is refused; ask it again instead.
    assert hosting.call("move_prompt", {"prompt_id": money, "to": "next"}) == {
        "ok": False,
        "error": "That question has been asked already: use Ask again to put it to the room.",
    }
    # An asked question stays first; the next waiting one made next goes just after it.
    ack = hosting.call("move_prompt", {"prompt_id": politics, "to": "next"})
    assert order_of(ack["prepared"]) == [money, politics, evidence]
    # The first one up, the last one down: nothing moves.
    assert order_of(hosting.call("move_prompt", {"prompt_id": money, "to": "up"})["prepared"]) == [
        money,
        politics,
        evidence,
    ]
    assert hosting.call("next_prompt", {})["prompt"]["id"] == politics

    for payload, error in (
        ({"prompt_id": evidence, "to": "sideways"}, 'to must be "up", "down" or "next".'),
        (
            {"prompt_id": 99999, "to": "up"},
            "That question is not one of this event's prepared questions.",
        ),
        ({"prompt_id": "two", "to": "up"}, "prompt_id must be a number."),
    ):
        assert hosting.call("move_prompt", payload) == {"ok": False, "error": error}
    assert alice.call("move_prompt", {"prompt_id": evidence, "to": "up"}) == {
        "ok": False,
        "error": "Only this event's hosts can do that.",
    }

    # Participants and viewers hear the questions asked, never the list or a gap where it was.
    alice.wait_for_update("prompt", lambda d: d["prompt"]["id"] == politics)
    viewer.wait_for_update("prompt", lambda d: d["prompt"]["id"] == politics)
    for watcher in (alice, viewer):
        assert [u["kind"] for u in watcher.received("update")] == ["prompt"] * 3
        assert "Evidence?" not in repr(watcher.messages)
        watcher.wait_for_view(lambda view: not view.held)
    # Three moves moved something; the first one up told nobody.
    assert [u["kind"] for u in other_tab.updates()].count("prepared") == 3

    # A host tab coming back after the moves and a question added since gets the latest of
    # their updates in its tail (protocol 10.4), with the list as it is now.
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        prompts.add_prepared_prompt(event, event.hosts[0].organiser, "Added later?")
    back = join(live_server, room, "host", last_seq=seq_before)
    tail = [u for u in back.state["updates"] if u["kind"] == "prepared"]
    assert len(tail) == 1
    assert [q["text"] for q in tail[0]["data"]["prepared"]] == [
        "Money?",
        "Politics?",
        "Evidence?",
        "Added later?",
    ]
    assert tail[0]["data"]["prepared"] == back.state["prepared"]
    assert [u["kind"] for u in back.state["updates"]] == ["prompt", "prompt", "prepared"]


def test_hosts_without_scripts_move_questions_from_the_host_page(app, client):
    room, (evidence, money, politics) = room_with_three_questions(app)
    login(client)
    watching = InProcessClient(app, {"slug": room["slug"], "role": "host"}, http=client)
    alice = InProcessClient(app, {"slug": room["slug"], "token": room["tokens"]["alice"]})
    assert watching.connected and alice.connected

    page = client.get(f"/events/{room['slug']}/live/host").get_data(as_text=True)
    action = f"/events/{room['slug']}/live/host/prepared/move"
    # Up on all but the first, down on all but the last, "Make next" on the waiting ones that
    # are not already next.
    assert 'aria-label="Up: Evidence?"' not in page and 'aria-label="Up: Politics?"' in page
    assert 'aria-label="Down: Politics?"' not in page and 'aria-label="Down: Evidence?"' in page
    assert 'aria-label="Make next: Evidence?"' not in page
    assert 'aria-label="Make next: Politics?"' in page
    token = csrf_token(client, f"/events/{room['slug']}/live/host")

    moved = client.post(action, data={"csrf_token": token, "prompt_id": politics, "to": "next"})
    assert moved.status_code == 303
    assert moved.headers["Location"].endswith(f"/events/{room['slug']}/live/host#prepared-heading")
    page = client.get(f"/events/{room['slug']}/live/host").get_data(as_text=True)
    assert "It is the next question now." in page
    assert "Next: Politics?" in page
    assert page.index('"Ask now: Politics?"') < page.index('"Ask now: Evidence?"')
    assert prompt_ids(app, room["slug"]) == [politics, evidence, money]

    # The socket's host tab hears it; the participant does not.
    wait_until(lambda: watching.received("updates"), timeout=5)
    frames = watching.received("updates")
    assert [u["kind"] for frame in frames for u in frame] == ["prepared"]
    assert order_of(frames[0][0]["data"]["prepared"]) == [politics, evidence, money]
    assert alice.received("updates") == []

    # A refusal is told on the page, and nothing moves.
    refused = client.post(
        action, data={"csrf_token": token, "prompt_id": evidence, "to": "sideways"}
    )
    assert refused.status_code == 303
    page = client.get(f"/events/{room['slug']}/live/host").get_data(as_text=True)
    assert unescape('to must be "up", "down" or "next".') in unescape(page)
    expired = client.post(action, data={"prompt_id": evidence, "to": "up"})
    assert expired.status_code == 400
    assert prompt_ids(app, room["slug"]) == [politics, evidence, money]


def flashed(page):
    """The notices on a page, as the host reads them."""
    return [unescape(text) for text in re.findall(r'<p class="flash flash-\w+">(.*?)</p>', page)]


def frames_until(client, predicate, timeout=5):
    """The update frames an in-process client has received once `predicate` holds for them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        frames = client.received("updates")
        if predicate([update for frame in frames for update in frame]):
            return frames
        time.sleep(0.05)
    raise AssertionError(f"not received in time: {client.received('updates')}")


def test_every_change_on_the_questions_page_reaches_the_host_tabs_in_the_room_and_nobody_else(
    app, client
):
    room = make_room(app)
    slug = room["slug"]
    publish_harvest(app, room)
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        create_organiser("cohost@example.org", "Cora Cohost")
        events.add_cohost(event, "cohost@example.org")
        evidence = prompts.add_prepared_prompt(event, event.hosts[0].organiser, "Evidence?").id
    # The owner's tab is open in the live room; the co-host works on the questions page.
    in_room = app.test_client()
    login(in_room)
    hosting = InProcessClient(app, {"slug": slug, "role": "host"}, http=in_room)
    alice = InProcessClient(app, {"slug": slug, "token": room["tokens"]["alice"]})
    viewer = InProcessClient(app, {"slug": slug, "role": "viewer"})
    assert hosting.connected and alice.connected and viewer.connected
    host_seq = hosting.received("state")[0]["seq"]
    login(client, "cohost@example.org")
    token = csrf_token(client, f"/organiser/events/{slug}/questions")

    def post(path, **fields):
        response = client.post(
            f"/organiser/events/{slug}/questions{path}", data={"csrf_token": token, **fields}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        return flashed(questions_page(client, slug).get_data(as_text=True))

    def heard(count):
        """The host tab's `prepared` updates once it has `count`: each list as texts."""
        frames = frames_until(
            hosting, lambda updates: [u["kind"] for u in updates].count("prepared") >= count
        )
        lists = [u["data"]["prepared"] for f in frames for u in f if u["kind"] == "prepared"]
        assert len(lists) == count
        return [[question["text"] for question in questions] for questions in lists]

    assert post("", text="Money?") == ["Question added."]
    assert heard(1) == [["Evidence?", "Money?"]]
    money = prompt_ids(app, slug)[1]
    assert post(f"/{money}", text="Money, and who decides?") == ["Question saved."]
    assert heard(2)[-1] == ["Evidence?", "Money, and who decides?"]
    # Saving it unchanged is no news.
    assert post(f"/{money}", text="Money, and who decides?") == ["Question saved."]

    page = questions_page(client, slug).get_data(as_text=True)
    assert 'aria-label="Make next: question 1"' not in page, "the next one already"
    assert 'aria-label="Make next: question 2"' in page
    assert post(f"/{money}/move", direction="next") == ["It is the next question now."]
    assert heard(3)[-1] == ["Money, and who decides?", "Evidence?"]
    assert post(f"/{evidence}/delete") == ["Question removed."]
    assert heard(4)[-1] == ["Money, and who decides?"]
    assert post("", text="Politics?") == ["Question added."]
    assert heard(5)[-1] == ["Money, and who decides?", "Politics?"]
    politics = prompt_ids(app, slug)[1]

    # Asked in the room: the question now and one answered stay, and so does the answer.
    assert hosting.call("ask_prompt", {"prompt_id": politics})["ok"]
    answer = contribute(alice, "Ours", prompt_id=politics)
    assert answer["ok"], answer
    assert hosting.call("ask_prompt", {"prompt_id": money})["ok"]
    assert post(f"/{money}/delete") == [prompts.STAYS_CURRENT]
    assert post(f"/{politics}/delete") == [prompts.STAYS_ASKED]
    assert post(f"/{politics}/move", direction="next") == [prompts.ASKED_ALREADY]
    assert post(f"/{politics}", text="Reworded?") == [
        "This question has been asked already, so its words stay as the room saw them."
    ]
    page = questions_page(client, slug).get_data(as_text=True)
    assert 'aria-label="Make next' not in page and 'aria-label="Remove' not in page
    assert prepared_texts(app, slug) == [("Money, and who decides?", None), ("Politics?", None)]
    with app.app_context():
        kept = db.session.get(Contribution, answer["id"])
        assert (kept.text, kept.prompt_id) == ("Ours", politics)

    # The host tab heard every change, gapless in the room's seq.
    updates = [u for frame in frames_until(hosting, lambda u: len(u) >= 8) for u in frame]
    assert [u["seq"] for u in updates] == list(range(host_seq + 1, host_seq + 9))
    assert [u["kind"] for u in updates] == ["prepared"] * 5 + ["prompt", "contribution", "prompt"]
    # Participants and viewers heard the questions asked (and the answer), never the list, and
    # each of their chains runs on without a gap where the hosts' news was.
    for watcher in (alice, viewer):
        frames_until(watcher, lambda u: [x["kind"] for x in u].count("prompt") == 2)
        state = watcher.received("state")[0]
        heads = {"public": state["public_seq"], "own": state.get("own_seq")}
        for update in (u for frame in watcher.received("updates") for u in frame):
            assert update["kind"] != "prepared"
            assert update["prev"] == heads[update["chain"]], update
            heads[update["chain"]] = update["seq"]
        assert "Evidence?" not in repr(watcher.received())


def test_a_question_asked_while_a_host_removes_it_stays_with_the_room(app):
    room = make_room(app)
    with app.app_context():
        event = db.session.get(Event, room["event_id"])
        asked = prompts.add_prepared_prompt(event, event.hosts[0].organiser, "Asked just now?").id
    removal = {}

    def remove():
        with app.app_context():
            event = db.session.get(Event, room["event_id"])
            try:
                prompts.delete_prepared_prompt(event, event.hosts[0].organiser, asked)
            except DomainError as error:
                removal["refused"] = error.message

    with app.app_context(), db.engine.connect() as asking:
        # Another host's "Ask now", caught halfway: the room is locked and the question asked,
        # not yet committed.
        if asking.dialect.name == "sqlite":
            asking.exec_driver_sql("BEGIN IMMEDIATE")
        asking.execute(sa.select(Event.id).where(Event.id == room["event_id"]).with_for_update())
        asking.execute(sa.update(Prompt).where(Prompt.id == asked).values(asked_at=sa.func.now()))
        asking.execute(
            sa.update(Event).where(Event.id == room["event_id"]).values(current_prompt_id=asked)
        )
        remover = threading.Thread(target=remove)
        remover.start()
        remover.join(0.5)
        assert remover.is_alive(), "the removal waits for the room"
        asking.commit()
    remover.join(10)
    assert removal == {"refused": prompts.STAYS_CURRENT}
    assert prompt_ids(app, room["slug"]) == [asked]


def test_a_busy_questions_page_leaves_one_prepared_update_for_a_host_catching_up(app, client):
    room = make_room(app)
    slug = room["slug"]
    in_room = app.test_client()
    login(in_room)
    hosting = InProcessClient(app, {"slug": slug, "role": "host"}, http=in_room)
    assert hosting.call("set_prompt", {"text": "How are you arriving?"})["ok"]
    host_seq = frames_until(hosting, lambda u: len(u) == 1)[0][0]["seq"]
    login(client)
    token = csrf_token(client, f"/organiser/events/{slug}/questions")
    for text in ("Evidence?", "Money?", "Politics?"):
        add = client.post(
            f"/organiser/events/{slug}/questions", data={"text": text, "csrf_token": token}
        )
        assert add.status_code == 302
    money = prompt_ids(app, slug)[1]
    moved = client.post(
        f"/organiser/events/{slug}/questions/{money}/move",
        data={"direction": "next", "csrf_token": token},
    )
    assert moved.status_code == 302
    # The tab in the room heard all four, each following the one before on the hosts' chain.
    live = [u for f in frames_until(hosting, lambda u: len(u) >= 5) for u in f][1:]
    assert [u["seq"] for u in live] == list(range(host_seq + 1, host_seq + 5))
    assert [u["prev"] for u in live[1:]] == [u["seq"] for u in live[:-1]]
    # Only the latest is kept, and a tab catching up from before them gets it alone, as the
    # list is now.
    with app.app_context():
        kinds = db.session.scalars(
            sa.select(RoomUpdate.kind).where(RoomUpdate.event_id == room["event_id"])
        ).all()
    assert kinds.count("prepared") == 1
    again = InProcessClient(app, {"slug": slug, "role": "host", "last_seq": host_seq}, http=in_room)
    tail = again.received("state")[0]["updates"]
    assert [u["kind"] for u in tail] == ["prepared"]
    assert tail[0]["seq"] == host_seq + 4
    texts = [question["text"] for question in tail[0]["data"]["prepared"]]
    assert texts == ["Money?", "Evidence?", "Politics?"]
