"""The harvest in headless Chromium: no payload runs anywhere, and the pages pass axe-core.

The "Done when" (the demo run live, then shared) is in test_harvest_live.py.
"""

import io

import sqlalchemy as sa
from PIL import Image

from lero_events import sketches
from lero_events.extensions import db
from lero_events.harvest import editorial
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


def test_harvest_pages_have_no_serious_accessibility_problems(
    app, live_server, chromium, tmp_path, accessibility_problems
):
    with app.app_context():
        create_event(slug="axe-harvest")
        event = db.session.scalar(sa.select(Event))
        prompt = add_prompt(event, "What helps?")
        contribution = add_contribution(event, "Being listened to", prompt=prompt, featured=True)
        add_resonances(contribution, 2)
        add_phrase(event, "We are the evidence", attribution="Pat")
        db.session.add(
            PoemLine(
                event_id=event.id,
                stanza=1,
                position=1,
                text="listened to",
                contribution_id=contribution.id,
            )
        )
        db.session.commit()
        sketches.save_sketch_note(
            event, io.BytesIO(png_bytes()), "A sketch of the room", app.config["UPLOAD_DIR"]
        )
        editorial.save_editorial(
            event,
            editorial.Editorial(
                introduction="We met online.\n\nThis is what we heard.",
                poem_title="After",
                poem="A long line that has to wrap on a phone without scrolling sideways\n"
                "and a short one",
                poem_credit="Jo",
            ),
        )

    # add_script_tag inserts an inline script, which the pages' CSP rightly blocks; only the
    # axe run bypasses it.
    context = chromium.new_context(viewport={"width": 390, "height": 844}, bypass_csp=True)
    page = context.new_page()
    try:
        log_in(page, live_server.url)
        for name, path in (
            ("harvest", "/events/axe-harvest/harvest"),
            ("edit", "/events/axe-harvest/harvest/edit"),
        ):
            page.goto(live_server.url + path)
            page.screenshot(path=tmp_path / f"{name}-phone.png", full_page=True)
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), (
                f"the {name} page scrolls sideways on a phone"
            )
            serious = accessibility_problems(page)
            assert serious == [], f"{name} page: {serious}"
    finally:
        context.close()
    print(f"screenshots in {tmp_path}")
