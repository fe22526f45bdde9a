"""Smoke test in real headless Chromium against a real server process."""

from .conftest import create_event


def test_visitor_follows_listing_to_event_page(app, live_server, page, tmp_path):
    with app.app_context():
        create_event(title="Recovery in our own words", slug="own-words")
    page.goto(live_server.url + "/")
    page.get_by_role("link", name="Recovery in our own words").click()
    page.wait_for_url("**/events/own-words")
    assert page.get_by_role("heading", level=1).inner_text() == "Recovery in our own words"
    assert "(Europe/London)" in page.locator(".when").inner_text()
    page.screenshot(path=tmp_path / "event.png", full_page=True)
    assert (tmp_path / "event.png").stat().st_size > 1000


def test_viewer_abroad_also_sees_their_own_time(app, live_server, chromium):
    with app.app_context():
        create_event(slug="abroad")
    context = chromium.new_context(timezone_id="America/Toronto")
    page = context.new_page()
    page.goto(live_server.url + "/events/abroad")
    viewer = page.locator(".when .viewer-zone")
    assert viewer.is_visible()
    assert "Your time (America/Toronto)" in viewer.inner_text()
    context.close()
