"""The harvest as an editor makes it: an introduction, a written poem with its line breaks and
its author's credit, sketch notes as images in the exports; and paragraphs typed in a browser
(CRLF) surviving. Over HTTP, through the hosts' forms."""

import csv
import io
import json

import sqlalchemy as sa

from lero_events import moderation
from lero_events.extensions import db
from lero_events.harvest import poem
from lero_events.models import Event, PoemLine, RoomUpdate

from .conftest import create_event, create_organiser, csrf_token, login
from .test_harvest import host_post, make_event, set_event, text_of
from .test_harvest_sketches import image_bytes, upload

POEM = "We came in ones and twos\r\nand left as many\r\n\r\nthe kettle, always on"


def test_hosts_write_an_introduction_and_a_credited_poem_that_keeps_its_lines(app, client):
    slug = make_event(app)
    login(client)
    saved = host_post(
        client,
        slug,
        "writing",
        {
            "introduction": "Forty of us met online.\r\n\r\nHere is what we heard.\r\nAnd said.",
            "poem_title": "Ones and twos",
            "poem": POEM,
            "poem_credit": "  Jo   Bloggs ",
        },
    )
    assert saved.status_code == 302 and saved.location.endswith("/harvest/edit#writing")
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert event.written_poem == (
            "We came in ones and twos\nand left as many\n\nthe kettle, always on"
        )
        assert event.written_poem_credit == "Jo Bloggs"
        set_event(slug, harvest_published=True)

    page = client.get(f"/events/{slug}/harvest").get_data(as_text=True)
    assert '<p class="harvest-introduction">' not in page
    assert "<p>Forty of us met online.</p>" in page
    assert "<p>Here is what we heard.\nAnd said.</p>" in page
    assert '<h2 id="written-poem-heading">Ones and twos</h2>' in page
    assert '<p class="stanza">We came in ones and twos<br>and left as many</p>' in page
    assert '<p class="stanza">the kettle, always on</p>' in page
    assert 'By <span class="author">Jo Bloggs</span>' in page
    assert '<a href="#written-poem">Ones and twos</a>' in page
    assert "Nothing has been gathered here yet" not in page

    markdown = client.get(f"/events/{slug}/harvest/export.md").get_data(as_text=True)
    assert "Forty of us met online.\n\nHere is what we heard.  \nAnd said.\n" in markdown
    assert (
        "## Ones and twos\n\nWe came in ones and twos  \nand left as many  \n\n"
        "the kettle, always on  \n\nBy Jo Bloggs\n"
    ) in markdown
    data = json.loads(client.get(f"/events/{slug}/harvest/export.json").get_data(as_text=True))
    assert data["introduction"] == ["Forty of us met online.", "Here is what we heard.\nAnd said."]
    assert data["written_poem"] == {
        "title": "Ones and twos",
        "stanzas": [["We came in ones and twos", "and left as many"], ["the kettle, always on"]],
        "credit": "Jo Bloggs",
        "placement": "beside",
    }
    rows = list(csv.DictReader(io.StringIO(client.get(f"/events/{slug}/harvest/export.csv").text)))
    poem_row = next(row for row in rows if row["section"] == "written poem")
    assert (poem_row["prompt"], poem_row["author"]) == ("Ones and twos", "Jo Bloggs")
    assert poem_row["text"].split("\n")[1] == "and left as many"


def test_a_refused_poem_keeps_everything_typed_and_saves_nothing(app, client):
    slug = make_event(app)
    login(client)
    refused = host_post(
        client, slug, "writing", {"introduction": "Kept as typed", "poem": POEM, "poem_credit": ""}
    )
    assert refused.status_code == 400
    page = text_of(refused)
    assert "Say who wrote the poem: it is published with their name." in page
    assert "Kept as typed</textarea>" in page and "the kettle, always on</textarea>" in page
    too_long = host_post(client, slug, "writing", {"introduction": "x" * 5001})
    assert "The introduction can be at most 5000 characters (it has 5001)." in text_of(too_long)
    orphan = host_post(client, slug, "writing", {"poem_credit": "Jo"})
    assert "Write the poem itself, or clear its title and credit." in text_of(orphan)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert (event.harvest_introduction, event.written_poem) == ("", "")

    # Someone else's event: the form is not theirs to post to.
    with app.app_context():
        other = create_event(owner=create_organiser("other@example.org"), slug="not-mine")
        other_slug, other_id = other.slug, other.id
    refused = host_post(client, other_slug, "writing", {"introduction": "Hi"})
    assert refused.status_code == 403
    with app.app_context():
        assert db.session.get(Event, other_id).harvest_introduction == ""


def test_sketch_notes_are_images_with_absolute_addresses_in_the_exports(app, client):
    with app.app_context():
        create_event(slug="sketchy")
    login(client)
    assert upload(client, image_bytes(), alt_text="Map (with [brackets])").status_code == 302
    app.config["PUBLIC_BASE_URL"] = "https://events.example.org"
    with app.app_context():
        set_event("sketchy", harvest_published=True)
    data = json.loads(client.get("/events/sketchy/harvest/export.json").get_data(as_text=True))
    note = data["sketch_notes"][0]
    assert note["url"].startswith("https://events.example.org/events/sketchy/harvest/sketches/")
    assert (note["width"], note["height"], note["alt_text"]) == (64, 48, "Map (with [brackets])")
    markdown = client.get("/events/sketchy/harvest/export.md").get_data(as_text=True)
    assert f"![Map \\(with \\[brackets\\]\\)]({note['url']})" in markdown
    client.get("/logout")
    image = client.get(note["url"].removeprefix("https://events.example.org"))
    assert image.status_code == 200 and image.mimetype == "image/png"
    image.close()


def test_event_descriptions_keep_paragraphs_typed_in_a_browser(app, client):
    with app.app_context():
        create_event(
            slug="paragraphs",
            description="First paragraph.\r\n\r\nSecond one,\r\nwith a line break.",
        )
    page = client.get("/events/paragraphs").get_data(as_text=True)
    assert "<p>First paragraph.</p><p>Second one,\nwith a line break.</p>" in page


def test_hosts_correct_withdraw_and_restore_a_phrase_from_the_harvest_page(app, client):
    slug = make_event(app)
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        phrase = moderation.capture_phrase(
            event, event.hosts[0].organiser, "Thanks to Jamie Smith, in recovery", "Jo"
        )
        phrase_id = phrase.id
        poem.add_poem_line(event, phrase_id=phrase_id, text="Thanks to Jamie Smith")
        poem.add_poem_line(event, phrase_id=phrase_id, text="in recovery")
        set_event(slug, harvest_published=True)
    login(client)
    edit_page = text_of(client.get(f"/events/{slug}/harvest/edit"))
    assert "Thanks to Jamie Smith, in recovery</textarea>" in edit_page

    corrected = host_post(
        client,
        slug,
        f"phrases/{phrase_id}",
        {"text": "Thanks to you, in recovery", "attribution": "Jo"},
    )
    assert corrected.location.endswith(f"/harvest/edit#phrase-{phrase_id}")
    page = text_of(client.get(f"/events/{slug}/harvest"))
    assert "Thanks to you, in recovery" in page and "Jamie" not in page
    assert '<span class="poem-line" data-phrase-id' in client.get(f"/events/{slug}/harvest").text
    refused = host_post(client, slug, f"phrases/{phrase_id}", {"text": "  "})
    assert "Please write something before sending." in text_of(client.get(refused.location))

    host_post(client, slug, f"phrases/{phrase_id}/withdraw")
    page = text_of(client.get(f"/events/{slug}/harvest"))
    assert "Thanks to you" not in page and "in recovery" not in page
    assert "Restore it to the harvest" in text_of(client.get(f"/events/{slug}/harvest/edit"))
    host_post(client, slug, f"phrases/{phrase_id}/restore")
    assert "Thanks to you, in recovery" in text_of(client.get(f"/events/{slug}/harvest"))
    with app.app_context():
        # Each change is a room update: the live room and the harvest page follow it.
        kinds = db.session.scalars(
            sa.select(RoomUpdate.kind).where(RoomUpdate.kind == "phrase").order_by(RoomUpdate.seq)
        ).all()
        assert len(kinds) == 4
        lines = db.session.scalars(sa.select(PoemLine.text)).all()
        assert lines == ["in recovery"]

    client.get("/logout")
    with app.app_context():
        create_organiser("other@example.org")
    login(client, "other@example.org")
    assert host_post(client, slug, f"phrases/{phrase_id}/withdraw").status_code == 403
    assert host_post(client, slug, f"phrases/{phrase_id}", {"text": "Hijacked"}).status_code == 403
    assert "Thanks to you, in recovery" in text_of(client.get(f"/events/{slug}/harvest"))


def test_a_description_typed_in_the_event_form_is_stored_with_plain_line_breaks(app, client):
    from .test_events import event_form

    with app.app_context():
        create_organiser()
    login(client)
    typed = "Ninety minutes together.\r\n\r\nBring a cup of tea.\r\n"
    client.post("/organiser/events/new", data=event_form(client, description=typed))
    with app.app_context():
        event = db.session.scalar(sa.select(Event))
        assert event.description == "Ninety minutes together.\n\nBring a cup of tea."
        slug = event.slug
    client.post(
        f"/organiser/events/{slug}/publish", data={"csrf_token": csrf_token(client, "/organiser/")}
    )
    page = client.get(f"/events/{slug}").get_data(as_text=True)
    assert "<p>Ninety minutes together.</p><p>Bring a cup of tea.</p>" in page


def found_poem_lines(app, slug):
    """A captured phrase with two found-poem lines cut from it, on a published harvest."""
    with app.app_context():
        event = db.session.scalar(sa.select(Event).where(Event.slug == slug))
        phrase = moderation.capture_phrase(
            event, event.hosts[0].organiser, "The kettle was always on, and so were we", "Jo"
        )
        poem.add_poem_line(event, phrase_id=phrase.id, text="The kettle was always on")
        poem.add_poem_line(event, phrase_id=phrase.id, text="and so were we")
        set_event(slug, harvest_published=True)


def shown(client, slug):
    """What the harvest page, the Markdown and the JSON exports show of the two poems."""
    page = client.get(f"/events/{slug}/harvest").get_data(as_text=True)
    markdown = client.get(f"/events/{slug}/harvest/export.md").get_data(as_text=True)
    data = json.loads(client.get(f"/events/{slug}/harvest/export.json").get_data(as_text=True))
    rows = list(csv.DictReader(io.StringIO(client.get(f"/events/{slug}/harvest/export.csv").text)))
    return {
        "page written": '<h2 id="written-poem-heading">Ones and twos</h2>' in page,
        "page found": '<h2 id="poem-heading">The found poem</h2>' in page
        and "The kettle was always on" in page,
        "markdown written": "## Ones and twos" in markdown,
        "markdown found": "## The found poem" in markdown
        and "The kettle was always on" in markdown,
        "json written": data["written_poem"] is not None,
        "json found": data["poem"] == [["The kettle was always on", "and so were we"]],
        "csv found": any(row["section"] == "poem" for row in rows),
        "placement": data["written_poem"] and data["written_poem"]["placement"],
    }


def test_the_written_poem_goes_beside_or_instead_of_the_found_poem_as_the_hosts_choose(app, client):
    slug = make_event(app)
    found_poem_lines(app, slug)
    login(client)
    writing = {"poem_title": "Ones and twos", "poem": POEM, "poem_credit": "Jo Bloggs"}

    # Beside is the default: the form says so, and both poems are published.
    edit = text_of(client.get(f"/events/{slug}/harvest/edit"))
    assert "Where the written poem goes on the harvest" in edit
    assert 'name="poem_placement" value="beside" checked' in edit
    assert 'value="instead" checked' not in edit
    assert host_post(client, slug, "writing", writing).status_code == 302
    both = shown(client, slug)
    assert both == {
        "page written": True,
        "page found": True,
        "markdown written": True,
        "markdown found": True,
        "json written": True,
        "json found": True,
        "csv found": True,
        "placement": "beside",
    }

    # Instead: only the written poem, on the page and in every export.
    saved = host_post(client, slug, "writing", {**writing, "poem_placement": "instead"})
    assert saved.status_code == 302
    instead = shown(client, slug)
    assert instead == {
        **both,
        "page found": False,
        "markdown found": False,
        "json found": False,
        "csv found": False,
        "placement": "instead",
    }
    assert json.loads(client.get(f"/events/{slug}/harvest/export.json").text)["poem"] == []
    edit = text_of(client.get(f"/events/{slug}/harvest/edit"))
    assert 'name="poem_placement" value="instead" checked' in edit
    # The found poem stays composed for later, and the curating page says it is not shown.
    assert 'id="found-poem-hidden"' in edit
    assert "the written poem is shown instead of it." in edit
    assert 'value="The kettle was always on"' in edit

    # Instead with no written poem is refused: nothing saved, everything typed kept.
    refused = host_post(
        client,
        slug,
        "writing",
        {"introduction": "Kept as typed", "poem_placement": "instead"},
    )
    assert refused.status_code == 400
    page = text_of(refused)
    assert (
        "To show a written poem instead of the found poem, write the poem first, "
        "or choose to show it beside the found poem."
    ) in page
    assert "Kept as typed</textarea>" in page
    assert 'value="instead" checked' in page
    assert shown(client, slug) == instead
    assert "Kept as typed" not in client.get(f"/events/{slug}/harvest").text
    unknown = host_post(client, slug, "writing", {**writing, "poem_placement": "on top"})
    assert unknown.status_code == 400
    assert "Choose whether the written poem goes beside or instead of the found poem." in text_of(
        unknown
    )

    # Back to beside: the found poem is published again as it was.
    host_post(client, slug, "writing", {**writing, "poem_placement": "beside"})
    assert shown(client, slug) == both
