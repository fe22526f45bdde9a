"""The harvest page: who sees it, what it shows, the found poem and the exports, over HTTP."""

import csv
import io
import json
import re
import uuid
from datetime import UTC, datetime, timedelta
from html import unescape

import sqlalchemy as sa

from lero_events.extensions import db
from lero_events.models import (
    Contribution,
    Event,
    Phrase,
    PoemLine,
    Prompt,
    Registration,
    Resonance,
)

from .conftest import create_event, create_organiser, create_registration, csrf_token, login

# Factories: the live room writes these rows; here they are made directly, as data.


def add_prompt(event, text="What struck a chord?"):
    prompt = Prompt(event_id=event.id, text=text)
    db.session.add(prompt)
    db.session.commit()
    return prompt


def add_registration(event, display_name="", organisation="", status="confirmed", erased=False):
    return create_registration(
        event,
        status=status,
        organisation=organisation,
        display_name=display_name,
        erased_at=datetime.now(UTC) if erased else None,
    )


_clock = [datetime(2026, 11, 1, 18, 0, tzinfo=UTC)]


def add_contribution(
    event,
    text,
    status="approved",
    prompt=None,
    registration=None,
    guest_name=None,
    anonymous=False,
    featured=False,
    author_key=None,
    sharing="named",
):
    _clock[0] += timedelta(seconds=1)
    contribution = Contribution(
        event_id=event.id,
        prompt_id=prompt.id if prompt else None,
        registration_id=registration.id if registration else None,
        guest_name=guest_name,
        author_key=author_key
        or (f"r:{registration.id}" if registration else f"g:{uuid.uuid4().hex[:12]}"),
        client_id=str(uuid.uuid4()),
        text=text,
        anonymous=anonymous,
        sharing=sharing,
        status=status,
        featured=featured,
        created_at=_clock[0],
    )
    db.session.add(contribution)
    db.session.commit()
    return contribution


def add_phrase(event, text, attribution="", withdrawn=False):
    _clock[0] += timedelta(seconds=1)
    phrase = Phrase(
        event_id=event.id,
        text=text,
        attribution=attribution,
        withdrawn=withdrawn,
        created_at=_clock[0],
    )
    db.session.add(phrase)
    db.session.commit()
    return phrase


def add_resonances(contribution, count):
    for number in range(count):
        db.session.add(Resonance(contribution_id=contribution.id, participant_key=f"p{number}"))
    db.session.commit()


def set_event(slug, **fields):
    event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
    for name, value in fields.items():
        setattr(event, name, value)
    db.session.commit()


def text_of(response):
    return unescape(response.get_data(as_text=True))


def host_post(client, slug, path, data=None, **kwargs):
    token = csrf_token(client, f"/events/{slug}/harvest/edit")
    return client.post(
        f"/events/{slug}/harvest/{path}", data={"csrf_token": token, **(data or {})}, **kwargs
    )


def make_event(app, slug="big-conversation", **fields):
    with app.app_context():
        create_event(slug=slug, **fields)
    return slug


# Who sees it


def test_hosts_see_the_harvest_from_the_start_and_the_public_once_published(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        add_contribution(event, "Recovery is a shared road", prompt=add_prompt(event))
    visitor = app.test_client()

    refused = visitor.get(f"/events/{slug}/harvest")
    assert refused.status_code == 404
    assert "This harvest has not been shared yet" in text_of(refused)
    assert "Recovery is a shared road" not in text_of(refused)

    login(client)
    preview = client.get(f"/events/{slug}/harvest")
    assert preview.status_code == 200
    assert "Recovery is a shared road" in text_of(preview)
    assert "Only hosts can see this harvest until it is published" in text_of(preview)
    assert preview.headers["Cache-Control"] == "no-store"

    assert host_post(client, slug, "publish").status_code == 302
    public = visitor.get(f"/events/{slug}/harvest")
    assert public.status_code == 200
    assert "Recovery is a shared road" in text_of(public)
    assert 'name="robots"' not in text_of(public)

    host_post(client, slug, "unpublish")
    assert visitor.get(f"/events/{slug}/harvest").status_code == 404


def test_secret_link_opens_the_harvest_until_revoked(app, client):
    slug = make_event(app)
    login(client)
    host_post(client, slug, "secret-link")
    with app.app_context():
        secret = db.session.scalar(sa.select(Event.harvest_secret))
    assert len(secret) >= 43, "at least 256 random bits, URL-safe"
    edit_page = text_of(client.get(f"/events/{slug}/harvest/edit"))
    assert f"http://localhost/events/{slug}/harvest?key={secret}" in edit_page

    visitor = app.test_client()
    opened = visitor.get(f"/events/{slug}/harvest?key={secret}")
    assert opened.status_code == 200
    page = text_of(opened)
    assert "through a private link" in page
    assert '<meta name="robots" content="noindex, nofollow">' in page
    assert opened.headers["Cache-Control"] == "no-store"
    assert f"/events/{slug}/harvest/export.md?key={secret}" in page, "downloads keep the key"
    assert visitor.get(f"/events/{slug}/harvest/export.md?key={secret}").status_code == 200

    assert visitor.get(f"/events/{slug}/harvest?key={secret[:-1]}x").status_code == 404
    assert visitor.get(f"/events/{slug}/harvest?key=ünïcode").status_code == 404
    assert visitor.get(f"/events/{slug}/harvest/export.md").status_code == 404

    host_post(client, slug, "secret-link/revoke")
    revoked = visitor.get(f"/events/{slug}/harvest?key={secret}")
    assert revoked.status_code == 404
    assert "it may have been withdrawn" in text_of(revoked)
    with app.app_context():
        assert db.session.scalar(sa.select(Event.harvest_secret)) is None


def test_a_new_secret_link_replaces_the_old_one(app, client):
    slug = make_event(app)
    login(client)
    host_post(client, slug, "secret-link")
    with app.app_context():
        first = db.session.scalar(sa.select(Event.harvest_secret))
    host_post(client, slug, "secret-link")
    with app.app_context():
        second = db.session.scalar(sa.select(Event.harvest_secret))
    visitor = app.test_client()
    assert first != second
    assert visitor.get(f"/events/{slug}/harvest?key={first}").status_code == 404
    assert visitor.get(f"/events/{slug}/harvest?key={second}").status_code == 200


def test_a_draft_events_harvest_stays_with_its_hosts(app, client):
    slug = make_event(app, publish=False)
    login(client)
    refused = host_post(client, slug, "publish")
    assert refused.status_code == 409
    assert "Publish the event itself before sharing its harvest" in text_of(refused)
    with app.app_context():
        set_event(slug, harvest_published=True, harvest_secret="s" * 43)
    visitor = app.test_client()
    assert visitor.get(f"/events/{slug}/harvest").status_code == 404
    assert visitor.get(f"/events/{slug}/harvest?key={'s' * 43}").status_code == 404
    assert client.get(f"/events/{slug}/harvest").status_code == 200


def test_only_hosts_use_the_harvest_tools(app, client):
    slug = make_event(app)
    with app.app_context():
        create_organiser("other@example.org", "Another Organiser")
    visitor = app.test_client()
    to_login = visitor.get(f"/events/{slug}/harvest/edit")
    assert to_login.status_code == 302 and "/login" in to_login.headers["Location"]

    login(client, "other@example.org")
    assert client.get(f"/events/{slug}/harvest/edit").status_code == 403
    token = csrf_token(client, "/organiser/")
    refused = client.post(f"/events/{slug}/harvest/publish", data={"csrf_token": token})
    assert refused.status_code == 403
    assert "Only this event's hosts can do that" in text_of(refused)
    assert client.get(f"/events/{slug}/harvest").status_code == 404
    with app.app_context():
        assert db.session.scalar(sa.select(Event.harvest_published)) is False


def test_host_forms_need_a_csrf_token(app, client):
    slug = make_event(app)
    login(client)
    assert client.post(f"/events/{slug}/harvest/publish").status_code == 400
    with app.app_context():
        assert db.session.scalar(sa.select(Event.harvest_published)) is False


def test_the_event_form_links_to_the_harvest_tools(app, client):
    slug = make_event(app)
    login(client)
    page = text_of(client.get(f"/organiser/events/{slug}/edit"))
    assert f'href="/events/{slug}/harvest/edit"' in page


def test_the_event_page_links_to_the_harvest_once_published(app, client):
    slug = make_event(app)
    link = f'href="/events/{slug}/harvest"'
    assert link not in client.get(f"/events/{slug}").get_data(as_text=True)
    with app.app_context():
        set_event(slug, harvest_published=True)
    assert link in client.get(f"/events/{slug}").get_data(as_text=True)


def test_unknown_event_says_so(client):
    response = client.get("/events/nowhere/harvest")
    assert response.status_code == 404
    assert "There is no event at that address" in text_of(response)


# What it shows


def test_only_what_authors_allowed_is_shown(app, client):
    slug = make_event(app, publish=True)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        prompt = add_prompt(event, "What helps recovery last?")
        named = add_registration(event, display_name="Sam from Leeds")
        shy = add_registration(event, display_name="Hidden Harriet")
        erased = add_registration(event, display_name="Erased Erin", erased=True)
        nameless = add_registration(event, display_name="")
        add_contribution(event, "Peer support kept me going", prompt=prompt, registration=named)
        add_contribution(
            event, "Nobody needs my name", prompt=prompt, registration=shy, anonymous=True
        )
        add_contribution(event, "Words from an erased person", prompt=prompt, registration=erased)
        add_contribution(event, "No display name chosen", prompt=prompt, registration=nameless)
        add_contribution(event, "A guest speaks", prompt=prompt, guest_name="Guest Gail")
        add_contribution(event, "Still waiting for a host", prompt=prompt, status="pending")
        add_contribution(event, "Rejected words", prompt=prompt, status="rejected")
        add_contribution(event, "Withdrawn by the host", prompt=prompt, status="withdrawn")
        add_phrase(event, "Recovery is contagious", attribution="Panellist Pat")
        add_phrase(event, "Captured by mistake", withdrawn=True)
        # Erasure after the fact: the registrations helper clears personal fields.
        registration = db.session.get(Registration, erased.id)
        real_name = registration.name
        set_event(slug, harvest_published=True)
    visitor = app.test_client()
    page = text_of(visitor.get(f"/events/{slug}/harvest"))

    assert "Peer support kept me going" in page and "Sam from Leeds" in page
    assert "Nobody needs my name" in page and "Hidden Harriet" not in page
    assert "Words from an erased person" in page and "Erased Erin" not in page
    assert real_name not in page and "Real Name" not in page, "never the legal name"
    assert "A guest speaks" in page and "Guest Gail" in page
    assert page.count("Anonymous") >= 3
    for hidden in ("Still waiting for a host", "Rejected words", "Withdrawn by the host"):
        assert hidden not in page
    assert "Recovery is contagious" in page and "Panellist Pat" in page
    assert "Captured by mistake" not in page

    for extension in ("md", "csv", "json"):
        export = text_of(visitor.get(f"/events/{slug}/harvest/export.{extension}"))
        for hidden in (
            "Still waiting",
            "Rejected words",
            "Withdrawn by the host",
            "Hidden Harriet",
            "Erased Erin",
            "Captured by mistake",
            "Real Name",
        ):
            assert hidden not in export, f"{hidden} leaked into the {extension} export"
        assert "Peer support kept me going" in export


def test_figures_count_what_they_say(app, client):
    app.config["SMALL_NUMBER_THRESHOLD"] = 1  # exact here; tests/test_evidence.py hides them
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        a = add_registration(event, "A", organisation="Recovery Connect")
        b = add_registration(event, "B", organisation=" recovery connect ")
        c = add_registration(event, "C", organisation="Sober Futures")
        for came in (a, b, c):
            came.attended_at = datetime.now(UTC)
        add_registration(event, "D", organisation="Waiting Org", status="waitlisted")
        add_registration(event, "E", organisation="Gone Org", status="cancelled")
        add_registration(event, "", status="cancelled", erased=True)  # as erasure leaves it
        add_contribution(event, "one", registration=a)
        add_contribution(event, "two", registration=a)
        add_contribution(event, "three", registration=b)
        add_contribution(event, "not shown", registration=c, status="rejected")
        add_contribution(event, "guest words", guest_name="Gail")
        add_phrase(event, "a spoken phrase", attribution="Panellist Pat")
        add_phrase(event, "another", attribution="Participant on Zoom")
        add_phrase(event, "an unattributed phrase")
        set_event(slug, harvest_published=True)
    # While booking is open, the figures that bookings move would say who is booked.
    open_page = client.get(f"/events/{slug}/harvest").get_data(as_text=True)
    assert open_page.count("counted when booking closes") == 2
    with app.app_context():
        ended = datetime.now(UTC) - timedelta(days=1)
        set_event(slug, starts_at=ended - timedelta(hours=2), ends_at=ended)
    page = client.get(f"/events/{slug}/harvest").get_data(as_text=True)

    def figure(name):
        match = re.search(
            rf'id="figure-{name}">.*?class="figure-value">(\d+)<', page, flags=re.DOTALL
        )
        return int(match.group(1))

    assert figure("signed_up") == 6, "every registration, whatever became of it"
    assert figure("took_part") == 3, "a, b and c came; the guest is counted on their own"
    assert figure("guests") == 1
    assert figure("contributions") == 4
    assert figure("voices_heard") == 3, "a, b and the guest: an attribution is not a voice"
    assert figure("phrases") == 3
    assert figure("organisations") == 2, "holding a place, case and spaces ignored"
    assert "everyone who booked, including the waiting list" in page


def test_words_that_came_up_most_leave_out_stop_words(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        add_contribution(event, "Community is what we need and community is what we have")
        add_contribution(event, "The community held me; hope held me too")
        add_contribution(event, "Hope, and then more hope.")
        add_contribution(event, "Community community", status="rejected")
        add_phrase(event, "Hope is a practice")
        set_event(slug, harvest_published=True)
    page = client.get(f"/events/{slug}/harvest").get_data(as_text=True)
    words = re.findall(
        r'<li class="word word-size-(\d)">([^<]+) <span class="word-count">\((\d+)\)</span>', page
    )
    assert words[:3] == [("5", "hope", "4"), ("3", "community", "3"), ("1", "held", "2")]
    listed = {word for _size, word, _count in words}
    assert not listed & {"the", "and", "what", "is", "we", "me"}


def test_contributions_without_a_prompt_and_sections_in_prompt_order(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        first = add_prompt(event, "First prompt")
        second = add_prompt(event, "Second prompt")
        add_contribution(event, "answer to second", prompt=second)
        add_contribution(event, "answer to first", prompt=first)
        add_contribution(event, "said before any prompt")
        set_event(slug, harvest_published=True)
    page = client.get(f"/events/{slug}/harvest").get_data(as_text=True)
    assert page.index("First prompt") < page.index("answer to first") < page.index("Second prompt")
    assert (
        page.index("Second prompt")
        < page.index("answer to second")
        < page.index("Other reflections")
    )
    assert "said before any prompt" in page


def test_most_resonant_contributions_come_first(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        quiet = add_contribution(event, "A quiet thought")
        loud = add_contribution(event, "This one moved the room")
        middle = add_contribution(event, "Somewhere in between")
        hidden = add_contribution(event, "Popular but withdrawn", status="withdrawn")
        add_resonances(loud, 7)
        add_resonances(middle, 3)
        add_resonances(hidden, 20)
        add_resonances(quiet, 1)
        set_event(slug, harvest_published=True)
    page = text_of(client.get(f"/events/{slug}/harvest"))
    resonant = page[page.index("What resonated most</h2>") :]
    resonant = resonant[: resonant.index("</section>")]
    assert resonant.index("This one moved the room") < resonant.index("Somewhere in between")
    assert resonant.index("Somewhere in between") < resonant.index("A quiet thought")
    assert "resonated with 7 people" in resonant and "resonated with 1 person" in resonant
    assert "Popular but withdrawn" not in page


def test_long_prompts_collapse_with_a_paginated_show_all(app, client):
    slug = make_event(app)
    app.config.update(HARVEST_SHOWN_PER_PROMPT=3, HARVEST_PAGE_SIZE=4)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        prompt = add_prompt(event, "Busy prompt")
        ids = [
            add_contribution(event, f"reflection number {n:02}", prompt=prompt).id
            for n in range(10)
        ]
        set_event(slug, harvest_published=True)
        prompt_id = prompt.id
    page = text_of(client.get(f"/events/{slug}/harvest"))
    assert "reflection number 02" in page and "reflection number 03" not in page
    assert "10 contributions" in page
    assert f'href="/events/{slug}/harvest/prompts/{prompt_id}"' in page
    assert "Show all 10 contributions to “Busy prompt”" in page

    second = text_of(client.get(f"/events/{slug}/harvest/prompts/{prompt_id}?page=2"))
    assert "page 2 of 3" in second
    assert "reflection number 04" in second and "reflection number 07" in second
    assert "reflection number 03" not in second and "reflection number 08" not in second
    assert 'start="5"' in second

    found = client.get(f"/events/{slug}/harvest/contributions/{ids[9]}")
    assert found.status_code == 302
    assert found.headers["Location"].endswith(
        f"/events/{slug}/harvest/prompts/{prompt_id}?page=3#c-{ids[9]}"
    )


def test_contributions_without_a_prompt_collapse_too(app, client):
    slug = make_event(app)
    app.config.update(HARVEST_SHOWN_PER_PROMPT=1)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        add_contribution(event, "said before any prompt")
        second_id = add_contribution(event, "also without a prompt").id
        set_event(slug, harvest_published=True)
    page = text_of(client.get(f"/events/{slug}/harvest"))
    assert "also without a prompt" not in page
    assert f'href="/events/{slug}/harvest/other-reflections"' in page
    everything = text_of(client.get(f"/events/{slug}/harvest/other-reflections"))
    assert "said before any prompt" in everything and "also without a prompt" in everything
    found = client.get(f"/events/{slug}/harvest/contributions/{second_id}")
    assert found.headers["Location"].endswith(
        f"/events/{slug}/harvest/other-reflections?page=1#c-{second_id}"
    )


def test_phrases_collapse_to_a_full_list(app, client):
    slug = make_event(app)
    app.config.update(HARVEST_SHOWN_PHRASES=2)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        for n in range(4):
            add_phrase(event, f"spoken phrase {n}")
        set_event(slug, harvest_published=True)
    page = text_of(client.get(f"/events/{slug}/harvest"))
    assert "spoken phrase 1" in page and "spoken phrase 2" not in page
    assert "Show all 4 phrases" in page
    everything = text_of(client.get(f"/events/{slug}/harvest/phrases"))
    assert all(f"spoken phrase {n}" in everything for n in range(4))


# The found poem


def poem_lines(app):
    with app.app_context():
        return [
            (line.stanza, line.position, line.text, line.contribution_id, line.phrase_id)
            for line in db.session.scalars(
                sa.select(PoemLine).order_by(PoemLine.stanza, PoemLine.position)
            )
        ]


def test_host_composes_a_found_poem_and_originals_stay_untouched(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        first = add_contribution(event, "I came in broken and I left with friends")
        second = add_contribution(event, "Hope is something we do together, every day")
        phrase = add_phrase(event, "Nothing about us without us", attribution="Panellist Pat")
        first_id, second_id, phrase_id = first.id, second.id, phrase.id
    login(client)

    assert (
        host_post(
            client, slug, "poem/lines", {"contribution_id": first_id, "text": "i came in BROKEN"}
        ).status_code
        == 302
    )
    host_post(client, slug, "poem/lines", {"phrase_id": phrase_id, "text": "Nothing about us"})
    host_post(
        client,
        slug,
        "poem/lines",
        {"contribution_id": second_id, "text": "we do   together", "stanza": "2"},
    )
    assert poem_lines(app) == [
        (1, 1, "i came in BROKEN", first_id, None),
        (1, 2, "Nothing about us", None, phrase_id),
        (2, 1, "we do together", second_id, None),
    ]

    # A line that is not the original's words is refused, and nothing changes.
    refused = host_post(
        client,
        slug,
        "poem/lines",
        {"contribution_id": first_id, "text": "I came in whole"},
        follow_redirects=True,
    )
    assert "is not part of the original words" in text_of(refused)
    assert len(poem_lines(app)) == 3

    # Reorder, regroup, trim and remove in one save.
    with app.app_context():
        ids = [line.id for line in db.session.scalars(sa.select(PoemLine).order_by(PoemLine.id))]
    arrangement = {
        "line_id": [str(i) for i in ids],
        f"line-{ids[0]}-stanza": "3",
        f"line-{ids[0]}-position": "1",
        f"line-{ids[0]}-text": "broken",
        f"line-{ids[1]}-stanza": "1",
        f"line-{ids[1]}-position": "1",
        f"line-{ids[1]}-text": "Nothing about us",
        f"line-{ids[1]}-remove": "on",
        f"line-{ids[2]}-stanza": "2",
        f"line-{ids[2]}-position": "5",
        f"line-{ids[2]}-text": "Hope is something",
    }
    saved = host_post(client, slug, "poem", arrangement, follow_redirects=True)
    assert "The poem is saved" in text_of(saved)
    assert poem_lines(app) == [
        (1, 1, "Hope is something", second_id, None),
        (2, 1, "broken", first_id, None),
    ], "stanzas and positions renumbered without gaps"

    with app.app_context():
        assert db.session.get(Contribution, first_id).text == (
            "I came in broken and I left with friends"
        )
        assert db.session.get(Contribution, second_id).text == (
            "Hope is something we do together, every day"
        )
        set_event(slug, harvest_published=True)

    page = text_of(app.test_client().get(f"/events/{slug}/harvest"))
    poem = page[page.index('<div class="poem">') : page.index("</details>")]
    assert poem.index("Hope is something") < poem.index("broken")
    assert f"/events/{slug}/harvest/contributions/{first_id}" in poem
    assert "I came in broken and I left with friends" in poem, "the original is shown with it"


def test_a_bad_trim_saves_nothing(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        contribution = add_contribution(event, "Small steps, every single day")
        line = PoemLine(
            event_id=event.id,
            stanza=1,
            position=1,
            text="Small steps",
            contribution_id=contribution.id,
        )
        db.session.add(line)
        db.session.commit()
        line_id, contribution_id = line.id, contribution.id
    login(client)
    response = host_post(
        client,
        slug,
        "poem",
        {
            "line_id": [str(line_id)],
            f"line-{line_id}-stanza": "4",
            f"line-{line_id}-position": "1",
            f"line-{line_id}-text": "Giant leaps",
        },
        follow_redirects=True,
    )
    assert "is not part of the original words" in text_of(response)
    assert poem_lines(app) == [(1, 1, "Small steps", contribution_id, None)]


def test_only_approved_words_of_this_event_go_into_the_poem(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        other = create_event(slug="other-event", title="Another event")
        pending = add_contribution(event, "not yet approved", status="pending")
        foreign = add_contribution(other, "from another event")
        withdrawn = add_phrase(event, "withdrawn phrase", withdrawn=True)
        ids = pending.id, foreign.id, withdrawn.id
    login(client)
    for data in (
        {"contribution_id": ids[0], "text": "not yet approved"},
        {"contribution_id": ids[1], "text": "from another event"},
        {"phrase_id": ids[2], "text": "withdrawn phrase"},
    ):
        page = text_of(host_post(client, slug, "poem/lines", data, follow_redirects=True))
        assert "Only approved contributions and captured phrases of this event" in page
    assert poem_lines(app) == []


def test_a_poem_line_disappears_when_its_source_is_withdrawn(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        keep = add_contribution(event, "These words stay")
        gone = add_contribution(event, "These words will be withdrawn")
        for position, source in enumerate((keep, gone), 1):
            db.session.add(
                PoemLine(
                    event_id=event.id,
                    stanza=1,
                    position=position,
                    text=source.text,
                    contribution_id=source.id,
                )
            )
        gone.status = "withdrawn"
        event.harvest_published = True
        db.session.commit()
    page = text_of(client.get(f"/events/{slug}/harvest"))
    assert "These words stay" in page
    assert "These words will be withdrawn" not in page


def test_host_finds_candidates_by_searching(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        add_contribution(event, "The kettle was always on")
        add_contribution(event, "We laughed a lot")
        add_contribution(event, "100% kettle people", status="rejected")
        add_phrase(event, "Put the kettle on")
    login(client)
    page = text_of(client.get(f"/events/{slug}/harvest/edit?q=kettle"))
    assert "The kettle was always on" in page and "Put the kettle on" in page
    assert "We laughed a lot" not in page and "100% kettle people" not in page
    assert "Nothing approved contains “%_”" in text_of(
        client.get(f"/events/{slug}/harvest/edit?q=%25_")
    ), "LIKE wildcards are searched for literally"


# Exports


PAYLOAD = "<script>alert(1)</script> [click](javascript:alert(2)) *bold* # heading | pipe"


def test_exports_download_the_whole_harvest_safely(app, client):
    slug = make_event(app, title='The "Big" <Conversation>')
    app.config.update(HARVEST_SHOWN_PER_PROMPT=1)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        prompt = add_prompt(event, "What struck a chord?")
        registration = add_registration(event, display_name='=HYPERLINK("http://evil")')
        add_contribution(event, PAYLOAD, prompt=prompt, registration=registration)
        add_contribution(event, "=1+2", prompt=prompt, guest_name="@guest")
        add_contribution(event, "- a list-looking line", prompt=prompt, guest_name="+plus")
        add_phrase(event, "-2+3", attribution="@Tabby")
        set_event(slug, harvest_published=True)

    markdown = client.get(f"/events/{slug}/harvest/export.md")
    assert markdown.headers["Content-Type"] == "text/markdown; charset=utf-8"
    assert markdown.headers["Content-Disposition"] == (f'attachment; filename="{slug}-harvest.md"')
    body = markdown.get_data(as_text=True)
    assert body.startswith('# The "Big" \\<Conversation\\>: the harvest')
    assert "<script>" not in body and "](javascript" not in body
    assert "\\<script\\>alert\\(1\\)\\</script\\>" in body
    assert "- \\- a list-looking line (\\+plus)" in body
    assert "=1+2" in body, "all contributions, not only those the page shows"
    assert f"<http://localhost/events/{slug}/harvest>" in body

    exported = client.get(f"/events/{slug}/harvest/export.csv")
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.headers["Content-Disposition"] == f'attachment; filename="{slug}-harvest.csv"'
    rows = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    contributions = [row for row in rows if row["section"] == "contribution"]
    assert [row["text"] for row in contributions] == [PAYLOAD, "'=1+2", "'- a list-looking line"]
    assert [row["author"] for row in contributions] == [
        '\'=HYPERLINK("http://evil")',
        "'@guest",
        "'+plus",
    ]
    phrase = next(row for row in rows if row["section"] == "phrase")
    assert (phrase["text"], phrase["author"]) == ("'-2+3", "'@Tabby")
    for row in rows:
        for value in row.values():
            assert not value.startswith(("=", "+", "-", "@", "\t")), value

    as_json = client.get(f"/events/{slug}/harvest/export.json")
    assert as_json.headers["Content-Type"] == "application/json"
    assert "attachment" in as_json.headers["Content-Disposition"]
    raw = as_json.get_data(as_text=True)
    assert "<" not in raw and ">" not in raw
    data = json.loads(raw)
    assert data["event"]["title"] == 'The "Big" <Conversation>'
    texts = [c["text"] for c in data["prompts"][0]["contributions"]]
    assert texts == [PAYLOAD, "=1+2", "- a list-looking line"]
    assert data["phrases"][0] == {
        "text": "-2+3",
        "attribution": "@Tabby",
        "created_at": data["phrases"][0]["created_at"],
    }
    assert data["figures"]["contributions"] == 3


def test_open_graph_tags_describe_and_escape(app, client):
    slug = make_event(app, title='Quotes " and <tags> & more')
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        add_contribution(event, "One thing")
        set_event(slug, harvest_published=True)
    page = client.get(f"/events/{slug}/harvest").get_data(as_text=True)
    assert (
        '<meta property="og:title" content="The harvest: Quotes &#34; and &lt;tags&gt; &amp; more">'
        in page
    )
    assert f'<meta property="og:url" content="http://localhost/events/{slug}/harvest">' in page
    assert '<meta name="twitter:card" content="summary">' in page
    description = "1 contribution from fewer than 5 voices, and 0 phrases we heard."
    assert f'property="og:description" content="{description}">' in page
