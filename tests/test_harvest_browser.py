"""The harvest in headless Chromium: no payload runs, and the "Done when" end to end."""

import io
from pathlib import Path

import sqlalchemy as sa
from PIL import Image

from lero_events import sketches
from lero_events.extensions import db
from lero_events.models import Event, PoemLine, Prompt

from .conftest import PASSWORD, create_event
from .test_harvest import (
    add_contribution,
    add_phrase,
    add_prompt,
    add_registration,
    add_resonances,
    set_event,
)

XSS_PAYLOADS = [
    "<script>window.__xss = 'script'</script>",
    "<img src=x onerror=\"window.__xss='img'\">",
    '"><svg onload=alert(1)>',
    "'><iframe srcdoc=\"<script>parent.__xss='iframe'</script>\"></iframe>",
    "</textarea><script>alert('textarea')</script>",
    "</title><script>alert('title')</script>",
    "<a href=\"javascript:alert('link')\">click me</a>",
    "' onmouseover='alert(1)' data-x='",
    "{{ 7 * 7 }} {% raw %}",
    "</script><script>alert('json')</script>",
]

# Anything an unescaped payload would have put into the page.
INJECTED = (
    "document.querySelectorAll('[onerror],[onload],[onmouseover],iframe,svg,"
    'script:not([src]),a[href^="javascript"]\').length'
)


def collect_dialogs(page):
    fired = []
    page.on("dialog", lambda dialog: (fired.append(dialog.message), dialog.dismiss()))
    return fired


def log_in(page, base_url, email="organiser@example.org"):
    page.goto(base_url + "/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url("**/organiser/")


def png_file(path, size=(320, 200)):
    image = Image.new("RGB", size, (250, 248, 240))
    for x in range(40, 280):
        for y in (60, 61, 120, 121):
            image.putpixel((x, y), (29, 92, 77))
    image.save(path, format="PNG")
    return path


def test_no_payload_runs_anywhere_on_the_harvest(app, live_server, chromium, tmp_path):
    with app.app_context():
        create_event(slug="xss", title=XSS_PAYLOADS[5])
        event = db.session.scalar(sa.select(Event))
        for number, payload in enumerate(XSS_PAYLOADS):
            prompt = add_prompt(event, f"Prompt {number} {payload}")
            registration = add_registration(event, display_name=payload[:80], organisation=payload)
            contribution = add_contribution(
                event, f"Said {number}: {payload}", prompt=prompt, registration=registration
            )
            add_resonances(contribution, number + 1)
            add_contribution(event, f"Guest {number} {payload}", guest_name=payload[:80])
            phrase = add_phrase(event, f"Heard {number}: {payload}", attribution=payload[:120])
            db.session.add_all(
                [
                    PoemLine(
                        event_id=event.id,
                        stanza=1,
                        position=number,
                        text=payload,
                        contribution_id=contribution.id,
                    ),
                    PoemLine(
                        event_id=event.id,
                        stanza=2,
                        position=number,
                        text=payload,
                        phrase_id=phrase.id,
                    ),
                ]
            )
            db.session.commit()
            sketches.save_sketch_note(
                event,
                io.BytesIO(png_bytes()),
                f"Sketch {number} {payload}",
                app.config["UPLOAD_DIR"],
            )
        set_event("xss", harvest_published=True)
        prompt_ids = db.session.scalars(sa.select(Prompt.id).order_by(Prompt.id)).all()

    visitor = chromium.new_context()
    page = visitor.new_page()
    fired = collect_dialogs(page)
    pages = {
        "/events/xss/harvest": XSS_PAYLOADS,
        "/events/xss/harvest/phrases": XSS_PAYLOADS,
        **{
            f"/events/xss/harvest/prompts/{prompt_id}": [payload]
            for prompt_id, payload in zip(prompt_ids, XSS_PAYLOADS, strict=True)
        },
    }
    for path, payloads in pages.items():
        page.goto(live_server.url + path)
        assert page.evaluate("window.__xss") is None
        assert page.evaluate(INJECTED) == 0, f"markup from a payload reached the DOM on {path}"
        text = page.locator("main").inner_text()
        for payload in payloads:
            assert payload in text, f"the payload shows as plain text on {path}"
    page.goto(live_server.url + "/events/xss/harvest")
    text = page.locator("main").inner_text()
    for number, payload in enumerate(XSS_PAYLOADS):
        assert f"Said {number}: {payload}" in text
        assert f"Prompt {number} {payload}" in text
    page.locator(".poem-sources summary").click()
    assert page.evaluate(INJECTED) == 0
    alts = page.locator(".sketch-note img").evaluate_all("imgs => imgs.map(i => i.alt)")
    assert alts == [f"Sketch {n} {p}" for n, p in enumerate(XSS_PAYLOADS)]
    og_title = page.locator('meta[property="og:title"]').get_attribute("content")
    assert og_title == f"The harvest: {XSS_PAYLOADS[5]}"
    assert page.title().startswith(f"The harvest: {XSS_PAYLOADS[5]}")
    visitor.close()

    host = chromium.new_context()
    page = host.new_page()
    fired += collect_dialogs(page)
    log_in(page, live_server.url)
    for path in ("/events/xss/harvest/edit", "/organiser/events/xss/edit"):
        page.goto(live_server.url + path)
        assert page.evaluate("window.__xss") is None
        assert page.evaluate(INJECTED) == 0, f"markup from a payload reached the DOM on {path}"
    page.goto(live_server.url + "/events/xss/harvest/edit")
    values = page.locator(".poem-line-editor input[name$='-text']").evaluate_all(
        "inputs => inputs.map(i => i.value)"
    )
    assert sorted(set(values)) == sorted(XSS_PAYLOADS), "input values hold the payloads as text"
    host.close()
    assert fired == [], f"a payload opened a dialog: {fired}"


def png_bytes():
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), (10, 90, 70)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_host_composes_publishes_and_a_visitor_downloads_the_markdown(
    app, live_server, chromium, tmp_path
):
    with app.app_context():
        create_event(
            slug="big-conversation", title="The Big Conversation: what helps recovery last?"
        )
        event = db.session.scalar(sa.select(Event))
        prompt = add_prompt(event, "What helps recovery last?")
        sam = add_registration(event, display_name="Sam", organisation="Recovery Connect")
        add_registration(event, display_name="Jo", organisation="Sober Futures")
        first = add_contribution(
            event,
            "Having people who remember my name when I walk in",
            prompt=prompt,
            registration=sam,
            featured=True,
        )
        add_resonances(first, 5)
        add_contribution(event, "A kettle, a chair and someone who listens", prompt=prompt)
        add_contribution(event, "This one was never approved", prompt=prompt, status="pending")
        add_phrase(event, "Recovery is contagious: it spreads", attribution="Panellist Pat")

    host = chromium.new_context()
    page = host.new_page()
    log_in(page, live_server.url)
    page.goto(live_server.url + "/organiser/events/big-conversation/edit")
    page.get_by_role("link", name="Compose and share the harvest").click()
    page.wait_for_url("**/harvest/edit")

    candidate = page.locator(".candidate").filter(has_text="remember my name")
    candidate.get_by_label("Line (trim to a fragment if you like)").fill(
        "people who remember my name"
    )
    candidate.get_by_role("button", name="Add to the poem").click()
    page.wait_for_url("**/harvest/edit#poem")
    assert "Line added to the poem" in page.locator(".flashes").inner_text()

    candidate = page.locator(".candidate").filter(has_text="Recovery is contagious")
    candidate.get_by_label("Line (trim to a fragment if you like)").fill("it spreads")
    candidate.get_by_label("Stanza").fill("2")
    candidate.get_by_role("button", name="Add to the poem").click()
    page.wait_for_url("**/harvest/edit#poem")

    candidate = page.locator(".candidate").filter(has_text="kettle")
    candidate.get_by_label("Line (trim to a fragment if you like)").fill("a made-up line")
    candidate.get_by_role("button", name="Add to the poem").click()
    assert "is not part of the original words" in page.locator(".flashes").inner_text()

    page.get_by_label("Image (PNG, JPEG or WebP").set_input_files(png_file(tmp_path / "sketch.png"))
    page.get_by_label("Alt text (required)").fill(
        "Sketch note: a kettle, three chairs and the words 'remember my name'"
    )
    page.get_by_role("button", name="Upload the sketch note").click()
    page.wait_for_url("**/harvest/edit#sketches")
    assert "Sketch note added" in page.locator(".flashes").inner_text()

    page.get_by_role("button", name="Publish the harvest").click()
    assert "The harvest is published" in page.locator(".flashes").inner_text()
    host.close()

    visitor = chromium.new_context(accept_downloads=True)
    page = visitor.new_page()
    page.goto(live_server.url + "/events/big-conversation/harvest")
    assert page.get_by_role("heading", level=1).inner_text() == (
        "The Big Conversation: what helps recovery last?"
    )
    stanzas = page.locator(".poem .stanza").all_inner_texts()
    assert stanzas == ["people who remember my name", "it spreads"]
    main = page.locator("main").inner_text()
    assert "A kettle, a chair and someone who listens" in main
    assert "This one was never approved" not in main
    assert "Recovery is contagious: it spreads" in main and "Panellist Pat" in main
    image = page.locator(".sketch-note img")
    image.scroll_into_view_if_needed()
    natural_width = image.evaluate(
        "img => img.complete ? img.naturalWidth"
        " : new Promise(done => { img.onload = () => done(img.naturalWidth); })"
    )
    assert natural_width == 320, "the sketch note loads from its route"
    assert image.get_attribute("alt").startswith("Sketch note: a kettle")

    page.screenshot(path=tmp_path / "harvest.png", full_page=True)
    page.emulate_media(media="print")
    page.screenshot(path=tmp_path / "harvest-print.png", full_page=True)
    assert not page.locator(".downloads").is_visible(), "the print layout hides the downloads"
    page.emulate_media(media="screen")

    with page.expect_download() as download_info:
        page.get_by_role("link", name="Markdown").click()
    download = download_info.value
    assert download.suggested_filename == "big-conversation-harvest.md"
    markdown = Path(download.path()).read_text()
    assert markdown.startswith("# The Big Conversation: what helps recovery last?: the harvest")
    assert "people who remember my name  \n\nit spreads" in markdown
    assert "- Having people who remember my name when I walk in (Sam)" in markdown
    assert "never approved" not in markdown
    visitor.close()
    print(f"screenshots: {tmp_path / 'harvest.png'} {tmp_path / 'harvest-print.png'}")
