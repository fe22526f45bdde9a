"""Issue 12's evidence "done when", in headless Chromium: a host of the demo launch reads its
evidence (axe finds nothing serious), downloads the summary and prints the shareable version
to a one-page PDF; the charts show without JavaScript."""

import re

from .conftest import PASSWORD
from .test_harvest_browser import log_in


def test_a_host_of_the_demo_reads_downloads_and_prints_its_evidence(
    app, runner, live_server, chromium, accessibility_problems, tmp_path
):
    assert runner.invoke(args=["demo"]).exit_code == 0
    reset = runner.invoke(args=["set-password", "demo@example.org"], input=PASSWORD + "\n")
    assert reset.exit_code == 0, reset.output
    # bypass_csp only so the test can inject axe; the pages' own policy is unchanged.
    context = chromium.new_context(
        bypass_csp=True, java_script_enabled=True, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        log_in(page, live_server.url, "demo@example.org")
        page.get_by_role("link", name="Evidence for Recovery Voices Network: launch day").click()
        page.wait_for_url("**/events/recovery-voices-launch/evidence")
        summary = page.locator(".evidence-summary").inner_text()
        assert summary == (
            "16 people signed up, 12 took part, 11 shared a reflection, from 6 organisations."
        )
        chart = page.get_by_role("img", name="From booking to taking part")
        assert chart.is_visible() and chart.bounding_box()["height"] > 100
        assert page.get_by_role("table", name="From booking to taking part: the numbers")
        assert page.get_by_role("heading", name="Who has looked at personal data").is_visible()
        assert accessibility_problems(page) == []
        page.screenshot(path=tmp_path / "evidence.png", full_page=True)

        with page.expect_download() as download:
            page.get_by_role("link", name="Download the summary (Markdown)").click()
        markdown = download.value.path().read_text()
        assert markdown.startswith("# Evidence: Recovery Voices Network: launch day")
        assert "Maya" not in markdown and "example.org" not in markdown.replace(live_server.url, "")

        page.get_by_role("link", name="Shareable version (print it for a PDF)").click()
        page.wait_for_url("**/evidence/shareable")
        assert "fewer than 5" in page.locator("main").inner_text()
        assert accessibility_problems(page) == []
        page.emulate_media(media="print")
        page.screenshot(path=tmp_path / "evidence-print.png", full_page=True)
        assert not page.locator(".site-header nav").is_visible()
        pdf = page.pdf(format="A4", print_background=False)
        assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1, "one page"
        page.emulate_media(media="screen")

        page.goto(live_server.url + "/evidence")
        assert page.get_by_role("img", name="Organisations reached over time").is_visible()
        assert accessibility_problems(page) == []
        assert errors == []
    finally:
        context.close()

    # Without JavaScript the charts and their tables are all there: they are drawn on the server.
    plain = chromium.new_context(java_script_enabled=False)
    try:
        page = plain.new_page()
        log_in(page, live_server.url, "demo@example.org")
        page.goto(live_server.url + "/events/recovery-voices-launch/evidence")
        assert page.locator("svg.chart-svg").count() == 4
        assert page.locator("table.chart-table").count() == 4
    finally:
        plain.close()
